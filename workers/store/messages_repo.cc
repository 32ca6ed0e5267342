// The messages table's SQL. Every statement names its columns and binds every value; pages are
// range scans of messages_conversation_seq_key (conversation_id, seq), so reading the last 50 of
// a 10,000-message conversation touches 51 index entries.

#include "store/messages_repo.h"

#include <soci/soci.h>

#include <algorithm>

#include "json/json.h"

namespace chatd::store {
namespace {

// The membership test rides along with the page (one statement for the common case).
#define CHATD_PAGE_HEAD \
  "SELECT " CHATD_MESSAGE_COLUMNS("m", "u")                                               \
  " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "                             \
  "WHERE m.conversation_id = CAST(:conversation_id AS uuid) "                             \
  "AND EXISTS (SELECT 1 FROM conversation_members cm "                                    \
  "WHERE cm.conversation_id = CAST(:member_conversation_id AS uuid) AND cm.user_id = CAST(:user_id AS uuid)) "

constexpr const char* kPageLatest = CHATD_PAGE_HEAD "ORDER BY m.seq DESC LIMIT :limit";
constexpr const char* kPageBefore =
    CHATD_PAGE_HEAD "AND m.seq < :seq ORDER BY m.seq DESC LIMIT :limit";
constexpr const char* kPageAfter =
    CHATD_PAGE_HEAD "AND m.seq > :seq ORDER BY m.seq ASC LIMIT :limit";
#undef CHATD_PAGE_HEAD

constexpr const char* kIsMember =
    "SELECT count(*) FROM conversation_members "
    "WHERE conversation_id = CAST(:conversation_id AS uuid) AND user_id = CAST(:user_id AS uuid)";

// Served by messages_client_message_id_key (conversation_id, sender_id, client_message_id).
constexpr const char* kFindByClientMessageId =
    "SELECT " CHATD_MESSAGE_COLUMNS("m", "u")
    " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
    "WHERE m.conversation_id = CAST(:conversation_id AS uuid) "
    "AND m.sender_id = CAST(:sender_id AS uuid) AND m.client_message_id = :client_message_id";

// Only ever under the conversation's row lock (LockConversation), in the inserting transaction.
constexpr const char* kTakeSeqs =
    "UPDATE conversations SET last_seq = last_seq + :count, last_activity_at = now() "
    "WHERE id = CAST(:conversation_id AS uuid) RETURNING last_seq";

constexpr const char* kInsertUserMessage =
    "INSERT INTO messages (conversation_id, seq, role, sender_id, content, status, "
    "client_message_id, flags) "
    "VALUES (CAST(:conversation_id AS uuid), :seq, 'user', CAST(:sender_id AS uuid), :content, "
    "'complete', :client_message_id, CAST(:flags AS jsonb)) "
    "RETURNING id::text, " CHATD_SQL_TS("created_at");

std::optional<std::string> OptionalString(const soci::row& r, size_t i) {
  if (r.get_indicator(i) == soci::i_null) return std::nullopt;
  return r.get<std::string>(i);
}

std::optional<int64_t> OptionalInt(const soci::row& r, size_t i) {
  if (r.get_indicator(i) == soci::i_null) return std::nullopt;
  return r.get<int>(i);
}

}  // namespace

MessageRecord ReadMessage(const soci::row& r, size_t first) {
  MessageRecord m;
  m.id = r.get<std::string>(first + 0);
  m.conversation_id = r.get<std::string>(first + 1);
  m.seq = r.get<long long>(first + 2);
  m.role = r.get<std::string>(first + 3);
  if (r.get_indicator(first + 4) != soci::i_null) {
    m.sender = PublicUserRecord{r.get<std::string>(first + 4), r.get<std::string>(first + 5),
                                r.get<std::string>(first + 6)};
  }
  m.content = r.get<std::string>(first + 7);
  m.status = r.get<std::string>(first + 8);
  m.client_message_id = OptionalString(r, first + 9);
  m.model = OptionalString(r, first + 10);
  m.prompt_tokens = OptionalInt(r, first + 11);
  m.completion_tokens = OptionalInt(r, first + 12);
  m.sources_json = r.get<std::string>(first + 13);
  m.flags_json = r.get<std::string>(first + 14);
  m.created_at = r.get<std::string>(first + 15);
  return m;
}

Result<MessagePage> ListMessages(soci::session& s, const std::string& conversation_id,
                                 const std::string& user_id, PageDirection direction, int64_t seq,
                                 int limit) {
  // One extra row tells whether there are more.
  int fetch = limit + 1;
  long long seq_ll = seq;
  const char* sql = direction == PageDirection::kLatest   ? kPageLatest
                    : direction == PageDirection::kBefore ? kPageBefore
                                                          : kPageAfter;
  MessagePage page;
  {
    soci::rowset<soci::row> rows =
        direction == PageDirection::kLatest
            ? (s.prepare << sql, soci::use(conversation_id, "conversation_id"),
               soci::use(conversation_id, "member_conversation_id"), soci::use(user_id, "user_id"),
               soci::use(fetch, "limit"))
            : (s.prepare << sql, soci::use(conversation_id, "conversation_id"),
               soci::use(conversation_id, "member_conversation_id"), soci::use(user_id, "user_id"),
               soci::use(seq_ll, "seq"), soci::use(fetch, "limit"));
    for (const soci::row& r : rows) page.items.push_back(ReadMessage(r));
  }
  if (page.items.empty()) {
    long long members = 0;
    s << kIsMember, soci::use(conversation_id, "conversation_id"), soci::use(user_id, "user_id"),
        soci::into(members);
    if (members == 0) return Status::NotFound("This conversation does not exist.");
    return page;
  }
  if (static_cast<int>(page.items.size()) > limit) {
    page.more = true;
    page.items.pop_back();  // the farthest one in the direction of travel
  }
  if (direction != PageDirection::kAfter) std::reverse(page.items.begin(), page.items.end());
  return page;
}

std::optional<MessageRecord> FindByClientMessageId(soci::session& s,
                                                   const std::string& conversation_id,
                                                   const std::string& sender_id,
                                                   const std::string& client_message_id) {
  soci::rowset<soci::row> rows =
      (s.prepare << kFindByClientMessageId, soci::use(conversation_id, "conversation_id"),
       soci::use(sender_id, "sender_id"), soci::use(client_message_id, "client_message_id"));
  for (const soci::row& r : rows) return ReadMessage(r);
  return std::nullopt;
}

int64_t TakeSeqs(soci::session& s, const std::string& conversation_id, int count) {
  long long last = 0;
  s << kTakeSeqs, soci::use(count, "count"), soci::use(conversation_id, "conversation_id"),
      soci::into(last);
  return last;
}

MessageRecord InsertUserMessage(soci::session& s, const NewUserMessage& message) {
  json::Writer flags;
  flags.StartArray();
  for (const std::string& f : message.flags) flags.String(f);
  flags.EndArray();
  const std::string flags_json = flags.Take();

  long long seq = message.seq;
  std::string client_message_id = message.client_message_id.value_or("");
  soci::indicator client_message_id_ind = message.client_message_id ? soci::i_ok : soci::i_null;
  MessageRecord m;
  s << kInsertUserMessage, soci::use(message.conversation_id, "conversation_id"),
      soci::use(seq, "seq"), soci::use(message.sender.id, "sender_id"),
      soci::use(message.content, "content"),
      soci::use(client_message_id, client_message_id_ind, "client_message_id"),
      soci::use(flags_json, "flags"), soci::into(m.id), soci::into(m.created_at);
  m.conversation_id = message.conversation_id;
  m.seq = message.seq;
  m.role = "user";
  m.sender = message.sender;
  m.content = message.content;
  m.status = "complete";
  m.client_message_id = message.client_message_id;
  m.flags_json = flags_json;
  return m;
}

}  // namespace chatd::store
