// Assistant replies: the SQL. The rules are described in the header.

#include "store/replies_repo.h"

#include <soci/soci.h>

#include <algorithm>

#include "store/statements.h"

namespace chatd::store {
namespace {

// Every statement here runs in a chat turn, so all are prepared once per connection
// (store/statements.h).
constexpr const char* kInsertReply =
    "INSERT INTO messages (conversation_id, seq, role, assistant_id, content, status, reply_to, "
    "model, sources) "
    "VALUES (CAST($1 AS uuid), $2, 'assistant', CAST($3 AS uuid), '', "
    "'streaming', CAST($4 AS uuid), $5, CAST($6 AS jsonb)) "
    "RETURNING id::text, " CHATD_SQL_TS("created_at");

// messages_reply_to_idx.
constexpr const char* kLatestReply =
    "SELECT " CHATD_MESSAGE_COLUMNS("m", "u")
    " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
    "WHERE m.reply_to = CAST($1 AS uuid) ORDER BY m.seq DESC LIMIT 1";

constexpr const char* kFindMessage =
    "SELECT " CHATD_MESSAGE_COLUMNS("m", "u")
    " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
    "WHERE m.id = CAST($1 AS uuid) AND m.conversation_id = CAST($2 AS uuid)";

// The class of the two-int advisory lock of POST /chat's idempotency ('ch').
constexpr int kChatLockClass = 0x6368;
constexpr const char* kLockChatKey =
    "SELECT pg_advisory_xact_lock(CAST($1 AS integer), hashtext(CAST($2 AS text)))";

// messages_sender_idx narrows it to the user's own messages.
constexpr const char* kChatByClientMessageId =
    "SELECT m.conversation_id::text FROM messages m "
    "JOIN conversations c ON c.id = m.conversation_id AND c.kind = 'assistant' "
    "JOIN conversation_members cm ON cm.conversation_id = m.conversation_id "
    "AND cm.user_id = m.sender_id "
    "WHERE m.sender_id = CAST($1 AS uuid) AND m.client_message_id = $2 "
    "ORDER BY m.created_at DESC LIMIT 1";

// A backwards range scan of messages_conversation_seq_key.
constexpr const char* kHistory =
    "SELECT role, content FROM messages "
    "WHERE conversation_id = CAST($1 AS uuid) AND seq < $2 "
    "AND (role = 'user' OR status IN ('complete', 'interrupted')) AND content <> '' "
    "ORDER BY seq DESC LIMIT $3";

constexpr const char* kFinishReply =
    "UPDATE messages SET content = $1, status = $2, model = $3, "
    "prompt_tokens = $4, completion_tokens = $5, "
    "sources = CAST($6 AS jsonb), error_code = $7, updated_at = now() "
    "WHERE id = CAST($8 AS uuid) AND status = 'streaming' RETURNING conversation_id::text";

}  // namespace

MessageRecord InsertStreamingReply(soci::session& s, const NewReply& reply) {
  Rows rows = Query(s, kInsertReply,
                    Params()
                        .Text(reply.conversation_id)
                        .Int(reply.seq)
                        .OptionalText(reply.assistant_id)
                        .Text(reply.reply_to)
                        .Text(reply.model)
                        .Text(reply.sources_json));
  MessageRecord m;
  m.id = rows.Text(0, 0);
  m.created_at = rows.Text(0, 1);
  m.conversation_id = reply.conversation_id;
  m.seq = reply.seq;
  m.role = "assistant";
  m.status = "streaming";
  m.model = reply.model;
  m.sources_json = reply.sources_json;
  return m;
}

std::optional<MessageRecord> FindLatestReply(soci::session& s, const std::string& user_message_id) {
  Rows rows = Query(s, kLatestReply, Params().Text(user_message_id));
  if (rows.empty()) return std::nullopt;
  return ReadMessage(rows, 0);
}

std::optional<MessageRecord> FindMessage(soci::session& s, const std::string& conversation_id,
                                         const std::string& message_id) {
  Rows rows = Query(s, kFindMessage, Params().Text(message_id).Text(conversation_id));
  if (rows.empty()) return std::nullopt;
  return ReadMessage(rows, 0);
}

std::optional<std::string> FindChatByClientMessageId(soci::session& s, const std::string& user_id,
                                                     const std::string& client_message_id) {
  const std::string key = user_id + ":" + client_message_id;
  Query(s, kLockChatKey, Params().Int(kChatLockClass).Text(key));
  Rows rows = Query(s, kChatByClientMessageId, Params().Text(user_id).Text(client_message_id));
  if (rows.empty()) return std::nullopt;
  return rows.Text(0, 0);
}

std::vector<HistoryTurn> LoadHistory(soci::session& s, const std::string& conversation_id,
                                     int64_t before_seq, int limit) {
  Rows rows = Query(s, kHistory, Params().Text(conversation_id).Int(before_seq).Int(limit));
  std::vector<HistoryTurn> turns;
  turns.reserve(rows.size());
  // Newest first from the index; the turns go oldest first.
  for (int i = rows.size() - 1; i >= 0; --i) turns.push_back({rows.Text(i, 0), rows.Text(i, 1)});
  return turns;
}

std::optional<MessageRecord> FinishReply(soci::session& s, const FinishedReply& reply) {
  const bool with_usage = reply.prompt_tokens && reply.completion_tokens;
  Params params;
  params.Text(reply.content).Text(reply.status).Text(reply.model);
  if (with_usage) {
    params.Int(*reply.prompt_tokens).Int(*reply.completion_tokens);
  } else {
    params.Null().Null();
  }
  params.Text(reply.sources_json).OptionalText(reply.error_code).Text(reply.message_id);
  Rows rows = Query(s, kFinishReply, params);
  if (rows.empty()) return std::nullopt;
  const std::string conversation_id = rows.Text(0, 0);
  return FindMessage(s, conversation_id, reply.message_id);
}

}  // namespace chatd::store
