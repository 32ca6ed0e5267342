// Fuzz target: core/text (UTF-8 validation, character counting, the sanitizers, TrimSpace).
//
// Every request body's strings pass through these. Properties: IsValidUtf8 agrees with a plain
// byte-by-byte RFC 3629 decoder written here (the library skips ASCII eight bytes at a time);
// sanitized text is valid UTF-8 with no control characters (newline and tab kept, carriage return
// too when layout is kept), is never longer than the input, and sanitizing it again changes
// nothing; invalid UTF-8 and NUL are reported, never repaired; PrefixChars and TrimSpace return
// prefixes / substrings of what they were given, with the promised counts.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/text.h"
#include "fuzz_check.h"

namespace {

using chatd::fuzz::HasNoControls;

// RFC 3629, one byte at a time: the reference the fast path must agree with.
bool ReferenceValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void CheckSanitized(std::string_view raw, const chatd::SanitizedText& out, bool keep_layout) {
  // Invalid UTF-8 and NUL are both refused; which one is reported depends on which comes first.
  const bool valid = ReferenceValidUtf8(raw);
  const bool nul = raw.find('\0') != std::string_view::npos;
  if (!valid || nul) {
    FUZZ_CHECK(out.problem == chatd::TextProblem::kInvalidUtf8 ||
               out.problem == chatd::TextProblem::kContainsNul);
    if (!nul) FUZZ_CHECK(out.problem == chatd::TextProblem::kInvalidUtf8);
    if (valid) FUZZ_CHECK(out.problem == chatd::TextProblem::kContainsNul);
    FUZZ_CHECK(out.text.empty());
    return;
  }
  FUZZ_CHECK(out.problem == chatd::TextProblem::kNone);
  FUZZ_CHECK(out.text.size() <= raw.size());
  FUZZ_CHECK(ReferenceValidUtf8(out.text));
  FUZZ_CHECK(HasNoControls(out.text, keep_layout ? "\n\t\r" : "\n\t"));
  if (!keep_layout) FUZZ_CHECK(chatd::TrimSpace(out.text) == out.text);
  // Idempotent: what is stored comes back unchanged when sent again.
  const chatd::SanitizedText again = keep_layout ? chatd::SanitizeUserTextKeepingLayout(out.text)
                                                 : chatd::SanitizeUserText(out.text);
  FUZZ_CHECK(again.problem == chatd::TextProblem::kNone);
  FUZZ_CHECK(again.text == out.text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const bool valid = chatd::IsValidUtf8(raw);
  FUZZ_CHECK(valid == ReferenceValidUtf8(raw));

  CheckSanitized(raw, chatd::SanitizeUserText(raw), /*keep_layout=*/false);
  CheckSanitized(raw, chatd::SanitizeUserTextKeepingLayout(raw), /*keep_layout=*/true);

  const std::string_view trimmed = chatd::TrimSpace(raw);
  FUZZ_CHECK(trimmed.data() >= raw.data() &&
             trimmed.data() + trimmed.size() <= raw.data() + raw.size());
  if (valid) FUZZ_CHECK(ReferenceValidUtf8(trimmed));

  // The first byte picks a character budget for PrefixChars.
  const size_t max_chars = size > 0 ? data[0] % 64 : 0;
  const std::string_view prefix = chatd::PrefixChars(raw, max_chars);
  FUZZ_CHECK(prefix.data() == raw.data() && prefix.size() <= raw.size());
  if (valid) {
    const size_t chars = chatd::CountChars(raw);
    FUZZ_CHECK(chatd::CountChars(prefix) == std::min(chars, max_chars));
    FUZZ_CHECK(ReferenceValidUtf8(prefix));  // never cuts inside a sequence
  }

  const std::string lower = chatd::AsciiLower(raw);
  FUZZ_CHECK(lower.size() == raw.size());
  for (char c : lower) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  return 0;
}
