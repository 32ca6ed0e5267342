// The conversations and conversation_members tables' SQL, and the event log writes.
//
// Every statement names its columns and binds every value. Lists of ids travel as one bound
// '{...}' text cast to uuid[] (built only from lowercase UUIDs that were validated or came from
// the database), so a page's members cost one query, never one per conversation.

#include "store/conversations_repo.h"

#include <soci/soci.h>

#include <charconv>
#include <map>

#include "store/sql.h"

namespace chatd::store {
namespace {

// API.md's Conversation, without members, over `conversations c` JOIN `conversation_members m`
// (the caller's row, whose archived flag `archived` renders as 0/1); ReadConversation reads it
// back. 9 columns, then the last message's.
#define CHATD_CONVERSATION_COLUMNS(archived) \
  "c.id::text AS id, c.kind AS kind, c.title AS title, c.assistant_id::text AS assistant_id, "  \
  "c.owner_id::text AS owner_id, " archived " AS archived, "                                    \
  CHATD_SQL_TS("c.created_at") " AS created_at, " CHATD_SQL_TS("c.updated_at") " AS updated_at, " \
  "CAST(extract(epoch FROM c.last_activity_at) * 1000000 AS bigint) AS activity_us"
constexpr size_t kConversationColumnCount = 9;
#define CHATD_CALLER_ARCHIVED "CASE WHEN m.archived THEN 1 ELSE 0 END"

// The page is chosen first (inner query: the caller's memberships in activity order straight from
// conversation_members_activity_idx — sql/0002 keeps each membership's copy of the activity — and
// their conversations by primary key, so a page costs `limit` rows however many conversations
// the caller has), and only its rows are formatted and get their last message (by (conversation_id,
// seq) = last_seq) and its sender, so the per-row cost of a long list is the sort alone.
constexpr const char* kListOuterHead =
    "SELECT p.id::text, p.kind, p.title, p.assistant_id::text, p.owner_id::text, "
    "CASE WHEN p.archived THEN 1 ELSE 0 END, " CHATD_SQL_TS("p.created_at") ", " CHATD_SQL_TS(
        "p.updated_at") ", CAST(extract(epoch FROM p.last_activity_at) * 1000000 AS bigint), " CHATD_MESSAGE_COLUMNS("lm", "lu") " FROM (";
constexpr const char* kListInner =
    "SELECT c.id, c.kind, c.title, c.assistant_id, c.owner_id, m.archived, c.created_at, "
    "c.updated_at, m.last_activity_at, c.last_seq "
    "FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id "
    "WHERE m.user_id = CAST(:user_id AS uuid) AND m.archived = (CAST(:archived AS integer) = 1) ";
constexpr const char* kListTitleFilter = "AND c.title ILIKE :pattern ESCAPE '\\' ";
// The cursor's microseconds back to a timestamptz, exactly (the product is an integral double
// below 2^53, which DecodeConversationCursor guarantees).
constexpr const char* kListAfterFilter =
    "AND (m.last_activity_at, m.conversation_id) < (timestamptz 'epoch' + CAST(:after_us AS "
    "bigint) * "
    "interval '1 microsecond', CAST(:after_id AS uuid)) ";
constexpr const char* kListInnerOrder =
    "ORDER BY m.last_activity_at DESC, m.conversation_id DESC LIMIT :limit";
constexpr const char* kListOuterTail =
    ") p LEFT JOIN messages lm ON lm.conversation_id = p.id AND lm.seq = p.last_seq "
    "LEFT JOIN users lu ON lu.id = lm.sender_id "
    "ORDER BY p.last_activity_at DESC, p.id DESC";

constexpr const char* kFindConversation =
    "SELECT " CHATD_CONVERSATION_COLUMNS(CHATD_CALLER_ARCHIVED) ", " CHATD_MESSAGE_COLUMNS("lm", "lu")
    " FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id "
    "LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq "
    "LEFT JOIN users lu ON lu.id = lm.sender_id "
    "WHERE m.conversation_id = CAST(:conversation_id AS uuid) AND m.user_id = CAST(:user_id AS uuid)";

// An event's view: nobody's archived flag (each member's is in the member list).
constexpr const char* kConversationSnapshot =
    "SELECT " CHATD_CONVERSATION_COLUMNS("0") ", " CHATD_MESSAGE_COLUMNS("lm", "lu")
    " FROM conversations c "
    "LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq "
    "LEFT JOIN users lu ON lu.id = lm.sender_id "
    "WHERE c.id = CAST(:conversation_id AS uuid)";

#undef CHATD_CALLER_ARCHIVED

// The members of a set of conversations, owner first, then by joining time.
constexpr const char* kMembersOf =
    "SELECT m.conversation_id::text, u.id::text, u.username, u.display_name, m.role, "
    "CASE WHEN m.archived THEN 1 ELSE 0 END "
    "FROM conversation_members m JOIN users u ON u.id = m.user_id "
    "WHERE m.conversation_id = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY m.conversation_id, (m.role = 'owner') DESC, m.joined_at, u.id";

constexpr const char* kLockConversation =
    "SELECT c.id::text, c.kind, c.title, c.assistant_id::text, a.name, c.owner_id::text "
    "FROM conversations c LEFT JOIN assistants a ON a.id = c.assistant_id "
    "WHERE c.id = CAST(:conversation_id AS uuid) FOR NO KEY UPDATE OF c";

// A separate statement after the lock: it sees every membership change committed before the lock
// was granted (a joined row in the locking statement could be stale after the wait).
constexpr const char* kCallerMembership =
    "SELECT m.role, CASE WHEN m.archived THEN 1 ELSE 0 END, u.username, u.display_name "
    "FROM conversation_members m JOIN users u ON u.id = m.user_id "
    "WHERE m.conversation_id = CAST(:conversation_id AS uuid) AND m.user_id = CAST(:user_id AS "
    "uuid)";

constexpr const char* kUsableAssistant =
    "SELECT name FROM assistants WHERE id = CAST(:assistant_id AS uuid) "
    "AND (is_default OR owner_id = CAST(:user_id AS uuid) OR CAST(:is_admin AS integer) = 1)";

constexpr const char* kUserExists = "SELECT count(*) FROM users WHERE id = CAST(:id AS uuid)";
constexpr const char* kCountUsers =
    "SELECT count(*) FROM users WHERE id = ANY(CAST(:ids AS uuid[]))";

constexpr const char* kMemberIds =
    "SELECT user_id::text FROM conversation_members "
    "WHERE conversation_id = CAST(:conversation_id AS uuid)";

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

constexpr const char* kEmitEvent =
    "SELECT emit_event(CAST(:conversation_id AS uuid), :kind, CAST(:payload AS jsonb), "
    "CAST(:recipients AS uuid[]))";

// Recipients: the members at this moment (under the conversation's lock) plus `extra`.
constexpr const char* kEmitEventToMembers =
    "SELECT emit_event(CAST(:conversation_id AS uuid), :kind, CAST(:payload AS jsonb), "
    "ARRAY(SELECT user_id FROM conversation_members WHERE conversation_id = "
    "CAST(:member_conversation_id AS uuid) "
    "UNION SELECT unnest(CAST(:extra AS uuid[]))))";

#undef CHATD_CONVERSATION_COLUMNS

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

std::optional<std::string> OptionalString(const soci::row& r, size_t i) {
  if (r.get_indicator(i) == soci::i_null) return std::nullopt;
  return r.get<std::string>(i);
}

ConversationRecord ReadConversation(const soci::row& r) {
  constexpr size_t message_first = kConversationColumnCount;
  ConversationRecord c;
  c.id = r.get<std::string>(0);
  c.kind = r.get<std::string>(1);
  c.title = OptionalString(r, 2);
  c.assistant_id = OptionalString(r, 3);
  c.owner_id = r.get<std::string>(4);
  c.archived = r.get<int>(5) != 0;
  c.created_at = r.get<std::string>(6);
  c.updated_at = r.get<std::string>(7);
  c.position = {r.get<long long>(8), c.id};
  if (r.get_indicator(message_first) != soci::i_null)
    c.last_message = ReadMessage(r, message_first);
  return c;
}

// Fills in the members of every conversation in `items` with one query.
void LoadMembers(soci::session& s, std::vector<ConversationRecord>& items) {
  if (items.empty()) return;
  std::vector<std::string> ids;
  std::map<std::string, ConversationRecord*, std::less<>> by_id;
  for (ConversationRecord& c : items) {
    ids.push_back(c.id);
    by_id[c.id] = &c;
  }
  const std::string ids_literal = UuidArrayLiteral(ids);
  soci::rowset<soci::row> rows = (s.prepare << kMembersOf, soci::use(ids_literal, "ids"));
  for (const soci::row& r : rows) {
    auto it = by_id.find(r.get<std::string>(0));
    if (it == by_id.end()) continue;
    it->second->members.push_back(
        {{r.get<std::string>(1), r.get<std::string>(2), r.get<std::string>(3)},
         r.get<std::string>(4),
         r.get<int>(5) != 0});
  }
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

ConversationPage ListConversations(soci::session& s, const std::string& user_id,
                                   const ConversationFilter& filter) {
  const bool with_title = !filter.title_query.empty();
  const bool with_after = filter.after.has_value();
  std::string sql = kListOuterHead;
  sql += kListInner;
  if (with_title) sql += kListTitleFilter;
  if (with_after) sql += kListAfterFilter;
  sql += kListInnerOrder;
  sql += kListOuterTail;

  int archived = filter.archived ? 1 : 0;
  int fetch = filter.limit + 1;  // one more tells whether there is a next page
  std::string pattern = "%" + EscapeLikePattern(filter.title_query) + "%";
  long long after_us = with_after ? filter.after->activity_us : 0;
  std::string after_id = with_after ? filter.after->id : std::string();

  soci::row row;
  soci::statement st(s);
  st.exchange(soci::into(row));
  st.exchange(soci::use(user_id, "user_id"));
  st.exchange(soci::use(archived, "archived"));
  if (with_title) st.exchange(soci::use(pattern, "pattern"));
  if (with_after) {
    st.exchange(soci::use(after_us, "after_us"));
    st.exchange(soci::use(after_id, "after_id"));
  }
  st.exchange(soci::use(fetch, "limit"));
  st.alloc();
  st.prepare(sql);
  st.define_and_bind();
  st.execute(false);

  ConversationPage page;
  while (st.fetch()) page.items.push_back(ReadConversation(row));
  if (static_cast<int>(page.items.size()) > filter.limit) {
    page.items.pop_back();
    page.next = page.items.back().position;
  }
  LoadMembers(s, page.items);
  return page;
}

std::optional<ConversationRecord> FindConversation(soci::session& s,
                                                   const std::string& conversation_id,
                                                   const std::string& user_id) {
  std::vector<ConversationRecord> found;
  {
    soci::rowset<soci::row> rows =
        (s.prepare << kFindConversation, soci::use(conversation_id, "conversation_id"),
         soci::use(user_id, "user_id"));
    for (const soci::row& r : rows) found.push_back(ReadConversation(r));
  }
  if (found.empty()) return std::nullopt;
  LoadMembers(s, found);
  return std::move(found.front());
}

std::optional<ConversationRecord> LoadConversationSnapshot(soci::session& s,
                                                           const std::string& conversation_id) {
  std::vector<ConversationRecord> found;
  {
    soci::rowset<soci::row> rows =
        (s.prepare << kConversationSnapshot, soci::use(conversation_id, "conversation_id"));
    for (const soci::row& r : rows) found.push_back(ReadConversation(r));
  }
  if (found.empty()) return std::nullopt;
  LoadMembers(s, found);
  return std::move(found.front());
}

std::optional<LockedConversation> LockConversation(soci::session& s,
                                                   const std::string& conversation_id,
                                                   const std::string& user_id) {
  soci::row r;
  s << kLockConversation, soci::use(conversation_id, "conversation_id"), soci::into(r);
  if (!s.got_data()) return std::nullopt;
  LockedConversation c;
  c.id = r.get<std::string>(0);
  c.kind = r.get<std::string>(1);
  c.title = OptionalString(r, 2);
  c.assistant_id = OptionalString(r, 3);
  c.assistant_name = OptionalString(r, 4);
  c.owner_id = r.get<std::string>(5);

  soci::row m;
  s << kCallerMembership, soci::use(conversation_id, "conversation_id"),
      soci::use(user_id, "user_id"), soci::into(m);
  if (s.got_data()) {
    c.caller_role = m.get<std::string>(0);
    c.caller_archived = m.get<int>(1) != 0;
    c.caller = {user_id, m.get<std::string>(2), m.get<std::string>(3)};
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
  std::vector<std::string> ids;
  soci::rowset<std::string> rows =
      (s.prepare << kMemberIds, soci::use(conversation_id, "conversation_id"));
  for (const std::string& id : rows) ids.push_back(id);
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
  long long id = 0;
  s << kEmitEvent, soci::use(conversation_id, "conversation_id"), soci::use(kind_s, "kind"),
      soci::use(payload_json, "payload"), soci::use(recipients_literal, "recipients"),
      soci::into(id);
  return id;
}

int64_t EmitEventToMembers(soci::session& s, const std::string& conversation_id,
                           std::string_view kind, const std::string& payload_json,
                           const std::vector<std::string>& extra) {
  const std::string kind_s(kind);
  const std::string extra_literal = UuidArrayLiteral(extra);
  long long id = 0;
  s << kEmitEventToMembers, soci::use(conversation_id, "conversation_id"),
      soci::use(kind_s, "kind"), soci::use(payload_json, "payload"),
      soci::use(conversation_id, "member_conversation_id"), soci::use(extra_literal, "extra"),
      soci::into(id);
  return id;
}

}  // namespace chatd::store
