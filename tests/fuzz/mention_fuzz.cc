// Fuzz target: llm::MentionsName (workers/llm/mention), which decides whether an assistant in a
// group answers a message.
//
// The input is "name\ncontent". Properties, checked against a direct reading of mention.h's rules
// written here without the library's early exit: MentionsName is true exactly when some '@' not
// preceded by a word character is followed by the name (ASCII case folded) and then by the end of
// the text, a non-word character, or nothing needed because the name ends in a non-word
// character. Also: "@" + name alone is always a mention of a non-empty name, and an empty name
// is never mentioned.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "llm/mention.h"

namespace {

bool IsWord(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c >= 0x80;
}

unsigned char Fold(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + 32) : c;
}

bool Reference(std::string_view content, std::string_view name) {
  if (name.empty()) return false;
  for (size_t at = 0; at < content.size(); ++at) {
    if (content[at] != '@') continue;
    if (at > 0 && IsWord(static_cast<unsigned char>(content[at - 1]))) continue;
    if (content.size() - (at + 1) < name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size(); ++i) {
      same = same && Fold(static_cast<unsigned char>(content[at + 1 + i])) ==
                         Fold(static_cast<unsigned char>(name[i]));
    }
    if (!same) continue;
    const size_t end = at + 1 + name.size();
    if (end == content.size() || !IsWord(static_cast<unsigned char>(name.back())) ||
        !IsWord(static_cast<unsigned char>(content[end]))) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view name = nl == std::string_view::npos ? input : input.substr(0, nl);
  const std::string_view content =
      nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  FUZZ_CHECK(chatd::llm::MentionsName(content, name) == Reference(content, name));
  if (!name.empty()) FUZZ_CHECK(chatd::llm::MentionsName("@" + std::string(name), name));
  FUZZ_CHECK(!chatd::llm::MentionsName(content, ""));
  return 0;
}
