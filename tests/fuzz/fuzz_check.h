// What every fuzz target shares: FUZZ_CHECK, an assertion that stays on in every build type and
// makes libFuzzer record the input as a crash, and a few property helpers.
//
// The targets assert properties of what the parsers return (valid UTF-8 out, bounds kept, round
// trips equal), not only that they do not crash; a failed property prints what broke and aborts.

#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                               \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

namespace chatd::fuzz {

// No C0 control character except those listed, no DEL, no C1 (U+0080..U+009F) in valid UTF-8.
inline bool HasNoControls(std::string_view utf8, std::string_view allowed_c0) {
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x20 && allowed_c0.find(static_cast<char>(c)) == std::string_view::npos) return false;
    if (c == 0x7F) return false;
    // C1 controls are the two-byte sequences C2 80 .. C2 9F.
    if (c == 0xC2 && i + 1 < utf8.size()) {
      const auto d = static_cast<unsigned char>(utf8[i + 1]);
      if (d >= 0x80 && d <= 0x9F) return false;
    }
  }
  return true;
}

}  // namespace chatd::fuzz
