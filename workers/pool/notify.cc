// sd_notify wrappers. See notify.h.

#include "pool/notify.h"

#include <systemd/sd-daemon.h>

namespace chatd::pool {

Notifier::Notifier() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_usec_ = usec;
}

void Notifier::Ready() {
  sd_notify(0, "READY=1");
}
void Notifier::Reloading() {
  sd_notify(0, "RELOADING=1");
}
void Notifier::Stopping() {
  sd_notify(0, "STOPPING=1");
}

void Notifier::Status(const std::string& text) {
  if (text == last_status_) return;
  last_status_ = text;
  sd_notify(0, ("STATUS=" + text).c_str());
}

void Notifier::MaybeWatchdog(int64_t now_ms) {
  if (watchdog_usec_ == 0) return;
  if (now_ms - last_watchdog_ms_ >= static_cast<int64_t>(watchdog_usec_ / 2000)) {
    sd_notify(0, "WATCHDOG=1");
    last_watchdog_ms_ = now_ms;
  }
}

}  // namespace chatd::pool
