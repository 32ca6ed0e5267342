// chatd-push: the WebSocket push daemon (Boost.Asio + Boost.Beast, one event loop).
//
// This first version answers only its own health check (GET /health); the WebSocket endpoint, the
// token check, LISTEN/NOTIFY fan-out and resume arrive with the push issue. It already runs the
// shape the daemon will keep: one io_context, async accept, per-connection sessions with
// timeouts, graceful stop on SIGTERM/SIGINT.

#pragma once

#include <string>

#include "core/config.h"

namespace chatd::push {

// Runs until SIGTERM/SIGINT; returns the exit code.
int RunPushServer(const Config& config);

}  // namespace chatd::push
