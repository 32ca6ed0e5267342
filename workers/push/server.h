// chatd-push: the WebSocket push daemon (Boost.Asio + Boost.Beast, one event loop).
//
// It accepts HTTP on PUSH_LISTEN (nginx proxies /ws to it): GET /health answers
// {"status":"ok"}; an upgrade on /ws is checked before the WebSocket handshake — an Origin not on
// CORS_ALLOWED_ORIGINS gets 403 (no cross-site WebSocket hijacking; clients that send no Origin,
// i.e. not browsers, are let through to the token check) — and then handed to a WsSession with the
// ?token= and ?cursor= of its query string. The Hub fans events out; SIGTERM/SIGINT close every
// connection with 1001 and stop the loop.

#pragma once

#include "core/config.h"

namespace chatd::push {

// Runs until SIGTERM/SIGINT; returns the exit code.
int RunPushServer(const Config& config);

}  // namespace chatd::push
