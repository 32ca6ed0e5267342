// API keys: generation, parsing and hashing (api_key.h). The hashing and constant-time comparison
// are tokens.h's, so refresh tokens and keys share one audited implementation.

#include "auth/api_key.h"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include "auth/tokens.h"

namespace chatd::auth {
namespace {

void RandomBytes(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    std::fputs("chatd: the CSPRNG failed; refusing to issue an API key\n", stderr);
    std::abort();
  }
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool IsBase64Url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

NewApiKey GenerateApiKey() {
  std::array<unsigned char, 8> id{};
  RandomBytes(id.data(), id.size());
  std::array<unsigned char, 32> secret{};
  RandomBytes(secret.data(), secret.size());
  NewApiKey k;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : id) {
    k.lookup.push_back(kHex[b >> 4]);
    k.lookup.push_back(kHex[b & 15]);
  }
  k.key = std::string(kApiKeyPrefix) + k.lookup + "_" +
          Base64UrlEncode(
              std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()));
  k.hash_hex = HashApiKey(k.key);
  k.prefix = ApiKeyPrefix(k.lookup);
  return k;
}

std::optional<std::string> ParseApiKey(std::string_view key) {
  if (key.size() != kApiKeyChars || key.substr(0, kApiKeyPrefix.size()) != kApiKeyPrefix) {
    return std::nullopt;
  }
  std::string_view lookup = key.substr(kApiKeyPrefix.size(), kApiKeyLookupChars);
  for (char c : lookup) {
    if (!IsLowerHex(c)) return std::nullopt;
  }
  if (key[kApiKeyPrefix.size() + kApiKeyLookupChars] != '_') return std::nullopt;
  std::string_view secret = key.substr(kApiKeyPrefix.size() + kApiKeyLookupChars + 1);
  for (char c : secret) {
    if (!IsBase64Url(c)) return std::nullopt;
  }
  // Only canonical base64url of 32 bytes is a secret GenerateApiKey could have made.
  auto bytes = Base64UrlDecode(secret);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  return std::string(lookup);
}

std::string HashApiKey(std::string_view key) {
  return HashRefreshToken(key);
}

bool ApiKeyMatches(std::string_view key, std::string_view stored_hash_hex) {
  return ConstantTimeEquals(HashApiKey(key), stored_hash_hex);
}

std::string ApiKeyPrefix(std::string_view lookup) {
  return std::string(kApiKeyPrefix) + std::string(lookup);
}

}  // namespace chatd::auth
