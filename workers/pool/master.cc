// The master process: the event loop over the self-pipe, the state machine of master.h, and the
// once-a-second housekeeping (slow-request log, stuck-request termination, systemd status and
// watchdog).

#include "pool/master.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/log.h"
#include "pool/children.h"
#include "pool/listener.h"
#include "pool/notify.h"
#include "pool/pool.h"
#include "pool/signals.h"

namespace chatd::pool {

const char* MasterStateName(MasterState s) {
  switch (s) {
    case MasterState::kStarting:
      return "starting";
    case MasterState::kRunning:
      return "running";
    case MasterState::kReloading:
      return "reloading";
    case MasterState::kStopping:
      return "stopping";
    case MasterState::kTerminating:
      return "terminating";
  }
  return "unknown";
}

namespace {

class Master {
 public:
  Master(const Hooks& hooks, std::shared_ptr<const Config> config, Scoreboard* sb, int listen_fd)
      : hooks_(hooks), config_(std::move(config)), sb_(sb), children_(hooks, sb, listen_fd) {}

  int Run();

 private:
  void SetState(MasterState s) {
    state_ = s;
    sb_->shared().counters.master_state.store(static_cast<uint8_t>(s));
  }
  bool Serving() const {
    return state_ == MasterState::kStarting || state_ == MasterState::kRunning ||
           state_ == MasterState::kReloading;
  }
  void OnSignal(int sig);
  void Reload();
  void BeginStop();
  void HandleExits();
  void KeepWorkersUp();
  void Housekeeping();

  const Hooks& hooks_;
  std::shared_ptr<const Config> config_;
  Scoreboard* sb_;
  Children children_;
  Notifier notifier_;
  MasterState state_ = MasterState::kStarting;
  uint32_t generation_ = 1;
  int64_t respawn_not_before_ms_ = 0;
  int64_t backoff_ms_ = 1000;
  int64_t last_backoff_ms_ = 0;
  int64_t stop_deadline_ms_ = 0;
  bool killed_remaining_ = false;
  int64_t last_housekeeping_ms_ = 0;
  std::vector<pid_t> killed_;  // workers sent SIGKILL for REQUEST_TERMINATE_TIMEOUT, not yet reaped
};

int Master::Run() {
  SignalPipe signals({SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT});
  sb_->shared().counters.generation.store(generation_);
  sb_->shared().counters.desired_workers.store(config_->workers);
  sb_->shared().counters.threads_per_worker.store(config_->threads_per_worker);
  SetState(MasterState::kStarting);
  for (int i = 0; i < config_->workers; ++i) children_.Spawn(generation_, config_);

  for (;;) {
    pollfd pfd{signals.read_fd(), POLLIN, 0};
    // Workers report "running" through the scoreboard, which wakes nobody: look often while
    // waiting for them, so that READY=1 and the end of a reload are not late.
    poll(&pfd, 1, state_ == MasterState::kRunning ? 200 : 20);
    for (int sig : signals.Drain()) OnSignal(sig);
    HandleExits();
    if (Serving()) KeepWorkersUp();

    if (state_ == MasterState::kStopping || state_ == MasterState::kTerminating) {
      if (children_.Count() == 0) break;
      if (!killed_remaining_ && NowMs() >= stop_deadline_ms_) {
        LogWarn("shutdown timeout: killing remaining workers").Int("workers", children_.Count());
        children_.SignalAll(SIGKILL);
        killed_remaining_ = true;
      }
    }
    if (NowMs() - last_housekeeping_ms_ >= 1000) Housekeeping();
  }
  LogInfo("pool stopped");
  return 0;
}

void Master::OnSignal(int sig) {
  switch (sig) {
    case SIGCHLD:
      break;  // reaped below
    case SIGHUP:
      if (Serving()) Reload();
      break;
    case SIGTERM:
    case SIGINT:
      if (Serving()) BeginStop();
      break;
    case SIGQUIT:
      if (state_ != MasterState::kTerminating) {
        LogInfo("SIGQUIT: stopping now");
        notifier_.Stopping();
        SetState(MasterState::kTerminating);
        children_.SignalAll(SIGKILL);
        stop_deadline_ms_ = NowMs();
        killed_remaining_ = true;
      }
      break;
    default:
      break;
  }
}

void Master::Reload() {
  LogInfo("SIGHUP: reloading configuration");
  auto next = hooks_.load_config();
  if (!next.ok()) {
    LogError("reload refused: the new configuration is invalid; workers keep running")
        .Str("error", next.status().detail());
    return;
  }
  const Config& n = *next.value();
  if (n.listen != config_->listen || n.listen_mode != config_->listen_mode ||
      n.listen_backlog != config_->listen_backlog) {
    LogWarn("LISTEN, LISTEN_MODE and LISTEN_BACKLOG changes take effect at the next restart");
  }
  notifier_.Reloading();
  config_ = next.value();
  ++generation_;
  sb_->shared().counters.generation.store(generation_);
  sb_->shared().counters.desired_workers.store(config_->workers);
  sb_->shared().counters.threads_per_worker.store(config_->threads_per_worker);
  sb_->shared().counters.reloads.fetch_add(1);
  InitLogging("chatd-workers", config_->log_format, config_->log_level);
  SetState(MasterState::kReloading);
  respawn_not_before_ms_ = 0;
  for (int i = 0; i < config_->workers; ++i) children_.Spawn(generation_, config_);
}

void Master::BeginStop() {
  LogInfo("stopping: workers finish their requests")
      .Int("timeout_s", config_->shutdown_timeout.count());
  notifier_.Stopping();
  SetState(MasterState::kStopping);
  children_.SignalAll(SIGTERM);
  stop_deadline_ms_ = NowMs() + config_->shutdown_timeout.count() * 1000 + 1000;
}

void Master::HandleExits() {
  auto& counters = sb_->shared().counters;
  for (const ExitInfo& e : children_.Reap()) {
    killed_.erase(std::remove(killed_.begin(), killed_.end(), e.pid), killed_.end());
    bool current = e.generation == generation_;
    if (e.abnormal) {
      counters.abnormal_exits.fetch_add(1);
      LogWarn("worker exited abnormally")
          .Int("worker_pid", e.pid)
          .Str("how", e.how)
          .Int("generation", e.generation);
      if (Serving() && current &&
          children_.RecordAbnormalExit(NowMs(), config_->emergency_restart_threshold,
                                       config_->emergency_restart_interval.count() * 1000)) {
        counters.emergency_backoffs.fetch_add(1);
        // The back-off doubles while crashes keep coming, and starts again from a second once the
        // pool has gone a whole interval without a brake.
        const int64_t now = NowMs();
        if (now - last_backoff_ms_ >
            config_->emergency_restart_interval.count() * 1000 + backoff_ms_) {
          backoff_ms_ = 1000;
        }
        last_backoff_ms_ = now;
        respawn_not_before_ms_ = now + backoff_ms_;
        LogError("emergency restart threshold reached: backing off before respawning")
            .Int("threshold", config_->emergency_restart_threshold)
            .Int("interval_s", config_->emergency_restart_interval.count())
            .Int("backoff_ms", backoff_ms_);
        backoff_ms_ = std::min<int64_t>(backoff_ms_ * 2, 60000);
      }
    } else if (Serving() && current) {
      counters.recycles.fetch_add(1);
      LogInfo("worker recycled").Int("worker_pid", e.pid);
    } else {
      LogDebug("worker exited").Int("worker_pid", e.pid).Str("how", e.how);
    }
  }
}

void Master::KeepWorkersUp() {
  const int desired = config_->workers;
  int64_t now = NowMs();
  // A worker that stopped accepting (recycling after MAX_REQUESTS, or told to stop by hand) is
  // replaced at once, not when its last request ends: a long stream must not cost capacity.
  int missing = desired - children_.CountAccepting(generation_);
  if (missing > 0 && now >= respawn_not_before_ms_) {
    for (int i = 0; i < missing; ++i) {
      if (children_.Spawn(generation_, config_) && state_ == MasterState::kRunning) {
        sb_->shared().counters.respawns.fetch_add(1);
      }
    }
  }
  if (state_ != MasterState::kRunning && children_.CountRunning(generation_) >= desired) {
    if (state_ == MasterState::kReloading) {
      // The new generation serves; the old ones finish what they hold and exit.
      for (uint32_t g = 1; g < generation_; ++g) children_.SignalAll(SIGUSR2, g);  // retire
      LogInfo("reload complete").Int("generation", generation_);
    } else {
      LogInfo("pool ready")
          .Int("workers", desired)
          .Int("threads_per_worker", config_->threads_per_worker);
    }
    SetState(MasterState::kRunning);
    notifier_.Ready();
  }
}

void Master::Housekeeping() {
  int64_t now = NowMs();
  last_housekeeping_ms_ = now;
  auto& counters = sb_->shared().counters;
  const int64_t slow_ms = config_->request_slowlog_timeout.count() * 1000;
  const int64_t term_ms = config_->request_terminate_timeout.count() * 1000;
  int busy = 0, total = 0, workers = 0;
  for (auto& ws : sb_->shared().workers) {
    if (ws.state.load() == static_cast<uint8_t>(WorkerState::kFree)) continue;
    ++workers;
    const pid_t pid = ws.pid.load();
    int threads = ws.threads.load();
    total += threads;
    bool terminate = false;
    for (int i = 0; i < threads && i < kMaxThreadsPerWorker; ++i) {
      ThreadSlot& ts = ws.thread[i];
      const uint64_t serial = ts.serial.load();
      if (ts.state.load() != static_cast<uint8_t>(ThreadState::kBusy)) continue;
      ++busy;
      const int64_t elapsed = now - ts.since_ms.load();
      const uint8_t flags = ts.flags.load();
      const bool log_slow =
          slow_ms > 0 && elapsed > slow_ms && ts.slow_logged_serial.load() != serial;
      const bool too_long = term_ms > 0 && elapsed > term_ms && !(flags & kFlagLongRunning) &&
                            std::find(killed_.begin(), killed_.end(), pid) == killed_.end();
      if (!log_slow && !too_long) continue;
      std::string request, request_id;
      Scoreboard::ReadThreadRequest(ts, &request, &request_id);
      // The thread moved on to another request while we looked: judge that one next round.
      if (ts.serial.load() != serial) continue;
      if (log_slow) {
        ts.slow_logged_serial.store(serial);
        counters.slow_requests.fetch_add(1);
        LogWarn("slow request")
            .Int("worker_pid", pid)
            .Str("request", request)
            .Str("request_id", request_id)
            .Int("elapsed_ms", elapsed)
            .Bool("long_running", flags & kFlagLongRunning);
      }
      if (too_long) {
        LogError("request exceeded REQUEST_TERMINATE_TIMEOUT: replacing its worker")
            .Int("worker_pid", pid)
            .Str("request", request)
            .Str("request_id", request_id)
            .Int("elapsed_ms", elapsed);
        terminate = true;
      }
    }
    if (terminate && pid > 0) {
      counters.terminated_requests.fetch_add(1);
      killed_.push_back(pid);  // until reaped: killed once, counted once
      kill(pid, SIGKILL);
    }
  }
  notifier_.Status(std::string(MasterStateName(state_)) + "; workers: " + std::to_string(workers) +
                   "; busy threads: " + std::to_string(busy) + "/" + std::to_string(total) +
                   "; requests: " + std::to_string(counters.accepted.load()));
  notifier_.MaybeWatchdog(now);
}

}  // namespace

int RunPool(const Hooks& hooks, std::shared_ptr<const Config> config) {
  auto listener = OpenListener(config->listen, config->listen_mode, config->listen_backlog);
  if (!listener.ok()) {
    LogError("cannot open the listening socket").Str("error", listener.status().detail());
    return 1;
  }
  std::vector<std::string> labels = hooks.route_labels;
  labels.push_back("GET /metrics");
  labels.push_back("GET /api/v1/status");
  Scoreboard* sb = Scoreboard::Create(labels, hooks.app_metrics);
  LogInfo("pool starting")
      .Str("listen", listener->description)
      .Int("workers", config->workers)
      .Int("threads_per_worker", config->threads_per_worker)
      .Int("max_requests", config->max_requests);
  Master master(hooks, std::move(config), sb, listener->fd);
  int rc = master.Run();
  CloseListener(listener.value());
  return rc;
}

}  // namespace chatd::pool
