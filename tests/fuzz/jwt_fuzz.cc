// Fuzz target: auth::JwtCodec::Verify (workers/auth/jwt), the check on every authenticated request
// and WebSocket.
//
// Random bytes almost never carry a valid HMAC, so the input is used two ways, chosen by its
// first byte: as a raw token (the structure, base64url and signature checks), or as the header
// and payload JSON of a token this target signs with the codec's key (the header and claim checks
// behind the signature, which only tokens we issued ever reach). Properties: Verify never crashes
// and only ever answers UNAUTHENTICATED or TOKEN_EXPIRED; a token it accepts has claims that are
// consistent (sub a lowercase UUID, role user or admin, iat <= exp, not expired and not issued in
// the future at `now` given the leeway), and signing those claims again gives a token that
// verifies to the same claims. Flipping any one byte of an accepted token makes it fail.

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt.h"
#include "auth/tokens.h"
#include "fuzz_check.h"
#include "json/json.h"

namespace {

constexpr std::string_view kSecret = "fuzzing-secret-fuzzing-secret-0123456789";
constexpr int64_t kLeeway = 30;

const chatd::auth::JwtCodec& Codec() {
  static const chatd::auth::JwtCodec codec(std::string(kSecret), "chatd", "chatd",
                                           std::chrono::seconds(kLeeway));
  return codec;
}

std::string SignParts(std::string_view header_json, std::string_view payload_json) {
  std::string token =
      chatd::auth::Base64UrlEncode(header_json) + "." + chatd::auth::Base64UrlEncode(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  char digest[] = "SHA256";
  EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, kSecret.data(), kSecret.size(),
            reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac, sizeof mac,
            &len);
  return token + "." +
         chatd::auth::Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

void CheckVerdict(std::string_view token, int64_t now) {
  auto claims = Codec().Verify(token, now);
  if (!claims.ok()) {
    const chatd::ErrorCode code = claims.status().code();
    FUZZ_CHECK(code == chatd::ErrorCode::kUnauthenticated ||
               code == chatd::ErrorCode::kTokenExpired);
    return;
  }
  FUZZ_CHECK(token.size() <= chatd::auth::JwtCodec::kMaxTokenBytes);
  FUZZ_CHECK(chatd::json::IsUuid(claims->sub));
  for (char c : claims->sub) FUZZ_CHECK(!(c >= 'A' && c <= 'F'));
  FUZZ_CHECK(claims->role == "user" || claims->role == "admin");
  FUZZ_CHECK(claims->iat <= claims->exp);
  FUZZ_CHECK(claims->iat <= now + kLeeway);
  FUZZ_CHECK(claims->exp > now - kLeeway);
  // Our own token for the same claims says the same thing.
  auto again = Codec().Verify(Codec().Sign(*claims), now);
  FUZZ_CHECK(again.ok() && *again == *claims);
  // Any single changed byte of the signing input or signature breaks it. (Changing the last
  // character of the signature may only flip its unused low bits, which the strict decoder
  // refuses anyway.)
  std::string tampered(token);
  const size_t at = static_cast<size_t>(now) % tampered.size();
  tampered[at] = static_cast<char>(tampered[at] ^ 0x01);
  FUZZ_CHECK(!Codec().Verify(tampered, now).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  // A fixed clock near the claims of the seeds, moved by the first byte.
  const int64_t now = 1700000000 + (data[0] >> 1) * 7;
  if ((data[0] & 1) == 0) {
    CheckVerdict(rest, now);
    return 0;
  }
  // "header\npayload": signed by us, so the JSON checks behind the MAC are reached.
  const size_t nl = rest.find('\n');
  std::string_view header = R"({"alg":"HS256","typ":"JWT"})";
  std::string_view payload = rest;
  if (nl != std::string_view::npos) {
    header = rest.substr(0, nl);
    payload = rest.substr(nl + 1);
  }
  CheckVerdict(SignParts(header, payload), now);
  return 0;
}
