// Hand-rolled on purpose: these are a few dozen lines over the UTF-8 definition (RFC 3629), and
// core/ depends on the standard library only.

#include "core/text.h"

#include <cstdint>
#include <cstring>

namespace chatd {
namespace {

// Length of the sequence starting with `lead`, or 0 when `lead` cannot start one.
int SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Decodes one code point at s[i]; returns its length or 0 when invalid (overlong, surrogate,
// beyond U+10FFFF, truncated).
int Decode(std::string_view s, size_t i, char32_t* cp) {
  auto b0 = static_cast<unsigned char>(s[i]);
  int len = SequenceLength(b0);
  if (len == 0 || i + static_cast<size_t>(len) > s.size()) return 0;
  if (len == 1) {
    *cp = b0;
    return 1;
  }
  char32_t v = b0 & (0xFF >> (len + 1));
  for (int k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
    if ((b & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b & 0x3F);
  }
  if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
      (v >= 0xD800 && v <= 0xDFFF)) {
    return 0;
  }
  *cp = v;
  return len;
}

bool IsSpace(char32_t c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == 0xA0 || c == 0x3000 ||
         (c >= 0x2000 && c <= 0x200A);
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  // Runs of ASCII, the bulk of what is checked (every JSON key and id, most text), are skipped
  // eight bytes at a time; only the other bytes go through the decoder. Profiles of the list
  // endpoints showed the byte-by-byte decoder as the JSON writer's main cost.
  constexpr uint64_t kHighBits = 0x8080808080808080ULL;
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, sizeof word);
      if ((word & kHighBits) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    int len = Decode(s, i, &cp);
    if (len == 0) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

size_t CountChars(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

std::string_view PrefixChars(std::string_view utf8, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < utf8.size(); ++i) {
    if ((static_cast<unsigned char>(utf8[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return utf8.substr(0, i);
      ++chars;
    }
  }
  return utf8;
}

namespace {

SanitizedText Sanitize(std::string_view raw, bool keep_layout) {
  SanitizedText out;
  std::string kept;
  kept.reserve(raw.size());
  for (size_t i = 0; i < raw.size();) {
    char32_t cp;
    int n = Decode(raw, i, &cp);
    if (n == 0) {
      out.problem = TextProblem::kInvalidUtf8;
      return out;
    }
    if (cp == 0) {
      out.problem = TextProblem::kContainsNul;
      return out;
    }
    bool kept_c0 = cp == '\n' || cp == '\t' || (keep_layout && cp == '\r');
    bool control = (cp < 0x20 && !kept_c0) || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
    if (!control) kept.append(raw.substr(i, static_cast<size_t>(n)));
    i += static_cast<size_t>(n);
  }
  if (keep_layout) {
    out.text = std::move(kept);
  } else {
    out.text = std::string(TrimSpace(kept));
  }
  return out;
}

}  // namespace

std::string_view TrimSpace(std::string_view utf8) {
  // Whitespace (ASCII and common Unicode spaces) at both ends. Invalid UTF-8 is never space.
  size_t begin = 0, end = utf8.size();
  while (begin < end) {
    char32_t cp;
    int n = Decode(utf8, begin, &cp);
    if (n == 0 || !IsSpace(cp)) break;
    begin += static_cast<size_t>(n);
  }
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(utf8[start]) & 0xC0) == 0x80) --start;
    char32_t cp;
    if (Decode(utf8, start, &cp) == 0 || !IsSpace(cp)) break;
    end = start;
  }
  return utf8.substr(begin, end - begin);
}

SanitizedText SanitizeUserText(std::string_view raw) {
  return Sanitize(raw, /*keep_layout=*/false);
}

SanitizedText SanitizeUserTextKeepingLayout(std::string_view raw) {
  return Sanitize(raw, /*keep_layout=*/true);
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace chatd
