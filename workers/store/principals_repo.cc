// SQL of the principal confirmation (principals_repo.h). Named constants run through store::Query;
// the columns of each statement are named by the enums beside it.

#include "store/principals_repo.h"

#include "store/sql.h"
#include "store/statements.h"

namespace chatd::store {
namespace {

// $1 GUEST_TTL in seconds, $2 the user. A guest idle past GUEST_TTL is expired even before
// `chatctl gc` deletes it.
#define CHATD_PRINCIPAL_HEAD                                                                   \
  "SELECT role, is_guest, is_guest AND last_active_at < now() - make_interval(secs => $1) AS " \
  "expired"
enum HeadCol { kRole = 0, kIsGuest, kExpired, kHeadColumns };
constexpr const char* kSelectPrincipal =
    CHATD_PRINCIPAL_HEAD " FROM users WHERE id = CAST($2 AS uuid)";
constexpr const char* kSelectPrincipalUser =
    CHATD_PRINCIPAL_HEAD ", username, display_name, email, " CHATD_SQL_TS(
        "created_at") " FROM users WHERE id = CAST($2 AS uuid)";
enum UserCol { kUsername = kHeadColumns, kDisplayName, kEmail, kCreatedAt };
#undef CHATD_PRINCIPAL_HEAD
// $3 the conversation: its version and the profiles epoch, NULL when the user is not a member.
constexpr const char* kSelectPrincipalPageVersion =
    "SELECT u.role, u.is_guest, u.is_guest AND u.last_active_at < now() - make_interval(secs => "
    "$1) AS expired, v.version, v.profiles FROM users u LEFT JOIN LATERAL (SELECT c.version, "
    "e.profiles FROM conversations c JOIN conversation_members cm ON cm.conversation_id = c.id "
    "AND cm.user_id = u.id CROSS JOIN page_cache_epoch e WHERE c.id = CAST($3 AS uuid)) v ON true "
    "WHERE u.id = CAST($2 AS uuid)";
enum VersionCol { kVersion = kHeadColumns, kProfiles };
constexpr const char* kTouchGuest =
    "UPDATE users SET last_active_at = now() WHERE id = CAST($1 AS uuid) "
    "AND last_active_at < now() - interval '1 minute'";

// The head columns of a confirmed account, touching a guest's clock; nullopt when missing or
// expired.
std::optional<AccountState> Confirmed(soci::session& s, const Rows& rows,
                                      const std::string& user_id) {
  if (rows.size() != 1 || rows.Bool(0, kExpired)) return std::nullopt;
  AccountState state{rows.Text(0, kRole), rows.Bool(0, kIsGuest)};
  if (state.is_guest) Query(s, kTouchGuest, Params().Text(user_id));
  return state;
}

}  // namespace

std::optional<AccountState> ConfirmAccount(soci::session& s, const std::string& user_id,
                                           int64_t guest_ttl_seconds) {
  Rows rows = Query(s, kSelectPrincipal, Params().Int(guest_ttl_seconds).Text(user_id));
  return Confirmed(s, rows, user_id);
}

std::optional<AccountState> ConfirmAccountWithUser(soci::session& s, const std::string& user_id,
                                                   int64_t guest_ttl_seconds, UserRecord* user) {
  Rows rows = Query(s, kSelectPrincipalUser, Params().Int(guest_ttl_seconds).Text(user_id));
  auto state = Confirmed(s, rows, user_id);
  if (state) {
    user->id = user_id;
    user->role = state->role;
    user->is_guest = state->is_guest;
    user->username = rows.Text(0, kUsername);
    user->display_name = rows.Text(0, kDisplayName);
    user->email = rows.OptionalText(0, kEmail);
    user->created_at = rows.Text(0, kCreatedAt);
  }
  return state;
}

std::optional<AccountState> ConfirmAccountWithPageVersion(soci::session& s,
                                                          const std::string& user_id,
                                                          int64_t guest_ttl_seconds,
                                                          const std::string& conversation_id,
                                                          std::optional<PageVersion>* version) {
  Rows rows = Query(s, kSelectPrincipalPageVersion,
                    Params().Int(guest_ttl_seconds).Text(user_id).Text(conversation_id));
  auto state = Confirmed(s, rows, user_id);
  if (state && !rows.IsNull(0, kVersion)) {
    *version = PageVersion{rows.Int(0, kVersion), rows.Int(0, kProfiles)};
  }
  return state;
}

}  // namespace chatd::store
