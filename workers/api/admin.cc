// GET /admin/stats (API.md "Usage and administration"): for admins only — anybody else gets 404,
// as for anything they may not see. The counts come from PostgreSQL (store/stats_repo.h), so they
// cover every machine; `pool` is the state of THIS machine's worker pool, the same JSON as
// GET /api/v1/status (the pool's scoreboard, rendered by pool/ and handed in by main through
// Services::pool_status_json, since api/ does not depend on pool/), or null when unavailable.
//
// {"users", "guests", "conversations", "messages_24h", "replies_in_flight", "pool": {...} | null}

#include <soci/soci.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/principal.h"
#include "store/stats_repo.h"

namespace chatd::api {
namespace {

Result<http::Response> GetStats(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  if (!me->is_admin()) return Status::NotFound();

  store::DeploymentStats stats;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        stats = store::LoadDeploymentStats(s);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;

  json::Writer w;
  w.StartObject()
      .Field("users", stats.users)
      .Field("guests", stats.guests)
      .Field("conversations", stats.conversations)
      .Field("messages_24h", stats.messages_24h)
      .Field("replies_in_flight", stats.replies_in_flight)
      .Key("pool");
  std::string pool = services.pool_status_json ? services.pool_status_json() : std::string();
  if (pool.empty()) {
    w.Null();
  } else {
    w.Raw(pool);  // valid JSON by construction (pool::RenderStatusJson)
  }
  w.EndObject();
  http::Response response = http::Response::Json(200, w.Take());
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

}  // namespace

void RegisterAdminRoutes(http::Router& router, Services* services) {
  router.Add("GET", "/api/v1/admin/stats",
             JsonHandler([services](const http::Request& r) { return GetStats(*services, r); }));
}

}  // namespace chatd::api
