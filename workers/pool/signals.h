// Signals, the self-pipe way: handlers only write the signal number to a non-blocking pipe (and,
// in workers, tell libfcgi a shutdown is pending); the event loop reads the pipe and acts. This
// keeps every decision out of signal context.
//
// Handlers are installed with sigaction and without SA_RESTART, so a blocking call in the loop
// returns EINTR promptly. One SignalPipe per process; install it before any thread starts.

#pragma once

#include <initializer_list>
#include <vector>

namespace chatd::pool {

class SignalPipe {
 public:
  // Creates the pipe and routes `signals` to it. Replaces any previous SignalPipe's handlers.
  explicit SignalPipe(std::initializer_list<int> signals);
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  int read_fd() const { return fds_[0]; }
  // Signals received since the last call, in order (non-blocking).
  std::vector<int> Drain();

 private:
  int fds_[2] = {-1, -1};
};

// Restores default dispositions for the signals the master handles (used after fork).
void ResetSignals(std::initializer_list<int> signals);

}  // namespace chatd::pool
