// The users aggregate: account rules and the users table's SQL.
//
// Every statement names its columns and binds every value (soci::use); none is built by string
// concatenation of input. The User columns are read through one SELECT list (kUserColumns) so
// that every method returns the same shape.

#include "store/users_repo.h"

#include <soci/soci.h>

#include <cstdint>

#include "core/text.h"
#include "store/db.h"
#include "store/sql.h"

namespace chatd::store {
namespace {

// API.md's User, in UserFromRow's order.
#define CHATD_USER_COLUMNS                                                          \
  "id::text, username, display_name, email, CASE WHEN is_guest THEN 1 ELSE 0 END, " \
  "role, " CHATD_SQL_TS("created_at")

constexpr const char* kInsertUser =
    "INSERT INTO users (username, display_name, email, password_hash, is_guest, role) "
    "VALUES (:username, :display_name, :email, :password_hash, (CAST(:is_guest AS integer) = 1), "
    ":role) "
    "ON CONFLICT (username) DO NOTHING "
    "RETURNING " CHATD_USER_COLUMNS;

constexpr const char* kSelectUserById =
    "SELECT " CHATD_USER_COLUMNS " FROM users WHERE id = CAST(:id AS uuid)";

// Guests have no password: they cannot sign in with one.
constexpr const char* kSelectLogin =
    "SELECT " CHATD_USER_COLUMNS
    ", password_hash FROM users "
    "WHERE username = lower(CAST(:username AS text)) AND NOT is_guest";

constexpr const char* kSelectWithHashById =
    "SELECT " CHATD_USER_COLUMNS
    ", coalesce(password_hash, '') FROM users WHERE id = CAST(:id AS uuid)";

constexpr const char* kUsernameExists = "SELECT count(*) FROM users WHERE username = :username";

constexpr const char* kReplacePasswordHash =
    "UPDATE users SET password_hash = :new_hash, updated_at = now() "
    "WHERE id = CAST(:id AS uuid) AND password_hash = :old_hash RETURNING id::text";

// The guest's default display name ('Guest') gives way to the new username; a name the guest
// chose stays.
constexpr const char* kUpgradeGuest =
    "UPDATE users SET username = :username, password_hash = :password_hash, is_guest = false, "
    "display_name = coalesce(CAST(:display_name AS text), "
    "CASE WHEN display_name = 'Guest' THEN CAST(:fallback_name AS text) ELSE display_name END), "
    "updated_at = now(), last_active_at = now() "
    "WHERE id = CAST(:id AS uuid) AND is_guest "
    "RETURNING " CHATD_USER_COLUMNS;

constexpr const char* kUpdateProfile =
    "UPDATE users SET display_name = coalesce(CAST(:display_name AS text), display_name), "
    "email = CASE WHEN CAST(:set_email AS integer) = 1 THEN CAST(:email AS text) ELSE email END, "
    "updated_at = now() "
    "WHERE id = CAST(:id AS uuid) RETURNING " CHATD_USER_COLUMNS;

// Written at most once a minute per user (DESIGN: not on every request).
constexpr const char* kTouchActivity =
    "UPDATE users SET last_active_at = now() WHERE id = CAST(:id AS uuid) "
    "AND last_active_at < now() - interval '1 minute'";

// GET /users. The username ordering and the keyset bound use the pattern operators (~<~, ~>~), so
// both are served by users_username_prefix_idx (text_pattern_ops, WHERE NOT is_guest); usernames
// are ASCII, where byte order is the natural order. (Checked with EXPLAIN on 200,000 users.)
constexpr const char* kSearchAll =
    "SELECT id::text, username, display_name FROM users "
    "WHERE NOT is_guest AND username ~>~ CAST(:after AS text) "
    "ORDER BY username USING ~<~ LIMIT :limit";
// `q` is escaped for LIKE by the caller and lowercased here (lower() knows Unicode; usernames are
// stored lowercase). One branch per prefix index, merged: usernames walk their index in order; the
// display-name matches come from their own index (the OFFSET 0 fence keeps the planner from walking
// the username index and filtering every row instead, which costs a full scan for a rare prefix),
// then the top of them by username. Either way the work is bounded by the matching rows.
constexpr const char* kSearchPrefix =
    "SELECT id::text, username, display_name FROM ("
    "(SELECT id, username, display_name FROM users WHERE NOT is_guest "
    "AND username LIKE lower(CAST(:pattern1 AS text)) || '%' ESCAPE '\\' "
    "AND username ~>~ CAST(:after1 AS text) ORDER BY username USING ~<~ LIMIT :limit1) "
    "UNION "
    "(SELECT id, username, display_name FROM (SELECT id, username, display_name FROM users "
    "WHERE NOT is_guest AND lower(display_name) LIKE lower(CAST(:pattern2 AS text)) || '%' "
    "ESCAPE '\\' OFFSET 0) by_name "
    "WHERE username ~>~ CAST(:after2 AS text) ORDER BY username USING ~<~ LIMIT :limit2)"
    ") matches ORDER BY username USING ~<~ LIMIT :limit3";

constexpr const char* kListUsers = "SELECT " CHATD_USER_COLUMNS
                                   " FROM users WHERE CAST(:all AS integer) = 1 OR NOT is_guest "
                                   "ORDER BY is_guest, username";

constexpr const char* kSetRole =
    "UPDATE users SET role = :role, updated_at = now() "
    "WHERE username = lower(CAST(:username AS text)) AND NOT is_guest RETURNING id::text";

// Cascades (sql/0001_init.sql): tokens, assistants, owned conversations, memberships, usage; the
// user's messages in other people's conversations stay with sender_id NULL.
constexpr const char* kDeleteByUsername =
    "DELETE FROM users WHERE username = lower(CAST(:username AS text)) RETURNING id::text";

#undef CHATD_USER_COLUMNS

UserRecord UserFromRow(const soci::row& r) {
  UserRecord u;
  u.id = r.get<std::string>(0);
  u.username = r.get<std::string>(1);
  u.display_name = r.get<std::string>(2);
  if (r.get_indicator(3) != soci::i_null) u.email = r.get<std::string>(3);
  u.is_guest = r.get<int>(4) != 0;
  u.role = r.get<std::string>(5);
  u.created_at = r.get<std::string>(6);
  return u;
}

bool IsUsernameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

// Decodes the code point at s[*i] (valid UTF-8 assumed) and advances *i.
uint32_t NextCodePoint(std::string_view s, size_t* i) {
  auto b = static_cast<unsigned char>(s[*i]);
  int extra = b < 0x80 ? 0 : b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
  uint32_t cp = extra == 0 ? b : extra == 1 ? (b & 0x1F) : extra == 2 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k <= extra && *i + k < s.size(); ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
  }
  *i += static_cast<size_t>(extra) + 1;
  return cp;
}

// Whitespace and control characters, ASCII and Unicode (what PostgreSQL's [:space:] may match
// under a UTF-8 locale, plus C0/C1 controls).
bool IsSpaceOrControl(uint32_t cp) {
  if (cp <= 0x20 || (cp >= 0x7F && cp <= 0xA0)) return true;
  return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

}  // namespace

// ---- Rules -------------------------------------------------------------------------------------

Result<std::string> NormalizeUsername(std::string_view typed) {
  if (typed.size() < kMinUsernameChars) {
    return Status::Invalid("username", "must be at least 3 characters");
  }
  for (char c : typed) {
    if (!IsUsernameChar(c)) {
      return Status::Invalid("username", "may contain only letters, digits, '_', '.' and '-'");
    }
  }
  // Only ASCII from here on, so bytes are characters.
  if (typed.size() > kMaxUsernameChars) {
    return Status::Invalid("username", "must be at most 32 characters");
  }
  std::string name = AsciiLower(typed);
  if (name.compare(0, kGuestUsernamePrefix.size(), kGuestUsernamePrefix) == 0) {
    return Status::Invalid("username",
                           "must not start with 'guest-' (reserved for guest accounts)");
  }
  return name;
}

Status ValidateEmail(std::string_view email) {
  if (!IsValidUtf8(email)) return Status::Invalid("email", "must be a valid email address");
  if (CountChars(email) > kMaxEmailChars) {
    return Status::Invalid("email", "must be at most 254 characters");
  }
  size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == email.size() ||
      email.find('@', at + 1) != std::string_view::npos) {
    return Status::Invalid("email", "must be a valid email address");
  }
  for (size_t i = 0; i < email.size();) {
    if (IsSpaceOrControl(NextCodePoint(email, &i))) {
      return Status::Invalid("email", "must be a valid email address");
    }
  }
  return Status::Ok();
}

Result<std::string> NormalizeDisplayName(std::string_view typed) {
  SanitizedText clean = SanitizeUserText(typed);
  if (clean.problem != TextProblem::kNone) {
    return Status::Invalid("display_name", "contains characters that are not allowed");
  }
  size_t chars = CountChars(clean.text);
  if (chars < 1) return Status::Invalid("display_name", "must be at least 1 character");
  if (chars > kMaxDisplayNameChars) {
    return Status::Invalid("display_name", "must be at most 64 characters");
  }
  return std::move(clean.text);
}

std::string EscapeLikePattern(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '%' || c == '_') out += '\\';
    out += c;
  }
  return out;
}

std::string EncodeUsernameCursor(std::string_view username) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(username.size() * 2);
  for (unsigned char c : username) {
    out += kHex[c >> 4];
    out += kHex[c & 0x0F];
  }
  return out;
}

std::optional<std::string> DecodeUsernameCursor(std::string_view cursor) {
  if (cursor.empty() || cursor.size() % 2 != 0 || cursor.size() > 2 * kMaxUsernameChars) {
    return std::nullopt;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string name;
  for (size_t i = 0; i < cursor.size(); i += 2) {
    int hi = nibble(cursor[i]), lo = nibble(cursor[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    char c = static_cast<char>(hi * 16 + lo);
    if (!IsUsernameChar(c) || (c >= 'A' && c <= 'Z')) return std::nullopt;
    name += c;
  }
  return name;
}

// ---- Repository --------------------------------------------------------------------------------

Result<UserRecord> UsersRepo::Create(const NewUser& user) {
  std::string email = user.email.value_or("");
  std::string hash = user.password_hash.value_or("");
  soci::indicator email_ind = user.email ? soci::i_ok : soci::i_null;
  soci::indicator hash_ind = user.password_hash ? soci::i_ok : soci::i_null;
  int is_guest = user.is_guest ? 1 : 0;
  soci::row row;
  s_ << kInsertUser, soci::use(user.username, "username"),
      soci::use(user.display_name, "display_name"), soci::use(email, email_ind, "email"),
      soci::use(hash, hash_ind, "password_hash"), soci::use(is_guest, "is_guest"),
      soci::use(user.role, "role"), soci::into(row);
  if (!s_.got_data()) {
    return Status(ErrorCode::kUsernameTaken, "This username is already taken.")
        .AddFieldError("username", "is already taken");
  }
  return UserFromRow(row);
}

std::optional<UserRecord> UsersRepo::FindById(const std::string& id) {
  soci::row row;
  s_ << kSelectUserById, soci::use(id, "id"), soci::into(row);
  if (!s_.got_data()) return std::nullopt;
  return UserFromRow(row);
}

std::optional<UsersRepo::WithHash> UsersRepo::FindForLogin(std::string_view typed_username) {
  std::string username(typed_username);
  soci::row row;
  s_ << kSelectLogin, soci::use(username, "username"), soci::into(row);
  if (!s_.got_data()) return std::nullopt;
  return WithHash{UserFromRow(row), row.get<std::string>(7)};
}

std::optional<UsersRepo::WithHash> UsersRepo::FindWithHashById(const std::string& id) {
  soci::row row;
  s_ << kSelectWithHashById, soci::use(id, "id"), soci::into(row);
  if (!s_.got_data()) return std::nullopt;
  return WithHash{UserFromRow(row), row.get<std::string>(7)};
}

bool UsersRepo::UsernameExists(std::string_view normalized_username) {
  std::string username(normalized_username);
  long long count = 0;
  s_ << kUsernameExists, soci::use(username, "username"), soci::into(count);
  return count > 0;
}

bool UsersRepo::ReplacePasswordHash(const std::string& id, const std::string& old_hash,
                                    const std::string& new_hash) {
  std::string returned;
  s_ << kReplacePasswordHash, soci::use(new_hash, "new_hash"), soci::use(id, "id"),
      soci::use(old_hash, "old_hash"), soci::into(returned);
  return s_.got_data();
}

Result<UserRecord> UsersRepo::UpgradeGuest(const std::string& id, const std::string& username,
                                           const std::string& password_hash,
                                           const std::optional<std::string>& display_name) {
  std::string name = display_name.value_or("");
  soci::indicator name_ind = display_name ? soci::i_ok : soci::i_null;
  soci::row row;
  try {
    s_ << kUpgradeGuest, soci::use(username, "username"), soci::use(password_hash, "password_hash"),
        soci::use(name, name_ind, "display_name"), soci::use(username, "fallback_name"),
        soci::use(id, "id"), soci::into(row);
  } catch (const std::exception& e) {
    // The only unique constraint the UPDATE can violate is the username's. The caller's
    // transaction is aborted now and must be rolled back.
    if (SqlState(e) == "23505") {
      return Status(ErrorCode::kUsernameTaken, "This username is already taken.")
          .AddFieldError("username", "is already taken");
    }
    throw;
  }
  if (!s_.got_data()) {
    return Status(ErrorCode::kConflict, "This account is already registered.");
  }
  return UserFromRow(row);
}

std::optional<UserRecord> UsersRepo::UpdateProfile(const std::string& id,
                                                   const std::optional<std::string>& display_name,
                                                   const OptionalUpdate& email) {
  std::string name = display_name.value_or("");
  soci::indicator name_ind = display_name ? soci::i_ok : soci::i_null;
  int set_email = email.set ? 1 : 0;
  std::string email_value = email.value.value_or("");
  soci::indicator email_ind = email.value ? soci::i_ok : soci::i_null;
  soci::row row;
  s_ << kUpdateProfile, soci::use(name, name_ind, "display_name"),
      soci::use(set_email, "set_email"), soci::use(email_value, email_ind, "email"),
      soci::use(id, "id"), soci::into(row);
  if (!s_.got_data()) return std::nullopt;
  return UserFromRow(row);
}

void UsersRepo::TouchActivity(const std::string& id) {
  s_ << kTouchActivity, soci::use(id, "id");
}

std::vector<PublicUserRecord> UsersRepo::Search(std::string_view query, std::string_view after,
                                                int limit) {
  std::string after_s(after);
  std::string pattern = EscapeLikePattern(query);
  std::vector<PublicUserRecord> out;
  soci::rowset<soci::row> rows =
      query.empty()
          ? (s_.prepare << kSearchAll, soci::use(after_s, "after"), soci::use(limit, "limit"))
          : (s_.prepare << kSearchPrefix, soci::use(pattern, "pattern1"),
             soci::use(after_s, "after1"), soci::use(limit, "limit1"),
             soci::use(pattern, "pattern2"), soci::use(after_s, "after2"),
             soci::use(limit, "limit2"), soci::use(limit, "limit3"));
  for (const soci::row& r : rows) {
    out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2)});
  }
  return out;
}

std::vector<UserRecord> UsersRepo::List(bool include_guests) {
  int all = include_guests ? 1 : 0;
  std::vector<UserRecord> out;
  soci::rowset<soci::row> rows = (s_.prepare << kListUsers, soci::use(all, "all"));
  for (const soci::row& r : rows) out.push_back(UserFromRow(r));
  return out;
}

bool UsersRepo::SetRole(std::string_view username, std::string_view role) {
  std::string name(username), role_s(role), id;
  s_ << kSetRole, soci::use(role_s, "role"), soci::use(name, "username"), soci::into(id);
  return s_.got_data();
}

bool UsersRepo::DeleteByUsername(std::string_view username) {
  std::string name(username), id;
  s_ << kDeleteByUsername, soci::use(name, "username"), soci::into(id);
  return s_.got_data();
}

}  // namespace chatd::store
