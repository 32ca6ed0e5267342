// POST /chat (API.md "Messages") is a send to an assistant conversation and shares the send's
// single transaction (api/messages.cc registers it, next to POST /conversations/{id}/messages);
// nothing else lives under /chat today.

#include "api/handlers.h"

namespace chatd::api {

void RegisterChatRoutes(http::Router&, Services*) {}

}  // namespace chatd::api
