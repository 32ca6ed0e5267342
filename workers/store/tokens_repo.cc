// refresh_tokens: the SQL of storing, rotating and revoking refresh tokens (protocol in the
// header). Tokens are looked up by decode(<hex SHA-256>, 'hex'), the 32-byte bytea the table's
// unique index holds.

#include "store/tokens_repo.h"

#include <soci/soci.h>

namespace chatd::store {
namespace {

// The first token of a family lends the family its id (sql/0001_init.sql).
constexpr const char* kInsertNewFamily =
    "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at) "
    "SELECT n.id, CAST(:user_id AS uuid), n.id, decode(CAST(:token_hash AS text), 'hex'), "
    "now() + CAST(:ttl AS double precision) * interval '1 second' "
    "FROM (SELECT gen_random_uuid() AS id) n RETURNING id::text";

constexpr const char* kInsertInFamily =
    "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) "
    "VALUES (CAST(:user_id AS uuid), CAST(:family_id AS uuid), "
    "decode(CAST(:token_hash AS text), 'hex'), "
    "now() + CAST(:ttl AS double precision) * interval '1 second') RETURNING id::text";

constexpr const char* kFindForUpdate =
    "SELECT id::text, user_id::text, family_id::text, "
    "CASE WHEN used_at IS NOT NULL THEN 1 ELSE 0 END, "
    "CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END, "
    "CASE WHEN expires_at <= now() THEN 1 ELSE 0 END "
    "FROM refresh_tokens WHERE token_hash = decode(CAST(:token_hash AS text), 'hex') FOR UPDATE";

constexpr const char* kMarkSpent =
    "UPDATE refresh_tokens SET used_at = now(), replaced_by = CAST(:replaced_by AS uuid) "
    "WHERE id = CAST(:id AS uuid)";

// refresh_tokens_family_idx.
constexpr const char* kRevokeFamily =
    "WITH revoked AS (UPDATE refresh_tokens SET revoked_at = now() "
    "WHERE family_id = CAST(:family_id AS uuid) AND revoked_at IS NULL RETURNING 1) "
    "SELECT count(*) FROM revoked";

constexpr const char* kRevokeFamilyOf =
    "WITH revoked AS (UPDATE refresh_tokens SET revoked_at = now() "
    "WHERE family_id = (SELECT family_id FROM refresh_tokens "
    "WHERE token_hash = decode(CAST(:token_hash AS text), 'hex')) "
    "AND revoked_at IS NULL RETURNING 1) "
    "SELECT count(*) FROM revoked";

// refresh_tokens_user_idx.
constexpr const char* kRevokeAllOfUser =
    "WITH revoked AS (UPDATE refresh_tokens SET revoked_at = now() "
    "WHERE user_id = CAST(:user_id AS uuid) AND revoked_at IS NULL RETURNING 1) "
    "SELECT count(*) FROM revoked";

// Expired (refresh_tokens_expires_idx) or revoked; see the header for why spent tokens of live
// families stay until they expire.
constexpr const char* kDeleteDead =
    "WITH deleted AS (DELETE FROM refresh_tokens "
    "WHERE expires_at < now() OR revoked_at IS NOT NULL RETURNING 1) "
    "SELECT count(*) FROM deleted";

}  // namespace

std::string RefreshTokensRepo::InsertNewFamily(const std::string& user_id,
                                               const std::string& token_hash_hex,
                                               int64_t ttl_seconds) {
  long long ttl = ttl_seconds;
  std::string id;
  s_ << kInsertNewFamily, soci::use(user_id, "user_id"), soci::use(token_hash_hex, "token_hash"),
      soci::use(ttl, "ttl"), soci::into(id);
  return id;
}

std::string RefreshTokensRepo::InsertInFamily(const std::string& user_id,
                                              const std::string& family_id,
                                              const std::string& token_hash_hex,
                                              int64_t ttl_seconds) {
  long long ttl = ttl_seconds;
  std::string id;
  s_ << kInsertInFamily, soci::use(user_id, "user_id"), soci::use(family_id, "family_id"),
      soci::use(token_hash_hex, "token_hash"), soci::use(ttl, "ttl"), soci::into(id);
  return id;
}

std::optional<RefreshTokenState> RefreshTokensRepo::FindForUpdate(
    const std::string& token_hash_hex) {
  RefreshTokenState st;
  int spent = 0, revoked = 0, expired = 0;
  s_ << kFindForUpdate, soci::use(token_hash_hex, "token_hash"), soci::into(st.id),
      soci::into(st.user_id), soci::into(st.family_id), soci::into(spent), soci::into(revoked),
      soci::into(expired);
  if (!s_.got_data()) return std::nullopt;
  st.spent = spent != 0;
  st.revoked = revoked != 0;
  st.expired = expired != 0;
  return st;
}

void RefreshTokensRepo::MarkSpent(const std::string& id, const std::string& replaced_by) {
  s_ << kMarkSpent, soci::use(replaced_by, "replaced_by"), soci::use(id, "id");
}

int64_t RefreshTokensRepo::RevokeFamily(const std::string& family_id) {
  long long n = 0;
  s_ << kRevokeFamily, soci::use(family_id, "family_id"), soci::into(n);
  return n;
}

int64_t RefreshTokensRepo::RevokeFamilyOf(const std::string& token_hash_hex) {
  long long n = 0;
  s_ << kRevokeFamilyOf, soci::use(token_hash_hex, "token_hash"), soci::into(n);
  return n;
}

int64_t RefreshTokensRepo::RevokeAllOfUser(const std::string& user_id) {
  long long n = 0;
  s_ << kRevokeAllOfUser, soci::use(user_id, "user_id"), soci::into(n);
  return n;
}

int64_t RefreshTokensRepo::DeleteDead() {
  long long n = 0;
  s_ << kDeleteDead, soci::into(n);
  return n;
}

}  // namespace chatd::store
