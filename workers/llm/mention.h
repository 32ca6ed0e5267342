// @mentions of an assistant in a user message.
//
// In a group conversation with an assistant, the assistant answers only the messages that mention
// it as "@name" (API.md). This is the one definition of "mentions", a pure function so that the
// send path, the LLM reply path and the tests all agree on it.
//
// Rules: an '@' at the start of the text or after a character that cannot be part of a word (so
// "bob@assistant.example" is not a mention), then the assistant's name compared case-insensitively
// (ASCII letters folded; other characters must match byte for byte, since full Unicode case folding
// is not worth a dependency here), then the end of the text or a character that cannot continue a
// name ("@Assistant," and "@assistant?" mention "Assistant"; "@Assistants" and "@Assistant_2" do
// not). Word characters are ASCII letters, digits, '_', '-' and every non-ASCII character.
// Thread-safe (no state).

#pragma once

#include <string_view>

namespace chatd::llm {

bool MentionsName(std::string_view content, std::string_view name);

}  // namespace chatd::llm
