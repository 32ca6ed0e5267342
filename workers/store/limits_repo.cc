// rate_limits and usage_daily: the SQL of the reply limits and usage counters. The policy is
// described in the header.

#include "store/limits_repo.h"

#include <soci/soci.h>

#include <algorithm>

#include "store/statements.h"

namespace chatd::store {
namespace {

// The class of the two-int advisory locks taken here ('rl'); the second int is hashtext(key).
constexpr int kRateLockClass = 0x726c;

// The statements of a chat turn's checks are prepared once per connection (store/statements.h).
constexpr const char* kLockKey =
    "SELECT pg_advisory_xact_lock(CAST($1 AS integer), hashtext(CAST($2 AS text)))";

// A turn's checks after the lock, in one statement: the window, today's tokens, and the count of
// this reply when both allow it (a data-modifying CTE runs whether or not it is read). $1 key,
// $2 user, $3 replies per minute, $4 daily tokens.
// Columns: used, oldest_leaves_in, tokens_today, seconds_to_midnight.
constexpr const char* kTakeTurn =
    "WITH w AS (SELECT CAST(coalesce(sum(count), 0) AS bigint) AS used, "
    "coalesce(CAST(ceil(extract(epoch FROM min(expires_at) - now())) AS integer), 0) AS oldest "
    "FROM rate_limits WHERE key = $1 AND expires_at > now()), "
    "q AS (SELECT CAST(coalesce(sum(prompt_tokens + completion_tokens), 0) AS bigint) AS tokens "
    "FROM usage_daily WHERE user_id = CAST($2 AS uuid) "
    "AND day = CAST(now() AT TIME ZONE 'UTC' AS date)), "
    "counted AS (INSERT INTO rate_limits (key, window_start, expires_at, count) "
    "SELECT $1, date_trunc('second', now()), date_trunc('second', now()) + interval '60 seconds', "
    "1 "
    "FROM w, q WHERE w.used < $3 AND q.tokens < $4 "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1 RETURNING 1) "
    "SELECT w.used, w.oldest, q.tokens, "
    "CAST(ceil(extract(epoch FROM (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') "
    "- (now() AT TIME ZONE 'UTC'))) AS integer) FROM w, q";

constexpr const char* kUsedToday =
    "SELECT CAST(coalesce(sum(prompt_tokens + completion_tokens), 0) AS bigint), "
    "CAST(ceil(extract(epoch FROM (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') "
    "- (now() AT TIME ZONE 'UTC'))) AS integer) "
    "FROM usage_daily WHERE user_id = CAST($1 AS uuid) "
    "AND day = CAST(now() AT TIME ZONE 'UTC' AS date)";

constexpr const char* kRecordUsage =
    "INSERT INTO usage_daily AS u (user_id, day, requests, prompt_tokens, completion_tokens) "
    "VALUES (CAST($1 AS uuid), CAST(now() AT TIME ZONE 'UTC' AS date), $2, $3, $4) "
    "ON CONFLICT (user_id, day) DO UPDATE SET requests = u.requests + EXCLUDED.requests, "
    "prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens, "
    "completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens";

// Served by the primary key (user_id, day).
constexpr const char* kListUsage =
    "SELECT to_char(day, 'YYYY-MM-DD'), requests, prompt_tokens, completion_tokens "
    "FROM usage_daily WHERE user_id = CAST(:user_id AS uuid) "
    "AND day > CAST(now() AT TIME ZONE 'UTC' AS date) - CAST(:days AS integer) ORDER BY day";

}  // namespace

TurnLimits TakeTurnLimits(soci::session& s, const std::string& user_id, int limit_per_min,
                          int64_t daily_tokens) {
  const std::string key = "llm:" + user_id;
  Query(s, kLockKey, Params().Int(kRateLockClass).Text(key));
  Rows row =
      Query(s, kTakeTurn, Params().Text(key).Text(user_id).Int(limit_per_min).Int(daily_tokens));
  const int64_t used = row.Int(0, 0);
  const int oldest_leaves_in = static_cast<int>(row.Int(0, 1));
  TurnLimits t;
  t.rate.limit = limit_per_min;
  if (used >= limit_per_min) {
    t.rate.allowed = false;
    t.rate.remaining = 0;
    t.rate.reset_s = std::clamp(oldest_leaves_in, 1, 60);
  } else {
    t.rate.allowed = true;
    t.rate.remaining = static_cast<int>(limit_per_min - used - 1);
    // The window frees a slot when its oldest bucket expires; with nothing counted before this
    // reply, that is its own bucket, a full minute from now.
    t.rate.reset_s = used == 0 ? 60 : std::clamp(oldest_leaves_in, 1, 60);
  }
  t.quota.daily_tokens = daily_tokens;
  t.quota.used_today = row.Int(0, 2);
  t.quota.seconds_to_reset = std::max(static_cast<int>(row.Int(0, 3)), 1);
  return t;
}

QuotaState LoadQuota(soci::session& s, const std::string& user_id, int64_t daily_tokens) {
  QuotaState q;
  q.daily_tokens = daily_tokens;
  Rows today = Query(s, kUsedToday, Params().Text(user_id));
  q.used_today = today.Int(0, 0);
  q.seconds_to_reset = std::max(static_cast<int>(today.Int(0, 1)), 1);
  return q;
}

void RecordUsage(soci::session& s, const std::string& user_id, int64_t requests,
                 int64_t prompt_tokens, int64_t completion_tokens) {
  Query(s, kRecordUsage,
        Params()
            .Text(user_id)
            .Int(requests)
            .Int(std::max<int64_t>(prompt_tokens, 0))
            .Int(std::max<int64_t>(completion_tokens, 0)));
}

std::vector<UsageDay> ListUsage(soci::session& s, const std::string& user_id, int days) {
  std::vector<UsageDay> out;
  soci::rowset<soci::row> rows =
      (s.prepare << kListUsage, soci::use(user_id, "user_id"), soci::use(days, "days"));
  for (const soci::row& r : rows) {
    UsageDay d;
    d.date = r.get<std::string>(0);
    d.requests = r.get<int>(1);
    d.prompt_tokens = r.get<long long>(2);
    d.completion_tokens = r.get<long long>(3);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace chatd::store
