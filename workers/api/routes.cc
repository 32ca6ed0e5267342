// The route table. Each resource registers its own routes; this file only lists the resources.

#include "api/routes.h"

#include "api/health.h"

namespace chatd::api {

http::Router BuildRouter(Services* services) {
  http::Router router;
  RegisterHealthRoutes(router, services);
  return router;
}

std::vector<std::string> RouteLabels() { return BuildRouter(nullptr).RouteLabels(); }

}  // namespace chatd::api
