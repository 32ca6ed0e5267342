// GET /api/v1/info: what a client needs to know before it signs in (docs/openapi.yaml "Info").
//
// Public and cheap: no authentication, no database, the body rendered once when the routes are
// registered (the configuration does not change in a running worker; a reload starts new
// workers). The limits are the very constants and settings that validation enforces
// (store/*_repo.h, MAX_MESSAGE_CHARS), so a client that respects them is never refused for size.
// Cache-Control: no-cache, so that a client revalidates after an upgrade or a reload.

#include "api/common.h"
#include "api/handlers.h"
#include "core/config.h"
#include "json/json.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/documents_repo.h"

namespace chatd::api {
namespace {

std::string RenderInfo(const Config& config) {
  json::Writer w;
  w.StartObject().Field("version", ProjectVersion());
  w.Key("limits")
      .StartObject()
      .Field("max_message_chars", config.max_message_chars)
      .Field("max_document_bytes", static_cast<int64_t>(store::kMaxDocumentBytes))
      .Field("max_group_members", static_cast<int64_t>(store::kMaxGroupMembers))
      .Field("max_title_chars", static_cast<int64_t>(store::kMaxConversationTitleChars))
      .Field("max_system_prompt_chars", static_cast<int64_t>(store::kMaxSystemPromptChars))
      .EndObject();
  w.Key("llm")
      .StartObject()
      .Field("configured", config.llm_configured())
      .Field("demo", config.llm_demo)
      .Field("model", config.llm_model)
      .EndObject();
  w.EndObject();
  return w.Take();
}

}  // namespace

void RegisterInfoRoutes(http::Router& router, Services* services) {
  std::string body = services ? RenderInfo(*services->config) : std::string();
  router.Add("GET", "/api/v1/info",
             JsonHandler([body = std::move(body)](const http::Request&) -> Result<http::Response> {
               http::Response r = http::Response::Json(200, body);
               r.headers.emplace_back("Cache-Control", "no-cache");
               return r;
             }));
}

}  // namespace chatd::api
