// refresh_tokens: opaque refresh tokens, stored as SHA-256 hashes, single use, grouped in
// rotation families (one family per sign-in).
//
// The repository deals in token hashes (64 lowercase hex digits, auth::HashRefreshToken) and never
// sees a token itself: the caller generates the token, hashes it, and hands the client the token.
// The hash is stored as the 32 bytes of the bytea column (decode(hex) in SQL).
//
// The rotation protocol, in the caller's one transaction:
//   state = FindForUpdate(hash)            -- locks the row: concurrent refreshes of one token
//                                             serialise, and the second one sees it spent
//   spent    -> RevokeFamily, COMMIT, 401 TOKEN_REUSED (the thief's and the victim's tokens die)
//   revoked / expired / unknown -> 401
//   else     -> next = Insert(same family); MarkSpent(state.id, next.id); COMMIT
//
// Like every repository: one statement per method, exceptions propagate to Database::Run,
// transactions belong to the caller. A borrowed view of one session.

#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace soci {
class session;
}

namespace chatd::store {

struct RefreshTokenState {
  std::string id;
  std::string user_id;
  std::string family_id;
  bool spent = false;    // used_at set: rotated away already
  bool revoked = false;  // revoked_at set: logout, logout-all, password change, reuse
  bool expired = false;
};

class RefreshTokensRepo {
 public:
  explicit RefreshTokensRepo(soci::session& session) : s_(session) {}

  // Stores a token of a new family (the family id is the token's own id); returns the token id.
  std::string InsertNewFamily(const std::string& user_id, const std::string& token_hash_hex,
                              int64_t ttl_seconds);
  // Stores a token of an existing family; returns the token id.
  std::string InsertInFamily(const std::string& user_id, const std::string& family_id,
                             const std::string& token_hash_hex, int64_t ttl_seconds);

  // The token's state, with its row locked FOR UPDATE until the transaction ends.
  std::optional<RefreshTokenState> FindForUpdate(const std::string& token_hash_hex);
  // Marks a token spent and links its successor.
  void MarkSpent(const std::string& id, const std::string& replaced_by);

  // Revoke every live token of the family / of the token's family / of the user; return how many.
  int64_t RevokeFamily(const std::string& family_id);
  int64_t RevokeFamilyOf(const std::string& token_hash_hex);
  int64_t RevokeAllOfUser(const std::string& user_id);

  // chatctl gc: deletes tokens that can never be used again and are no longer needed: expired
  // ones and revoked ones. Spent tokens of live families are kept until they expire, because a
  // spent token presented again is how reuse (theft) is detected; once it has expired it could
  // not be used anyway. Returns how many were deleted.
  int64_t DeleteDead();

 private:
  soci::session& s_;
};

}  // namespace chatd::store
