// POST /import: conversations brought in from a file — chatd's own JSON export (a conversation,
// or the account archive) or ChatGPT's conversations.json — as new assistant conversations of the
// caller. chat/import.h reads the file (every limit checked before anything is written) and
// writes it; here the body is read (at most kMaxImportBody), and the whole import is one
// transaction with a conversation.created event per conversation: all of it or nothing.
//
// 201 {"items": [{"id", "title", "message_count"}]}; 400 VALIDATION_ERROR naming where in the file
// the problem is; 413 past the size.

#include <soci/soci.h>

#include "api/common.h"
#include "api/conversation_events.h"
#include "api/handlers.h"
#include "api/principal.h"
#include "chat/import.h"

namespace chatd::api {
namespace {

// The worker pool reads bodies up to pool.h's max_body_bytes; nginx's location for this path
// allows the same (nginx/snippets/chatd-locations.conf).
constexpr size_t kMaxImportBody = 8 * 1024 * 1024;

Result<http::Response> Import(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto body = ParseJsonBody(r, kMaxImportBody);
  if (!body.ok()) return body.status();
  auto parsed = chat::ParseImport(body->root());
  if (!parsed.ok()) return parsed.status();
  if (parsed->empty()) return Status::Invalid("body", "holds no conversation");

  std::vector<std::string> ids;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    ids = chat::ImportConversations(s, me->user_id, *parsed);
    for (const std::string& id : ids) EmitChatCreated(s, id, me->user_id);
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) return st;

  json::Writer w;
  w.StartObject().Key("items").StartArray();
  for (size_t i = 0; i < ids.size(); ++i) {
    w.StartObject()
        .Field("id", ids[i])
        .Field("title", (*parsed)[i].title)
        .Field("message_count", static_cast<int64_t>((*parsed)[i].messages.size()))
        .EndObject();
  }
  w.EndArray().EndObject();
  return http::Response::Json(201, w.Take());
}

}  // namespace

void RegisterImportRoutes(http::Router& router, Services* services) {
  router.Add("POST", "/api/v1/import",
             JsonHandler([services](const http::Request& r) { return Import(*services, r); }));
}

}  // namespace chatd::api
