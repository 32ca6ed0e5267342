// login_failures: the SQL of the failed-sign-in counter. The policy is described in the header.

#include "store/login_throttle.h"

#include <soci/soci.h>

#include <algorithm>
#include <string>

namespace chatd::store {
namespace {

constexpr const char* kLockedFor =
    "SELECT CAST(ceil(extract(epoch FROM locked_until - now())) AS integer) FROM login_failures "
    "WHERE username = lower(CAST(:username AS text)) AND locked_until > now()";

// A failure after a quiet period (no failure and no lockout in force for `window`) starts a new
// count; otherwise it adds one. The lock is cleared here and set again by kLock when the new count
// calls for one, in the same transaction.
constexpr const char* kRecordFailure =
    "INSERT INTO login_failures AS f (username) VALUES (lower(CAST(:username AS text))) "
    "ON CONFLICT (username) DO UPDATE SET "
    "failures = CASE WHEN greatest(f.last_failed_at, coalesce(f.locked_until, f.last_failed_at)) "
    "< now() - CAST(:window1 AS double precision) * interval '1 second' "
    "THEN 1 ELSE f.failures + 1 END, "
    "first_failed_at = CASE WHEN greatest(f.last_failed_at, coalesce(f.locked_until, "
    "f.last_failed_at)) < now() - CAST(:window2 AS double precision) * interval '1 second' "
    "THEN now() ELSE f.first_failed_at END, "
    "last_failed_at = now(), locked_until = NULL "
    "RETURNING failures";

constexpr const char* kLock =
    "UPDATE login_failures SET locked_until = now() + CAST(:seconds AS double precision) * "
    "interval '1 second' WHERE username = lower(CAST(:username AS text))";

constexpr const char* kReset =
    "DELETE FROM login_failures WHERE username = lower(CAST(:username AS text))";

// login_failures_last_failed_idx.
constexpr const char* kDeleteStale =
    "WITH deleted AS (DELETE FROM login_failures WHERE last_failed_at < now() - interval '1 day' "
    "AND (locked_until IS NULL OR locked_until < now()) RETURNING 1) "
    "SELECT count(*) FROM deleted";

}  // namespace

std::chrono::seconds LockoutAfter(int failures, const LoginThrottlePolicy& policy) {
  if (failures < policy.max_failures) return std::chrono::seconds(0);
  // Doubling stops as soon as the cap is reached, so the shift never overflows.
  std::chrono::seconds lock = policy.base_lockout;
  for (int i = policy.max_failures; i < failures && lock < policy.max_lockout; ++i) lock *= 2;
  return std::min(lock, policy.max_lockout);
}

std::optional<int> LoginThrottle::LockedFor(std::string_view typed_username) {
  std::string username(typed_username);
  int seconds = 0;
  s_ << kLockedFor, soci::use(username, "username"), soci::into(seconds);
  if (!s_.got_data()) return std::nullopt;
  return std::max(seconds, 1);
}

int LoginThrottle::RecordFailure(std::string_view typed_username) {
  std::string username(typed_username);
  long long window = policy_.window.count();
  int failures = 0;
  s_ << kRecordFailure, soci::use(username, "username"), soci::use(window, "window1"),
      soci::use(window, "window2"), soci::into(failures);
  std::chrono::seconds lock = LockoutAfter(failures, policy_);
  if (lock.count() > 0) {
    long long seconds = lock.count();
    s_ << kLock, soci::use(seconds, "seconds"), soci::use(username, "username");
  }
  return failures;
}

void LoginThrottle::Reset(std::string_view typed_username) {
  std::string username(typed_username);
  s_ << kReset, soci::use(username, "username");
}

int64_t LoginThrottle::DeleteStale() {
  long long deleted = 0;
  s_ << kDeleteStale, soci::into(deleted);
  return deleted;
}

}  // namespace chatd::store
