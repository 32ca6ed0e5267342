// Per-username throttling of failed sign-ins, shared by every worker process and machine through
// PostgreSQL (table login_failures).
//
// The key is the username exactly as typed, lowercased (by PostgreSQL's lower(), matching the
// table's CHECK), whether or not such a user exists: unknown names are throttled exactly like
// known ones, so a 429 says nothing about whether an account exists.
//
// Policy (LoginThrottlePolicy's defaults):
//   * Failures are counted per key. The count starts again from 1 when the previous failure (or
//     the end of the last lockout, whichever is later) lies more than `window` (15 min) back.
//   * From the `max_failures`-th (5th) failure in a row on, the key is locked for
//     base_lockout * 2^(failures - max_failures): 1, 2, 4, 8 minutes, capped at max_lockout
//     (15 min). The attempt that reaches the threshold is still answered as a wrong password.
//   * While locked, attempts are refused (429 RATE_LIMITED, Retry-After = the seconds left)
//     without verifying the password and without counting, so a lock cannot be extended by
//     hammering it and the password is not checked at all during it.
//   * A successful sign-in deletes the key's row (the count starts again).
//   * chatctl gc deletes rows idle for a day.
// So a steady guesser gets 5 tries, then about one try per lockout period; the owner, after 15
// quiet minutes past the lockout, gets 5 fresh tries.
//
// Threads: a borrowed view of one session, like the repositories. The policy functions are pure.

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace soci {
class session;
}

namespace chatd::store {

struct LoginThrottlePolicy {
  int max_failures = 5;
  std::chrono::seconds window{15 * 60};
  std::chrono::seconds base_lockout{60};
  std::chrono::seconds max_lockout{15 * 60};
};

// The lockout after the `failures`-th consecutive failure: zero below max_failures, then
// exponential from base_lockout, capped at max_lockout. Pure.
std::chrono::seconds LockoutAfter(int failures, const LoginThrottlePolicy& policy);

// The most characters a key may have (the table's CHECK). Callers reject longer usernames first.
inline constexpr size_t kMaxLoginKeyChars = 128;

class LoginThrottle {
 public:
  explicit LoginThrottle(soci::session& session, LoginThrottlePolicy policy = {})
      : s_(session), policy_(policy) {}

  // Seconds until the key's lockout ends (at least 1), or nullopt when it is not locked.
  std::optional<int> LockedFor(std::string_view typed_username);
  // Counts one failure and locks the key when the policy says so. Returns the failure count.
  // Two statements: run it inside a transaction.
  int RecordFailure(std::string_view typed_username);
  // Forgets the key's failures (a successful sign-in).
  void Reset(std::string_view typed_username);
  // Deletes rows with no failure for a day and no lockout in force; returns how many.
  int64_t DeleteStale();

 private:
  soci::session& s_;
  LoginThrottlePolicy policy_;
};

}  // namespace chatd::store
