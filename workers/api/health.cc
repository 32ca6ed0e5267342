// Health and readiness. /ready answers 503 while the database is unreachable and 200 again as soon
// as it is back: store::Database reconnects by itself, so no worker restart is needed.

#include "api/handlers.h"

#include <soci/soci.h>

#include "api/common.h"
#include "json/json.h"

namespace chatd::api {
namespace {

http::Response Health() {
  return http::Response::Json(200, R"({"status":"ok"})");
}

http::Response Ready(Services& s) {
  std::string database = "ok", migrations = "ok";
  Status st = s.db->Run(
      [&](soci::session& session) {
        int one = 0;
        session << "SELECT 1", soci::into(one);
        try {
          auto up = store::MigrationsUpToDate(session, s.migrations);
          migrations = up.ok() && up.value() ? "ok" : "pending";
        } catch (const std::exception& e) {
          if (store::Database::IsConnectionError(e)) throw;
          migrations = "pending";  // no schema_migrations table yet
        }
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) {
    database = "error";
    migrations = "unknown";
  }
  bool ok = database == "ok" && migrations == "ok";
  json::Writer w;
  w.StartObject()
      .Field("status", ok ? "ok" : "degraded")
      .Key("checks")
      .StartObject()
      .Field("database", database)
      .Field("migrations", migrations)
      .Field("llm", s.config->llm_configured() ? "configured" : "missing")
      .EndObject()
      .EndObject();
  http::Response r = http::Response::Json(ok ? 200 : 503, w.Take());
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace

void RegisterHealthRoutes(http::Router& router, Services* services) {
  router.Add("GET", "/api/v1/health",
             JsonHandler([](const http::Request&) -> Result<http::Response> { return Health(); }));
  router.Add("GET", "/api/v1/ready",
             JsonHandler([services](const http::Request&) -> Result<http::Response> {
               return Ready(*services);
             }));
}

}  // namespace chatd::api
