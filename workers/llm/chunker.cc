// The document chunker (see chunker.h for the rules). Works on byte offsets into the input and
// counts code points by skipping UTF-8 continuation bytes, so a position it produces is always the
// start of a sequence; every break it prefers is an ASCII byte (or follows a CJK full stop), which
// is a sequence boundary by construction.

#include "llm/chunker.h"

#include <algorithm>

namespace chatd::llm {
namespace {

constexpr size_t kNone = std::string_view::npos;

struct Range {
  size_t begin;
  size_t end;
};

bool IsContinuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// The offset `n` code points after `pos`, or `end` if the text ends first.
size_t Forward(std::string_view s, size_t pos, size_t end, size_t n) {
  while (n > 0 && pos < end) {
    ++pos;
    while (pos < end && IsContinuation(s[pos])) ++pos;
    --n;
  }
  return pos;
}

// The offset `n` code points before `pos`, or `begin` if that comes first.
size_t Backward(std::string_view s, size_t pos, size_t begin, size_t n) {
  while (n > 0 && pos > begin) {
    --pos;
    while (pos > begin && IsContinuation(s[pos])) --pos;
    --n;
  }
  return pos;
}

size_t SkipSpace(std::string_view s, size_t pos, size_t end) {
  while (pos < end && IsSpace(s[pos])) ++pos;
  return pos;
}

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), IsSpace);
}

// Up to three spaces of indentation, as CommonMark allows for headings and fences.
size_t Indent(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  return i;
}

bool IsHeadingLine(std::string_view line) {
  size_t i = Indent(line);
  size_t hashes = 0;
  while (i + hashes < line.size() && line[i + hashes] == '#') ++hashes;
  if (hashes < 1 || hashes > 6) return false;
  size_t after = i + hashes;
  return after == line.size() || line[after] == ' ' || line[after] == '\t' || line[after] == '\r';
}

// '`' or '~' when the line opens or closes a fenced code block, else 0.
char FenceChar(std::string_view line) {
  std::string_view rest = line.substr(Indent(line));
  if (rest.substr(0, 3) == "```") return '`';
  if (rest.substr(0, 3) == "~~~") return '~';
  return 0;
}

// Markdown sections: each starts at a heading line that follows some body text.
std::vector<Range> Sections(std::string_view text, bool markdown) {
  if (!markdown) return {{0, text.size()}};
  std::vector<Range> sections;
  size_t start = 0;
  bool has_body = false;  // the current section holds more than headings and blank lines
  char fence = 0;         // inside a fenced code block opened with this character
  for (size_t pos = 0; pos < text.size();) {
    size_t newline = text.find('\n', pos);
    size_t line_end = newline == kNone ? text.size() : newline;
    std::string_view line = text.substr(pos, line_end - pos);
    if (fence != 0) {
      if (FenceChar(line) == fence) fence = 0;
      has_body = true;
    } else if (char f = FenceChar(line); f != 0) {
      fence = f;
      has_body = true;
    } else if (IsHeadingLine(line)) {
      if (has_body) {
        sections.push_back({start, pos});
        start = pos;
        has_body = false;
      }
    } else if (!IsBlank(line)) {
      has_body = true;
    }
    pos = newline == kNone ? text.size() : newline + 1;
  }
  sections.push_back({start, text.size()});
  return sections;
}

// A 3-byte full stop, exclamation or question mark of CJK text (。！？) at s[i].
bool IsWideSentenceEnd(std::string_view s, size_t i) {
  if (i + 3 > s.size()) return false;
  std::string_view three = s.substr(i, 3);
  return three == "\xE3\x80\x82" || three == "\xEF\xBC\x81" || three == "\xEF\xBC\x9F";
}

// Whether the line after the newline at s[i] is blank (a paragraph break).
bool BlankLineFollows(std::string_view s, size_t i) {
  size_t j = i + 1;
  while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) ++j;
  return j >= s.size() || s[j] == '\n';
}

// The end of a chunk that may end anywhere in [lo, hi]: the latest break of the best kind.
size_t FindBreak(std::string_view s, size_t lo, size_t hi) {
  size_t line = kNone, sentence = kNone, space = kNone;
  for (size_t i = hi; i-- > lo;) {
    char c = s[i];
    if (c == '\n') {
      if (BlankLineFollows(s, i)) return i;
      if (line == kNone) line = i;
    } else if (sentence == kNone && (c == '.' || c == '!' || c == '?') && i + 1 < s.size() &&
               IsSpace(s[i + 1])) {
      sentence = i + 1;
    } else if (sentence == kNone && i + 3 <= hi && IsWideSentenceEnd(s, i)) {
      sentence = i + 3;
    } else if (space == kNone && (c == ' ' || c == '\t')) {
      space = i;
    }
  }
  if (line != kNone) return line;
  if (sentence != kNone) return sentence;
  if (space != kNone) return space;
  return hi;
}

void Emit(std::string_view s, size_t begin, size_t end, std::vector<std::string>& out) {
  begin = SkipSpace(s, begin, end);
  while (end > begin && IsSpace(s[end - 1])) --end;
  if (end > begin) out.emplace_back(s.substr(begin, end - begin));
}

void ChunkSection(std::string_view s, Range r, const ChunkOptions& o,
                  std::vector<std::string>& out) {
  size_t pos = SkipSpace(s, r.begin, r.end);
  size_t end = r.end;
  while (end > pos && IsSpace(s[end - 1])) --end;
  while (pos < end) {
    size_t hi = Forward(s, pos, end, o.max_chars);
    if (hi == end) {
      Emit(s, pos, end, out);
      return;
    }
    size_t lo = Forward(s, pos, hi, o.min_chars);
    size_t cut = FindBreak(s, lo, hi);
    Emit(s, pos, cut, out);
    // The next chunk repeats the end of this one, starting at a word where there is one.
    size_t next = Backward(s, cut, pos, o.overlap_chars);
    if (next > pos && !IsSpace(s[next - 1])) {
      size_t word_end = next;
      while (word_end < cut && !IsSpace(s[word_end])) ++word_end;
      if (word_end < cut) next = word_end;
    }
    next = SkipSpace(s, next, end);
    // overlap_chars < min_chars makes this impossible; it guarantees progress regardless.
    if (next <= pos) next = cut;
    pos = next;
  }
}

}  // namespace

std::vector<std::string> ChunkDocument(std::string_view text, const ChunkOptions& options) {
  ChunkOptions o = options;
  o.max_chars = std::max<size_t>(o.max_chars, 1);
  o.min_chars = std::min(o.min_chars, o.max_chars);
  o.overlap_chars = o.min_chars == 0 ? 0 : std::min(o.overlap_chars, o.min_chars - 1);
  std::vector<std::string> chunks;
  for (const Range& r : Sections(text, o.markdown)) ChunkSection(text, r, o, chunks);
  return chunks;
}

}  // namespace chatd::llm
