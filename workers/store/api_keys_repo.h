// api_keys and api_key_usage_daily (sql/0006): a user's API keys for the OpenAI-compatible
// surface, the lookup that authenticates a presented key, and usage per key.
//
// The repository deals in a key's public lookup and its SHA-256 hash (auth/api_key.h), never the
// key itself. Active keys are those neither revoked nor expired; a user has at most
// kMaxApiKeysPerUser active keys (CreateApiKey answers CONFLICT past it, counted under the user's
// row lock so two concurrent creations cannot both squeeze under the cap).
//
// Like every repository: exceptions propagate to Database::Run, transactions belong to the
// caller. Plain functions over the session they are given.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace soci {
class session;
}

namespace chatd::store {

inline constexpr int kMaxApiKeysPerUser = 100;
inline constexpr size_t kMaxApiKeyNameChars = 100;

struct ApiKeyRecord {
  std::string id;
  std::string name;
  std::string lookup;  // the API shows "chatd_" + lookup as `prefix`
  std::string created_at;
  std::optional<std::string> expires_at;
  std::optional<std::string> last_used_at;
};

struct NewApiKeyRow {
  std::string user_id;
  std::string name;
  std::string lookup;
  std::string hash_hex;
  std::optional<std::string> expires_at;  // RFC 3339, validated by the caller; must be future
};

// Where an RFC 3339 `expires_at` stands: 0 within (now, now + max_days], 1 not in the future,
// 2 too far ahead. Throws (SQLSTATE 22007/22008) when PostgreSQL cannot read it as a timestamp;
// run it outside a transaction.
int64_t CheckApiKeyExpiry(soci::session& s, const std::string& expires_at, int max_days);

// CONFLICT when the user already has kMaxApiKeysPerUser active keys.
Result<ApiKeyRecord> CreateApiKey(soci::session& s, const NewApiKeyRow& row);

// The user's active keys, newest first (at most kMaxApiKeysPerUser).
std::vector<ApiKeyRecord> ListApiKeys(soci::session& s, const std::string& user_id);

// Revokes one active key of the user; false when there is none with that id (or it is another
// user's, or already revoked).
bool RevokeApiKey(soci::session& s, const std::string& user_id, const std::string& key_id);

// Revokes every active key of the user (a password change); returns how many.
int64_t RevokeAllApiKeys(soci::session& s, const std::string& user_id);

// What authenticating a presented key needs: its row (whatever its state) and its user's.
struct ApiKeyPrincipal {
  std::string key_id;
  std::string user_id;
  std::string hash_hex;  // compared by the caller in constant time
  bool active = false;   // not revoked, not expired
  std::string role;
  bool is_guest = false;
};
// nullopt when no key has that lookup. Also moves last_used_at (at most once a minute per key, so
// a busy key does not write on every request).
std::optional<ApiKeyPrincipal> FindApiKey(soci::session& s, const std::string& lookup);

// Adds one request and its tokens to today's (UTC) counters of the key.
void RecordApiKeyUsage(soci::session& s, const std::string& key_id, int64_t prompt_tokens,
                       int64_t completion_tokens);

// Per key, the user's usage of the last `days` UTC days (today included), keys revoked since
// included; keys without usage in the period are left out. Ordered by key creation.
struct ApiKeyUsage {
  std::string key_id;
  std::string name;
  std::string lookup;
  bool revoked = false;
  int64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};
std::vector<ApiKeyUsage> ListApiKeyUsage(soci::session& s, const std::string& user_id, int days);

// chatctl: every active key (of one user when `username` is set), oldest first.
struct AdminApiKey {
  ApiKeyRecord key;
  std::string username;
};
std::vector<AdminApiKey> ListAllApiKeys(soci::session& s,
                                        const std::optional<std::string>& username);
// chatctl: revokes a key by id, whoever owns it; false when no active key has that id.
bool RevokeApiKeyById(soci::session& s, const std::string& key_id);

}  // namespace chatd::store
