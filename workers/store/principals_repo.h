// The account behind a verified access token: one primary-key read on every authenticated request
// (users, sql/0001), confirming the account still exists and is not an expired guest, with its
// current role (a role change applies at once). Two variants ride along in the same statement:
// the caller's whole User (GET /auth/me) and the version of a conversation's message pages as the
// caller sees it (sql/0003), so a cached page costs one round trip. A guest's inactivity clock
// (GUEST_TTL) restarts on use, written at most once a minute.
//
// Like every repository: exceptions propagate to Database::Run; plain functions over the session
// they are given. The statements are prepared once per connection (store/statements.h).

#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "store/messages_repo.h"
#include "store/users_repo.h"

namespace soci {
class session;
}

namespace chatd::store {

struct AccountState {
  std::string role;  // "user" | "admin"
  bool is_guest = false;
};

// nullopt when the user does not exist or is a guest idle for more than `guest_ttl_seconds`.
std::optional<AccountState> ConfirmAccount(soci::session& s, const std::string& user_id,
                                           int64_t guest_ttl_seconds);
// The same, filling `user` with the whole account (when confirmed).
std::optional<AccountState> ConfirmAccountWithUser(soci::session& s, const std::string& user_id,
                                                   int64_t guest_ttl_seconds, UserRecord* user);
// The same, with `conversation_id`'s page version as the user sees it (nullopt when not a member).
std::optional<AccountState> ConfirmAccountWithPageVersion(soci::session& s,
                                                          const std::string& user_id,
                                                          int64_t guest_ttl_seconds,
                                                          const std::string& conversation_id,
                                                          std::optional<PageVersion>* version);

}  // namespace chatd::store
