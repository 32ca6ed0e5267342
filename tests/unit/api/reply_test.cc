// The pure parts of the reply path: automatic titles, RateLimit-* headers, and the message.delta
// envelopes that must stay under PostgreSQL's NOTIFY payload limit whatever the text.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/reply.h"
#include "api/reply_bus.h"
#include "core/text.h"
#include "json/json.h"

namespace chatd::api {
namespace {

TEST(AutoTitleTest, ShortMessagesAreKeptWithWhitespaceCollapsed) {
  EXPECT_EQ(AutoTitle("Plan a trip"), "Plan a trip");
  EXPECT_EQ(AutoTitle("  Plan\n\na   trip\t "), "Plan a trip");
  EXPECT_EQ(AutoTitle(std::string(60, 'x')), std::string(60, 'x'));
  EXPECT_EQ(AutoTitle(""), "");
}

TEST(AutoTitleTest, LongMessagesAreCutAtAWordBoundary) {
  const std::string text =
      "Could you help me compare three different laptops for programming and light gaming please";
  std::string title = AutoTitle(text);
  EXPECT_EQ(title, "Could you help me compare three different laptops for\u2026");
  EXPECT_LE(CountChars(title), kAutoTitleChars);
}

TEST(AutoTitleTest, OneLongWordIsCutInside) {
  std::string title = AutoTitle(std::string(100, 'a'));
  EXPECT_EQ(CountChars(title), kAutoTitleChars);
  EXPECT_EQ(title, std::string(59, 'a') + "\u2026");
}

TEST(AutoTitleTest, CountsCharactersNotBytes) {
  std::string word = "\u00e9t\u00e9 ";  // "été " = 4 characters, 6 bytes
  std::string text;
  for (int i = 0; i < 30; ++i) text += word;
  std::string title = AutoTitle(text);
  EXPECT_TRUE(IsValidUtf8(title));
  EXPECT_LE(CountChars(title), kAutoTitleChars);
  EXPECT_EQ(title.substr(title.size() - 3), "\u2026");
}

TEST(RateLimitHeadersTest, NamesAndValues) {
  store::RateWindow w;
  w.limit = 20;
  w.remaining = 7;
  w.reset_s = 42;
  std::vector<http::Header> expected = {
      {"RateLimit-Limit", "20"}, {"RateLimit-Remaining", "7"}, {"RateLimit-Reset", "42"}};
  EXPECT_EQ(RateLimitHeaders(w), expected);
}

TEST(DeltaEnvelopesTest, SmallTextIsOneEnvelope) {
  auto envelopes = DeltaEnvelopes({"u1", "u2"}, "c1", "m1", 5, "Hello \"world\"\n");
  ASSERT_EQ(envelopes.size(), 1u);
  auto doc = json::Document::Parse(envelopes[0]);
  ASSERT_TRUE(doc.ok());
  auto frame = doc->root().Find("frame");
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->Find("type")->AsString(), "message.delta");
  EXPECT_EQ(frame->Find("conversation_id")->AsString(), "c1");
  EXPECT_EQ(frame->Find("message_id")->AsString(), "m1");
  EXPECT_EQ(frame->Find("offset")->AsInt64(), 5);
  EXPECT_EQ(frame->Find("content")->AsString(), "Hello \"world\"\n");
  EXPECT_EQ(doc->root().Find("recipients")->ArraySize(), 2u);
  EXPECT_TRUE(DeltaEnvelopes({"u1"}, "c1", "m1", 0, "").empty());
}

TEST(DeltaEnvelopesTest, LargeTextIsSplitUnderTheLimitWithContinuousOffsets) {
  std::vector<std::string> recipients;
  for (int i = 0; i < 100; ++i) {
    recipients.push_back("00000000-0000-0000-0000-" + std::to_string(100000000000 + i));
  }
  // Every kind of character: plain, escaped quotes, control characters (6 bytes escaped), and
  // multi-byte UTF-8 that must not be split.
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "ab\"\\\x01\u00e9\u4e2d\U0001F600";
  auto envelopes = DeltaEnvelopes(recipients, "conv", "msg", 10, text);
  ASSERT_GT(envelopes.size(), 3u);
  std::string joined;
  int64_t expected_offset = 10;
  for (const auto& e : envelopes) {
    EXPECT_LE(e.size(), kMaxEnvelopeBytes);
    auto doc = json::Document::Parse(e, json::ParseLimits{16 * 1024, 8});
    ASSERT_TRUE(doc.ok()) << e.substr(0, 200);
    auto frame = doc->root().Find("frame");
    EXPECT_EQ(frame->Find("offset")->AsInt64(), expected_offset);
    std::string content(*frame->Find("content")->AsString());
    EXPECT_TRUE(IsValidUtf8(content));
    expected_offset += static_cast<int64_t>(CountChars(content));
    joined += content;
  }
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace chatd::api
