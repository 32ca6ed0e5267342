// A linear scan over the '@' signs of the message; see mention.h for the rules.

#include "llm/mention.h"

namespace chatd::llm {
namespace {

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c >= 0x80;
}

unsigned char FoldAscii(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

}  // namespace

bool MentionsName(std::string_view content, std::string_view name) {
  if (name.empty()) return false;
  for (size_t at = content.find('@'); at != std::string_view::npos;
       at = content.find('@', at + 1)) {
    if (at > 0 && IsWordByte(static_cast<unsigned char>(content[at - 1]))) continue;
    const size_t start = at + 1;
    if (content.size() - start < name.size()) return false;  // later '@'s have even less room
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      same = FoldAscii(static_cast<unsigned char>(content[start + i])) ==
             FoldAscii(static_cast<unsigned char>(name[i]));
    }
    if (!same) continue;
    const size_t end = start + name.size();
    // A name that itself ends in a non-word character ("R2-D2!") needs no boundary after it.
    const bool name_ends_in_word = IsWordByte(static_cast<unsigned char>(name.back()));
    if (end == content.size() || !name_ends_in_word ||
        !IsWordByte(static_cast<unsigned char>(content[end]))) {
      return true;
    }
  }
  return false;
}

}  // namespace chatd::llm
