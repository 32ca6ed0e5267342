// The figures of GET /admin/stats: how big the deployment is and how busy, counted in PostgreSQL
// so that they speak for every machine. Five cheap counts (the users table and conversations are
// counted whole; messages of the last 24 h go through messages_created_idx; replies in flight are
// the small generations table).
//
// Threads: a plain function over the session it is given.

#pragma once

#include <cstdint>

namespace soci {
class session;
}

namespace chatd::store {

struct DeploymentStats {
  int64_t users = 0;   // registered (non-guest) users
  int64_t guests = 0;  // guest users not yet collected
  int64_t conversations = 0;
  int64_t messages_24h = 0;       // messages created in the last 24 hours
  int64_t replies_in_flight = 0;  // generations rows with a fresh heartbeat
};

DeploymentStats LoadDeploymentStats(soci::session& s);

}  // namespace chatd::store
