// The pool's own endpoints, rendered from the scoreboard so that whichever worker answers speaks
// for the whole pool: GET /api/v1/status (php-fpm's status page as JSON; ?full adds one row per
// worker) and GET /metrics (Prometheus text format 0.0.4). nginx exposes both to loopback only.

#pragma once

#include <string>

#include "http/http.h"
#include "pool/scoreboard.h"

namespace chatd::pool {

std::string RenderStatusJson(const Scoreboard& sb, bool full);
std::string RenderMetrics(const Scoreboard& sb);

// Serves the request when it is one of the pool's endpoints; returns false otherwise.
bool ServePoolEndpoint(http::Request& request, http::ResponseWriter& writer, const Scoreboard& sb);

}  // namespace chatd::pool
