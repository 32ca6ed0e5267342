// The JSON of what the chat module writes into events: a Message (API.md's shape, as the HTTP API
// renders it) and the message.* event payload around it. The HTTP handlers render Messages with
// the same functions (api/render.h), so a frame and a response never disagree.
//
// Plain functions over json::Writer; safe from any thread.

#pragma once

#include <string>

#include "json/json.h"
#include "store/messages_repo.h"
#include "store/users_repo.h"

namespace chatd::chat {

// PublicUser: {id, username, display_name}.
void WritePublicUser(json::Writer& w, const store::PublicUserRecord& user);
// Message (API.md).
void WriteMessage(json::Writer& w, const store::MessageRecord& m);
// {"conversation_id", "message_id", "seq", "message": Message}: message.created / .updated.
std::string MessageEventPayload(const store::MessageRecord& message);

}  // namespace chatd::chat
