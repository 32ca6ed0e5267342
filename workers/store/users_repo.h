// The users aggregate: accounts (registered and guest), their profile, and the rules a stored
// account obeys.
//
// The rules (username, email, cursor) are pure functions so that the API, chatctl and the unit
// tests apply exactly the same ones; they mirror the CHECK constraints of sql/0001_init.sql, which
// stay the last line of defence. UsersRepo is the SQL: each method is one parameterised statement
// on the session it was given, with its SQL as a named constant in users_repo.cc.
//
// Errors: methods return domain outcomes (USERNAME_TAKEN, not found as std::nullopt) and let
// database exceptions propagate, so that Database::Run maps them in one place. Transactions belong
// to the caller: a method never begins or commits one, so several repositories' writes can share
// one soci::transaction.
//
// Threads: the pure functions are safe anywhere; a UsersRepo is a borrowed view of one session and
// lives on the thread that holds that session, for one unit of work.

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace soci {
class session;
}

namespace chatd::store {

// ---- Account rules (API.md "Auth") -------------------------------------------------------------

inline constexpr size_t kMinUsernameChars = 3;
inline constexpr size_t kMaxUsernameChars = 32;
// Guests are named 'guest-<16 hex>'; the prefix is reserved for them (a CHECK ties it to is_guest).
inline constexpr std::string_view kGuestUsernamePrefix = "guest-";
inline constexpr size_t kMaxDisplayNameChars = 64;
inline constexpr size_t kMaxEmailChars = 254;
inline constexpr std::string_view kGuestDisplayName = "Guest";

// The username as stored: 3..32 of [A-Za-z0-9_.-], ASCII-lowercased. VALIDATION_ERROR on field
// "username" when the form is wrong or it starts with the reserved "guest-" prefix (any case).
Result<std::string> NormalizeUsername(std::string_view typed);

// OK, or VALIDATION_ERROR on field "email": at most 254 characters, valid UTF-8, exactly one '@'
// with something on both sides, no whitespace or control characters. A sanity check, not RFC 5322;
// the address is stored exactly as given.
Status ValidateEmail(std::string_view email);

// A display name as stored: sanitized (control characters removed, trimmed) and 1..64 characters.
// VALIDATION_ERROR on field "display_name" otherwise. (Request bodies get the same rule through
// json::ObjectReader; this is for chatctl.)
Result<std::string> NormalizeDisplayName(std::string_view typed);

// `text` with LIKE's metacharacters (\ % _) escaped by a backslash, for `LIKE ... ESCAPE '\'`.
std::string EscapeLikePattern(std::string_view text);

// The opaque cursor of GET /users (the last username of a page) and its strict inverse: nullopt
// for anything this function could not have produced.
std::string EncodeUsernameCursor(std::string_view username);
std::optional<std::string> DecodeUsernameCursor(std::string_view cursor);

// ---- Records -----------------------------------------------------------------------------------

// API.md's User.
struct UserRecord {
  std::string id;  // lowercase UUID
  std::string username;
  std::string display_name;
  std::optional<std::string> email;
  bool is_guest = false;
  std::string role;        // "user" | "admin"
  std::string created_at;  // RFC 3339 UTC with milliseconds
};

// API.md's PublicUser.
struct PublicUserRecord {
  std::string id;
  std::string username;
  std::string display_name;
};

struct NewUser {
  std::string username;  // normalized
  std::string display_name;
  std::optional<std::string> email;
  std::optional<std::string> password_hash;  // nullopt exactly for guests
  bool is_guest = false;
  std::string role = "user";
};

// A field of a partial update: unset (leave as is), or set to a value or to NULL.
struct OptionalUpdate {
  bool set = false;
  std::optional<std::string> value;
};

// ---- Repository --------------------------------------------------------------------------------

class UsersRepo {
 public:
  explicit UsersRepo(soci::session& session) : s_(session) {}

  // Inserts the user; USERNAME_TAKEN when the username exists (nothing written then).
  Result<UserRecord> Create(const NewUser& user);

  std::optional<UserRecord> FindById(const std::string& id);
  // A registered (non-guest) user by username as typed (compared lowercased), with its password
  // hash. Guests have no password and are never found here.
  struct WithHash {
    UserRecord user;
    std::string password_hash;
  };
  std::optional<WithHash> FindForLogin(std::string_view typed_username);
  std::optional<WithHash> FindWithHashById(const std::string& id);
  bool UsernameExists(std::string_view normalized_username);

  // Replaces the hash only if it is still `old_hash` (a concurrent password change wins);
  // returns whether it was replaced.
  bool ReplacePasswordHash(const std::string& id, const std::string& old_hash,
                           const std::string& new_hash);

  // Turns the guest `id` into a registered user in one UPDATE (the id, and so everything the guest
  // owns, stays). display_name nullopt: keep the current one, unless it is still the guests'
  // default, which becomes the username. CONFLICT when `id` is not a guest (any more),
  // USERNAME_TAKEN when the username exists.
  Result<UserRecord> UpgradeGuest(const std::string& id, const std::string& username,
                                  const std::string& password_hash,
                                  const std::optional<std::string>& display_name);

  // PATCH /auth/me. nullopt when the user does not exist.
  std::optional<UserRecord> UpdateProfile(const std::string& id,
                                          const std::optional<std::string>& display_name,
                                          const OptionalUpdate& email);

  // Slides last_active_at (guest expiry), at most once a minute per user.
  void TouchActivity(const std::string& id);

  // GET /users: non-guests whose username or display name starts with `query` (case-insensitive;
  // empty matches everybody), ordered by username, after the username `after` (empty: from the
  // start), at most `limit` rows.
  std::vector<PublicUserRecord> Search(std::string_view query, std::string_view after, int limit);

  // chatctl.
  std::vector<UserRecord> List(bool include_guests);
  // Returns false when no registered user has that username.
  bool SetRole(std::string_view username, std::string_view role);
  // Deletes the user (any kind) and, by cascade, everything it owns; false when not found.
  bool DeleteByUsername(std::string_view username);
  // (Idle guests are deleted one at a time by chatctl gc, store/maintenance_repo.h, so that each
  // deletion can announce itself to the other members of the guest's conversations.)

 private:
  soci::session& s_;
};

}  // namespace chatd::store
