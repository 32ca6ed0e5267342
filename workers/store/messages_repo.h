// The messages of a conversation: reading pages of them, the idempotency lookup, and the steps of
// storing one with its gapless per-conversation seq.
//
// The seq rule (sql/0001_init.sql, "Gapless seq"): a writer locks the conversation row
// (store::LockConversation in conversations_repo.h), checks membership and client_message_id,
// then takes numbers with TakeSeqs and inserts the messages, in ONE transaction that ends with the
// event (EmitEventToMembers). The row lock is held until commit, so seqs are assigned in commit
// order, and a rollback takes its numbers back with it: 1, 2, 3... with no gap and no repeat.
//
// Transactions belong to the caller: no function here begins or commits one, so the LLM issue can
// store a user message, its streaming reply and the generation row in one unit of work. Database
// exceptions propagate to Database::Run, which maps them once.
//
// Threads: plain functions over the session they are given; the session belongs to one thread.

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql.h"
#include "store/users_repo.h"

namespace soci {
class session;
class row;
}  // namespace soci

namespace chatd::store {

// Longest client_message_id (API.md; the schema's CHECK agrees).
inline constexpr size_t kMaxClientMessageIdChars = 64;

// API.md's Message.
struct MessageRecord {
  std::string id;
  std::string conversation_id;
  int64_t seq = 0;
  std::string role;                        // "user" | "assistant"
  std::optional<PublicUserRecord> sender;  // role "user" while the sender exists
  std::string content;
  std::string status;  // "complete" | "streaming" | "interrupted" | "failed"
  std::optional<std::string> client_message_id;
  std::optional<std::string> model;
  std::optional<int64_t> prompt_tokens;  // both set or both unset: usage or usage null
  std::optional<int64_t> completion_tokens;
  std::string sources_json = "[]";  // the stored JSON arrays, verbatim
  std::string flags_json = "[]";
  std::string created_at;                // RFC 3339 UTC with milliseconds
  std::optional<std::string> edited_at;  // the last edit in place (sql/0010), if any
};

// The SELECT list of a MessageRecord over `messages <m>` LEFT JOIN `users <u>` ON the sender, as
// a macro so that it concatenates with SQL literals; ReadMessage reads it back from column `first`.
// 17 columns.
#define CHATD_MESSAGE_COLUMNS(m, u)                                                           \
  m ".id::text, " m ".conversation_id::text, " m ".seq, " m ".role, " u ".id::text, " u       \
    ".username, " u ".display_name, " m ".content, " m ".status, " m ".client_message_id, " m \
    ".model, " m ".prompt_tokens, " m ".completion_tokens, " m ".sources::text, " m           \
    ".flags::text, " CHATD_SQL_TS(m ".created_at") ", " CHATD_SQL_TS(m ".edited_at")
inline constexpr size_t kMessageColumnCount = 17;
MessageRecord ReadMessage(const soci::row& row, size_t first = 0);
class Rows;
// The same from a prepared statement's result (store/statements.h).
MessageRecord ReadMessage(const Rows& rows, int row, int first = 0);

// ---- Reading ------------------------------------------------------------------------------------

enum class PageDirection {
  kLatest,  // the newest messages
  kBefore,  // the ones just before `seq` (older)
  kAfter,   // the ones just after `seq` (newer)
};

// What a rendered page of a conversation's messages depends on besides its rows (sql/0003): the
// conversation's version (any new message, any change to one that is not streaming) and the epoch
// of user profiles (senders' names). Two reads with equal versions render the same page, except
// that a streaming message's text may have grown: pages holding one are not reused.
struct PageVersion {
  int64_t conversation = 0;
  int64_t profiles = 0;
  std::string Tag() const;  // compact, for comparing with a cached page's
};

struct MessagePage {
  std::vector<MessageRecord> items;    // ascending seq
  bool more = false;                   // there are more in the direction of travel
  std::optional<PageVersion> version;  // as of the rows' snapshot; absent for an empty page
};

// A page of the conversation's messages as seen by `user_id`; NOT_FOUND when that user is not a
// member (or the conversation does not exist). `limit` 1..100. One statement in the usual case
// (the membership test rides along); a second only to tell "no messages" from "not a member".
Result<MessagePage> ListMessages(soci::session& s, const std::string& conversation_id,
                                 const std::string& user_id, PageDirection direction, int64_t seq,
                                 int limit);

// The message `sender_id` already stored with this client_message_id in the conversation.
std::optional<MessageRecord> FindByClientMessageId(soci::session& s,
                                                   const std::string& conversation_id,
                                                   const std::string& sender_id,
                                                   const std::string& client_message_id);

// ---- Writing (inside the caller's transaction, under the conversation's row lock) ---------------

// Takes the conversation's next `count` seqs (last_seq += count, last_activity_at = now()) and
// returns the last of them: the numbers are result-count+1 .. result.
int64_t TakeSeqs(soci::session& s, const std::string& conversation_id, int count = 1);

struct NewUserMessage {
  std::string conversation_id;
  int64_t seq = 0;
  PublicUserRecord sender;
  std::string content;  // sanitized
  std::optional<std::string> client_message_id;
  std::vector<std::string> flags;
};

// Inserts a complete user message and returns it as stored.
MessageRecord InsertUserMessage(soci::session& s, const NewUserMessage& message);

// Replaces the text of `sender_id`'s user message (sanitized `content`), setting edited_at; false
// when the conversation holds no such message of that sender.
bool EditUserMessage(soci::session& s, const std::string& conversation_id,
                     const std::string& message_id, const std::string& sender_id,
                     const std::string& content);

}  // namespace chatd::store
