// Importing conversations: chatd's own JSON exports (a conversation, or the account archive) and
// ChatGPT's `conversations.json` export, into new assistant conversations of the importing user.
//
// ParseImport reads the untrusted file into plain values and checks every limit before anything is
// written; ImportConversations writes them in the caller's transaction (all or nothing). Nothing in
// the file is trusted beyond text: ids, authors, sources and flags are ignored (a reply's model
// name and usage from a chatd export are kept, bounded); every user message becomes the
// importer's, every reply the built-in assistant's; titles and user messages are
// cleaned like sent ones (control characters removed); times are kept when they are well-formed.
// Formats, as documented in docs/openapi.yaml (POST /import):
//   * {"schema": "chatd.conversation", "version": 1, "conversation", "messages"} (GET .../export);
//   * {"schema": "chatd.account", "version": 1, "conversations": [{"conversation", "messages"}]}
//     (GET /export);
//   * ChatGPT: an array of conversations (or one), each {"title", "mapping": {node id: {"message",
//     "parent", "children"}}, "current_node"}: the path from the root to current_node (the branch
//     shown last), its user and assistant messages with text ("text" and "multimodal_text"
//     parts); system and tool messages, hidden ones and attachments are left out.
//
// ParseImport is a pure function (tests/fuzz reaches it); ImportConversations is a plain function
// over the session it is given.

#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "json/json.h"

namespace soci {
class session;
}

namespace chatd::chat {

struct ImportLimits {
  size_t max_conversations = 1000;
  size_t max_messages = 50000;       // in the whole file
  size_t max_user_chars = 100000;    // per user message (the schema's bound)
  size_t max_reply_chars = 1000000;  // per reply
};

struct ImportedMessage {
  std::string role;        // "user" | "assistant"
  std::string content;     // user messages: non-empty
  std::string status;      // "complete" | "interrupted" | "failed"
  std::string created_at;  // RFC 3339 in UTC ("...Z"), or "" for now
  // Replies from a chatd export: the model named and the usage reported (kept as information; the
  // caller's quota is not touched).
  std::string model;
  std::optional<int64_t> prompt_tokens;  // both or neither
  std::optional<int64_t> completion_tokens;
};

struct ImportedConversation {
  std::string title;  // 1..200 characters
  std::vector<ImportedMessage> messages;
};

// VALIDATION_ERROR (field: where in the file, e.g. "conversations[2].messages[7].content") for an
// unknown format, a malformed or over-long value or too many conversations or messages.
Result<std::vector<ImportedConversation>> ParseImport(const json::Value& root,
                                                      const ImportLimits& limits = {});

// Creates each as an assistant conversation with the built-in assistant, owned by `user_id`, with
// its messages; returns the new ids in order. Runs in the caller's transaction.
std::vector<std::string> ImportConversations(soci::session& s, const std::string& user_id,
                                             const std::vector<ImportedConversation>& imported);

}  // namespace chatd::chat
