// Assistant replies: the SQL. The rules are described in the header.

#include "store/replies_repo.h"

#include <soci/soci.h>

#include <algorithm>

namespace chatd::store {
namespace {

constexpr const char* kInsertReply =
    "INSERT INTO messages (conversation_id, seq, role, assistant_id, content, status, reply_to, "
    "model, sources) "
    "VALUES (CAST(:conversation_id AS uuid), :seq, 'assistant', CAST(:assistant_id AS uuid), '', "
    "'streaming', CAST(:reply_to AS uuid), :model, CAST(:sources AS jsonb)) "
    "RETURNING id::text, " CHATD_SQL_TS("created_at");

// messages_reply_to_idx.
constexpr const char* kLatestReply =
    "SELECT " CHATD_MESSAGE_COLUMNS("m", "u")
    " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
    "WHERE m.reply_to = CAST(:reply_to AS uuid) ORDER BY m.seq DESC LIMIT 1";

constexpr const char* kFindMessage =
    "SELECT " CHATD_MESSAGE_COLUMNS("m", "u")
    " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
    "WHERE m.id = CAST(:id AS uuid) AND m.conversation_id = CAST(:conversation_id AS uuid)";

// The class of the two-int advisory lock of POST /chat's idempotency ('ch').
constexpr int kChatLockClass = 0x6368;

constexpr const char* kLockChatKey =
    "SELECT pg_advisory_xact_lock(:class, hashtext(CAST(:key AS text)))";

// messages_sender_idx narrows it to the user's own messages.
constexpr const char* kChatByClientMessageId =
    "SELECT m.conversation_id::text FROM messages m "
    "JOIN conversations c ON c.id = m.conversation_id AND c.kind = 'assistant' "
    "JOIN conversation_members cm ON cm.conversation_id = m.conversation_id "
    "AND cm.user_id = m.sender_id "
    "WHERE m.sender_id = CAST(:user_id AS uuid) AND m.client_message_id = :client_message_id "
    "ORDER BY m.created_at DESC LIMIT 1";

// A backwards range scan of messages_conversation_seq_key.
constexpr const char* kHistory =
    "SELECT role, content FROM messages "
    "WHERE conversation_id = CAST(:conversation_id AS uuid) AND seq < :before_seq "
    "AND (role = 'user' OR status IN ('complete', 'interrupted')) AND content <> '' "
    "ORDER BY seq DESC LIMIT :limit";

constexpr const char* kFinishReply =
    "UPDATE messages SET content = :content, status = :status, model = :model, "
    "prompt_tokens = :prompt_tokens, completion_tokens = :completion_tokens, "
    "sources = CAST(:sources AS jsonb), error_code = :error_code, updated_at = now() "
    "WHERE id = CAST(:id AS uuid) AND status = 'streaming' RETURNING conversation_id::text";

}  // namespace

MessageRecord InsertStreamingReply(soci::session& s, const NewReply& reply) {
  long long seq = reply.seq;
  std::string assistant_id = reply.assistant_id.value_or("");
  soci::indicator assistant_ind = reply.assistant_id ? soci::i_ok : soci::i_null;
  MessageRecord m;
  s << kInsertReply, soci::use(reply.conversation_id, "conversation_id"), soci::use(seq, "seq"),
      soci::use(assistant_id, assistant_ind, "assistant_id"), soci::use(reply.reply_to, "reply_to"),
      soci::use(reply.model, "model"), soci::use(reply.sources_json, "sources"), soci::into(m.id),
      soci::into(m.created_at);
  m.conversation_id = reply.conversation_id;
  m.seq = reply.seq;
  m.role = "assistant";
  m.status = "streaming";
  m.model = reply.model;
  m.sources_json = reply.sources_json;
  return m;
}

std::optional<MessageRecord> FindLatestReply(soci::session& s, const std::string& user_message_id) {
  soci::rowset<soci::row> rows =
      (s.prepare << kLatestReply, soci::use(user_message_id, "reply_to"));
  for (const soci::row& r : rows) return ReadMessage(r);
  return std::nullopt;
}

std::optional<MessageRecord> FindMessage(soci::session& s, const std::string& conversation_id,
                                         const std::string& message_id) {
  soci::rowset<soci::row> rows = (s.prepare << kFindMessage, soci::use(message_id, "id"),
                                  soci::use(conversation_id, "conversation_id"));
  for (const soci::row& r : rows) return ReadMessage(r);
  return std::nullopt;
}

std::optional<std::string> FindChatByClientMessageId(soci::session& s, const std::string& user_id,
                                                     const std::string& client_message_id) {
  int lock_class = kChatLockClass;
  std::string key = user_id + ":" + client_message_id;
  s << kLockChatKey, soci::use(lock_class, "class"), soci::use(key, "key");
  std::string conversation_id;
  s << kChatByClientMessageId, soci::use(user_id, "user_id"),
      soci::use(client_message_id, "client_message_id"), soci::into(conversation_id);
  if (!s.got_data()) return std::nullopt;
  return conversation_id;
}

std::vector<HistoryTurn> LoadHistory(soci::session& s, const std::string& conversation_id,
                                     int64_t before_seq, int limit) {
  std::vector<HistoryTurn> turns;
  long long before = before_seq;
  {
    soci::rowset<soci::row> rows =
        (s.prepare << kHistory, soci::use(conversation_id, "conversation_id"),
         soci::use(before, "before_seq"), soci::use(limit, "limit"));
    for (const soci::row& r : rows) turns.push_back({r.get<std::string>(0), r.get<std::string>(1)});
  }
  std::reverse(turns.begin(), turns.end());
  return turns;
}

std::optional<MessageRecord> FinishReply(soci::session& s, const FinishedReply& reply) {
  long long prompt = reply.prompt_tokens.value_or(0);
  long long completion = reply.completion_tokens.value_or(0);
  soci::indicator usage_ind =
      reply.prompt_tokens && reply.completion_tokens ? soci::i_ok : soci::i_null;
  std::string error_code = reply.error_code.value_or("");
  soci::indicator error_ind = reply.error_code ? soci::i_ok : soci::i_null;
  std::string conversation_id;
  s << kFinishReply, soci::use(reply.content, "content"), soci::use(reply.status, "status"),
      soci::use(reply.model, "model"), soci::use(prompt, usage_ind, "prompt_tokens"),
      soci::use(completion, usage_ind, "completion_tokens"),
      soci::use(reply.sources_json, "sources"), soci::use(error_code, error_ind, "error_code"),
      soci::use(reply.message_id, "id"), soci::into(conversation_id);
  if (!s.got_data()) return std::nullopt;
  return FindMessage(s, conversation_id, reply.message_id);
}

}  // namespace chatd::store
