// The messages table's SQL. Every statement names its columns and binds every value; pages are
// range scans of messages_conversation_seq_key (conversation_id, seq), so reading the last 50 of
// a 10,000-message conversation touches 51 index entries.

#include "store/messages_repo.h"

#include <soci/soci.h>

#include <algorithm>

#include "json/json.h"
#include "store/statements.h"

namespace chatd::store {
namespace {

// All statements here are prepared once per connection (store/statements.h): they serve the
// message list and every send. The membership test rides along with the page (one statement for
// the common case).
// The page's version (sql/0003) rides along too, read in the same snapshot as the rows, so a
// cached page is never stored under a version newer than what it shows.
#define CHATD_PAGE_HEAD \
  "SELECT " CHATD_MESSAGE_COLUMNS("m", "u")                                               \
  ", v.version, v.profiles"                                                               \
  " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "                             \
  "CROSS JOIN (SELECT c.version, e.profiles FROM conversations c, page_cache_epoch e "    \
  "WHERE c.id = CAST($1 AS uuid)) v "                                                     \
  "WHERE m.conversation_id = CAST($1 AS uuid) "                                           \
  "AND EXISTS (SELECT 1 FROM conversation_members cm "                                    \
  "WHERE cm.conversation_id = CAST($1 AS uuid) AND cm.user_id = CAST($2 AS uuid)) "

// $3: the limit; $4: the seq to start from.
constexpr const char* kPageLatest = CHATD_PAGE_HEAD "ORDER BY m.seq DESC LIMIT $3";
constexpr const char* kPageBefore = CHATD_PAGE_HEAD "AND m.seq < $4 ORDER BY m.seq DESC LIMIT $3";
constexpr const char* kPageAfter = CHATD_PAGE_HEAD "AND m.seq > $4 ORDER BY m.seq ASC LIMIT $3";
#undef CHATD_PAGE_HEAD

constexpr const char* kIsMember =
    "SELECT 1 FROM conversation_members "
    "WHERE conversation_id = CAST($1 AS uuid) AND user_id = CAST($2 AS uuid)";

// Served by messages_client_message_id_key (conversation_id, sender_id, client_message_id).
constexpr const char* kFindByClientMessageId =
    "SELECT " CHATD_MESSAGE_COLUMNS("m", "u")
    " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
    "WHERE m.conversation_id = CAST($1 AS uuid) "
    "AND m.sender_id = CAST($2 AS uuid) AND m.client_message_id = $3";

// Only ever under the conversation's row lock (LockConversation), in the inserting transaction.
constexpr const char* kTakeSeqs =
    "UPDATE conversations SET last_seq = last_seq + CAST($1 AS integer), last_activity_at = now() "
    "WHERE id = CAST($2 AS uuid) RETURNING last_seq";

constexpr const char* kInsertUserMessage =
    "INSERT INTO messages (conversation_id, seq, role, sender_id, content, status, "
    "client_message_id, flags) "
    "VALUES (CAST($1 AS uuid), $2, 'user', CAST($3 AS uuid), $4, "
    "'complete', $5, CAST($6 AS jsonb)) "
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

constexpr const char* kEditUserMessage =
    "UPDATE messages SET content = $4, edited_at = now(), updated_at = now() "
    "WHERE id = CAST($1 AS uuid) AND conversation_id = CAST($2 AS uuid) AND role = 'user' "
    "AND sender_id = CAST($3 AS uuid)";

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
  m.edited_at = OptionalString(r, first + 16);
  return m;
}

MessageRecord ReadMessage(const Rows& rows, int row, int first) {
  MessageRecord m;
  m.id = rows.Text(row, first + 0);
  m.conversation_id = rows.Text(row, first + 1);
  m.seq = rows.Int(row, first + 2);
  m.role = rows.Text(row, first + 3);
  if (!rows.IsNull(row, first + 4)) {
    m.sender = PublicUserRecord{rows.Text(row, first + 4), rows.Text(row, first + 5),
                                rows.Text(row, first + 6)};
  }
  m.content = rows.Text(row, first + 7);
  m.status = rows.Text(row, first + 8);
  m.client_message_id = rows.OptionalText(row, first + 9);
  m.model = rows.OptionalText(row, first + 10);
  m.prompt_tokens = rows.OptionalInt(row, first + 11);
  m.completion_tokens = rows.OptionalInt(row, first + 12);
  m.sources_json = rows.Text(row, first + 13);
  m.flags_json = rows.Text(row, first + 14);
  m.created_at = rows.Text(row, first + 15);
  m.edited_at = rows.OptionalText(row, first + 16);
  return m;
}

Result<MessagePage> ListMessages(soci::session& s, const std::string& conversation_id,
                                 const std::string& user_id, PageDirection direction, int64_t seq,
                                 int limit) {
  // One extra row tells whether there are more.
  Params params;
  params.Text(conversation_id).Text(user_id).Int(limit + 1);
  if (direction != PageDirection::kLatest) params.Int(seq);
  const char* sql = direction == PageDirection::kLatest   ? kPageLatest
                    : direction == PageDirection::kBefore ? kPageBefore
                                                          : kPageAfter;
  MessagePage page;
  {
    Rows rows = Query(s, sql, params);
    page.items.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i) page.items.push_back(ReadMessage(rows, i));
    if (rows.size() > 0) {
      page.version =
          PageVersion{rows.Int(0, kMessageColumnCount), rows.Int(0, kMessageColumnCount + 1)};
    }
  }
  if (page.items.empty()) {
    if (Query(s, kIsMember, Params().Text(conversation_id).Text(user_id)).empty())
      return Status::NotFound("This conversation does not exist.");
    return page;
  }
  if (static_cast<int>(page.items.size()) > limit) {
    page.more = true;
    page.items.pop_back();  // the farthest one in the direction of travel
  }
  if (direction != PageDirection::kAfter) std::reverse(page.items.begin(), page.items.end());
  return page;
}

std::string PageVersion::Tag() const {
  return std::to_string(conversation) + "." + std::to_string(profiles);
}

std::optional<MessageRecord> FindByClientMessageId(soci::session& s,
                                                   const std::string& conversation_id,
                                                   const std::string& sender_id,
                                                   const std::string& client_message_id) {
  Rows rows = Query(s, kFindByClientMessageId,
                    Params().Text(conversation_id).Text(sender_id).Text(client_message_id));
  if (rows.empty()) return std::nullopt;
  return ReadMessage(rows, 0);
}

int64_t TakeSeqs(soci::session& s, const std::string& conversation_id, int count) {
  Rows rows = Query(s, kTakeSeqs, Params().Int(count).Text(conversation_id));
  return rows.empty() ? 0 : rows.Int(0, 0);
}

MessageRecord InsertUserMessage(soci::session& s, const NewUserMessage& message) {
  json::Writer flags;
  flags.StartArray();
  for (const std::string& f : message.flags) flags.String(f);
  flags.EndArray();
  const std::string flags_json = flags.Take();

  Rows rows = Query(s, kInsertUserMessage,
                    Params()
                        .Text(message.conversation_id)
                        .Int(message.seq)
                        .Text(message.sender.id)
                        .Text(message.content)
                        .OptionalText(message.client_message_id)
                        .Text(flags_json));
  MessageRecord m;
  m.id = rows.Text(0, 0);
  m.created_at = rows.Text(0, 1);
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

bool EditUserMessage(soci::session& s, const std::string& conversation_id,
                     const std::string& message_id, const std::string& sender_id,
                     const std::string& content) {
  return Query(s, kEditUserMessage,
               Params().Text(message_id).Text(conversation_id).Text(sender_id).Text(content))
             .affected() > 0;
}

}  // namespace chatd::store
