// generations: the SQL of replies in flight. The policy is described in the header.

#include "store/generations_repo.h"

#include <soci/soci.h>

#include "json/json.h"
#include "store/statements.h"

namespace chatd::store {
namespace {

// The class of the two-int advisory lock that serialises in-flight checks ('gn').
constexpr int kInflightLockClass = 0x676e;

// Every statement here runs in a chat turn: prepared once per connection (store/statements.h).
constexpr const char* kLockInflight = "SELECT pg_advisory_xact_lock(CAST($1 AS integer), 0)";

// generations_user_idx; the total scans this small table.
// Replies (generations) and /v1 completions (completions_inflight) count alike.
constexpr const char* kCountInflight =
    "SELECT count(*) FILTER (WHERE user_id = CAST($1 AS uuid)), count(*) FROM ("
    "SELECT user_id FROM generations "
    "WHERE heartbeat_at > now() - CAST($2 AS integer) * interval '1 second' UNION ALL "
    "SELECT user_id FROM completions_inflight "
    "WHERE heartbeat_at > now() - CAST($2 AS integer) * interval '1 second') g";

constexpr const char* kCountAll =
    "SELECT (SELECT count(*) FROM generations "
    "WHERE heartbeat_at > now() - CAST(:stale AS integer) * interval '1 second') + "
    "(SELECT count(*) FROM completions_inflight "
    "WHERE heartbeat_at > now() - CAST(:stale AS integer) * interval '1 second')";

constexpr const char* kInsert =
    "INSERT INTO generations (message_id, conversation_id, user_id, worker) "
    "VALUES (CAST($1 AS uuid), CAST($2 AS uuid), CAST($3 AS uuid), $4)";

constexpr const char* kDelete = "DELETE FROM generations WHERE message_id = CAST($1 AS uuid)";

constexpr const char* kInsertCompletion =
    "INSERT INTO completions_inflight (user_id, key_id, worker) "
    "VALUES (CAST($1 AS uuid), CAST($2 AS uuid), $3) RETURNING id::text";
constexpr const char* kDeleteCompletion =
    "DELETE FROM completions_inflight WHERE id = CAST($1 AS uuid)";
constexpr const char* kDeleteStaleCompletions =
    "DELETE FROM completions_inflight "
    "WHERE heartbeat_at < now() - CAST($1 AS integer) * interval '1 second'";
constexpr const char* kHeartbeatCompletion =
    "UPDATE completions_inflight SET heartbeat_at = now() WHERE id = CAST($1 AS uuid)";

// generations_conversation_idx. Rows already stopped are reported again (a second stop re-sends
// the notification; harmless, and it heals a notification that a worker missed).
constexpr const char* kRequestStop =
    "UPDATE generations SET stop_requested = true, "
    "stop_requested_at = coalesce(stop_requested_at, now()) "
    "WHERE conversation_id = CAST(:conversation_id AS uuid) RETURNING message_id::text";

constexpr const char* kNotify = "SELECT pg_notify(:channel, :payload)";

// Ids per notification: ~40 bytes each keeps a payload far below PostgreSQL's 8,000 bytes.
constexpr size_t kIdsPerNotification = 150;

}  // namespace

namespace {

// Both caps, under the pool-wide in-flight lock (held to the caller's commit).
Status CheckCaps(soci::session& s, const std::string& user_id, const InflightCaps& caps) {
  Query(s, kLockInflight, Params().Int(kInflightLockClass));
  Rows counts = Query(s, kCountInflight, Params().Text(user_id).Int(kStaleAfterSeconds));
  const int64_t mine = counts.Int(0, 0), all = counts.Int(0, 1);
  if (mine >= caps.per_user) {
    return Status(ErrorCode::kRateLimited,
                  "You have too many replies in progress. Please wait for one to finish.")
        .WithRetryAfter(kInflightRetryAfterSeconds);
  }
  if (all >= caps.total) {
    return Status(ErrorCode::kRateLimited,
                  "The assistants are very busy right now. Please try again in a moment.")
        .WithRetryAfter(kInflightRetryAfterSeconds);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> StartCompletion(soci::session& s, const NewCompletion& c,
                                    const InflightCaps& caps) {
  Status st = CheckCaps(s, c.user_id, caps);
  if (!st.ok()) return st;
  Rows rows =
      Query(s, kInsertCompletion, Params().Text(c.user_id).OptionalText(c.key_id).Text(c.worker));
  if (rows.empty()) return Status::Internal();
  return rows.Text(0, 0);
}

void FinishCompletion(soci::session& s, const std::string& id) {
  Query(s, kDeleteCompletion, Params().Text(id));
}

void HeartbeatCompletion(soci::session& s, const std::string& id) {
  Query(s, kHeartbeatCompletion, Params().Text(id));
}

int64_t DeleteStaleCompletions(soci::session& s) {
  return Query(s, kDeleteStaleCompletions, Params().Int(kStaleAfterSeconds)).affected();
}

Status StartGeneration(soci::session& s, const NewGeneration& g, const InflightCaps& caps) {
  Status st = CheckCaps(s, g.user_id, caps);
  if (!st.ok()) return st;
  Query(s, kInsert,
        Params().Text(g.message_id).Text(g.conversation_id).Text(g.user_id).Text(g.worker));
  return Status::Ok();
}

void FinishGeneration(soci::session& s, const std::string& message_id) {
  Query(s, kDelete, Params().Text(message_id));
}

std::vector<std::string> RequestStop(soci::session& s, const std::string& conversation_id) {
  std::vector<std::string> ids;
  {
    soci::rowset<soci::row> rows =
        (s.prepare << kRequestStop, soci::use(conversation_id, "conversation_id"));
    for (const soci::row& r : rows) ids.push_back(r.get<std::string>(0));
  }
  const std::string channel = kStopChannel;
  for (size_t first = 0; first < ids.size(); first += kIdsPerNotification) {
    json::Writer w;
    w.StartObject().Field("conversation_id", conversation_id).Key("message_ids").StartArray();
    for (size_t i = first; i < ids.size() && i < first + kIdsPerNotification; ++i) w.String(ids[i]);
    w.EndArray().EndObject();
    std::string payload = w.Take();
    s << kNotify, soci::use(channel, "channel"), soci::use(payload, "payload");
  }
  return ids;
}

int64_t CountInflight(soci::session& s) {
  long long n = 0;
  int stale = kStaleAfterSeconds;
  s << kCountAll, soci::use(stale, "stale"), soci::into(n);
  return n;
}

}  // namespace chatd::store
