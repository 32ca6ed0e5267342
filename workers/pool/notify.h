// systemd notifications (sd_notify): READY, RELOADING, STOPPING, STATUS and the watchdog. Each is
// a no-op when the process was not started by systemd (NOTIFY_SOCKET unset), so the pool behaves
// the same by hand. systemd 252 has no Type=notify-reload: a reload sends RELOADING=1, then
// READY=1.

#pragma once

#include <cstdint>
#include <string>

namespace chatd::pool {

class Notifier {
 public:
  Notifier();
  void Ready();
  void Reloading();
  void Stopping();
  void Status(const std::string& text);
  // Sends WATCHDOG=1 when the watchdog is enabled and half its interval has passed.
  void MaybeWatchdog(int64_t now_ms);

 private:
  uint64_t watchdog_usec_ = 0;
  int64_t last_watchdog_ms_ = 0;
  std::string last_status_;
};

}  // namespace chatd::pool
