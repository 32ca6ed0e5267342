// Test-only endpoints, registered only when CHATD_TEST_ROUTES=1 (never in production): they let
// the integration tests hold a request thread for a while, with or without database work around
// the wait, the way an LLM call does.
//
//   GET /api/v1/_test/sleep?ms=N[&db=1]   (db=1: one query before and one after the wait, with
//                                          no session held during it)
//   GET /api/v1/_test/retrieve?assistant_id=&q=&k=   store::RetrieveChunks as a reply calls it:
//                                          {"items": [{document_id, filename, chunk_index, rank,
//                                          excerpt, content}]}
//   GET /api/v1/_test/assistant-context?assistant_id=   store::LoadAssistantContext: {assistant_id,
//                                          name, model, temperature, max_tokens, system_context}
//   GET /api/v1/_test/crash                a handler that crashes its worker (abort()), for the
//                                          fault tests of the pool's crash-loop brake

#include <soci/soci.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "api/common.h"
#include "api/handlers.h"
#include "store/assistants_repo.h"
#include "store/documents_repo.h"

namespace chatd::api {

void RegisterTestRoutes(http::Router& router, Services* services) {
  if (services != nullptr && !services->config->enable_test_routes) return;
  router.Add(
      "GET", "/api/v1/_test/sleep",
      JsonHandler([services](const http::Request& r) -> Result<http::Response> {
        long ms = std::strtol(r.QueryParam("ms").value_or("0").c_str(), nullptr, 10);
        ms = std::clamp(ms, 0L, 600000L);
        bool db = r.QueryParam("db").value_or("") == "1";
        auto ping = [&] {
          return services->db->Run(
              [](soci::session& s) {
                int one = 0;
                s << "SELECT 1", soci::into(one);
                return Status::Ok();
              },
              /*idempotent=*/true);  // a read, like most queries: retried once on a lost connection
        };
        if (db) {
          Status st = ping();
          if (!st.ok()) return st;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        if (db) {
          Status st = ping();
          if (!st.ok()) return st;
        }
        return http::Response::Json(200, "{\"slept_ms\":" + std::to_string(ms) + "}");
      }));
  router.Add(
      "GET", "/api/v1/_test/retrieve",
      JsonHandler([services](const http::Request& r) -> Result<http::Response> {
        std::string assistant_id = r.QueryParam("assistant_id").value_or("");
        std::string q = r.QueryParam("q").value_or("");
        int k = static_cast<int>(std::strtol(r.QueryParam("k").value_or("4").c_str(), nullptr, 10));
        std::vector<store::RetrievedChunk> chunks;
        Status st = services->db->Run(
            [&](soci::session& s) {
              auto found = store::RetrieveChunks(s, assistant_id, q, k);
              if (!found.ok()) return found.status();
              chunks = std::move(found).value();
              return Status::Ok();
            },
            /*idempotent=*/true);
        if (!st.ok()) return st;
        json::Writer w;
        w.StartObject().Key("items").StartArray();
        for (const auto& c : chunks) {
          w.StartObject()
              .Field("document_id", c.document_id)
              .Field("filename", c.filename)
              .Field("chunk_index", c.chunk_index)
              .Field("rank", c.rank)
              .Field("excerpt", store::Excerpt(c.content))
              .Field("content", c.content)
              .EndObject();
        }
        w.EndArray().EndObject();
        return http::Response::Json(200, w.Take());
      }));
  router.Add("GET", "/api/v1/_test/crash",
             [](const http::Request&, http::ResponseWriter&) { std::abort(); });
  router.Add("GET", "/api/v1/_test/assistant-context",
             JsonHandler([services](const http::Request& r) -> Result<http::Response> {
               std::string assistant_id = r.QueryParam("assistant_id").value_or("");
               std::optional<store::AssistantContext> context;
               Status st = services->db->Run(
                   [&](soci::session& s) {
                     auto loaded = store::LoadAssistantContext(s, assistant_id);
                     if (!loaded.ok()) return loaded.status();
                     context = std::move(loaded).value();
                     return Status::Ok();
                   },
                   /*idempotent=*/true);
               if (!st.ok()) return st;
               json::Writer w;
               w.StartObject()
                   .Field("assistant_id", context->assistant_id)
                   .Field("name", context->name)
                   .Field("model", context->model);
               w.Key("temperature");
               context->temperature ? w.Double(*context->temperature) : w.Null();
               w.Key("max_tokens");
               context->max_tokens ? w.Int(*context->max_tokens) : w.Null();
               w.Field("system_context", context->system_context).EndObject();
               return http::Response::Json(200, w.Take());
             }));
}

}  // namespace chatd::api
