// Assistant replies in the messages table: the `streaming` row a reply starts as, the history a
// reply is built from, and the final store of its text, usage, sources and status.
//
// A reply is an assistant message with reply_to = the user message it answers (regenerate adds
// another one to the same user message; the newest is "the" reply). While it streams, its content
// is the text so far, refreshed about once a second by the worker's side connection
// (kUpdatePartialSql, api/reply_bus.h), so a client listing the conversation mid-reply sees it;
// FinishReply writes the final state. Both guard on status = 'streaming', so a late partial write
// can never overwrite a finished reply (PostgreSQL re-checks the condition after waiting for the
// finishing transaction's row lock).
//
// Transactions belong to the caller (the streaming row is inserted in the sending transaction,
// under the conversation's row lock, with a seq from TakeSeqs); database exceptions propagate to
// Database::Run. Threads: plain functions over the session they are given.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/messages_repo.h"

namespace soci {
class session;
}

namespace chatd::store {

struct NewReply {
  std::string conversation_id;
  int64_t seq = 0;
  std::optional<std::string> assistant_id;
  std::string reply_to;  // the user message answered
  std::string model;
  std::string sources_json = "[]";
};

// Inserts the reply-to-be (status 'streaming', empty content) and returns it as stored.
MessageRecord InsertStreamingReply(soci::session& s, const NewReply& reply);

// The newest reply to a user message; nullopt when it has none.
std::optional<MessageRecord> FindLatestReply(soci::session& s, const std::string& user_message_id);

// A message of the conversation by id (any role); nullopt when it is not there.
std::optional<MessageRecord> FindMessage(soci::session& s, const std::string& conversation_id,
                                         const std::string& message_id);

// POST /chat without a conversation: the assistant conversation in which `user_id` already sent
// `client_message_id` (and is still a member), so a repeated first message finds the chat it
// created instead of creating another. Takes a transaction-scoped advisory lock on (user,
// client_message_id) first, so two concurrent repeats are serialised until the first commits.
std::optional<std::string> FindChatByClientMessageId(soci::session& s, const std::string& user_id,
                                                     const std::string& client_message_id);

struct HistoryTurn {
  std::string role;  // "user" | "assistant"
  std::string content;
};
// The turns before `before_seq`, oldest first: at most `limit` of the newest ones, user messages
// and the text of replies that completed or were interrupted (failed and still-streaming replies
// carry nothing a model should see).
std::vector<HistoryTurn> LoadHistory(soci::session& s, const std::string& conversation_id,
                                     int64_t before_seq, int limit);

struct FinishedReply {
  std::string message_id;
  std::string content;
  std::string status;  // "complete" | "interrupted" | "failed"
  std::string model;
  std::optional<int64_t> prompt_tokens;  // both or neither
  std::optional<int64_t> completion_tokens;
  std::string sources_json = "[]";
  std::optional<std::string> error_code;  // status 'failed'
};
// Stores the final state of a streaming reply and returns it; nullopt when the reply is gone (its
// conversation was deleted mid-reply) or was already finished (by gc, say).
std::optional<MessageRecord> FinishReply(soci::session& s, const FinishedReply& reply);

// For a worker's side connection (libpq): $1 is a JSON array of {"id", "content"}; stores each
// streaming reply's text so far.
inline constexpr const char* kUpdatePartialSql =
    "UPDATE messages m SET content = p.content, updated_at = now() "
    "FROM jsonb_to_recordset(CAST($1 AS jsonb)) AS p(id uuid, content text) "
    "WHERE m.id = p.id AND m.status = 'streaming'";

}  // namespace chatd::store
