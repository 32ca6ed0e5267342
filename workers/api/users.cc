// Endpoints of this resource (API.md). Not implemented yet.

#include "api/handlers.h"

namespace chatd::api {

void RegisterUserRoutes(http::Router&, Services*) {}

}  // namespace chatd::api
