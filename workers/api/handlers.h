// Route registration, one function per resource file (api/<resource>.cc). Each adds its
// endpoints to the router; `services` is null when the router is only listing its routes.

#pragma once

#include "api/services.h"
#include "http/router.h"

namespace chatd::api {

void RegisterHealthRoutes(http::Router& router, Services* services);        // health.cc
void RegisterInfoRoutes(http::Router& router, Services* services);          // info.cc
void RegisterAuthRoutes(http::Router& router, Services* services);          // auth.cc
void RegisterUserRoutes(http::Router& router, Services* services);          // users.cc
void RegisterAssistantRoutes(http::Router& router, Services* services);     // assistants.cc
void RegisterConversationRoutes(http::Router& router, Services* services);  // conversations.cc
void RegisterMessageRoutes(http::Router& router, Services* services);       // messages.cc
void RegisterChatRoutes(http::Router& router, Services* services);          // chat.cc
void RegisterUsageRoutes(http::Router& router, Services* services);         // usage.cc
void RegisterAdminRoutes(http::Router& router, Services* services);         // admin.cc
void RegisterExportRoutes(http::Router& router, Services* services);        // export.cc
void RegisterImportRoutes(http::Router& router, Services* services);        // import.cc
void RegisterKeyRoutes(http::Router& router, Services* services);           // keys.cc
void RegisterOpenAiRoutes(http::Router& router, Services* services);        // openai_compat.cc
void RegisterTestRoutes(http::Router& router, Services* services);          // testing.cc

}  // namespace chatd::api
