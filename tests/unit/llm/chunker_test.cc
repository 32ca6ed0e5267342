// The document chunker: bounded sizes in code points, overlap, paragraph-aware breaks, UTF-8
// boundaries, Markdown headings, degenerate input, and linear cost on a 1 MiB document.

#include "llm/chunker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/text.h"

namespace chatd::llm {
namespace {

// "w0 w1 w2 ..." with a sentence end every 12 words and a blank line every `paragraph` words
// (0: never).
std::string Words(size_t count, size_t paragraph = 0) {
  std::string s;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) s += (paragraph != 0 && i % paragraph == 0) ? "\n\n" : " ";
    s += "w" + std::to_string(i);
    if (i % 12 == 11) s += ".";
  }
  return s;
}

bool Contains(const std::vector<std::string>& chunks, const std::string& needle) {
  for (const auto& c : chunks) {
    if (c.find(needle) != std::string::npos) return true;
  }
  return false;
}

bool ContainsWord(const std::vector<std::string>& chunks, const std::string& word) {
  for (const auto& c : chunks) {
    for (size_t at = c.find(word); at != std::string::npos; at = c.find(word, at + 1)) {
      size_t end = at + word.size();
      bool starts = at == 0 || c[at - 1] == ' ' || c[at - 1] == '\n';
      bool ends = end == c.size() || c[end] == ' ' || c[end] == '\n' || c[end] == '.';
      if (starts && ends) return true;
    }
  }
  return false;
}

TEST(ChunkerTest, EmptyAndWhitespaceInputGiveNoChunks) {
  EXPECT_TRUE(ChunkDocument("").empty());
  EXPECT_TRUE(ChunkDocument(" \n\n\t  \r\n ").empty());
  ChunkOptions md;
  md.markdown = true;
  EXPECT_TRUE(ChunkDocument("\n\n   \n", md).empty());
}

TEST(ChunkerTest, ShortTextIsOneTrimmedChunk) {
  auto chunks = ChunkDocument("  Hello there.\n\nSecond paragraph.  \n");
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0], "Hello there.\n\nSecond paragraph.");
}

TEST(ChunkerTest, ChunksAreBoundedAndCoverEveryWord) {
  const std::string text = Words(3000);
  auto chunks = ChunkDocument(text);
  ASSERT_GT(chunks.size(), 10u);
  for (const auto& c : chunks) {
    EXPECT_LE(CountChars(c), 1200u);
    EXPECT_FALSE(c.empty());
  }
  // Every chunk but the last is at least about min_chars long (a break is never taken earlier).
  for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_GE(CountChars(chunks[i]), 790u) << i;
  for (size_t i = 0; i < 3000; ++i) {
    ASSERT_TRUE(ContainsWord(chunks, "w" + std::to_string(i))) << "w" << i << " lost";
  }
}

TEST(ChunkerTest, ConsecutiveChunksOverlapAtAWordBoundary) {
  auto chunks = ChunkDocument(Words(3000));
  ASSERT_GT(chunks.size(), 3u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    const std::string& prev = chunks[i];
    const std::string& next = chunks[i + 1];
    // The next chunk starts with a whole word taken from the tail of the previous one.
    ASSERT_EQ(next[0], 'w') << next.substr(0, 20);
    std::string head = next.substr(0, next.find(' '));
    if (head.back() == '.') head.pop_back();
    size_t at = prev.rfind(head);
    ASSERT_NE(at, std::string::npos) << "chunk " << i + 1 << " does not overlap";
    size_t overlap = CountChars(prev.substr(at));
    EXPECT_GE(overlap, 100u) << i;
    EXPECT_LE(overlap, 160u) << i;
    EXPECT_TRUE(at == 0 || prev[at - 1] == ' ');
  }
}

TEST(ChunkerTest, OverlapCanBeSwitchedOff) {
  ChunkOptions o;
  o.overlap_chars = 0;
  auto chunks = ChunkDocument(Words(3000), o);
  std::string joined;
  for (const auto& c : chunks) joined += (joined.empty() ? "" : " ") + c;
  EXPECT_EQ(joined, Words(3000));
}

TEST(ChunkerTest, PrefersParagraphBreaks) {
  // Paragraphs of 40 words (~200 characters) each: every chunk must end where a paragraph ends.
  const std::string text = Words(2400, 40);
  auto chunks = ChunkDocument(text);
  ASSERT_GT(chunks.size(), 5u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    const std::string& c = chunks[i];
    size_t at = text.find(c.substr(c.size() - 30));
    ASSERT_NE(at, std::string::npos);
    size_t after = at + 30;
    ASSERT_TRUE(text.compare(after, 2, "\n\n") == 0) << "chunk " << i << " ends mid-paragraph";
  }
}

TEST(ChunkerTest, PrefersSentenceEndsOverSpaces) {
  // One paragraph, no line breaks: chunks end after a sentence's full stop.
  auto chunks = ChunkDocument(Words(3000));
  for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_EQ(chunks[i].back(), '.') << i;
}

TEST(ChunkerTest, NeverSplitsAUtf8Sequence) {
  // No spaces at all, characters of 2, 3 and 4 bytes: only hard cuts are possible.
  std::string text;
  for (int i = 0; i < 4000; ++i)
    text += (i % 3 == 0) ? "\xC3\xA9" : (i % 3 == 1) ? "\xE6\xBC\xA2" : "\xF0\x9F\x98\x80";
  auto chunks = ChunkDocument(text);
  ASSERT_GT(chunks.size(), 3u);
  for (const auto& c : chunks) {
    EXPECT_TRUE(IsValidUtf8(c));
    EXPECT_LE(CountChars(c), 1200u);
  }
  EXPECT_EQ(CountChars(chunks[0]), 1200u);  // sizes are in characters, not bytes
  EXPECT_EQ(chunks.front().substr(0, 2), "\xC3\xA9");
  EXPECT_EQ(text.substr(text.size() - 20), chunks.back().substr(chunks.back().size() - 20));
}

TEST(ChunkerTest, CjkSentenceEndsAreBreaks) {
  std::string sentence =
      "\xE6\xBC\xA2\xE5\xAD\x97\xE3\x81\xAE\xE6\x96\x87\xE3\x80\x82";  // 漢字の文。
  std::string text;
  for (int i = 0; i < 1000; ++i) text += sentence;
  auto chunks = ChunkDocument(text);
  ASSERT_GT(chunks.size(), 2u);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].substr(chunks[i].size() - 3), "\xE3\x80\x82") << i;
  }
}

TEST(ChunkerTest, MarkdownHeadingsStartChunks) {
  ChunkOptions md;
  md.markdown = true;
  const std::string text =
      "Intro line.\n\n# First\n\nAlpha text.\n\n## Second\n\nBeta text.\n   ### Third\nGamma.\n";
  auto chunks = ChunkDocument(text, md);
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[0], "Intro line.");
  EXPECT_EQ(chunks[1], "# First\n\nAlpha text.");
  EXPECT_EQ(chunks[2], "## Second\n\nBeta text.");
  EXPECT_EQ(chunks[3], "### Third\nGamma.");
  // The same text as plain text is one chunk.
  EXPECT_EQ(ChunkDocument(text).size(), 1u);
}

TEST(ChunkerTest, HeadingWithoutBodyStaysWithTheNextSection) {
  ChunkOptions md;
  md.markdown = true;
  auto chunks =
      ChunkDocument("# Title\n\n## Part one\n\nText one.\n\n## Part two\n\nText two.", md);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], "# Title\n\n## Part one\n\nText one.");
  EXPECT_EQ(chunks[1], "## Part two\n\nText two.");
}

TEST(ChunkerTest, HashLinesThatAreNotHeadings) {
  ChunkOptions md;
  md.markdown = true;
  auto chunks = ChunkDocument(
      "Text.\n\n```sh\n# a shell comment\necho hi\n```\n\n#hashtag\n    # indented "
      "code\n#######\nEnd.",
      md);
  EXPECT_EQ(chunks.size(), 1u);
}

TEST(ChunkerTest, LongMarkdownSectionIsSplitWithinItself) {
  ChunkOptions md;
  md.markdown = true;
  const std::string text = "# A\n\n" + Words(600) + "\n\n# B\n\nshort";
  auto chunks = ChunkDocument(text, md);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.front().substr(0, 3), "# A");
  EXPECT_EQ(chunks.back(), "# B\n\nshort");
  for (const auto& c : chunks) EXPECT_LE(CountChars(c), 1200u);
  // No overlap across the heading: the last chunk of section A does not leak into B.
  EXPECT_EQ(chunks.back().find("w599"), std::string::npos);
}

TEST(ChunkerTest, CustomSizes) {
  ChunkOptions o;
  o.max_chars = 100;
  o.min_chars = 60;
  o.overlap_chars = 20;
  auto chunks = ChunkDocument(Words(500), o);
  for (const auto& c : chunks) EXPECT_LE(CountChars(c), 100u);
  // Nonsensical options are repaired rather than looping: overlap >= min, min > max, max = 0.
  o.max_chars = 0;
  o.min_chars = 50;
  o.overlap_chars = 500;
  auto tiny = ChunkDocument("abc def", o);
  std::string joined;
  for (const auto& c : tiny) joined += c;
  EXPECT_EQ(joined, "abcdef");
}

TEST(ChunkerTest, OneMebibyteIsLinear) {
  std::string text = Words(200000, 57);  // ~1.4 MB of words and paragraphs
  text.resize(1 << 20);
  std::string one_word(1 << 20, 'x');  // no break anywhere: ~1000 hard cuts
  auto start = std::chrono::steady_clock::now();
  auto chunks = ChunkDocument(text);
  auto hard = ChunkDocument(one_word);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(chunks.size(), 900u);
  EXPECT_LT(chunks.size(), 1600u);
  EXPECT_GT(hard.size(), 900u);
  EXPECT_TRUE(Contains(chunks, "w1000 "));
  // A guard against quadratic behaviour, not a benchmark: the linear version takes a few
  // milliseconds, a quadratic one minutes; the bound leaves room for sanitizer builds.
  EXPECT_LT(seconds, 10.0);
}

}  // namespace
}  // namespace chatd::llm
