// Test-only endpoints, registered only when CHATD_TEST_ROUTES=1 (never in production): they let
// the integration tests hold a request thread for a while, with or without database work around
// the wait, the way an LLM call does.
//
//   GET /api/v1/_test/sleep?ms=N[&db=1]   (db=1: one query before and one after the wait, with
//                                          no session held during it)

#include <soci/soci.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "api/common.h"
#include "api/handlers.h"

namespace chatd::api {

void RegisterTestRoutes(http::Router& router, Services* services) {
  if (services != nullptr && !services->config->enable_test_routes) return;
  router.Add("GET", "/api/v1/_test/sleep", JsonHandler([services](const http::Request& r) -> Result<http::Response> {
               long ms = std::strtol(r.QueryParam("ms").value_or("0").c_str(), nullptr, 10);
               ms = std::clamp(ms, 0L, 600000L);
               bool db = r.QueryParam("db").value_or("") == "1";
               auto ping = [&] {
                 return services->db->Run([](soci::session& s) {
                   int one = 0;
                   s << "SELECT 1", soci::into(one);
                   return Status::Ok();
                 });
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
}

}  // namespace chatd::api
