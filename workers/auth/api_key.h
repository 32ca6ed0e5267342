// API keys for the OpenAI-compatible surface (/v1): their form, generation and stored hash.
//
// A key is "chatd_" + lookup + "_" + secret: `lookup` is 16 lowercase hex digits (64 random
// bits, public: it finds the key's row and is shown as the key's prefix "chatd_<lookup>"), and
// `secret` is 43 base64url characters (256 random bits). The fixed "chatd_" prefix and shape let
// secret scanners recognise a leaked key. Only HashApiKey(key) — SHA-256 of the whole key — is
// stored; a presented key is looked up by its lookup part and accepted when the hashes are equal,
// compared in constant time (the secret is never compared as text, and a guessed lookup alone is
// worth nothing). 256 random bits make a slow password hash pointless here.
//
// Pure functions (the CSPRNG is OpenSSL's, thread-safe and fork-safe), callable from any thread.

#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chatd::auth {

inline constexpr std::string_view kApiKeyPrefix = "chatd_";
inline constexpr size_t kApiKeyLookupChars = 16;
inline constexpr size_t kApiKeySecretChars = 43;
inline constexpr size_t kApiKeyChars =
    kApiKeyPrefix.size() + kApiKeyLookupChars + 1 + kApiKeySecretChars;  // 66

struct NewApiKey {
  std::string key;       // shown to its owner once
  std::string lookup;    // stored, public
  std::string hash_hex;  // stored: HashApiKey(key)
  std::string prefix;    // "chatd_<lookup>", what lists show
};

// A fresh key. Aborts the process if the CSPRNG fails, rather than hand out a guessable key.
NewApiKey GenerateApiKey();

// The lookup part of a well-formed key; nullopt for anything GenerateApiKey could not have made
// (wrong prefix, length, alphabet or separator). Never allocates more than the key's size.
std::optional<std::string> ParseApiKey(std::string_view key);

// SHA-256 of the key's characters, 64 lowercase hex digits.
std::string HashApiKey(std::string_view key);

// True when `key`'s hash equals `stored_hash_hex`, compared in constant time.
bool ApiKeyMatches(std::string_view key, std::string_view stored_hash_hex);

// The display prefix for a lookup ("chatd_" + lookup).
std::string ApiKeyPrefix(std::string_view lookup);

}  // namespace chatd::auth
