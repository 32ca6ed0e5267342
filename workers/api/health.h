// GET /api/v1/health (liveness: no database call) and GET /api/v1/ready (readiness: database
// reachable, migrations applied, LLM provider configured or not).

#pragma once

#include "api/services.h"
#include "http/router.h"

namespace chatd::api {

void RegisterHealthRoutes(http::Router& router, Services* services);

}  // namespace chatd::api
