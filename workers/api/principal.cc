// Bearer authentication. The token is verified without the database; Authenticate then confirms
// the account still exists with one primary-key read (and, for guests, slides their expiry).

#include "api/principal.h"

#include <soci/soci.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace chatd::api {
namespace {

// A guest idle past GUEST_TTL is expired even before `chatctl gc` deletes it.
constexpr const char* kSelectUser =
    "SELECT role, CASE WHEN is_guest THEN 1 ELSE 0 END, "
    "CASE WHEN is_guest AND last_active_at < now() - make_interval(secs => :ttl) THEN 1 ELSE 0 END "
    "FROM users WHERE id = CAST(:id AS uuid)";
// A guest's inactivity clock (GUEST_TTL) restarts on use; written at most once a minute.
constexpr const char* kTouchGuest =
    "UPDATE users SET last_active_at = now() WHERE id = CAST(:id AS uuid) "
    "AND last_active_at < now() - interval '1 minute'";

Status Unauthenticated() {
  return Status(ErrorCode::kUnauthenticated, "Please sign in to continue.");
}

}  // namespace

Result<Principal> VerifyBearer(const http::Request& request, const Services& services) {
  std::string_view header = request.authorization;
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return Unauthenticated();
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto claims = services.jwt->Verify(token, now);
  if (!claims.ok()) return claims.status();
  return Principal{claims->sub, claims->role, claims->guest};
}

Result<Principal> Authenticate(const http::Request& request, Services& services) {
  auto principal = VerifyBearer(request, services);
  if (!principal.ok()) return principal;
  bool found = false;
  Status st = services.db->Run(
      [&](soci::session& s) {
        std::string role;
        int guest = 0, expired = 0;
        double ttl = static_cast<double>(services.config->guest_ttl.count());
        s << kSelectUser, soci::use(ttl, "ttl"), soci::use(principal->user_id, "id"),
            soci::into(role), soci::into(guest), soci::into(expired);
        found = s.got_data() && expired == 0;
        if (found) {
          // The database is the truth for role and guest status (a role change applies at once).
          principal->role = role;
          principal->is_guest = guest != 0;
          if (principal->is_guest) s << kTouchGuest, soci::use(principal->user_id, "id");
        }
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  if (!found) return Unauthenticated();
  return principal;
}

}  // namespace chatd::api
