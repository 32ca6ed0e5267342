// UTF-8 validation, counting in characters, and the user-text sanitizing rules of API.md.

#include "core/text.h"

#include <gtest/gtest.h>

#include <string>

namespace chatd {
namespace {

TEST(TextTest, ValidatesUtf8) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

// The validator skips ASCII eight bytes at a time: a bad (or good multi-byte) sequence must be
// judged the same at every offset and alignment, at the end of the input and across a word.
TEST(TextTest, ValidatesUtf8AtEveryOffset) {
  const std::string bad[] = {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                             "\xFF", "\x80"};
  const std::string good[] = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
  for (size_t prefix = 0; prefix < 20; ++prefix) {
    for (size_t suffix : {0, 1, 7, 8, 9}) {
      const std::string head(prefix, 'a'), tail(suffix, 'z');
      for (const std::string& b : bad) {
        EXPECT_FALSE(IsValidUtf8(head + b + tail)) << prefix << "/" << suffix;
      }
      for (const std::string& g : good) {
        EXPECT_TRUE(IsValidUtf8(head + g + tail)) << prefix << "/" << suffix;
        // A valid sequence cut short by the end of the input, after a run of ASCII.
        EXPECT_FALSE(IsValidUtf8(head + g.substr(0, g.size() - 1))) << prefix;
      }
    }
  }
  EXPECT_TRUE(IsValidUtf8(std::string(1000, 'x')));
  EXPECT_TRUE(IsValidUtf8(""));
}

TEST(TextTest, CountsCharactersNotBytes) {
  EXPECT_EQ(CountChars("abc"), 3u);
  EXPECT_EQ(CountChars("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), 3u);
  EXPECT_EQ(PrefixChars("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 2), "\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(PrefixChars("abc", 10), "abc");
}

TEST(TextTest, SanitizeRemovesControlCharactersAndTrims) {
  auto s = SanitizeUserText("  \x01hi\x7F\tthere\nfriend\xC2\x85 \r\n");
  EXPECT_EQ(s.problem, TextProblem::kNone);
  EXPECT_EQ(s.text, "hi\tthere\nfriend");
}

TEST(TextTest, SanitizeKeepingLayoutKeepsEdgesAndCarriageReturns) {
  auto s = SanitizeUserTextKeepingLayout("  \x01hi\x7F\r\nthere\xC2\x85\n\n");
  EXPECT_EQ(s.problem, TextProblem::kNone);
  EXPECT_EQ(s.text, "  hi\r\nthere\n\n");
  EXPECT_EQ(SanitizeUserTextKeepingLayout(std::string("a\0b", 3)).problem,
            TextProblem::kContainsNul);
  EXPECT_EQ(SanitizeUserTextKeepingLayout("a\xFF").problem, TextProblem::kInvalidUtf8);
}

TEST(TextTest, TrimSpaceTrimsUnicodeSpaceAndStopsAtInvalidBytes) {
  EXPECT_EQ(TrimSpace(" \t\xE3\x80\x80x y\n "), "x y");
  EXPECT_EQ(TrimSpace("   "), "");
  EXPECT_EQ(TrimSpace("\xFF "), "\xFF");
}

TEST(TextTest, SanitizeRejectsNulAndInvalidUtf8) {
  EXPECT_EQ(SanitizeUserText(std::string("a\0b", 3)).problem, TextProblem::kContainsNul);
  EXPECT_EQ(SanitizeUserText("a\xFF").problem, TextProblem::kInvalidUtf8);
}

TEST(TextTest, SanitizeKeepsMultibyteText) {
  auto s = SanitizeUserText("\xE4\xBD\xA0\xE5\xA5\xBD");
  EXPECT_EQ(s.text, "\xE4\xBD\xA0\xE5\xA5\xBD");
  EXPECT_EQ(SanitizeUserText(" \xE3\x80\x80 ").text, "");  // ideographic space only
}

}  // namespace
}  // namespace chatd
