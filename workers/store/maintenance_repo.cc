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

constexpr const char* kUserIdByUsername =
    "SELECT id::text FROM users WHERE username = lower(CAST(:username AS text))";

// Locked in id order, as a send locks its one conversation before its members' rows: a deletion
// that then removes the memberships (and bumps the conversations' versions, sql/0003) waits for
// sends instead of deadlocking with them.
constexpr const char* kConversationIdsOfMember =
    "SELECT c.id::text FROM conversations c WHERE c.id IN (SELECT conversation_id FROM "
    "conversation_members WHERE user_id = CAST(:user_id AS uuid)) ORDER BY c.id "
    "FOR NO KEY UPDATE OF c";

// users_guest_last_active_idx
constexpr const char* kIdleGuestIds =
    "SELECT id::text FROM users WHERE is_guest "
    "AND last_active_at < now() - CAST(:idle AS double precision) * interval '1 second' "
    "ORDER BY last_active_at LIMIT :batch";

constexpr const char* kDeleteIdleGuest =
    "DELETE FROM users WHERE id = CAST(:id AS uuid) AND is_guest "
    "AND last_active_at < now() - CAST(:idle AS double precision) * interval '1 second'";

}  // namespace

std::optional<std::string> UserIdByUsername(soci::session& s, const std::string& username) {
  std::string id;
  s << kUserIdByUsername, soci::use(username, "username"), soci::into(id);
  if (!s.got_data()) return std::nullopt;
  return id;
}

std::vector<std::string> ConversationIdsOfMember(soci::session& s, const std::string& user_id) {
  std::vector<std::string> ids;
  soci::rowset<std::string> rows =
      (s.prepare << kConversationIdsOfMember, soci::use(user_id, "user_id"));
  for (const std::string& id : rows) ids.push_back(id);
  return ids;
}

std::vector<std::string> IdleGuestIds(soci::session& s, int64_t idle_seconds, int batch) {
  long long idle = idle_seconds;
  std::vector<std::string> ids;
  soci::rowset<std::string> rows =
      (s.prepare << kIdleGuestIds, soci::use(idle, "idle"), soci::use(batch, "batch"));
  for (const std::string& id : rows) ids.push_back(id);
  return ids;
}

bool DeleteIdleGuest(soci::session& s, const std::string& id, int64_t idle_seconds) {
  long long idle = idle_seconds;
  soci::statement st =
      (s.prepare << kDeleteIdleGuest, soci::use(id, "id"), soci::use(idle, "idle"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

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
