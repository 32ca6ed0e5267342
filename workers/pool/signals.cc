// Self-pipe signal delivery. See signals.h.

#include "pool/signals.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace chatd::pool {
namespace {

volatile sig_atomic_t g_write_fd = -1;

void OnSignal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  if (g_write_fd >= 0) {
    ssize_t ignored = write(g_write_fd, &b, 1);
    (void)ignored;
  }
  errno = saved;
}

}  // namespace

SignalPipe::SignalPipe(std::initializer_list<int> signals) {
  if (pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  g_write_fd = fds_[1];
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  for (int s : signals) sigaction(s, &sa, nullptr);
}

SignalPipe::~SignalPipe() {
  g_write_fd = -1;
  close(fds_[0]);
  close(fds_[1]);
}

std::vector<int> SignalPipe::Drain() {
  std::vector<int> out;
  unsigned char buf[64];
  for (;;) {
    ssize_t n = read(fds_[0], buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) out.push_back(buf[i]);
  }
  return out;
}

void ResetSignals(std::initializer_list<int> signals) {
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (int s : signals) sigaction(s, &sa, nullptr);
}

}  // namespace chatd::pool
