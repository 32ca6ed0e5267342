// The limits on assistant replies that hold across every worker process and machine, because they
// live in PostgreSQL: LLM_RATE_PER_MIN replies per user per minute (rate_limits) and the daily
// token quota (usage_daily), plus the usage counters that GET /usage reports.
//
// Rate: a sliding window of 60 s made of 1-second buckets. Each reply adds one to the bucket of
// the current second (rate_limits row key 'llm:<user id>', window_start = that second, expires_at
// = window_start + 60 s); a reply is allowed while the buckets of the last 60 seconds hold fewer
// than the limit. This is exact to the second (21 replies within any 60 s: the 21st is refused,
// wherever the minute boundaries fall), costs at most 60 small rows per active user, and the
// reset time is when the oldest counted bucket leaves the window. Concurrent takers of one user
// are serialised by a transaction-scoped advisory lock on the key (the two-int form, so it cannot
// collide with emit_event's single-bigint lock), so the check and the increment are atomic.
//
// Quota: tokens (prompt + completion) counted per UTC day in usage_daily; a user whose count for
// today has reached the quota (DAILY_TOKEN_QUOTA, GUEST_DAILY_TOKEN_QUOTA for guests; 0 allows
// nothing) gets no further reply until the next UTC midnight. The check happens before a reply, so
// the reply that crosses the quota completes and is counted in full.
//
// Transactions belong to the caller (TakeReplySlot must run inside the transaction that stores the
// reply, so a refused or rolled-back send counts nothing); database exceptions propagate to
// Database::Run. Threads: plain functions over the session they are given.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace chatd::store {

// Where a user stands against the per-minute rate (for RateLimit-* headers and Retry-After).
struct RateWindow {
  bool allowed = true;
  int limit = 0;
  int remaining = 0;  // after this request when allowed
  int reset_s = 0;    // seconds until a slot frees up (RateLimit-Reset; Retry-After when refused)
};

// Where the user stands against today's token quota.
struct QuotaState {
  int64_t daily_tokens = 0;  // the quota that applies to this user
  int64_t used_today = 0;    // prompt + completion tokens counted today (UTC)
  int seconds_to_reset = 0;  // to the next UTC midnight (Retry-After when exhausted)
  bool exhausted() const { return used_today >= daily_tokens; }
};
QuotaState LoadQuota(soci::session& s, const std::string& user_id, int64_t daily_tokens);

// A turn's limits in two statements (the user's lock, then one read-and-count): the per-minute
// window (allowed when fewer than `limit_per_min` replies were counted in the last 60 s) and
// today's quota as LoadQuota reads it. The reply is counted only when both allow it (a refused
// turn's transaction rolls back anyway). Run it inside the reply's transaction.
struct TurnLimits {
  RateWindow rate;
  QuotaState quota;
};
TurnLimits TakeTurnLimits(soci::session& s, const std::string& user_id, int limit_per_min,
                          int64_t daily_tokens);

// Adds one reply and its tokens to today's (UTC) counters of `user_id`.
void RecordUsage(soci::session& s, const std::string& user_id, int64_t requests,
                 int64_t prompt_tokens, int64_t completion_tokens);

struct UsageDay {
  std::string date;  // YYYY-MM-DD, UTC
  int64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};
// The user's counters of the last `days` UTC days (today included), oldest first; days without any
// reply are left out.
std::vector<UsageDay> ListUsage(soci::session& s, const std::string& user_id, int days);

}  // namespace chatd::store
