// SQL of the shares aggregate (shares_repo.h). Named constants run through store::Query
// (prepared once per connection); columns read by the positions named beside each statement.

#include "store/shares_repo.h"

#include "store/sql.h"
#include "store/statements.h"

namespace chatd::store {
namespace {

#define CHATD_SHARE_COLUMNS \
  "id::text, conversation_id::text, token, title, message_count, " CHATD_SQL_TS("created_at")
enum ShareCol { kId = 0, kConversation, kToken, kTitle, kCount, kCreatedAt };

constexpr const char* kCountShares =
    "SELECT count(*) FROM shares WHERE conversation_id = CAST($1 AS uuid)";
constexpr const char* kInsert =
    "INSERT INTO shares (conversation_id, owner_id, token, title, message_count, snapshot) "
    "VALUES (CAST($1 AS uuid), CAST($2 AS uuid), $3, $4, $5, CAST($6 AS jsonb)) "
    "RETURNING " CHATD_SHARE_COLUMNS;
constexpr const char* kList = "SELECT " CHATD_SHARE_COLUMNS
                              " FROM shares WHERE conversation_id = CAST($1 AS uuid) "
                              "AND owner_id = CAST($2 AS uuid) ORDER BY created_at DESC, id DESC";
constexpr const char* kDelete =
    "DELETE FROM shares WHERE id = CAST($1 AS uuid) AND owner_id = CAST($2 AS uuid)";
constexpr const char* kFind =
    "SELECT snapshot::text, " CHATD_SQL_TS("created_at") " FROM shares WHERE token = $1";

ShareRecord ReadShare(const Rows& rows, int i) {
  ShareRecord r;
  r.id = rows.Text(i, kId);
  r.conversation_id = rows.Text(i, kConversation);
  r.token = rows.Text(i, kToken);
  r.title = rows.Text(i, kTitle);
  r.message_count = rows.Int(i, kCount);
  r.created_at = rows.Text(i, kCreatedAt);
  return r;
}

}  // namespace

Result<ShareRecord> CreateShare(soci::session& s, const NewShareRow& row) {
  Rows count = Query(s, kCountShares, Params().Text(row.conversation_id));
  if (count.Int(0, 0) >= kMaxSharesPerConversation) {
    return Status(ErrorCode::kConflict, "This conversation already has " +
                                            std::to_string(kMaxSharesPerConversation) +
                                            " share links. Revoke one to make another.");
  }
  Rows rows = Query(s, kInsert,
                    Params()
                        .Text(row.conversation_id)
                        .Text(row.owner_id)
                        .Text(row.token)
                        .Text(row.title)
                        .Int(row.message_count)
                        .Text(row.snapshot_json));
  return ReadShare(rows, 0);
}

std::vector<ShareRecord> ListShares(soci::session& s, const std::string& conversation_id,
                                    const std::string& owner_id) {
  Rows rows = Query(s, kList, Params().Text(conversation_id).Text(owner_id));
  std::vector<ShareRecord> out;
  for (int i = 0; i < rows.size(); ++i) out.push_back(ReadShare(rows, i));
  return out;
}

bool DeleteShare(soci::session& s, const std::string& owner_id, const std::string& share_id) {
  return Query(s, kDelete, Params().Text(share_id).Text(owner_id)).affected() > 0;
}

std::optional<SharedSnapshot> FindShared(soci::session& s, const std::string& token) {
  Rows rows = Query(s, kFind, Params().Text(token));
  if (rows.empty()) return std::nullopt;
  return SharedSnapshot{rows.Text(0, 0), rows.Text(0, 1)};
}

}  // namespace chatd::store
