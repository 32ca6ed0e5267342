// Conversation events shared by the API's handlers and chatctl. See conversation_events.h.

#include "api/conversation_events.h"

#include <algorithm>

#include "store/maintenance_repo.h"

namespace chatd::api {

void EmitConversationEvent(soci::session& s, const store::ConversationRecord& snapshot,
                           std::string_view kind, const ConversationEventFields& fields,
                           const std::vector<std::string>& recipients) {
  std::vector<std::string> by_flag[2];
  for (const std::string& user : recipients) {
    bool archived = false;
    for (const auto& m : snapshot.members) {
      if (m.user.id == user) archived = m.archived;
    }
    by_flag[archived ? 1 : 0].push_back(user);
  }
  for (int flag = 0; flag < 2; ++flag) {
    if (by_flag[flag].empty()) continue;
    store::ConversationRecord view = snapshot;
    view.archived = flag == 1;
    store::EmitEvent(s, snapshot.id, kind, ConversationEventPayload(view, fields), by_flag[flag]);
  }
}

void AnnounceUserDeparture(soci::session& s, const std::string& user_id) {
  for (const std::string& id : store::ConversationIdsOfMember(s, user_id)) {
    std::optional<store::ConversationRecord> snapshot = store::LoadConversationSnapshot(s, id);
    if (!snapshot) continue;
    std::vector<std::string> others;
    for (const auto& m : snapshot->members) {
      if (m.user.id != user_id) others.push_back(m.user.id);
    }
    if (others.empty()) continue;
    if (snapshot->owner_id == user_id) {
      EmitConversationEvent(s, *snapshot, "conversation.deleted", {user_id, std::nullopt, {}},
                            others);
    } else {
      store::ConversationRecord after = *snapshot;
      std::erase_if(after.members, [&](const auto& m) { return m.user.id == user_id; });
      EmitConversationEvent(s, after, "member.removed", {user_id, user_id, {}}, others);
    }
  }
}

void AnnounceAssistantChange(soci::session& s, const std::vector<std::string>& conversation_ids,
                             const std::string& actor_id, const std::vector<std::string>& changed) {
  for (const std::string& id : conversation_ids) {
    std::optional<store::ConversationRecord> snapshot = store::LoadConversationSnapshot(s, id);
    if (!snapshot) continue;
    std::vector<std::string> members;
    members.reserve(snapshot->members.size());
    for (const auto& m : snapshot->members) members.push_back(m.user.id);
    EmitConversationEvent(s, *snapshot, "conversation.updated", {actor_id, std::nullopt, changed},
                          members);
  }
}

void EmitChatCreated(soci::session& s, const std::string& conversation_id,
                     const std::string& actor_id) {
  auto snapshot = store::LoadConversationSnapshot(s, conversation_id);
  if (!snapshot) return;
  std::vector<std::string> members;
  for (const auto& m : snapshot->members) members.push_back(m.user.id);
  store::EmitEvent(s, conversation_id, "conversation.created",
                   ConversationEventPayload(*snapshot, {actor_id, std::nullopt, {}}), members);
}

}  // namespace chatd::api
