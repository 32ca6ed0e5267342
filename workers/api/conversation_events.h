// Conversation events (conversation.*, member.*) as every writer emits them, and what a user's
// deletion announces.
//
// A Conversation in an event carries the receiver's own archived flag, so EmitConversationEvent
// splits the recipients by that flag (one stored event each, at most two). Both functions append
// to the caller's transaction and must be its last statements before commit (emit_event comes
// last, store/conversations_repo.h), so events commit with the change or not at all.
//
// Threads: plain functions over the session they are given.

#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/render.h"
#include "store/conversations_repo.h"

namespace soci {
class session;
}

namespace chatd::api {

// Emits `kind` about `snapshot` to `recipients`; recipients who are not members (any more) get it
// unarchived.
void EmitConversationEvent(soci::session& s, const store::ConversationRecord& snapshot,
                           std::string_view kind, const ConversationEventFields& fields,
                           const std::vector<std::string>& recipients);

// conversation.created to the members of a conversation this transaction created with its
// members (POST /chat, an import): rendered as it stands now.
void EmitChatCreated(soci::session& s, const std::string& conversation_id,
                     const std::string& actor_id);

// Before a user is deleted (chatctl user delete, guest gc): tells the other members of each
// conversation the user is in what the deletion does to it. The conversations it owns go with it
// (the schema's cascade): conversation.deleted to their other members. From the others it is
// removed: member.removed, with the conversation as it will be, to the remaining members. Call it
// in the deleting transaction, before the DELETE.
void AnnounceUserDeparture(soci::session& s, const std::string& user_id);

// After an assistant was renamed or deleted: conversation.updated with `changed` (["assistant"],
// or ["assistant_id", "assistant"] for a deletion) to the members of each of `conversation_ids`,
// rendered as they stand now. The ids come from store::LockConversationsOfAssistant, taken in the
// same transaction before the change, so the conversations stay locked and their members fixed.
void AnnounceAssistantChange(soci::session& s, const std::vector<std::string>& conversation_ids,
                             const std::string& actor_id, const std::vector<std::string>& changed);

}  // namespace chatd::api
