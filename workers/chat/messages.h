// A conversation's messages changed after they were sent: editing a user message in place.
//
// In a conversation between people (direct, group) the sender of a user message may change its
// text; every member's devices learn it from message.updated, and the message shows when it was
// last edited (edited_at). In an assistant conversation an edit would change the question behind
// an answer, so it is refused (CONFLICT) rather than silently leaving the answer to the old text.
// Replies are never edited by users.
//
// EditMessage owns its transaction and its lock order (the conversation's row lock first, before
// any write: sql/0008). Plain functions over the session they are given.

#pragma once

#include <string>

#include "core/status.h"
#include "store/messages_repo.h"

namespace soci {
class session;
}

namespace chatd::chat {

// Replaces the text of message `message_id` with `content` (already validated and sanitized) for
// `user_id`. NOT_FOUND when the caller is not a member or the message is not in the
// conversation; FORBIDDEN for a reply or another member's message; CONFLICT in an assistant
// conversation. The same text again changes nothing (no edit mark, no event). Returns the message
// as stored.
Result<store::MessageRecord> EditMessage(soci::session& s, const std::string& conversation_id,
                                         const std::string& message_id, const std::string& user_id,
                                         const std::string& content);

}  // namespace chatd::chat
