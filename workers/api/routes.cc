// The route table. Each resource registers its own routes; this file only lists the resources.

#include "api/routes.h"

#include "api/handlers.h"

namespace chatd::api {

http::Router BuildRouter(Services* services) {
  http::Router router;
  RegisterHealthRoutes(router, services);
  RegisterInfoRoutes(router, services);
  RegisterAuthRoutes(router, services);
  RegisterUserRoutes(router, services);
  RegisterAssistantRoutes(router, services);
  RegisterConversationRoutes(router, services);
  RegisterMessageRoutes(router, services);
  RegisterChatRoutes(router, services);
  RegisterUsageRoutes(router, services);
  RegisterAdminRoutes(router, services);
  RegisterExportRoutes(router, services);
  RegisterImportRoutes(router, services);
  RegisterKeyRoutes(router, services);
  RegisterOpenAiRoutes(router, services);
  RegisterTestRoutes(router, services);
  return router;
}

std::vector<std::string> RouteLabels() {
  return BuildRouter(nullptr).RouteLabels();
}

}  // namespace chatd::api
