// The master's children: forking workers into scoreboard slots, reaping them, and the emergency
// brake (more than EMERGENCY_RESTART_THRESHOLD abnormal exits within EMERGENCY_RESTART_INTERVAL
// makes respawning back off, doubling up to a minute, instead of spinning in a crash loop).
// Used only by the master's thread.

#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "core/config.h"
#include "pool/pool.h"

namespace chatd::pool {

struct ExitInfo {
  pid_t pid = 0;
  int slot = -1;
  uint32_t generation = 0;
  bool abnormal = false;  // signalled, or exit code != 0
  std::string how;        // "exit 0", "signal 9", ...
};

class Children {
 public:
  Children(const Hooks& hooks, Scoreboard* sb, int listen_fd)
      : hooks_(hooks), sb_(sb), listen_fd_(listen_fd) {}

  // Forks one worker of `generation` running with `config`; false when no slot is free or fork
  // failed.
  bool Spawn(uint32_t generation, const std::shared_ptr<const Config>& config);
  // Reaps every exited child (non-blocking) and frees its slot.
  std::vector<ExitInfo> Reap();
  // Sends `sig` to every child (of `generation` only, when given).
  void SignalAll(int sig, std::optional<uint32_t> generation = std::nullopt);
  // Counts live children (of a generation, when given); those of a generation that accept
  // requests or are about to (starting or running, not stopping); and those that report running.
  int Count(std::optional<uint32_t> generation = std::nullopt) const;
  int CountAccepting(uint32_t generation) const;
  int CountRunning(uint32_t generation) const;

  // Records an abnormal exit; returns true when the emergency threshold is now exceeded.
  bool RecordAbnormalExit(int64_t now_ms, int threshold, int64_t interval_ms);

 private:
  const Hooks& hooks_;
  Scoreboard* sb_;
  int listen_fd_;
  std::deque<int64_t> abnormal_exits_ms_;
  bool out_of_slots_ = false;  // logged once per shortage, not at every attempt
};

}  // namespace chatd::pool
