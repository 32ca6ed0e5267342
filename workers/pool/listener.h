// The FastCGI listening socket, opened once by the master and inherited by every worker.
//
// Three sources, in order: a socket handed over by systemd (socket activation, sd_listen_fds), a
// unix socket path ("/run/chatd/workers.sock"), or "host:port" on TCP. A stale unix socket file
// left by a crash is replaced; a live one (another pool answering on it) is an error, so two
// pools never steal each other's socket.

#pragma once

#include <string>

#include "core/status.h"

namespace chatd::pool {

struct Listener {
  int fd = -1;
  std::string description;  // for logs: "unix:/run/chatd/workers.sock", "systemd fd 3", ...
  std::string unix_path;    // set when we created the socket file (unlinked at exit)
};

Result<Listener> OpenListener(const std::string& spec, int unix_mode, int backlog);
void CloseListener(Listener& l);

}  // namespace chatd::pool
