// Access tokens: JWTs (RFC 7519) signed with HMAC-SHA256, and nothing else.
//
// JwtCodec signs the claims of a session and verifies presented tokens without touching the
// database. The algorithm is pinned: a token whose header says anything but {"alg":"HS256"} (none,
// HS512, RS256, ...), or that asks for behaviour we do not implement ("crit", "jku", "jwk", "x5u",
// "x5c", "b64", "zip", "enc"), is rejected; "kid" and other informational header members are
// ignored. The signature is checked, in constant time, before any header or payload JSON is parsed,
// so the JSON parser only ever sees bytes that this service signed. Then every claim is checked:
// iss and aud (a string, or an array containing ours) must match, sub must be a UUID, role and
// guest must be present and well typed, exp must not have passed (beyond the leeway), nbf (if any)
// and iat must not lie in the future (beyond the leeway).
//
// Failures are deliberately uninformative: an expired but otherwise valid token gives
// TOKEN_EXPIRED ("Your session has expired. Please sign in again.") so that clients know to
// refresh; every other failure gives UNAUTHENTICATED with one generic detail that never says which
// check failed.
//
// Ownership and threads: a JwtCodec owns a copy of the secret (wiped on destruction) and is
// immutable after construction; Sign() and Verify() may be called from any number of threads at
// once. Not copyable (one copy of the secret); movable.

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/status.h"

namespace chatd::auth {

// What an access token says about its bearer. Times are seconds since the Unix epoch.
struct AccessClaims {
  std::string sub;     // the user id (a UUID, lowercase)
  int64_t iat = 0;     // issued at
  int64_t exp = 0;     // expires at
  std::string role;    // "user" or "admin"
  bool guest = false;  // a guest account

  bool operator==(const AccessClaims&) const = default;
};

class JwtCodec {
 public:
  // Tokens longer than this are rejected unread.
  static constexpr size_t kMaxTokenBytes = 4096;

  // `secret` is the HMAC key (Config requires at least 32 bytes; it must not be empty);
  // `issuer` and `audience` are written into and required of every token; `leeway` is the
  // clock skew tolerated on exp, nbf and iat (negative counts as zero).
  JwtCodec(std::string secret, std::string issuer, std::string audience,
           std::chrono::seconds leeway = std::chrono::seconds(30));
  // From Config: JWT_SECRET, its issuer and audience, the default leeway.
  explicit JwtCodec(const Config& config);
  ~JwtCodec();

  JwtCodec(JwtCodec&&) noexcept = default;
  JwtCodec& operator=(JwtCodec&&) noexcept = default;
  JwtCodec(const JwtCodec&) = delete;
  JwtCodec& operator=(const JwtCodec&) = delete;

  // A compact JWS: base64url(header) "." base64url(payload) "." base64url(HMAC-SHA256), with header
  // {"alg":"HS256","typ":"JWT"} and payload {iss, aud, sub, iat, exp, role, guest}. The caller sets
  // iat and exp (exp = iat + ACCESS_TOKEN_TTL). Aborts the process if OpenSSL's HMAC fails.
  std::string Sign(const AccessClaims& claims) const;

  // The claims of `token` at time `now` (seconds since the epoch), or TOKEN_EXPIRED /
  // UNAUTHENTICATED as described above.
  Result<AccessClaims> Verify(std::string_view token, int64_t now) const;

  const std::string& issuer() const { return issuer_; }
  const std::string& audience() const { return audience_; }
  std::chrono::seconds leeway() const { return leeway_; }

 private:
  std::string Mac(std::string_view signing_input) const;

  std::string secret_;
  std::string issuer_;
  std::string audience_;
  std::chrono::seconds leeway_;
};

}  // namespace chatd::auth
