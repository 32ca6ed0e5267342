// Fuzz target: the import of conversation files (chat::ParseImport, workers/chat/import.h), the
// largest untrusted document chatd reads: chatd's own exports and ChatGPT's conversations.json.
//
// Properties: whatever is accepted obeys what ImportConversations relies on and the schema's
// CHECKs — at most the limits' conversations and messages, titles of 1..200 characters, roles
// user or assistant, user messages non-empty and complete, statuses among the final ones,
// contents within their bounds, valid UTF-8 without NUL, times either empty or RFC 3339 UTC;
// a refusal is one VALIDATION_ERROR with a field and a message. Small limits half the time, so
// the limit paths are reached.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chat/import.h"
#include "core/text.h"
#include "fuzz_check.h"
#include "json/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool small = (data[0] & 1) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto doc = chatd::json::Document::Parse(text, chatd::json::ParseLimits{1 << 20, 64});
  if (!doc.ok()) return 0;
  chatd::chat::ImportLimits limits;
  if (small) limits = {2, 5, 40, 80};
  auto parsed = chatd::chat::ParseImport(doc->root(), limits);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == chatd::ErrorCode::kValidation);
    FUZZ_CHECK(parsed.status().field_errors().size() == 1);
    FUZZ_CHECK(!parsed.status().field_errors().front().message.empty());
    return 0;
  }
  FUZZ_CHECK(parsed->size() <= limits.max_conversations);
  size_t messages = 0;
  for (const auto& c : *parsed) {
    const size_t title = chatd::CountChars(c.title);
    FUZZ_CHECK(title >= 1 && title <= 200);
    FUZZ_CHECK(chatd::IsValidUtf8(c.title) && c.title.find('\0') == std::string::npos);
    for (const auto& m : c.messages) {
      ++messages;
      FUZZ_CHECK(m.role == "user" || m.role == "assistant");
      FUZZ_CHECK(chatd::IsValidUtf8(m.content) && m.content.find('\0') == std::string::npos);
      if (m.role == "user") {
        FUZZ_CHECK(!m.content.empty() && m.status == "complete");
        FUZZ_CHECK(chatd::CountChars(m.content) <= limits.max_user_chars);
        FUZZ_CHECK(m.model.empty() && !m.prompt_tokens);
      } else {
        FUZZ_CHECK(m.status == "complete" || m.status == "interrupted" || m.status == "failed");
        FUZZ_CHECK(chatd::CountChars(m.content) <= limits.max_reply_chars);
        FUZZ_CHECK(chatd::CountChars(m.model) <= 200);
        FUZZ_CHECK(m.prompt_tokens.has_value() == m.completion_tokens.has_value());
        if (m.prompt_tokens) FUZZ_CHECK(*m.prompt_tokens >= 0 && *m.completion_tokens >= 0);
      }
      FUZZ_CHECK(m.created_at.empty() || (m.created_at.size() >= 20 && m.created_at.back() == 'Z' &&
                                          m.created_at[10] == 'T'));
    }
  }
  FUZZ_CHECK(messages <= limits.max_messages);
  return 0;
}
