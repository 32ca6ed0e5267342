// The master's state machine.
//
//   kStarting --all workers running--> kRunning --SIGHUP, new config valid--> kReloading
//   kReloading --new generation all running; old generation sent SIGUSR2 (retire)--> kRunning
//   kStarting/kRunning/kReloading --SIGTERM/SIGINT--> kStopping --no children left--> exit 0
//                                                      (SIGKILL to what remains at
//                                                      SHUTDOWN_TIMEOUT)
//   any --SIGQUIT--> kTerminating (children killed at once) --> exit 0
//
// A SIGHUP whose configuration fails validation is logged and changes nothing. During a reload the
// old generation keeps serving until the new one is up, so a new configuration that cannot start
// (say, a database that refuses the new credentials) never takes the service down.

#pragma once

#include <cstdint>

namespace chatd::pool {

enum class MasterState : uint8_t { kStarting = 0, kRunning, kReloading, kStopping, kTerminating };

const char* MasterStateName(MasterState s);

}  // namespace chatd::pool
