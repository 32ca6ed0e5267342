// Fuzz target: llm::ChunkDocument (workers/llm/chunker), which splits every uploaded knowledge
// document.
//
// The first four bytes choose the options (small sizes, so that inputs of a few hundred bytes
// make many chunks; markdown or not); the rest is the document. Properties: every chunk is
// non-empty, trimmed of ASCII whitespace, a substring of the document, at most max_chars code
// points, and valid UTF-8 whenever the document is (never cut inside a sequence); a document with
// any non-whitespace byte gives at least one chunk, and every non-whitespace byte of the document
// lies in some chunk (nothing is dropped;
// checked against every occurrence of each chunk, as chunks do not say where they came from).
// libFuzzer's timeout catches super-linear cases.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"
#include "fuzz_check.h"
#include "llm/chunker.h"

namespace {

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  chatd::llm::ChunkOptions o;
  o.max_chars = data[0] % 48;  // 0 is clamped to 1 by the chunker
  o.min_chars = data[1] % 48;
  o.overlap_chars = data[2] % 48;
  o.markdown = data[3] & 1;
  const std::string_view text(reinterpret_cast<const char*>(data) + 4, size - 4);
  const std::vector<std::string> chunks = chatd::llm::ChunkDocument(text, o);

  const size_t max_chars = o.max_chars == 0 ? 1 : o.max_chars;
  const bool valid = chatd::IsValidUtf8(text);
  std::vector<bool> covered(text.size(), false);
  for (const std::string& c : chunks) {
    FUZZ_CHECK(!c.empty());
    FUZZ_CHECK(!IsAsciiSpace(c.front()) && !IsAsciiSpace(c.back()));
    FUZZ_CHECK(chatd::CountChars(c) <= max_chars);
    if (valid) FUZZ_CHECK(chatd::IsValidUtf8(c));
    // Where the chunk came from is not returned: every place it occurs counts as covered (the
    // check cannot mistake a repeated passage for a dropped one, only miss such a drop).
    size_t at = text.find(c);
    FUZZ_CHECK(at != std::string_view::npos);
    for (; at != std::string_view::npos; at = text.find(c, at + 1)) {
      for (size_t i = at; i < at + c.size(); ++i) covered[i] = true;
    }
  }
  bool any_text = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (IsAsciiSpace(text[i])) continue;
    any_text = true;
    FUZZ_CHECK(covered[i]);
  }
  FUZZ_CHECK(any_text == !chunks.empty());
  return 0;
}
