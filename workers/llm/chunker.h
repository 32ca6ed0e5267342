// Splitting a knowledge document into chunks for full-text retrieval.
//
// A chunk is what retrieval returns and what the reply's context quotes, so it should hold one
// coherent piece of text of a predictable size: big enough to carry an answer, small enough that
// RETRIEVAL_TOP_K of them fit the context. The chunker therefore
//   * bounds every chunk to ChunkOptions::max_chars code points (never bytes: the unit the rest
//     of the API counts in) and never cuts inside a UTF-8 sequence;
//   * ends a chunk, when the text is longer than that, at the best break found between min_chars
//     and max_chars, preferring in this order a paragraph break (blank line), a line break, the
//     end of a sentence, a space, and only as a last resort any code point boundary;
//   * starts the next chunk about overlap_chars before the previous one ended (moved forward to the
//     start of a word), so that a sentence cut in two is whole in at least one chunk;
//   * for Markdown, starts a new chunk at every ATX heading ("# ..." to "###### ...", up to three
//     spaces of indentation, outside fenced code blocks), with no overlap across it: a section is
//     one topic. A heading with no text of its own before the next heading (a title right above a
//     subtitle) stays with the section that follows instead of becoming a chunk by itself. Setext
//     headings (underlined with === or ---) are treated as ordinary lines.
// Chunks are trimmed of surrounding ASCII whitespace; empty or whitespace-only input gives none.
//
// Cost: linear in the input (each byte is looked at a bounded number of times), so a 1 MiB
// document is split in milliseconds. Pure function of its arguments; safe from any thread.

#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::llm {

struct ChunkOptions {
  size_t max_chars = 1200;     // hard upper bound of a chunk, in code points (>= 1)
  size_t min_chars = 800;      // breaks are looked for from here to max_chars (<= max_chars)
  size_t overlap_chars = 150;  // repeated from the previous chunk (< min_chars, else reduced)
  bool markdown = false;       // headings start new chunks
};

// `text` should be valid UTF-8 (the API validates documents first); invalid bytes are carried
// along without ever being split from the sequence they belong to.
std::vector<std::string> ChunkDocument(std::string_view text, const ChunkOptions& options = {});

}  // namespace chatd::llm
