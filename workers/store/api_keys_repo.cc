// SQL of the api_keys aggregate (api_keys_repo.h). Statements are named constants run through
// store::Query (prepared once per connection); columns are read by the positions their SELECT
// lists give, named in the k*Col constants beside each statement.

#include "store/api_keys_repo.h"

#include "store/sql.h"
#include "store/statements.h"

namespace chatd::store {
namespace {

#define CHATD_API_KEY_COLUMNS                                              \
  "id::text, name, lookup, " CHATD_SQL_TS("created_at") ", " CHATD_SQL_TS( \
      "expires_at") ", " CHATD_SQL_TS("last_used_at")
// Columns of CHATD_API_KEY_COLUMNS.
enum KeyCol { kId = 0, kName, kLookup, kCreatedAt, kExpiresAt, kLastUsedAt, kKeyColumns };

#define CHATD_API_KEY_ACTIVE "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"

constexpr const char* kLockUser =
    "SELECT 1 FROM users WHERE id = CAST($1 AS uuid) FOR NO KEY UPDATE";
constexpr const char* kCountActive =
    "SELECT count(*) FROM api_keys WHERE user_id = CAST($1 AS uuid) AND " CHATD_API_KEY_ACTIVE;
constexpr const char* kInsert =
    "INSERT INTO api_keys (user_id, name, lookup, key_hash, expires_at) "
    "VALUES (CAST($1 AS uuid), $2, $3, decode($4, 'hex'), CAST($5 AS timestamptz)) "
    "RETURNING " CHATD_API_KEY_COLUMNS;
constexpr const char* kList =
    "SELECT " CHATD_API_KEY_COLUMNS
    " FROM api_keys WHERE user_id = CAST($1 AS uuid) AND " CHATD_API_KEY_ACTIVE
    " ORDER BY created_at DESC, id DESC";
constexpr const char* kRevoke =
    "UPDATE api_keys SET revoked_at = now() WHERE id = CAST($1 AS uuid) "
    "AND user_id = CAST($2 AS uuid) AND revoked_at IS NULL";
constexpr const char* kRevokeById =
    "UPDATE api_keys SET revoked_at = now() WHERE id = CAST($1 AS uuid) AND revoked_at IS NULL";
constexpr const char* kRevokeAll =
    "UPDATE api_keys SET revoked_at = now() WHERE user_id = CAST($1 AS uuid) AND revoked_at IS "
    "NULL";
// One round trip: the key and its user, and last_used_at moved when a minute old.
constexpr const char* kFind =
    "WITH k AS (SELECT k.id, k.user_id, encode(k.key_hash, 'hex') AS hash, "
    "(k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())) AS active, "
    "u.role, u.is_guest, k.last_used_at FROM api_keys k JOIN users u ON u.id = k.user_id "
    "WHERE k.lookup = $1), "
    "t AS (UPDATE api_keys SET last_used_at = now() WHERE id = (SELECT id FROM k WHERE active "
    "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))) "
    "SELECT id::text, user_id::text, hash, active, role, is_guest FROM k";
enum FindCol { kFindId = 0, kFindUser, kFindHash, kFindActive, kFindRole, kFindGuest };
constexpr const char* kRecordUsage =
    "INSERT INTO api_key_usage_daily (key_id, day, requests, prompt_tokens, completion_tokens) "
    "VALUES (CAST($1 AS uuid), CAST(now() AT TIME ZONE 'UTC' AS date), 1, $2, $3) "
    "ON CONFLICT (key_id, day) DO UPDATE SET requests = api_key_usage_daily.requests + 1, "
    "prompt_tokens = api_key_usage_daily.prompt_tokens + EXCLUDED.prompt_tokens, "
    "completion_tokens = api_key_usage_daily.completion_tokens + EXCLUDED.completion_tokens";
constexpr const char* kListUsage =
    "SELECT k.id::text, k.name, k.lookup, k.revoked_at IS NOT NULL, sum(d.requests), "
    "sum(d.prompt_tokens), sum(d.completion_tokens) FROM api_keys k "
    "JOIN api_key_usage_daily d ON d.key_id = k.id WHERE k.user_id = CAST($1 AS uuid) "
    "AND d.day > CAST(now() AT TIME ZONE 'UTC' AS date) - CAST($2 AS integer) "
    "GROUP BY k.id ORDER BY k.created_at, k.id";
enum UsageCol {
  kUsageId = 0,
  kUsageName,
  kUsageLookup,
  kUsageRevoked,
  kUsageRequests,
  kUsagePrompt,
  kUsageCompletion
};
constexpr const char* kListAll =
    "SELECT " CHATD_API_KEY_COLUMNS
    ", (SELECT username FROM users u WHERE u.id = api_keys.user_id) "
    "FROM api_keys WHERE " CHATD_API_KEY_ACTIVE
    " AND ($1 = '' OR user_id = "
    "(SELECT id FROM users WHERE username = lower($1))) ORDER BY created_at, id";

constexpr const char* kCheckExpiry =
    "SELECT CASE WHEN CAST($1 AS timestamptz) <= now() THEN 1 "
    "WHEN CAST($1 AS timestamptz) > now() + make_interval(days => CAST($2 AS integer)) THEN 2 "
    "ELSE 0 END";

ApiKeyRecord ReadKey(const Rows& rows, int i) {
  ApiKeyRecord k;
  k.id = rows.Text(i, kId);
  k.name = rows.Text(i, kName);
  k.lookup = rows.Text(i, kLookup);
  k.created_at = rows.Text(i, kCreatedAt);
  k.expires_at = rows.OptionalText(i, kExpiresAt);
  k.last_used_at = rows.OptionalText(i, kLastUsedAt);
  return k;
}

}  // namespace

int64_t CheckApiKeyExpiry(soci::session& s, const std::string& expires_at, int max_days) {
  return Query(s, kCheckExpiry, Params().Text(expires_at).Int(max_days)).Int(0, 0);
}

Result<ApiKeyRecord> CreateApiKey(soci::session& s, const NewApiKeyRow& row) {
  Query(s, kLockUser, Params().Text(row.user_id));
  if (Query(s, kCountActive, Params().Text(row.user_id)).Int(0, 0) >= kMaxApiKeysPerUser) {
    return Status(ErrorCode::kConflict, "You already have " + std::to_string(kMaxApiKeysPerUser) +
                                            " API keys. Revoke one to create another.");
  }
  Rows rows = Query(s, kInsert,
                    Params()
                        .Text(row.user_id)
                        .Text(row.name)
                        .Text(row.lookup)
                        .Text(row.hash_hex)
                        .OptionalText(row.expires_at));
  if (rows.empty()) return Status::Internal();
  return ReadKey(rows, 0);
}

std::vector<ApiKeyRecord> ListApiKeys(soci::session& s, const std::string& user_id) {
  Rows rows = Query(s, kList, Params().Text(user_id));
  std::vector<ApiKeyRecord> out;
  out.reserve(static_cast<size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) out.push_back(ReadKey(rows, i));
  return out;
}

bool RevokeApiKey(soci::session& s, const std::string& user_id, const std::string& key_id) {
  return Query(s, kRevoke, Params().Text(key_id).Text(user_id)).affected() > 0;
}

int64_t RevokeAllApiKeys(soci::session& s, const std::string& user_id) {
  return Query(s, kRevokeAll, Params().Text(user_id)).affected();
}

std::optional<ApiKeyPrincipal> FindApiKey(soci::session& s, const std::string& lookup) {
  Rows rows = Query(s, kFind, Params().Text(lookup));
  if (rows.empty()) return std::nullopt;
  ApiKeyPrincipal p;
  p.key_id = rows.Text(0, kFindId);
  p.user_id = rows.Text(0, kFindUser);
  p.hash_hex = rows.Text(0, kFindHash);
  p.active = rows.Bool(0, kFindActive);
  p.role = rows.Text(0, kFindRole);
  p.is_guest = rows.Bool(0, kFindGuest);
  return p;
}

void RecordApiKeyUsage(soci::session& s, const std::string& key_id, int64_t prompt_tokens,
                       int64_t completion_tokens) {
  Query(s, kRecordUsage, Params().Text(key_id).Int(prompt_tokens).Int(completion_tokens));
}

std::vector<ApiKeyUsage> ListApiKeyUsage(soci::session& s, const std::string& user_id, int days) {
  Rows rows = Query(s, kListUsage, Params().Text(user_id).Int(days));
  std::vector<ApiKeyUsage> out;
  for (int i = 0; i < rows.size(); ++i) {
    ApiKeyUsage u;
    u.key_id = rows.Text(i, kUsageId);
    u.name = rows.Text(i, kUsageName);
    u.lookup = rows.Text(i, kUsageLookup);
    u.revoked = rows.Bool(i, kUsageRevoked);
    u.requests = rows.Int(i, kUsageRequests);
    u.prompt_tokens = rows.Int(i, kUsagePrompt);
    u.completion_tokens = rows.Int(i, kUsageCompletion);
    out.push_back(std::move(u));
  }
  return out;
}

std::vector<AdminApiKey> ListAllApiKeys(soci::session& s,
                                        const std::optional<std::string>& username) {
  const std::string who = username.value_or("");
  Rows rows = Query(s, kListAll, Params().Text(who));
  std::vector<AdminApiKey> out;
  for (int i = 0; i < rows.size(); ++i)
    out.push_back({ReadKey(rows, i), rows.Text(i, kKeyColumns)});
  return out;
}

bool RevokeApiKeyById(soci::session& s, const std::string& key_id) {
  return Query(s, kRevokeById, Params().Text(key_id)).affected() > 0;
}

}  // namespace chatd::store
