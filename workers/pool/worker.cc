// The worker process. See worker.h for the accept discipline.

#include "pool/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/log.h"
#include "fcgi/fcgi.h"
#include "pool/signals.h"
#include "pool/status.h"

namespace chatd::pool {
namespace {

thread_local ThreadSlot* t_slot = nullptr;

struct WorkerShared {
  const Hooks* hooks = nullptr;
  const Config* config = nullptr;
  App* app = nullptr;
  Scoreboard* sb = nullptr;
  WorkerSlot* slot = nullptr;
  int listen_fd = -1;
  int stop_read_fd = -1;  // readable once the process is stopping
  int stop_write_fd = -1;
  int epoll_fd = -1;  // the listening socket (EPOLLEXCLUSIVE) and the stop pipe
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> served{0};
  std::atomic<int> threads_running{0};
  std::atomic<int> busy{0};
  std::mutex accept_mutex;
  std::mutex done_mutex;
  std::condition_variable done_cv;
  std::atomic<bool> recycling{false};
};

void RequestStop(WorkerShared& w) {
  if (!w.stopping.exchange(true)) {
    char b = 1;
    ssize_t ignored = write(w.stop_write_fd, &b, 1);  // level-triggered: never drained
    (void)ignored;
  }
}

// Waits for a connection or a stop; returns true when the listening socket is readable (even if
// the process is stopping too: see ThreadMain).
//
// The listening socket sits in each process's epoll set with EPOLLEXCLUSIVE, so a new connection
// wakes one waiting process, not all of them (the thundering herd that a plain poll() on a shared
// socket causes: every process wakes, one accepts, the others find nothing and sleep again).
bool WaitForConnection(WorkerShared& w) {
  epoll_event events[2];
  int n = epoll_wait(w.epoll_fd, events, 2, 1000);
  bool readable = false;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == w.listen_fd) readable = true;
  }
  return readable;
}

void ServeOne(WorkerShared& w, fcgi::RequestSlot& fcgi_slot, ThreadSlot& ts) {
  auto start = std::chrono::steady_clock::now();
  http::Request request = fcgi_slot.Read(w.hooks->max_body_bytes);
  ts.serial.fetch_add(1);  // first: see ThreadSlot::serial
  ts.flags.store(0);
  ts.since_ms.store(NowMs());
  Scoreboard::SetThreadRequest(ts, request.method, request.path, request.request_id);
  ts.state.store(static_cast<uint8_t>(ThreadState::kBusy), std::memory_order_release);
  int busy_now = w.busy.fetch_add(1) + 1;
  auto& hw = w.sb->shared().counters.max_threads_busy;
  int prev = hw.load();
  while (busy_now > prev && !hw.compare_exchange_weak(prev, busy_now)) {
  }

  http::ResponseWriter& writer = fcgi_slot.writer();
  try {
    if (!ServePoolEndpoint(request, writer, *w.sb)) w.app->Handle(request, writer);
  } catch (const std::exception& e) {
    LogError("unhandled exception").Str("request_id", request.request_id).Str("error", e.what());
    if (!writer.begun()) writer.Send(http::Problem(Status::Internal(), request.request_id));
  }
  if (!writer.begun()) writer.Send(http::Problem(Status::Internal(), request.request_id));
  fcgi_slot.Finish();

  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  int status = writer.status();
  w.sb->RecordRequest(w.sb->RouteIndex(request.route), status, us);
  LogInfo("request")
      .Str("request_id", request.request_id)
      .Str("method", request.method)
      .Str("route",
           request.route.empty() ? std::string_view("unmatched") : std::string_view(request.route))
      .Int("status", status)
      .Num("duration_ms", static_cast<double>(us) / 1000.0);

  w.busy.fetch_sub(1);
  ts.requests.fetch_add(1, std::memory_order_relaxed);
  w.slot->requests.fetch_add(1, std::memory_order_relaxed);
  w.sb->shared().counters.accepted.fetch_add(1, std::memory_order_relaxed);
  ts.since_ms.store(NowMs(), std::memory_order_relaxed);
  ts.state.store(static_cast<uint8_t>(ThreadState::kIdle), std::memory_order_release);
  Scoreboard::SetThreadRequest(ts, "", "", "");
}

void ThreadMain(WorkerShared& w, int index) {
  ThreadSlot& ts = w.slot->thread[index];
  t_slot = &ts;
  ts.since_ms.store(NowMs());
  fcgi::RequestSlot fcgi_slot(w.listen_fd);
  const long max_requests = w.config->max_requests;
  while (!w.stopping.load(std::memory_order_acquire)) {
    bool accepted = false, failed = false;
    int accept_errno = 0;
    {
      std::lock_guard<std::mutex> lock(w.accept_mutex);
      if (w.stopping.load()) break;
      // Under load a connection is usually waiting already: take it without a wait. Otherwise
      // wait, and accept what the wait announced even if a stop came with it: this process was
      // the one woken for that connection, and no other would be.
      bool would_block = false;
      accepted = fcgi_slot.Accept(&would_block);
      if (!accepted && would_block && WaitForConnection(w))
        accepted = fcgi_slot.Accept(&would_block);
      failed = !accepted && !would_block;
      accept_errno = errno;
    }
    if (failed) {
      // Out of file descriptors, say: tell, and do not spin on it.
      LogWarn("accept failed").Int("errno", accept_errno);
      pollfd stop{w.stop_read_fd, POLLIN, 0};
      poll(&stop, 1, 100);
    }
    if (!accepted) continue;
    ServeOne(w, fcgi_slot, ts);
    uint64_t served = w.served.fetch_add(1) + 1;
    if (max_requests > 0 && served >= static_cast<uint64_t>(max_requests)) {
      w.recycling = true;
      RequestStop(w);
    }
  }
  t_slot = nullptr;
  if (w.threads_running.fetch_sub(1) == 1) {
    std::lock_guard<std::mutex> lock(w.done_mutex);
    w.done_cv.notify_all();
  }
}

}  // namespace

void MarkCurrentRequestLongRunning() {
  if (t_slot) t_slot->flags.fetch_or(kFlagLongRunning, std::memory_order_relaxed);
}

void RunWorkerProcess(const Hooks& hooks, std::shared_ptr<const Config> config, int listen_fd,
                      ProcessInfo info) {
  // Every signal is still blocked here (the master blocks them around fork()). The asynchronous
  // ones stay blocked in the request threads, which inherit this thread's mask: only the main
  // thread may be interrupted by them. A signal landing on a request thread would make its
  // blocking read or write on the nginx connection fail with EINTR (the handlers have no
  // SA_RESTART), and libfcgi would drop the request half-served.
  ResetSignals({SIGCHLD});
  // SIGTERM/SIGINT: the pool stops (long work is cut short: App::BeginShutdown at once).
  // SIGUSR2: this worker retires (a reload replaced it): requests, streams included, may finish
  // within SHUTDOWN_TIMEOUT before BeginShutdown cuts what remains. SIGQUIT: exit now.
  SignalPipe signals({SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR2});
  signal(SIGPIPE, SIG_IGN);
  sigset_t async_signals;
  sigemptyset(&async_signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&async_signals, s);
  }
  sigprocmask(SIG_SETMASK, &async_signals, nullptr);  // synchronous ones (SIGSEGV, ...) unblocked
  // The master's death (kill -9 included) is a SIGTERM to this worker at once: the same graceful
  // stop as the pool's own. The getppid() check of the main loop stays as the fallback for a
  // master that died before this call.
  prctl(PR_SET_PDEATHSIG, SIGTERM);

  Scoreboard* sb = Scoreboard::Get();
  WorkerShared w;
  w.hooks = &hooks;
  w.config = config.get();
  w.sb = sb;
  w.slot = &sb->shared().workers[info.slot];
  w.listen_fd = listen_fd;
  int stop_pipe[2];
  if (pipe2(stop_pipe, O_CLOEXEC) != 0) _exit(3);
  w.stop_read_fd = stop_pipe[0];
  w.stop_write_fd = stop_pipe[1];
  int flags = fcntl(listen_fd, F_GETFL);
  fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK);
  w.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event listen_event{};
  listen_event.events = EPOLLIN | EPOLLEXCLUSIVE;
  listen_event.data.fd = listen_fd;
  epoll_event stop_event{};
  stop_event.events = EPOLLIN;
  stop_event.data.fd = w.stop_read_fd;
  if (w.epoll_fd < 0 || epoll_ctl(w.epoll_fd, EPOLL_CTL_ADD, listen_fd, &listen_event) != 0 ||
      epoll_ctl(w.epoll_fd, EPOLL_CTL_ADD, w.stop_read_fd, &stop_event) != 0) {
    LogError("worker could not set up epoll").Int("errno", errno);
    _exit(3);
  }

  fcgi::InitLibrary();
  auto app = hooks.make_app(*config, info);
  if (!app.ok()) {
    LogError("worker could not start").Str("error", app.status().detail());
    _exit(2);
  }
  w.app = app.value().get();

  int threads = std::min(config->threads_per_worker, kMaxThreadsPerWorker);
  w.slot->threads.store(threads);
  w.threads_running.store(threads);
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) pool.emplace_back(ThreadMain, std::ref(w), i);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);  // now signals reach this thread only
  w.slot->state.store(static_cast<uint8_t>(WorkerState::kRunning), std::memory_order_release);
  LogDebug("worker started")
      .Int("slot", info.slot)
      .Int("generation", info.generation)
      .Int("threads", threads);

  // The main thread waits for a stop signal or for the threads to end (recycling).
  bool quit_now = false;
  bool retiring = false;  // reload or MAX_REQUESTS: let long requests finish if they can
  while (!w.stopping.load()) {
    pollfd fds[2] = {{signals.read_fd(), POLLIN, 0}, {w.stop_read_fd, POLLIN, 0}};
    poll(fds, 2, 1000);
    for (int sig : signals.Drain()) {
      if (sig == SIGQUIT) quit_now = true;
      if (sig == SIGUSR2) retiring = true;
      RequestStop(w);
    }
    // The master died (we were re-parented to init or a subreaper): do not linger as an orphan.
    if (getppid() != info.master_pid) RequestStop(w);
  }
  if (quit_now) _exit(0);
  w.slot->state.store(static_cast<uint8_t>(WorkerState::kStopping));
  if (w.recycling.load()) retiring = true;
  auto wait_for_threads = [&](std::chrono::steady_clock::duration budget) {
    std::unique_lock<std::mutex> lock(w.done_mutex);
    auto deadline = std::chrono::steady_clock::now() + budget;
    while (w.threads_running.load() > 0) {
      if (w.done_cv.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
  };
  // Busy threads finish their requests. A retiring worker gives them SHUTDOWN_TIMEOUT before it
  // asks the app to cut long work (streams are then stored as interrupted) and a few seconds more
  // for that; a stopping pool cuts long work at once. What outlives that is cut by _exit.
  if (retiring) {
    wait_for_threads(config->shutdown_timeout);
    if (w.threads_running.load() > 0) {
      w.app->BeginShutdown();
      wait_for_threads(std::chrono::seconds(5));
    }
  } else {
    w.app->BeginShutdown();
    wait_for_threads(config->shutdown_timeout);
  }
  if (w.threads_running.load() > 0) {
    LogWarn("worker stop timed out; cutting requests in flight").Int("busy", w.busy.load());
    _exit(1);
  }
  for (auto& t : pool) t.join();
  LogDebug("worker exiting")
      .Bool("recycled", w.recycling.load())
      .Int("served", static_cast<int64_t>(w.served.load()));
  // _exit: the app's destructors (database pools) need not run, and atexit handlers of the master
  // must not run in the child.
  _exit(0);
}

}  // namespace chatd::pool
