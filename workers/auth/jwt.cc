// HS256 JWTs with OpenSSL 3's EVP_MAC ("HMAC" over SHA-256) and CRYPTO_memcmp, and the project's
// JSON reader and writer for the header and claims. No JWT library: libjwt 1.10 (Debian's) trusts
// the header's alg and checks none of exp, nbf or aud (PITFALLS.md), and what a verifier must do is
// short enough to write out and test line by line here.
//
// Verification order matters: length cap, exact three-part structure, strict base64url of the
// signature, HMAC over "header.payload" compared in constant time, and only then the JSON of the
// header (alg pinned) and payload (claims). Forged input therefore never reaches the JSON parser.

#include "auth/jwt.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "auth/tokens.h"
#include "core/text.h"
#include "json/json.h"

namespace chatd::auth {
namespace {

constexpr size_t kMacBytes = 32;  // HMAC-SHA256

// base64url of {"alg":"HS256","typ":"JWT"}: the only header this service writes.
constexpr std::string_view kHeaderB64 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

// Header members that ask a verifier to do something we do not do: refuse rather than ignore.
constexpr std::array<std::string_view, 8> kRefusedHeaderMembers = {"crit", "jku", "jwk", "x5u",
                                                                   "x5c",  "b64", "zip", "enc"};

// A decoded part is at most 3/4 of the capped token; depth 4 is ample for flat claims.
constexpr json::ParseLimits kJsonLimits{JwtCodec::kMaxTokenBytes, 4};

Status Unauthenticated() {
  return Status(ErrorCode::kUnauthenticated, "Authentication is required. Please sign in.");
}

Status Expired() {
  return Status(ErrorCode::kTokenExpired, "Your session has expired. Please sign in again.");
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

// The HMAC algorithm, fetched once per process (EVP_MAC objects are reference counted and safe
// to use from many threads; each call makes its own EVP_MAC_CTX).
EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

std::optional<json::Document> ParsePart(std::string_view b64) {
  std::optional<std::string> text = Base64UrlDecode(b64);
  // A raw NUL is never valid JSON; refused here too because RapidJSON's reader stops at a NUL.
  if (!text || text->find('\0') != std::string::npos) return std::nullopt;
  Result<json::Document> doc = json::Document::Parse(*text, kJsonLimits);
  if (!doc.ok() || !doc->root().is_object()) return std::nullopt;
  return std::move(doc).value();
}

bool HeaderAcceptable(const json::Value& header) {
  std::optional<json::Value> alg = header.Find("alg");
  if (!alg || alg->AsString() != std::optional<std::string_view>("HS256")) return false;
  if (std::optional<json::Value> typ = header.Find("typ")) {
    if (typ->AsString() != std::optional<std::string_view>("JWT")) return false;
  }
  for (std::string_view member : kRefusedHeaderMembers) {
    if (header.Find(member)) return false;
  }
  return true;  // "kid", "cty" and the like are ignored
}

bool AudienceMatches(const json::Value& aud, std::string_view ours) {
  if (std::optional<std::string_view> s = aud.AsString()) return *s == ours;
  if (!aud.is_array() || aud.ArraySize() == 0) return false;
  bool found = false;
  for (size_t i = 0; i < aud.ArraySize(); ++i) {
    std::optional<std::string_view> s = aud.ArrayAt(i).AsString();
    if (!s) return false;  // a malformed audience list is not "contains ours"
    found = found || *s == ours;
  }
  return found;
}

std::optional<std::string_view> StringMember(const json::Value& obj, std::string_view key) {
  std::optional<json::Value> v = obj.Find(key);
  return v ? v->AsString() : std::nullopt;
}

std::optional<int64_t> IntMember(const json::Value& obj, std::string_view key) {
  std::optional<json::Value> v = obj.Find(key);
  return v ? v->AsInt64() : std::nullopt;
}

}  // namespace

JwtCodec::JwtCodec(std::string secret, std::string issuer, std::string audience,
                   std::chrono::seconds leeway)
    : secret_(std::move(secret)),
      issuer_(std::move(issuer)),
      audience_(std::move(audience)),
      leeway_(leeway < std::chrono::seconds(0) ? std::chrono::seconds(0) : leeway) {
  if (secret_.empty()) throw std::invalid_argument("JwtCodec: empty secret");
}

JwtCodec::JwtCodec(const Config& config)
    : JwtCodec(config.jwt_secret, config.jwt_issuer, config.jwt_audience) {}

JwtCodec::~JwtCodec() {
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
}

std::string JwtCodec::Mac(std::string_view signing_input) const {
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(HmacAlgorithm() ? EVP_MAC_CTX_new(HmacAlgorithm())
                                                               : nullptr);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  std::array<unsigned char, EVP_MAX_MD_SIZE> out;
  size_t out_len = 0;
  if (!ctx ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret_.data()),
                   secret_.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 || out_len != kMacBytes) {
    return std::string();
  }
  return std::string(reinterpret_cast<const char*>(out.data()), out_len);
}

std::string JwtCodec::Sign(const AccessClaims& claims) const {
  json::Writer payload;
  payload.StartObject()
      .Field("iss", issuer_)
      .Field("aud", audience_)
      .Field("sub", claims.sub)
      .Field("iat", claims.iat)
      .Field("exp", claims.exp)
      .Field("role", claims.role)
      .Field("guest", claims.guest)
      .EndObject();
  std::string token(kHeaderB64);
  token += '.';
  token += Base64UrlEncode(payload.view());
  std::string mac = Mac(token);
  if (mac.empty()) {
    std::fputs("chatd: HMAC-SHA256 failed; cannot sign an access token\n", stderr);
    std::abort();
  }
  token += '.';
  token += Base64UrlEncode(mac);
  return token;
}

Result<AccessClaims> JwtCodec::Verify(std::string_view token, int64_t now) const {
  if (token.size() > kMaxTokenBytes) return Unauthenticated();

  // Exactly three non-empty parts.
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return Unauthenticated();
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthenticated();
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty()) {
    return Unauthenticated();
  }

  // The signature, before anything else is believed.
  std::optional<std::string> signature = Base64UrlDecode(signature_b64);
  if (!signature || signature->size() != kMacBytes) return Unauthenticated();
  const std::string expected = Mac(token.substr(0, dot2));
  if (expected.size() != kMacBytes ||
      CRYPTO_memcmp(expected.data(), signature->data(), kMacBytes) != 0) {
    return Unauthenticated();
  }

  // The header: HS256 pinned.
  std::optional<json::Document> header = ParsePart(header_b64);
  if (!header || !HeaderAcceptable(header->root())) return Unauthenticated();

  // The claims.
  std::optional<json::Document> payload = ParsePart(payload_b64);
  if (!payload) return Unauthenticated();
  const json::Value root = payload->root();

  std::optional<std::string_view> iss = StringMember(root, "iss");
  if (!iss || *iss != issuer_) return Unauthenticated();
  std::optional<json::Value> aud = root.Find("aud");
  if (!aud || !AudienceMatches(*aud, audience_)) return Unauthenticated();
  std::optional<std::string_view> sub = StringMember(root, "sub");
  if (!sub || !json::IsUuid(*sub)) return Unauthenticated();
  std::optional<std::string_view> role = StringMember(root, "role");
  if (!role || (*role != "user" && *role != "admin")) return Unauthenticated();
  std::optional<json::Value> guest_value = root.Find("guest");
  std::optional<bool> guest = guest_value ? guest_value->AsBool() : std::nullopt;
  if (!guest) return Unauthenticated();

  std::optional<int64_t> iat = IntMember(root, "iat");
  std::optional<int64_t> exp = IntMember(root, "exp");
  if (!iat || !exp || *exp < *iat) return Unauthenticated();
  const int64_t leeway = leeway_.count();
  if (*iat > SaturatingAdd(now, leeway)) return Unauthenticated();  // issued in the future
  if (root.Find("nbf")) {
    std::optional<int64_t> nbf = IntMember(root, "nbf");
    if (!nbf || *nbf > SaturatingAdd(now, leeway)) return Unauthenticated();  // not yet valid
  }
  // Valid while now < exp + leeway. Checked last, so that TOKEN_EXPIRED (which tells the client
  // to refresh) is only ever said of a token that is ours and otherwise fine.
  if (*exp <= SaturatingAdd(now, -leeway)) return Expired();

  AccessClaims claims;
  claims.sub = AsciiLower(*sub);
  claims.iat = *iat;
  claims.exp = *exp;
  claims.role = std::string(*role);
  claims.guest = *guest;
  return claims;
}

}  // namespace chatd::auth
