// Bearer authentication. The token is verified without the database; Authenticate then confirms
// the account still exists with one primary-key read, a statement prepared once per connection
// (and, for guests, slides their expiry).

#include "api/principal.h"

#include <soci/soci.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <vector>

#include "auth/api_key.h"
#include "store/api_keys_repo.h"
#include "store/sql.h"
#include "store/statements.h"

namespace chatd::api {
namespace {

// A guest idle past GUEST_TTL is expired even before `chatctl gc` deletes it. Prepared once per
// connection (store/statements.h): this runs on every authenticated request.
#define CHATD_PRINCIPAL_HEAD                                                                   \
  "SELECT role, is_guest, is_guest AND last_active_at < now() - make_interval(secs => $1) AS " \
  "expired"
constexpr const char* kSelectPrincipal =
    CHATD_PRINCIPAL_HEAD " FROM users WHERE id = CAST($2 AS uuid)";
// The same, with the whole User for GET /auth/me (one read instead of two).
constexpr const char* kSelectPrincipalUser =
    CHATD_PRINCIPAL_HEAD ", username, display_name, email, " CHATD_SQL_TS(
        "created_at") " FROM users WHERE id = CAST($2 AS uuid)";
#undef CHATD_PRINCIPAL_HEAD
// The same, with the version of a conversation's message pages as the caller sees it (NULLs when
// not a member; sql/0003): a cached page of messages then costs this one round trip. $3 the
// conversation.
constexpr const char* kSelectPrincipalPageVersion =
    "SELECT u.role, u.is_guest, u.is_guest AND u.last_active_at < now() - make_interval(secs => "
    "$1) "
    "AS expired, v.version, v.profiles FROM users u LEFT JOIN LATERAL (SELECT c.version, "
    "e.profiles "
    "FROM conversations c JOIN conversation_members cm ON cm.conversation_id = c.id "
    "AND cm.user_id = u.id CROSS JOIN page_cache_epoch e WHERE c.id = CAST($3 AS uuid)) v ON true "
    "WHERE u.id = CAST($2 AS uuid)";
// A guest's inactivity clock (GUEST_TTL) restarts on use; written at most once a minute.
constexpr const char* kTouchGuest =
    "UPDATE users SET last_active_at = now() WHERE id = CAST($1 AS uuid) "
    "AND last_active_at < now() - interval '1 minute'";

Status Unauthenticated() {
  return Status(ErrorCode::kUnauthenticated, "Please sign in to continue.");
}

// The credential of `Authorization: Bearer <credential>` (the scheme in any case), or nullopt.
std::optional<std::string_view> BearerCredential(const http::Request& request) {
  std::string_view header = request.authorization;
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return std::nullopt;
  }
  std::string_view credential = header.substr(kScheme.size());
  while (!credential.empty() && credential.front() == ' ') credential.remove_prefix(1);
  return credential;
}

}  // namespace

Result<Principal> VerifyBearer(const http::Request& request, const Services& services) {
  auto bearer = BearerCredential(request);
  if (!bearer) return Unauthenticated();
  std::string_view token = *bearer;
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto claims = services.jwt->Verify(token, now);
  if (!claims.ok()) return claims.status();
  return Principal{claims->sub, claims->role, claims->guest};
}

namespace {

// Authenticate's body: verifies the token, then runs `sql` ($1 GUEST_TTL, $2 the user, then
// `extra`), whose first three columns are role, is_guest, expired; `on_row` reads the rest of the
// row of a confirmed user.
Result<Principal> Confirm(const http::Request& request, Services& services, const char* sql,
                          const std::vector<std::string>& extra,
                          const std::function<void(const store::Rows&, Principal&)>& on_row) {
  auto principal = VerifyBearer(request, services);
  if (!principal.ok()) return principal;
  bool found = false;
  Status st = services.db->Run(
      [&](soci::session& s) {
        const int64_t ttl = services.config->guest_ttl.count();
        store::Params params;
        params.Int(ttl).Text(principal->user_id);
        for (const auto& e : extra) params.Text(e);
        store::Rows rows = store::Query(s, sql, params);
        found = rows.size() == 1 && !rows.Bool(0, 2);
        if (found) {
          // The database is the truth for role and guest status (a role change applies at once).
          principal->role = rows.Text(0, 0);
          principal->is_guest = rows.Bool(0, 1);
          if (on_row) on_row(rows, *principal);
          if (principal->is_guest)
            store::Query(s, kTouchGuest, store::Params().Text(principal->user_id));
        }
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  if (!found) return Unauthenticated();
  return principal;
}

}  // namespace

Result<Principal> Authenticate(const http::Request& request, Services& services,
                               store::UserRecord* user) {
  if (!user) return Confirm(request, services, kSelectPrincipal, {}, nullptr);
  return Confirm(request, services, kSelectPrincipalUser, {},
                 [user](const store::Rows& rows, Principal& p) {
                   user->id = p.user_id;
                   user->role = p.role;
                   user->is_guest = p.is_guest;
                   user->username = rows.Text(0, 3);
                   user->display_name = rows.Text(0, 4);
                   user->email = rows.OptionalText(0, 5);
                   user->created_at = rows.Text(0, 6);
                 });
}

Result<Principal> AuthenticateWithPageVersion(const http::Request& request, Services& services,
                                              const std::string& conversation_id,
                                              std::optional<store::PageVersion>* version) {
  version->reset();
  return Confirm(request, services, kSelectPrincipalPageVersion, {conversation_id},
                 [version](const store::Rows& rows, Principal&) {
                   if (!rows.IsNull(0, 3))
                     *version = store::PageVersion{rows.Int(0, 3), rows.Int(0, 4)};
                 });
}

Result<Principal> AuthenticateApiKey(const http::Request& request, Services& services) {
  auto bearer = BearerCredential(request);
  if (!bearer) return Unauthenticated();
  std::string_view key = *bearer;
  auto lookup = auth::ParseApiKey(key);
  if (!lookup) return Unauthenticated();
  std::optional<store::ApiKeyPrincipal> found;
  Status st = services.db->Run(
      [&](soci::session& s) {
        found = store::FindApiKey(s, *lookup);
        return Status::Ok();
      },
      /*idempotent=*/false);  // moves last_used_at
  if (!st.ok()) return st;
  // Hash compared even for an inactive key, so the answer's timing does not tell them apart.
  const bool matches = found && auth::ApiKeyMatches(key, found->hash_hex);
  if (!found || !matches || !found->active || found->is_guest) return Unauthenticated();
  Principal p{found->user_id, found->role, found->is_guest};
  p.api_key_id = found->key_id;
  return p;
}

}  // namespace chatd::api
