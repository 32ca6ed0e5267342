// A worker process: THREADS_PER_WORKER threads, each looping accept -> serve -> finish.
//
// Accepts are serialised by one mutex per process (libfcgi's own lock is per process, not per
// thread) and the listening socket is non-blocking. The thread that holds the mutex first tries to
// accept (under load a connection is waiting); when none is, it waits in epoll on both the socket
// (EPOLLEXCLUSIVE: a connection wakes one process, not every one) and the process's stop pipe, so
// a stop (SIGTERM from the master, a reload, MAX_REQUESTS reached) wakes it at once instead of
// leaving it blocked in accept(). Threads busy with a request finish it, then see the stop and
// exit; the process exits 0 when all have, or after SHUTDOWN_TIMEOUT.
//
// Only the main thread of a worker receives asynchronous signals: request threads block them, so
// that no blocking read or write on an nginx connection is ever cut short by EINTR.

#pragma once

#include <memory>

#include "pool/pool.h"

namespace chatd::pool {

// Runs in the child after fork; never returns.
[[noreturn]] void RunWorkerProcess(const Hooks& hooks, std::shared_ptr<const Config> config,
                                   int listen_fd, ProcessInfo info);

}  // namespace chatd::pool
