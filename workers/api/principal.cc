// Bearer authentication. The token is verified without the database; Authenticate then confirms
// the account still exists with one primary-key read (store/principals_repo.h, which also slides
// a guest's expiry).

#include "api/principal.h"

#include <soci/soci.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <vector>

#include "auth/api_key.h"
#include "store/api_keys_repo.h"
#include "store/principals_repo.h"

namespace chatd::api {
namespace {

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

// Authenticate's body: verifies the token, then confirms the account with `confirm` (one of
// store/principals_repo.h's reads, given the session, the user and GUEST_TTL).
using ConfirmFn =
    std::function<std::optional<store::AccountState>(soci::session&, const std::string&, int64_t)>;

Result<Principal> Confirm(const http::Request& request, Services& services,
                          const ConfirmFn& confirm) {
  auto principal = VerifyBearer(request, services);
  if (!principal.ok()) return principal;
  std::optional<store::AccountState> state;
  Status st = services.db->Run(
      [&](soci::session& s) {
        state = confirm(s, principal->user_id, services.config->guest_ttl.count());
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  if (!state) return Unauthenticated();
  // The database is the truth for role and guest status (a role change applies at once).
  principal->role = state->role;
  principal->is_guest = state->is_guest;
  return principal;
}

}  // namespace

Result<Principal> Authenticate(const http::Request& request, Services& services,
                               store::UserRecord* user) {
  if (!user) return Confirm(request, services, store::ConfirmAccount);
  return Confirm(request, services, [user](soci::session& s, const std::string& id, int64_t ttl) {
    return store::ConfirmAccountWithUser(s, id, ttl, user);
  });
}

Result<Principal> AuthenticateWithPageVersion(const http::Request& request, Services& services,
                                              const std::string& conversation_id,
                                              std::optional<store::PageVersion>* version) {
  version->reset();
  return Confirm(request, services,
                 [&conversation_id, version](soci::session& s, const std::string& id, int64_t ttl) {
                   return store::ConfirmAccountWithPageVersion(s, id, ttl, conversation_id,
                                                               version);
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
