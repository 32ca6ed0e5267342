// chatd's process manager, in the php-fpm mould: a master that owns the FastCGI listening socket,
// pre-forks WORKERS processes of THREADS_PER_WORKER threads, respawns, recycles, reloads and stops
// them, and keeps a shared scoreboard that /metrics and /api/v1/status read.
//
// The pool is generic: it knows FastCGI, HTTP requests and configuration, but nothing of chats.
// The binary hands it two hooks: one to load (and re-load, on SIGHUP) the configuration, and one
// that builds the application inside each freshly forked worker (database pools and other
// per-process state must be created after fork). The application's Handle() is then called
// concurrently by every thread of that worker.
//
// One subsystem per file: listener (socket), signals (self-pipe), scoreboard (shared memory),
// children (fork/reap/respawn, the emergency brake), worker (a worker process's threads), master
// (the state machine), status (the JSON status page and Prometheus text), notify (systemd).

#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "http/http.h"
#include "pool/scoreboard.h"

namespace chatd::pool {

struct ProcessInfo {
  int slot = 0;             // scoreboard slot of this worker
  uint32_t generation = 0;  // bumped by each reload
  pid_t master_pid = 0;     // the parent; a worker whose parent changes stops
};

// The application run by each worker process.
class App {
 public:
  virtual ~App() = default;
  // Serves one request; called concurrently from all threads of the process.
  virtual void Handle(http::Request& request, http::ResponseWriter& writer) = 0;
  // The worker is about to stop (SIGTERM, reload, recycle): finish or cut long work soon. Called
  // once, from the worker's main thread, while request threads are still running.
  virtual void BeginShutdown() {}
};

struct Hooks {
  // Loads and validates the configuration; called at start and on every SIGHUP.
  std::function<Result<std::shared_ptr<const Config>>()> load_config;
  // Builds the application in a newly forked worker. A failure is logged and the worker exits
  // non-zero (which counts towards the emergency restart threshold).
  std::function<Result<std::unique_ptr<App>>(const Config&, const ProcessInfo&)> make_app;
  // Route labels for the per-route metrics ("GET /api/v1/health", ...).
  std::vector<std::string> route_labels;
  // Application counters and gauges exposed in /metrics; App code updates them through
  // Scoreboard::Get()->AddAppMetric(index, delta), index = position in this list.
  std::vector<AppMetricSpec> app_metrics;
  // Bodies larger than this are not read (the request gets 413 from the app). The largest body
  // chatd takes is an import (8 MiB); nginx bounds every other location far lower.
  size_t max_body_bytes = 8 * 1024 * 1024 + 64 * 1024;
};

// Runs the master until it stops; returns the process exit code. `config` is the already
// validated initial configuration.
int RunPool(const Hooks& hooks, std::shared_ptr<const Config> config);

// From a request thread: marks the request in progress as long-running (an LLM stream), exempt
// from REQUEST_TERMINATE_TIMEOUT and reported as such in the status page.
void MarkCurrentRequestLongRunning();

}  // namespace chatd::pool
