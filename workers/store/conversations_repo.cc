// The conversations and conversation_members tables' SQL, and the event log writes.
//
// Every statement names its columns and binds every value. Lists of ids travel as one bound
// '{...}' text cast to uuid[] (built only from lowercase UUIDs that were validated or came from
// the database). The hot statements (the reads, the lock, membership and events) are prepared once
// per connection (store/statements.h); a page of conversations, with every member and last
// message, is one statement.

#include "store/conversations_repo.h"

#include <soci/soci.h>

#include <algorithm>
#include <charconv>

#include "core/log.h"
#include "json/json.h"
#include "store/assistants_repo.h"
#include "store/db.h"
#include "store/sql.h"
#include "store/statements.h"

namespace chatd::store {
namespace {

// The reads of conversations are prepared once per connection (store/statements.h) and fetch a
// conversation with its members and last message in ONE statement: the members come as a JSON
// array of [id, username, display_name, role, archived] per conversation (owner first, then by
// joining time), which ReadMembers parses. ReadConversation reads the columns back:
//   0 id, 1 kind, 2 title, 3 assistant_id, 4 owner_id, 5 archived (bool), 6 created_at,
//   7 updated_at, 8 activity_us, 9 members (json), 10 the answering assistant's id, 11 its name,
//   12.. the last message (CHATD_MESSAGE_COLUMNS).
// The answering assistant is assistant_id's, or for kind 'assistant' without one the built-in
// default (CHATD_DEFAULT_ASSISTANT, store::kDefaultAssistantId): a primary-key read. Its name is
// covered by the page versions through page_cache_epoch.profiles (sql/0005), read in the same
// statement.
// Over `p`, a row with conversations' columns plus the caller's `archived` and `last_activity_at`.
// CHATD_CONVERSATION_SELECT_WITH(extra) appends `extra` columns after the last message's.
#define CHATD_DEFAULT_ASSISTANT "00000000-0000-0000-0000-000000000001"
static_assert(kDefaultAssistantId == CHATD_DEFAULT_ASSISTANT);
#define CHATD_CONVERSATION_SELECT CHATD_CONVERSATION_SELECT_WITH("")
#define CHATD_CONVERSATION_SELECT_WITH(extra) \
  "SELECT p.id::text, p.kind, p.title, p.assistant_id::text, p.owner_id::text, " \
  "p.archived, "     \
  CHATD_SQL_TS("p.created_at") ", " CHATD_SQL_TS("p.updated_at") ", "                            \
  "CAST(extract(epoch FROM p.last_activity_at) * 1000000 AS bigint), "                           \
  "(SELECT json_agg(json_build_array(mu.id, mu.username, mu.display_name, mm.role, mm.archived) " \
  "ORDER BY (mm.role = 'owner') DESC, mm.joined_at, mu.id) "                                     \
  "FROM conversation_members mm JOIN users mu ON mu.id = mm.user_id "                            \
  "WHERE mm.conversation_id = p.id), pa.id::text, pa.name, "                                   \
  CHATD_MESSAGE_COLUMNS("lm", "lu") extra " FROM ("
#define CHATD_CONVERSATION_TAIL                                                     \
  ") p LEFT JOIN messages lm ON lm.conversation_id = p.id AND lm.seq = p.last_seq " \
  "LEFT JOIN users lu ON lu.id = lm.sender_id "                                     \
  "LEFT JOIN assistants pa ON pa.id = COALESCE(p.assistant_id, CASE WHEN p.kind = " \
  "'assistant' THEN CAST('" CHATD_DEFAULT_ASSISTANT "' AS uuid) END) "
constexpr int kConversationColumnCount = 12;
// The inner bound of the list's keys statement: the largest page (api/render.h) plus one.
constexpr int kListInnerBound = 101;

// GET /conversations is two statements (the page cache, api/page_cache.h and sql/0003, serves
// the second). First the page's keys: the caller's memberships in activity order straight from
// conversation_members_activity_idx (sql/0002 keeps each membership's copy of the activity) and
// their conversations' versions by primary key, so a page costs `limit` rows however many
// conversations the caller has, and nothing is formatted. Columns: 0 id, 1 archived,
// 2 activity_us, 3 version, 4 profiles. $1 user, $2 archived, $3 limit; then the filters' own
// parameters. One constant per combination of filters (a prepared statement's text is fixed).
#define CHATD_LIST_TITLE(pattern) "AND c.title ILIKE " pattern " ESCAPE '\\' "
// The cursor's microseconds back to a timestamptz, exactly (the product is an integral double
// below 2^53, which DecodeConversationCursor guarantees).
#define CHATD_LIST_AFTER(us, id)                                                  \
  "AND (m.last_activity_at, m.conversation_id) < (timestamptz 'epoch' + CAST(" us \
  " AS bigint) "                                                                  \
  "* interval '1 microsecond', CAST(" id " AS uuid)) "
// The page size is applied twice: a constant bound inside (the largest page plus one, the only
// LIMIT the planner sees as a number) and $3 outside. With `LIMIT $3` alone, PostgreSQL's generic
// plan assumes 10% of the caller's rows, costs more than a custom plan for the actual value, and
// so the statement would be re-planned on every execution despite being prepared; with the bound
// inside, the generic plan is chosen after five executions, and the executor still reads only
// $3 rows (a LIMIT pulls no more than it returns).
#define CHATD_KEYS(filters)                                                                  \
  "SELECT b.id::text, b.archived, CAST(extract(epoch FROM b.last_activity_at) * 1000000 AS " \
  "bigint), b.version, e.profiles FROM (SELECT * FROM ("                                     \
  "SELECT c.id, m.archived, m.last_activity_at, c.version "                                  \
  "FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id "            \
  "WHERE m.user_id = CAST($1 AS uuid) AND m.archived = $2 " filters                          \
  "ORDER BY m.last_activity_at DESC, m.conversation_id DESC LIMIT 101) bounded LIMIT $3) b " \
  "CROSS JOIN page_cache_epoch e ORDER BY b.last_activity_at DESC, b.id DESC"
// Indexed [with a title filter][with a cursor].
constexpr const char* kListKeys[2][2] = {
    {CHATD_KEYS(""), CHATD_KEYS(CHATD_LIST_AFTER("$4", "$5"))},
    {CHATD_KEYS(CHATD_LIST_TITLE("$4")),
     CHATD_KEYS(CHATD_LIST_TITLE("$4") CHATD_LIST_AFTER("$5", "$6"))}};
#undef CHATD_KEYS
#undef CHATD_LIST_AFTER
#undef CHATD_LIST_TITLE

// $1 conversation, $2 the caller.
constexpr const char* kFindConversation = CHATD_CONVERSATION_SELECT
    "SELECT c.id, c.kind, c.title, c.assistant_id, c.owner_id, m.archived, c.created_at, "
    "c.updated_at, c.last_activity_at, c.last_seq "
    "FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id "
    "WHERE m.conversation_id = CAST($1 AS uuid) AND m.user_id = CAST($2 AS "
    "uuid)" CHATD_CONVERSATION_TAIL;

// An event's view: nobody's archived flag (each member's is in the member list). $1 conversation.
constexpr const char* kConversationSnapshot = CHATD_CONVERSATION_SELECT
    "SELECT c.id, c.kind, c.title, c.assistant_id, c.owner_id, false AS archived, c.created_at, "
    "c.updated_at, c.last_activity_at, c.last_seq FROM conversations c "
    "WHERE c.id = CAST($1 AS uuid)" CHATD_CONVERSATION_TAIL;

// Then the conversations of the page whose rendering is not cached, in full, each with the version
// it was read at (the same snapshot as its columns). $1 the caller, $2 '{...}' ids. Extra columns
// after the last message: version, profiles.
constexpr const char* kListByIds = CHATD_CONVERSATION_SELECT_WITH(
    ", p.version, (SELECT profiles FROM page_cache_epoch)")
    "SELECT c.id, c.kind, c.title, c.assistant_id, c.owner_id, m.archived, c.created_at, "
    "c.updated_at, m.last_activity_at, c.last_seq, c.version "
    "FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id "
    "WHERE m.user_id = CAST($1 AS uuid) AND m.conversation_id = ANY(CAST($2 AS uuid[]))"
    CHATD_CONVERSATION_TAIL;

#undef CHATD_CONVERSATION_TAIL
#undef CHATD_CONVERSATION_SELECT
#undef CHATD_CONVERSATION_SELECT_WITH
#undef CHATD_DEFAULT_ASSISTANT

// locked_after_write: the target list is computed below the row lock (LockRows is the plan's top),
// so pg_current_xact_id_if_assigned() tells whether the transaction had an xid before this lock;
// c.xmin equal to it means the transaction created or changed this row itself (a new chat).
constexpr const char* kLockConversation =
    "SELECT c.id::text, c.kind, c.title, c.assistant_id::text, a.name, c.owner_id::text, "
    "(pg_current_xact_id_if_assigned() IS NOT NULL "
    "AND c.xmin <> xid(pg_current_xact_id_if_assigned())) AS locked_after_write "
    "FROM conversations c LEFT JOIN assistants a ON a.id = c.assistant_id "
    "WHERE c.id = CAST($1 AS uuid) FOR NO KEY UPDATE OF c";

// A separate statement after the lock: it sees every membership change committed before the lock
// was granted (a joined row in the locking statement could be stale after the wait).
constexpr const char* kCallerMembership =
    "SELECT m.role, m.archived, u.username, u.display_name "
    "FROM conversation_members m JOIN users u ON u.id = m.user_id "
    "WHERE m.conversation_id = CAST($1 AS uuid) AND m.user_id = CAST($2 AS uuid)";

// The assistant's conversations, locked in one order. $1 assistant.
constexpr const char* kLockConversationsOfAssistant =
    "SELECT id::text FROM conversations WHERE assistant_id = CAST($1 AS uuid) "
    "ORDER BY id FOR NO KEY UPDATE";

constexpr const char* kUsableAssistant =
    "SELECT name FROM assistants WHERE id = CAST(:assistant_id AS uuid) "
    "AND (is_default OR owner_id = CAST(:user_id AS uuid) OR CAST(:is_admin AS integer) = 1)";

constexpr const char* kUserExists = "SELECT count(*) FROM users WHERE id = CAST(:id AS uuid)";
constexpr const char* kCountUsers =
    "SELECT count(*) FROM users WHERE id = ANY(CAST(:ids AS uuid[]))";

constexpr const char* kMemberIds =
    "SELECT user_id::text FROM conversation_members WHERE conversation_id = CAST($1 AS uuid)";

constexpr const char* kInsertConversation =
    "WITH c AS (INSERT INTO conversations (kind, title, assistant_id, owner_id) "
    "VALUES (:kind, :title, CAST(:assistant_id AS uuid), CAST(:owner_id AS uuid)) RETURNING id) "
    "INSERT INTO conversation_members (conversation_id, user_id, role) "
    "SELECT c.id, CAST(:member_id AS uuid), 'owner' FROM c RETURNING conversation_id::text";

constexpr const char* kInsertDirect =
    "INSERT INTO conversations (kind, owner_id, direct_key) "
    "VALUES ('direct', CAST(:owner_id AS uuid), :direct_key) "
    "ON CONFLICT (direct_key) DO NOTHING RETURNING id::text";

constexpr const char* kFindDirect =
    "SELECT id::text FROM conversations WHERE direct_key = :direct_key";

constexpr const char* kAddMembers =
    "INSERT INTO conversation_members (conversation_id, user_id, role) "
    "SELECT CAST(:conversation_id AS uuid), u, :role FROM unnest(CAST(:ids AS uuid[])) AS u "
    "ON CONFLICT (conversation_id, user_id) DO NOTHING";

constexpr const char* kRemoveMember =
    "DELETE FROM conversation_members "
    "WHERE conversation_id = CAST(:conversation_id AS uuid) AND user_id = CAST(:user_id AS uuid)";

constexpr const char* kCountMembers =
    "SELECT count(*) FROM conversation_members WHERE conversation_id = CAST(:conversation_id AS "
    "uuid)";

constexpr const char* kSetTitle =
    "UPDATE conversations SET title = :title, updated_at = now() "
    "WHERE id = CAST(:conversation_id AS uuid)";

constexpr const char* kSetArchived =
    "UPDATE conversation_members SET archived = (CAST(:archived AS integer) = 1) "
    "WHERE conversation_id = CAST(:conversation_id AS uuid) AND user_id = CAST(:user_id AS uuid)";

constexpr const char* kTouchConversation =
    "UPDATE conversations SET updated_at = now() WHERE id = CAST(:conversation_id AS uuid)";

constexpr const char* kDeleteConversation =
    "DELETE FROM conversations WHERE id = CAST(:conversation_id AS uuid)";

// The locking, membership and event statements run in every send and chat turn: prepared once
// per connection (store/statements.h) like the reads above.
constexpr const char* kEmitEvent =
    "SELECT emit_event(CAST($1 AS uuid), CAST($2 AS text), CAST($3 AS jsonb), "
    "CAST($4 AS uuid[]))";

// Recipients: the members at this moment (under the conversation's lock) plus `extra`.
constexpr const char* kEmitEventToMembers =
    "SELECT emit_event(CAST($1 AS uuid), CAST($2 AS text), CAST($3 AS jsonb), "
    "ARRAY(SELECT user_id FROM conversation_members WHERE conversation_id = CAST($1 AS uuid) "
    "UNION SELECT unnest(CAST($4 AS uuid[]))))";

// Several events of one kind to the members, in the order of the JSON array $3 (one member read,
// one round trip). emit_event runs after the sort (a volatile call is evaluated above ORDER BY).
constexpr const char* kEmitEventsToMembers =
    "SELECT emit_event(CAST($1 AS uuid), CAST($2 AS text), t.p, r.ids) "
    "FROM (SELECT ARRAY(SELECT user_id FROM conversation_members "
    "WHERE conversation_id = CAST($1 AS uuid)) AS ids) r, "
    "jsonb_array_elements(CAST($3 AS jsonb)) WITH ORDINALITY AS t(p, n) ORDER BY t.n";

// '{a,b,c}' for CAST(... AS uuid[]). Only for lowercase UUIDs (validated or from the database).
std::string UuidArrayLiteral(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += ids[i];
  }
  out += '}';
  return out;
}

// The JSON array of [id, username, display_name, role, archived] built by
// CHATD_CONVERSATION_SELECT (NULL, read as "", when there are none).
std::vector<MemberRecord> ReadMembers(std::string_view members_json) {
  std::vector<MemberRecord> members;
  if (members_json.empty()) return members;
  auto doc = json::Document::Parse(members_json);
  if (!doc.ok()) throw soci::soci_error("unreadable member list from the database");
  json::Value list = doc->root();
  members.reserve(list.ArraySize());
  for (size_t i = 0; i < list.ArraySize(); ++i) {
    json::Value m = list.ArrayAt(i);
    auto text = [&](size_t field) { return std::string(m.ArrayAt(field).AsString().value_or("")); };
    members.push_back(
        {{text(0), text(1), text(2)}, text(3), m.ArrayAt(4).AsBool().value_or(false)});
  }
  return members;
}

ConversationRecord ReadConversation(const Rows& rows, int i) {
  ConversationRecord c;
  c.id = rows.Text(i, 0);
  c.kind = rows.Text(i, 1);
  c.title = rows.OptionalText(i, 2);
  c.assistant_id = rows.OptionalText(i, 3);
  c.owner_id = rows.Text(i, 4);
  c.archived = rows.Bool(i, 5);
  c.created_at = rows.Text(i, 6);
  c.updated_at = rows.Text(i, 7);
  c.position = {rows.Int(i, 8), c.id};
  c.members = ReadMembers(rows.View(i, 9));
  if (!rows.IsNull(i, 10)) c.assistant = ConversationAssistant{rows.Text(i, 10), rows.Text(i, 11)};
  if (!rows.IsNull(i, kConversationColumnCount))
    c.last_message = ReadMessage(rows, i, kConversationColumnCount);
  return c;
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool IsLowerUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsLowerHex(s[i])) return false;
  }
  return true;
}

}  // namespace

std::string EncodeConversationCursor(const ActivityPosition& position) {
  return std::to_string(position.activity_us) + "_" + position.id;
}

std::optional<ActivityPosition> DecodeConversationCursor(std::string_view cursor) {
  size_t sep = cursor.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep > 16) return std::nullopt;
  std::string_view digits = cursor.substr(0, sep);
  // Encode never writes a sign or a leading zero (timestamps after 1970 are positive).
  if (digits.front() == '0' || digits.front() == '-') return std::nullopt;
  ActivityPosition p;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p.activity_us);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  // Beyond 2^53 microseconds (the year 2255) the SQL's conversion back would not be exact.
  if (p.activity_us <= 0 || p.activity_us >= (int64_t{1} << 53)) return std::nullopt;
  p.id = std::string(cursor.substr(sep + 1));
  if (!IsLowerUuid(p.id)) return std::nullopt;
  return p;
}

ConversationKeyPage ListConversationKeys(soci::session& s, const std::string& user_id,
                                         const ConversationFilter& filter) {
  const bool with_title = !filter.title_query.empty();
  const bool with_after = filter.after.has_value();
  // One more than the page tells whether there is a next one.
  const int limit = std::clamp(filter.limit, 1, kListInnerBound - 1);
  const std::string pattern = with_title ? "%" + EscapeLikePattern(filter.title_query) + "%" : "";
  Params params;  // keeps pointers to the strings above (store/statements.h)
  params.Text(user_id).Bool(filter.archived).Int(limit + 1);
  if (with_title) params.Text(pattern);
  if (with_after) params.Int(filter.after->activity_us).Text(filter.after->id);
  const char* sql = kListKeys[with_title][with_after];
  ConversationKeyPage page;
  Rows rows = Query(s, sql, params);
  page.items.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i) {
    ConversationKey k;
    k.id = rows.Text(i, 0);
    k.archived = rows.Bool(i, 1);
    k.position = {rows.Int(i, 2), k.id};
    k.version = {rows.Int(i, 3), rows.Int(i, 4)};
    page.items.push_back(std::move(k));
  }
  if (static_cast<int>(page.items.size()) > limit) {
    page.items.pop_back();
    page.next = page.items.back().position;
  }
  return page;
}

std::vector<VersionedConversation> LoadConversationsForList(soci::session& s,
                                                            const std::string& user_id,
                                                            const std::vector<std::string>& ids) {
  std::vector<VersionedConversation> out;
  if (ids.empty()) return out;
  // The ids came from the database (ListConversationKeys).
  Rows rows = Query(s, kListByIds, Params().Text(user_id).Text(UuidArrayLiteral(ids)));
  constexpr int kExtra = kConversationColumnCount + static_cast<int>(kMessageColumnCount);
  out.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i) {
    out.push_back({ReadConversation(rows, i), {rows.Int(i, kExtra), rows.Int(i, kExtra + 1)}});
  }
  return out;
}

std::optional<ConversationRecord> FindConversation(soci::session& s,
                                                   const std::string& conversation_id,
                                                   const std::string& user_id) {
  Rows rows = Query(s, kFindConversation, Params().Text(conversation_id).Text(user_id));
  if (rows.empty()) return std::nullopt;
  return ReadConversation(rows, 0);
}

std::optional<ConversationRecord> LoadConversationSnapshot(soci::session& s,
                                                           const std::string& conversation_id) {
  Rows rows = Query(s, kConversationSnapshot, Params().Text(conversation_id));
  if (rows.empty()) return std::nullopt;
  return ReadConversation(rows, 0);
}

std::optional<LockedConversation> LockConversation(soci::session& s,
                                                   const std::string& conversation_id,
                                                   const std::string& user_id) {
  Rows locked = Query(s, kLockConversation, Params().Text(conversation_id));
  if (locked.empty()) return std::nullopt;
  LockedConversation c;
  c.id = locked.Text(0, 0);
  c.kind = locked.Text(0, 1);
  c.title = locked.OptionalText(0, 2);
  c.assistant_id = locked.OptionalText(0, 3);
  c.assistant_name = locked.OptionalText(0, 4);
  c.owner_id = locked.Text(0, 5);
  c.locked_after_write = locked.Bool(0, 6);
  if (c.locked_after_write) {
    LogWarn("conversation locked after a write: its events may be delivered out of order")
        .Str("conversation_id", c.id);
  }

  Rows m = Query(s, kCallerMembership, Params().Text(conversation_id).Text(user_id));
  if (!m.empty()) {
    c.caller_role = m.Text(0, 0);
    c.caller_archived = m.Bool(0, 1);
    c.caller = {user_id, m.Text(0, 2), m.Text(0, 3)};
  }
  return c;
}

std::optional<std::string> FindUsableAssistant(soci::session& s, const std::string& assistant_id,
                                               const std::string& user_id, bool is_admin) {
  int admin = is_admin ? 1 : 0;
  std::string name;
  s << kUsableAssistant, soci::use(assistant_id, "assistant_id"), soci::use(user_id, "user_id"),
      soci::use(admin, "is_admin"), soci::into(name);
  if (!s.got_data()) return std::nullopt;
  return name;
}

bool UserExists(soci::session& s, const std::string& user_id) {
  long long n = 0;
  s << kUserExists, soci::use(user_id, "id"), soci::into(n);
  return n > 0;
}

int64_t CountExistingUsers(soci::session& s, const std::vector<std::string>& user_ids) {
  if (user_ids.empty()) return 0;
  const std::string ids = UuidArrayLiteral(user_ids);
  long long n = 0;
  s << kCountUsers, soci::use(ids, "ids"), soci::into(n);
  return n;
}

std::vector<std::string> MemberIds(soci::session& s, const std::string& conversation_id) {
  Rows rows = Query(s, kMemberIds, Params().Text(conversation_id));
  std::vector<std::string> ids;
  ids.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Text(i, 0));
  return ids;
}

std::vector<std::string> LockConversationsOfAssistant(soci::session& s,
                                                      const std::string& assistant_id) {
  Rows rows = Query(s, kLockConversationsOfAssistant, Params().Text(assistant_id));
  std::vector<std::string> ids;
  ids.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Text(i, 0));
  return ids;
}

std::string InsertConversation(soci::session& s, const NewConversation& conversation) {
  std::string title = conversation.title.value_or("");
  soci::indicator title_ind = conversation.title ? soci::i_ok : soci::i_null;
  std::string assistant_id = conversation.assistant_id.value_or("");
  soci::indicator assistant_ind = conversation.assistant_id ? soci::i_ok : soci::i_null;
  std::string id;
  s << kInsertConversation, soci::use(conversation.kind, "kind"),
      soci::use(title, title_ind, "title"), soci::use(assistant_id, assistant_ind, "assistant_id"),
      soci::use(conversation.owner_id, "owner_id"), soci::use(conversation.owner_id, "member_id"),
      soci::into(id);
  return id;
}

std::string DirectKey(const std::string& a, const std::string& b) {
  return a < b ? a + ":" + b : b + ":" + a;
}

std::optional<std::string> InsertDirectConversation(soci::session& s, const std::string& owner_id,
                                                    const std::string& key) {
  std::string id;
  s << kInsertDirect, soci::use(owner_id, "owner_id"), soci::use(key, "direct_key"), soci::into(id);
  if (!s.got_data()) return std::nullopt;
  return id;
}

std::optional<std::string> FindDirectConversation(soci::session& s, const std::string& key) {
  std::string id;
  s << kFindDirect, soci::use(key, "direct_key"), soci::into(id);
  if (!s.got_data()) return std::nullopt;
  return id;
}

int64_t AddMembers(soci::session& s, const std::string& conversation_id,
                   const std::vector<std::string>& user_ids, std::string_view role) {
  if (user_ids.empty()) return 0;
  const std::string ids = UuidArrayLiteral(user_ids);
  const std::string role_s(role);
  soci::statement st = (s.prepare << kAddMembers, soci::use(conversation_id, "conversation_id"),
                        soci::use(role_s, "role"), soci::use(ids, "ids"));
  st.execute(true);
  return st.get_affected_rows();
}

bool RemoveMember(soci::session& s, const std::string& conversation_id,
                  const std::string& user_id) {
  soci::statement st = (s.prepare << kRemoveMember, soci::use(conversation_id, "conversation_id"),
                        soci::use(user_id, "user_id"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

int64_t CountMembers(soci::session& s, const std::string& conversation_id) {
  long long n = 0;
  s << kCountMembers, soci::use(conversation_id, "conversation_id"), soci::into(n);
  return n;
}

void SetTitle(soci::session& s, const std::string& conversation_id,
              const std::optional<std::string>& title) {
  std::string value = title.value_or("");
  soci::indicator ind = title ? soci::i_ok : soci::i_null;
  s << kSetTitle, soci::use(value, ind, "title"), soci::use(conversation_id, "conversation_id");
}

void SetArchived(soci::session& s, const std::string& conversation_id, const std::string& user_id,
                 bool archived) {
  int flag = archived ? 1 : 0;
  s << kSetArchived, soci::use(flag, "archived"), soci::use(conversation_id, "conversation_id"),
      soci::use(user_id, "user_id");
}

void TouchConversation(soci::session& s, const std::string& conversation_id) {
  s << kTouchConversation, soci::use(conversation_id, "conversation_id");
}

void DeleteConversation(soci::session& s, const std::string& conversation_id) {
  s << kDeleteConversation, soci::use(conversation_id, "conversation_id");
}

int64_t EmitEvent(soci::session& s, const std::string& conversation_id, std::string_view kind,
                  const std::string& payload_json, const std::vector<std::string>& recipients) {
  const std::string kind_s(kind);
  const std::string recipients_literal = UuidArrayLiteral(recipients);
  NoteEventsWritten();
  Rows rows = Query(
      s, kEmitEvent,
      Params().Text(conversation_id).Text(kind_s).Text(payload_json).Text(recipients_literal));
  return rows.Int(0, 0);
}

int64_t EmitEventToMembers(soci::session& s, const std::string& conversation_id,
                           std::string_view kind, const std::string& payload_json,
                           const std::vector<std::string>& extra) {
  const std::string kind_s(kind);
  const std::string extra_literal = UuidArrayLiteral(extra);
  NoteEventsWritten();
  Rows rows =
      Query(s, kEmitEventToMembers,
            Params().Text(conversation_id).Text(kind_s).Text(payload_json).Text(extra_literal));
  return rows.Int(0, 0);
}

void EmitEventsToMembers(soci::session& s, const std::string& conversation_id,
                         std::string_view kind, const std::vector<std::string>& payloads_json) {
  if (payloads_json.empty()) return;
  std::string array = "[";
  for (size_t i = 0; i < payloads_json.size(); ++i) {
    if (i > 0) array += ",";
    array += payloads_json[i];
  }
  array += "]";
  const std::string kind_s(kind);
  NoteEventsWritten();
  Query(s, kEmitEventsToMembers, Params().Text(conversation_id).Text(kind_s).Text(array));
}

namespace {
constexpr const char* kMemberConversationIds =
    "SELECT conversation_id::text FROM conversation_members WHERE user_id = CAST($1 AS uuid) "
    "ORDER BY joined_at, conversation_id";
}  // namespace

std::vector<std::string> MemberConversationIds(soci::session& s, const std::string& user_id) {
  Rows rows = Query(s, kMemberConversationIds, Params().Text(user_id));
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) ids.push_back(rows.Text(i, 0));
  return ids;
}

}  // namespace chatd::store
