// Message JSON for events and responses. See payloads.h. Key order follows API.md.

#include "chat/payloads.h"

namespace chatd::chat {

void WritePublicUser(json::Writer& w, const store::PublicUserRecord& user) {
  w.StartObject()
      .Field("id", user.id)
      .Field("username", user.username)
      .Field("display_name", user.display_name)
      .EndObject();
}

void WriteMessage(json::Writer& w, const store::MessageRecord& m) {
  w.StartObject()
      .Field("id", m.id)
      .Field("conversation_id", m.conversation_id)
      .Field("seq", static_cast<int64_t>(m.seq))
      .Field("role", m.role)
      .Key("sender");
  if (m.sender) {
    WritePublicUser(w, *m.sender);
  } else {
    w.Null();
  }
  w.Field("content", m.content)
      .Field("status", m.status)
      .Field("client_message_id", m.client_message_id)
      .Field("model", m.model)
      .Key("usage");
  if (m.prompt_tokens || m.completion_tokens) {
    w.StartObject()
        .Field("prompt_tokens", static_cast<int64_t>(m.prompt_tokens.value_or(0)))
        .Field("completion_tokens", static_cast<int64_t>(m.completion_tokens.value_or(0)))
        .EndObject();
  } else {
    w.Null();
  }
  // Stored JSON arrays (jsonb, CHECKed to be arrays), inserted verbatim.
  w.Key("sources").Raw(m.sources_json);
  w.Key("flags").Raw(m.flags_json);
  w.Field("created_at", m.created_at).Field("edited_at", m.edited_at).EndObject();
}

std::string MessageEventPayload(const store::MessageRecord& message) {
  json::Writer w;
  w.StartObject()
      .Field("conversation_id", message.conversation_id)
      .Field("message_id", message.id)
      .Field("seq", static_cast<int64_t>(message.seq))
      .Key("message");
  WriteMessage(w, message);
  w.EndObject();
  return w.Take();
}

}  // namespace chatd::chat
