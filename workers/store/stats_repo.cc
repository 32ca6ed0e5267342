// GET /admin/stats: the SQL. See stats_repo.h.

#include "store/stats_repo.h"

#include <soci/soci.h>

#include "store/generations_repo.h"

namespace chatd::store {
namespace {

constexpr const char* kCounts =
    "SELECT (SELECT count(*) FROM users WHERE NOT is_guest), "
    "(SELECT count(*) FROM users WHERE is_guest), "
    "(SELECT count(*) FROM conversations), "
    "(SELECT count(*) FROM messages WHERE created_at > now() - interval '24 hours')";

}  // namespace

DeploymentStats LoadDeploymentStats(soci::session& s) {
  DeploymentStats d;
  long long users = 0, guests = 0, conversations = 0, messages = 0;
  s << kCounts, soci::into(users), soci::into(guests), soci::into(conversations),
      soci::into(messages);
  d.users = users;
  d.guests = guests;
  d.conversations = conversations;
  d.messages_24h = messages;
  d.replies_in_flight = CountInflight(s);
  return d;
}

}  // namespace chatd::store
