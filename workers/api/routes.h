// The route table of /api/v1: every endpoint of API.md, each handled in api/<resource>.cc.

#pragma once

#include "api/services.h"
#include "http/router.h"

namespace chatd::api {

// Builds the router. `services` may be null to list the routes only (RouteLabels()).
http::Router BuildRouter(Services* services);
std::vector<std::string> RouteLabels();

}  // namespace chatd::api
