// The token estimator. See token_estimate.h for the rules; this is one pass over the bytes.

#include "llm/token_estimate.h"

namespace chatd::llm {
namespace {

bool IsCjk(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x11FF) ||  // Hangul Jamo
         (cp >= 0x2E80 && cp <= 0x9FFF) ||  // CJK radicals .. punctuation, kana, unified
         (cp >= 0xA960 && cp <= 0xA97F) ||  // Hangul Jamo Extended-A
         (cp >= 0xAC00 && cp <= 0xD7FF) ||  // Hangul syllables, Jamo Extended-B
         (cp >= 0xF900 && cp <= 0xFAFF) ||  // CJK compatibility ideographs
         (cp >= 0xFE30 && cp <= 0xFE4F) ||  // CJK compatibility forms
         (cp >= 0xFF00 && cp <= 0xFFEF) ||  // half-width and full-width forms
         (cp >= 0x20000 && cp <= 0x3FFFF);  // CJK extensions B..H
}

bool IsAsciiLetter(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Decodes one UTF-8 sequence at s[i]; returns its length (0 when invalid) and the code point.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t v;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    v = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    v = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    v = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b & 0x3F);
  }
  *cp = v;
  return len;
}

}  // namespace

int64_t EstimateTokens(std::string_view s) {
  int64_t tokens = 0;
  int64_t word_weight = 0;  // weight of the letter run being read
  int64_t digits = 0;       // length of the digit run being read
  auto end_runs = [&] {
    if (word_weight > 0) tokens += word_weight <= 6 ? 1 : (word_weight + 3) / 4;
    if (digits > 0) tokens += (digits + 2) / 3;
    word_weight = 0;
    digits = 0;
  };
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (IsAsciiLetter(c)) {
        if (digits > 0) end_runs();
        word_weight += 1;
      } else if (c >= '0' && c <= '9') {
        if (word_weight > 0) end_runs();
        digits += 1;
      } else {
        end_runs();
        if (c > 0x20 && c != 0x7F) tokens += 1;  // punctuation and symbols; whitespace is free
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) {  // an invalid byte
      end_runs();
      tokens += 1;
      ++i;
      continue;
    }
    if (cp == 0x00A0 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x3000) {
      end_runs();  // Unicode spaces are free, like ASCII ones
    } else if (IsCjk(cp)) {
      end_runs();
      tokens += 1;
    } else {
      if (digits > 0) end_runs();
      word_weight += 2;
    }
    i += len;
  }
  end_runs();
  return tokens;
}

}  // namespace chatd::llm
