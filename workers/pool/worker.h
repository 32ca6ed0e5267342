// A worker process: THREADS_PER_WORKER threads, each looping accept -> serve -> finish.
//
// Accepts are serialised by one mutex per process (libfcgi's own lock is per process, not per
// thread) and the listening socket is non-blocking, so the thread that holds the mutex waits in
// poll() on both the socket and the process's stop pipe: a stop (SIGTERM from the master, a reload,
// MAX_REQUESTS reached) wakes it at once instead of leaving it blocked in accept(). Threads busy
// with a request finish it, then see the stop and exit; the process exits 0 when all have, or
// after SHUTDOWN_TIMEOUT.

#pragma once

#include <memory>

#include "pool/pool.h"

namespace chatd::pool {

// Runs in the child after fork; never returns.
[[noreturn]] void RunWorkerProcess(const Hooks& hooks, std::shared_ptr<const Config> config,
                                   int listen_fd, ProcessInfo info);

}  // namespace chatd::pool
