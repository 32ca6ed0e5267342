// Listening socket setup. See listener.h.

#include "pool/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chatd::pool {
namespace {

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

Result<Listener> OpenUnix(const std::string& path, int mode, int backlog) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    return Status::Internal("LISTEN: unix socket path too long");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  // A live socket means another pool is serving: refuse. A dead one is a leftover: remove it.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return Status::Internal("LISTEN: " + path + " exists and is not a socket");
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) close(probe);
    if (live) return Status::Internal("LISTEN: " + path + " is in use by another running pool");
    unlink(path.c_str());
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Internal(Errno("socket"));
  mode_t old = umask(0777 & ~mode);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || chmod(path.c_str(), static_cast<mode_t>(mode)) != 0 || listen(fd, backlog) != 0) {
    Status s = Status::Internal(Errno("LISTEN: cannot listen on " + path));
    close(fd);
    return s;
  }
  return Listener{fd, "unix:" + path, path};
}

Result<Listener> OpenTcp(const std::string& spec, int backlog) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos)
    return Status::Internal("LISTEN: expected a unix path or host:port");
  std::string host = spec.substr(0, colon), port = spec.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    return Status::Internal("LISTEN: cannot resolve " + spec);
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = fd < 0 ? -1 : bind(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 || listen(fd, backlog) != 0) {
    Status s = Status::Internal(Errno("LISTEN: cannot listen on " + spec));
    if (fd >= 0) close(fd);
    return s;
  }
  return Listener{fd, "tcp:" + spec, ""};
}

}  // namespace

Result<Listener> OpenListener(const std::string& spec, int unix_mode, int backlog) {
  int n = sd_listen_fds(1);  // unsets LISTEN_FDS so that children do not see it again
  if (n > 1) return Status::Internal("systemd passed more than one socket; expected one");
  if (n == 1) {
    int fd = SD_LISTEN_FDS_START;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return Listener{fd, "systemd socket (fd 3)", ""};
  }
  if (!spec.empty() && spec.front() == '/') return OpenUnix(spec, unix_mode, backlog);
  if (spec.rfind("unix:", 0) == 0) return OpenUnix(spec.substr(5), unix_mode, backlog);
  return OpenTcp(spec, backlog);
}

void CloseListener(Listener& l) {
  if (l.fd >= 0) close(l.fd);
  if (!l.unix_path.empty()) unlink(l.unix_path.c_str());
  l.fd = -1;
}

}  // namespace chatd::pool
