// Editing messages in place. See messages.h.

#include "chat/messages.h"

#include <soci/soci.h>

#include "chat/payloads.h"
#include "store/conversations_repo.h"
#include "store/replies_repo.h"

namespace chatd::chat {

Result<store::MessageRecord> EditMessage(soci::session& s, const std::string& conversation_id,
                                         const std::string& message_id, const std::string& user_id,
                                         const std::string& content) {
  soci::transaction tx(s);
  auto locked = store::LockConversation(s, conversation_id, user_id);
  if (!locked || !locked->is_member()) return Status::NotFound("This conversation does not exist.");
  auto message = store::FindMessage(s, conversation_id, message_id);
  if (!message) return Status::NotFound("This message does not exist.");
  if (message->role != "user") {
    return Status(ErrorCode::kForbidden, "An assistant's reply cannot be edited.");
  }
  if (!message->sender || message->sender->id != user_id) {
    return Status(ErrorCode::kForbidden, "Only its sender can edit a message.");
  }
  if (locked->kind == "assistant") {
    return Status(ErrorCode::kConflict,
                  "Messages in a conversation with an assistant cannot be edited: the reply "
                  "answers them as they were. Send a new message instead.");
  }
  if (message->content == content) return *message;  // nothing changes: no mark, no event
  store::EditUserMessage(s, conversation_id, message_id, user_id, content);
  auto edited = store::FindMessage(s, conversation_id, message_id);
  if (!edited) return Status::NotFound("This message does not exist.");  // under the lock: never
  store::EmitEventToMembers(s, conversation_id, "message.updated", MessageEventPayload(*edited));
  tx.commit();
  return *edited;
}

}  // namespace chatd::chat
