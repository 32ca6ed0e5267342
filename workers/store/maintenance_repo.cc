// The SQL of store/maintenance_repo.h.

#include "store/maintenance_repo.h"

#include <soci/soci.h>

namespace chatd::store {
namespace {

// Oldest heartbeat first; FOR UPDATE OF g SKIP LOCKED: a row that a worker is finishing (or
// another gc run holds) is left alone.
constexpr const char* kLockOrphanedReplies =
    "SELECT g.message_id::text, g.conversation_id::text, m.content, coalesce(m.model, ''), "
    "coalesce(m.sources, '[]'::jsonb)::text "
    "FROM generations g JOIN messages m ON m.id = g.message_id "
    "WHERE g.heartbeat_at < now() - CAST(:stale AS double precision) * interval '1 second' "
    "AND m.status = 'streaming' "
    "ORDER BY g.heartbeat_at LIMIT :limit FOR UPDATE OF g SKIP LOCKED";

}  // namespace

std::vector<OrphanedReply> LockOrphanedReplies(soci::session& s, int64_t stale_seconds, int limit) {
  long long stale = stale_seconds;
  std::vector<OrphanedReply> out;
  soci::rowset<soci::row> rows =
      (s.prepare << kLockOrphanedReplies, soci::use(stale, "stale"), soci::use(limit, "limit"));
  for (const soci::row& r : rows) {
    out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2),
                   r.get<std::string>(3), r.get<std::string>(4)});
  }
  return out;
}

}  // namespace chatd::store
