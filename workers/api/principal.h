// Who is calling: the bearer access token, verified.
//
// VerifyBearer checks the JWT only (no database): signature, algorithm, claims, expiry
// (TOKEN_EXPIRED so clients know to refresh) — 401 UNAUTHENTICATED for anything else.
// Authenticate additionally checks that the user still exists (one primary-key read), so that a
// deleted user's still-valid token gets 401, and keeps a guest's last_active_at fresh for
// GUEST_TTL. Handlers call Authenticate first; thread-safe.

#pragma once

#include <optional>
#include <string>

#include "api/services.h"
#include "http/http.h"
#include "store/messages_repo.h"
#include "store/users_repo.h"

namespace chatd::api {

struct Principal {
  std::string user_id;  // lowercase UUID
  std::string role;     // "user" | "admin"
  bool is_guest = false;
  // Set when the caller presented an API key (AuthenticateApiKey) rather than an access token.
  std::optional<std::string> api_key_id = std::nullopt;
  bool is_admin() const { return role == "admin"; }
};

Result<Principal> VerifyBearer(const http::Request& request, const Services& services);
// `user`, when given, receives the caller's whole User from the same read (GET /auth/me).
Result<Principal> Authenticate(const http::Request& request, Services& services,
                               store::UserRecord* user = nullptr);
// Authenticate, and in the same statement the version of `conversation_id`'s message pages as the
// caller sees it (sql/0003; nullopt when not a member): a page of messages served
// from the page cache costs one round trip. `conversation_id` must be a validated UUID.
Result<Principal> AuthenticateWithPageVersion(const http::Request& request, Services& services,
                                              const std::string& conversation_id,
                                              std::optional<store::PageVersion>* version);

// The OpenAI-compatible surface (/v1): `Authorization: Bearer chatd_...`, an API key
// (auth/api_key.h) that is active (not revoked, not expired) and whose user exists; 401
// UNAUTHENTICATED for anything else. Moves the key's last_used_at (once a minute at most).
Result<Principal> AuthenticateApiKey(const http::Request& request, Services& services);

}  // namespace chatd::api
