// A fast, deterministic estimate of how many tokens a text costs, for budgeting a context window
// before the provider counts for real (its reported usage is what gets stored and billed).
//
// No vocabulary is shipped, so the estimate approximates the BPE tokenizers of current models
// (cl100k / o200k / Claude's) from the shape of the text, in one pass, without allocating:
//   - a run of ASCII letters (a word) costs ceil(len / 4), but at least 1 and only 1 up to six
//     letters: BPE keeps common short words whole and splits long ones into ~4-letter pieces;
//   - a run of digits costs ceil(len / 3) (numbers are split into groups of up to three digits);
//   - each ASCII punctuation or symbol character costs 1 (they rarely merge with letters);
//   - whitespace is free (tokenizers fold a space into the following word);
//   - each CJK character (Han, Hiragana, Katakana, Hangul, CJK punctuation and full-width forms)
//     costs 1;
//   - any other non-ASCII code point (accented Latin, Cyrillic, Greek, Arabic, emoji, ...) joins
//     the current word with weight 2, since such scripts tokenize at roughly 2 characters per
//     token; so "naïve" weighs 6 -> 1 token, "привет" weighs 12 -> 3 tokens.
// "The quick brown fox jumps over the lazy dog." is 10 tokens here and in cl100k; on English prose
// the estimate stays within about 15 %, on code and markup it errs high (every bracket counts),
// and on random identifiers (hashes, base64) it errs low. Budgets keep a margin for that: the
// reply's own reserve (MAX_RESPONSE_TOKENS) is never spent on the prompt.
// Chat framing adds kTokensPerMessage per message and kTokensPerReply once, as OpenAI documents
// for its chat format.
//
// Pure functions, safe from any thread. Invalid UTF-8 bytes count as 1 token each.

#pragma once

#include <cstdint>
#include <string_view>

namespace chatd::llm {

inline constexpr int64_t kTokensPerMessage = 4;
inline constexpr int64_t kTokensPerReply = 3;

// Tokens of a text on its own.
int64_t EstimateTokens(std::string_view utf8);

// Tokens of a text sent as one chat message (the text plus kTokensPerMessage).
inline int64_t EstimateMessageTokens(std::string_view content) {
  return EstimateTokens(content) + kTokensPerMessage;
}

}  // namespace chatd::llm
