// The JSON shapes that several resources share: PublicUser, Message and Conversation, exactly as
// API.md spells them (every key always present, null where a value is absent), written through
// json::Writer. Handlers and, later, the SSE and push paths use these so that a Message looks the
// same in a list, a send response, an SSE event and a WebSocket frame.
//
// Also here: the list conventions of API.md that those resources' lists share (?limit=, integer
// query parameters), so that every list answers a bad parameter with the same 400.
//
// Pure functions over plain records; safe from any thread.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/query_params.h"  // the lists' query parameters, used beside the writers
#include "chat/payloads.h"
#include "http/http.h"
#include "json/json.h"
#include "store/api_keys_repo.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/documents_repo.h"
#include "store/limits_repo.h"
#include "store/messages_repo.h"
#include "store/users_repo.h"

namespace chatd::api {

// PublicUser and Message: the chat module writes them into events, and responses use the very
// same functions (chat/payloads.h).
using chat::WriteMessage;
using chat::WritePublicUser;

// {id, kind, title, assistant_id, assistant: {id, name}|null, owner_id, members: [PublicUser +
//  {role}], archived, created_at, updated_at, last_message: Message|null}
void WriteConversation(json::Writer& w, const store::ConversationRecord& conversation);

// Assistant: {id, name, description, model, temperature, max_tokens, system_prompt, owner_id,
//  created_at, updated_at}; Prompt: {id, assistant_id, title, content, position, enabled,
//  created_at, updated_at}; Document: {id, filename, content_type, bytes, chunks, created_at}.
void WriteAssistant(json::Writer& w, const store::Assistant& assistant);
void WritePrompt(json::Writer& w, const store::Prompt& prompt);
// With `content`, the document's text too (the account export).
void WriteDocument(json::Writer& w, const store::DocumentInfo& document,
                   const std::string* content = nullptr);
// ApiKey: {id, name, prefix, key (only with `secret`: the answer that creates it), created_at,
//  expires_at, last_used_at}.
void WriteApiKey(json::Writer& w, const store::ApiKeyRecord& key,
                 const std::string* secret = nullptr);
// A day of GET /usage: {date, requests, prompt_tokens, completion_tokens}.
void WriteUsageDay(json::Writer& w, const store::UsageDay& day);

// Whole bodies.
std::string MessageJson(const store::MessageRecord& message);
std::string ConversationJson(const store::ConversationRecord& conversation);

// ---- Event payloads (docs/websocket.md) ---------------------------------------------------------
// The payload of an event is the frame's body beside "type" and "cursor": ids first (what a
// reader acting on ids needs), then the rendered object as of the event.

// {"conversation_id", "message_id", "seq", "message": Message} (message.created / .updated).
using chat::MessageEventPayload;

struct ConversationEventFields {
  std::string actor_id;                // whose request caused it
  std::optional<std::string> user_id;  // member.added / member.removed: the member
  std::vector<std::string> changed;    // conversation.updated: "title", "archived"
};
// {"conversation_id", "actor_id", "user_id"?, "changed"?, "conversation": Conversation}, with
// `conversation` rendered as given (its `archived` is the receivers' flag: callers emit one event
// per value of that flag among the recipients).
std::string ConversationEventPayload(const store::ConversationRecord& conversation,
                                     const ConversationEventFields& fields);

}  // namespace chatd::api
