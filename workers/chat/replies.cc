// Finishing replies. See replies.h.

#include "chat/replies.h"

#include <soci/soci.h>

#include "chat/payloads.h"
#include "store/conversations_repo.h"
#include "store/generations_repo.h"
#include "store/limits_repo.h"
#include "store/maintenance_repo.h"
#include "store/replies_repo.h"

namespace chatd::chat {
namespace {

// The final state's row, the generation row's end and the members' event, inside the caller's
// transaction (after its locks). nullopt when the reply was not streaming any more.
std::optional<store::MessageRecord> StoreFinalState(soci::session& s, const ReplyOutcome& o,
                                                    bool announce) {
  // Every ReplyEvent ends a streaming reply (reply_state.h); the row's own guard (status =
  // 'streaming' in store::FinishReply) refuses a reply that another path finished first.
  const std::optional<ReplyState> next = NextState(ReplyState::kStreaming, o.event);
  store::FinishedReply f;
  f.message_id = o.message_id;
  f.content = o.content;
  f.status = std::string(StateName(next.value_or(ReplyState::kFailed)));
  f.model = o.model;
  f.sources_json = o.sources_json;
  f.prompt_tokens = o.prompt_tokens;
  f.completion_tokens = o.completion_tokens;
  if (next == ReplyState::kFailed) f.error_code = o.error_code;
  std::optional<store::MessageRecord> stored = store::FinishReply(s, f);
  store::FinishGeneration(s, o.message_id);
  if (stored && announce) {
    store::EmitEventToMembers(s, o.conversation_id, "message.updated",
                              MessageEventPayload(*stored));
  }
  return stored;
}

}  // namespace

FinishedReply FinishReply(soci::session& s, const ReplyOutcome& outcome, const std::string& user_id,
                          bool first_attempt) {
  FinishedReply out;
  soci::transaction tx(s);
  // Recipients of message.updated are taken under the conversation's row lock.
  auto locked = store::LockConversation(s, outcome.conversation_id, user_id);
  out.stored = StoreFinalState(s, outcome, locked.has_value());
  out.vanished = !out.stored && !store::FindMessage(s, outcome.conversation_id, outcome.message_id);
  if (out.stored || (out.vanished && first_attempt)) {
    store::RecordUsage(s, user_id, 1, outcome.prompt_tokens.value_or(0),
                       outcome.completion_tokens.value_or(0));
  }
  tx.commit();
  return out;
}

int64_t FinishOrphanedReplies(soci::session& s, int64_t stale_seconds, int batch) {
  int64_t total = 0;
  for (;;) {
    soci::transaction tx(s);
    std::vector<store::OrphanedReply> orphans = store::LockOrphanedReplies(s, stale_seconds, batch);
    for (const store::OrphanedReply& o : orphans) {
      ReplyOutcome outcome;
      outcome.message_id = o.message_id;
      outcome.conversation_id = o.conversation_id;
      outcome.event = ReplyEvent::kOrphaned;
      outcome.content = o.content;
      outcome.model = o.model;
      outcome.sources_json = o.sources_json;
      if (StoreFinalState(s, outcome, /*announce=*/true)) ++total;
    }
    tx.commit();
    if (static_cast<int>(orphans.size()) < batch) return total;
  }
}

}  // namespace chatd::chat
