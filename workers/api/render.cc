// JSON rendering of the shared resource shapes (see render.h). Key order follows API.md.

#include "api/render.h"

#include "auth/api_key.h"

#include <charconv>

namespace chatd::api {

void WriteConversation(json::Writer& w, const store::ConversationRecord& c) {
  w.StartObject()
      .Field("id", c.id)
      .Field("kind", c.kind)
      .Field("title", c.title)
      .Field("assistant_id", c.assistant_id)
      .Key("assistant");
  if (c.assistant) {
    w.StartObject().Field("id", c.assistant->id).Field("name", c.assistant->name).EndObject();
  } else {
    w.Null();
  }
  w.Field("owner_id", c.owner_id).Key("members");
  w.StartArray();
  for (const store::MemberRecord& member : c.members) {
    w.StartObject()
        .Field("id", member.user.id)
        .Field("username", member.user.username)
        .Field("display_name", member.user.display_name)
        .Field("role", member.role)
        .EndObject();
  }
  w.EndArray();
  w.Field("archived", c.archived)
      .Field("created_at", c.created_at)
      .Field("updated_at", c.updated_at)
      .Key("last_message");
  if (c.last_message) {
    WriteMessage(w, *c.last_message);
  } else {
    w.Null();
  }
  w.EndObject();
}

std::string MessageJson(const store::MessageRecord& message) {
  json::Writer w;
  WriteMessage(w, message);
  return w.Take();
}

std::string ConversationJson(const store::ConversationRecord& conversation) {
  json::Writer w;
  WriteConversation(w, conversation);
  return w.Take();
}

std::string ConversationEventPayload(const store::ConversationRecord& conversation,
                                     const ConversationEventFields& fields) {
  json::Writer w;
  w.StartObject().Field("conversation_id", conversation.id).Field("actor_id", fields.actor_id);
  if (fields.user_id) w.Field("user_id", *fields.user_id);
  if (!fields.changed.empty()) {
    w.Key("changed").StartArray();
    for (const std::string& field : fields.changed) w.String(field);
    w.EndArray();
  }
  w.Key("conversation");
  WriteConversation(w, conversation);
  w.EndObject();
  return w.Take();
}

void WriteAssistant(json::Writer& w, const store::Assistant& a) {
  w.StartObject()
      .Field("id", a.id)
      .Field("name", a.name)
      .Field("description", a.description)
      .Field("model", a.model);
  w.Key("temperature");
  a.temperature ? w.Double(*a.temperature) : w.Null();
  w.Key("max_tokens");
  a.max_tokens ? w.Int(*a.max_tokens) : w.Null();
  w.Field("system_prompt", a.system_prompt)
      .Field("owner_id", a.owner_id)
      .Field("created_at", a.created_at)
      .Field("updated_at", a.updated_at)
      .EndObject();
}

void WritePrompt(json::Writer& w, const store::Prompt& p) {
  w.StartObject()
      .Field("id", p.id)
      .Field("assistant_id", p.assistant_id)
      .Field("title", p.title)
      .Field("content", p.content)
      .Field("position", p.position)
      .Field("enabled", p.enabled)
      .Field("created_at", p.created_at)
      .Field("updated_at", p.updated_at)
      .EndObject();
}

void WriteDocument(json::Writer& w, const store::DocumentInfo& d, const std::string* content) {
  w.StartObject()
      .Field("id", d.id)
      .Field("filename", d.filename)
      .Field("content_type", d.content_type)
      .Field("bytes", d.bytes)
      .Field("chunks", d.chunks)
      .Field("created_at", d.created_at);
  if (content) w.Field("content", *content);
  w.EndObject();
}

void WriteApiKey(json::Writer& w, const store::ApiKeyRecord& k, const std::string* secret) {
  w.StartObject()
      .Field("id", k.id)
      .Field("name", k.name)
      .Field("prefix", auth::ApiKeyPrefix(k.lookup));
  if (secret) w.Field("key", *secret);
  w.Field("created_at", k.created_at)
      .Field("expires_at", k.expires_at)
      .Field("last_used_at", k.last_used_at)
      .EndObject();
}

void WriteUsageDay(json::Writer& w, const store::UsageDay& d) {
  w.StartObject()
      .Field("date", d.date)
      .Field("requests", d.requests)
      .Field("prompt_tokens", d.prompt_tokens)
      .Field("completion_tokens", d.completion_tokens)
      .EndObject();
}

}  // namespace chatd::api
