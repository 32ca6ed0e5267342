// Opaque tokens and the small encodings under the auth module: refresh tokens, their stored
// hashes, constant-time comparison and base64url (RFC 4648 §5, unpadded, as JWTs use it).
//
// A refresh token is 256 random bits from OpenSSL's CSPRNG, sent to the client as 43 base64url
// characters; only HashRefreshToken(token) is stored, so a copy of the database cannot be replayed.
//
// Pure functions over their arguments (the CSPRNG is OpenSSL's, itself thread-safe and fork-safe),
// callable from any thread.

#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chatd::auth {

// 32 bytes from RAND_bytes, base64url-encoded: 43 characters of [A-Za-z0-9_-]. Aborts the process
// if the CSPRNG fails, rather than hand out a guessable token.
std::string NewRefreshToken();

// SHA-256 of the token's characters, as 64 lowercase hex digits: what the database stores and
// looks up. Deterministic.
std::string HashRefreshToken(std::string_view token);

// Compares two strings in time that depends only on their lengths (CRYPTO_memcmp). Strings of
// different lengths are unequal.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// base64url without padding.
std::string Base64UrlEncode(std::string_view bytes);
// Strict inverse of Base64UrlEncode: nullopt for any character outside [A-Za-z0-9_-] ('=' padding,
// '+', '/', whitespace included), for a length of 1 mod 4, and for non-canonical input whose
// unused trailing bits are not zero, so every byte string has exactly one accepted encoding.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace chatd::auth
