// The SSE parser on its own: the field rules, every line ending, reads split anywhere, the BOM,
// the size limits and stopping.

#include "llm/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd::llm {
namespace {

struct Collected {
  std::vector<SseEvent> events;
  SseParser::FeedResult last = SseParser::FeedResult::kOk;
};

// Feeds `pieces` one after another, then finishes the stream.
Collected Parse(const std::vector<std::string>& pieces, SseParser::Limits limits = {}) {
  SseParser parser(limits);
  Collected c;
  auto keep = [&](const SseEvent& e) {
    c.events.push_back(e);
    return true;
  };
  for (const std::string& p : pieces) {
    c.last = parser.Feed(p, keep);
    if (c.last != SseParser::FeedResult::kOk) return c;
  }
  c.last = parser.Finish(keep);
  return c;
}

std::vector<std::string> Datas(const Collected& c) {
  std::vector<std::string> out;
  for (const SseEvent& e : c.events) out.push_back(e.data);
  return out;
}

TEST(SseParserTest, DataLinesEventNamesAndIds) {
  Collected c = Parse({"data: one\n\nevent: add\ndata: two\nid: 7\n\ndata: three\n\n"});
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[0].event, "message");
  EXPECT_EQ(c.events[0].data, "one");
  EXPECT_EQ(c.events[0].id, "");
  EXPECT_EQ(c.events[1].event, "add");
  EXPECT_EQ(c.events[1].data, "two");
  EXPECT_EQ(c.events[1].id, "7");
  EXPECT_EQ(c.events[2].event, "message");  // the name does not carry over
  EXPECT_EQ(c.events[2].id, "7");           // the last event id does
}

TEST(SseParserTest, MultiLineDataIsJoinedWithNewlines) {
  Collected c = Parse({"data: {\ndata:  \"a\": 1\ndata\ndata: }\n\n"});
  ASSERT_EQ(c.events.size(), 1u);
  // One leading space is removed, not two; a bare "data" is an empty line.
  EXPECT_EQ(c.events[0].data, "{\n \"a\": 1\n\n}");
}

TEST(SseParserTest, ValueWithoutSpaceAfterColon) {
  Collected c = Parse({"data:tight\n\n"});
  EXPECT_EQ(Datas(c), std::vector<std::string>{"tight"});
}

TEST(SseParserTest, CommentsAreIgnoredAndCounted) {
  SseParser parser;
  std::vector<std::string> got;
  auto keep = [&](const SseEvent& e) {
    got.push_back(e.data);
    return true;
  };
  EXPECT_EQ(parser.Feed(": OPENROUTER PROCESSING\n\n:keep-alive\ndata: x\n: mid\n\n", keep),
            SseParser::FeedResult::kOk);
  EXPECT_EQ(got, std::vector<std::string>{"x"});
  EXPECT_EQ(parser.comments_seen(), 3u);
}

TEST(SseParserTest, EventWithoutDataIsNotDispatchedAndForgetsItsName) {
  Collected c = Parse({"event: ping\n\ndata: after\n\n", "retry: 1000\nunknown: 1\n\n"});
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].event, "message");
  EXPECT_EQ(c.events[0].data, "after");
}

TEST(SseParserTest, EmptyDataLineDispatchesEmptyData) {
  Collected c = Parse({"data:\n\n"});
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].data, "");
}

TEST(SseParserTest, DoneIsJustData) {
  Collected c = Parse({"data: [DONE]\n\n"});
  EXPECT_EQ(Datas(c), std::vector<std::string>{"[DONE]"});
}

TEST(SseParserTest, EveryLineEnding) {
  const std::string lf = "event: a\ndata: 1\ndata: 2\n\ndata: 3\n\n";
  std::string crlf, cr;
  for (char ch : lf) {
    crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    cr += ch == '\n' ? '\r' : ch;
  }
  std::string mixed = "event: a\r\ndata: 1\rdata: 2\n\r\ndata: 3\r\r";
  for (const std::string& text : {lf, crlf, cr, mixed}) {
    Collected c = Parse({text});
    ASSERT_EQ(c.events.size(), 2u) << text;
    EXPECT_EQ(c.events[0].event, "a");
    EXPECT_EQ(c.events[0].data, "1\n2");
    EXPECT_EQ(c.events[1].data, "3");
  }
}

TEST(SseParserTest, CrlfSplitBetweenReadsIsOneLineEnd) {
  // If the LF after a CR at the end of a read were taken as a second line end, the blank line
  // would dispatch "1" early and "2" would be a separate event.
  Collected c = Parse({"data: 1\r", "\ndata: 2\r", "\n\r", "\n"});
  EXPECT_EQ(Datas(c), std::vector<std::string>{"1\n2"});
}

TEST(SseParserTest, EverySplitPointAndByteByByte) {
  const std::string text =
      "\xEF\xBB\xBF: comment\r\nevent: delta\r\ndata: {\"t\":\"h\xC3\xA9llo\"}\r\n\r\n"
      "data: line1\ndata: line2\n\ndata: [DONE]\n\n";
  const Collected whole = Parse({text});
  ASSERT_EQ(whole.events.size(), 3u);
  EXPECT_EQ(whole.events[0].event, "delta");
  EXPECT_EQ(whole.events[0].data, "{\"t\":\"h\xC3\xA9llo\"}");
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    const Collected c = Parse({text.substr(0, cut), text.substr(cut)});
    ASSERT_EQ(Datas(c), Datas(whole)) << "cut at " << cut;
    EXPECT_EQ(c.events[0].event, "delta") << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (char ch : text) bytes.emplace_back(1, ch);
  EXPECT_EQ(Datas(Parse(bytes)), Datas(whole));
}

TEST(SseParserTest, ByteOrderMarkOnlyAtTheStart) {
  EXPECT_EQ(Datas(Parse({"\xEF\xBB\xBF"
                         "data: a\n\n"})),
            std::vector<std::string>{"a"});
  EXPECT_EQ(Datas(Parse({"\xEF", "\xBB",
                         "\xBF"
                         "data: a\n\n"})),
            std::vector<std::string>{"a"});
  // A BOM later on makes the field name unknown: that line is ignored.
  EXPECT_EQ(Datas(Parse({"data: a\n\n\xEF\xBB\xBF"
                         "data: b\n\ndata: c\n\n"})),
            (std::vector<std::string>{"a", "c"}));
  // Bytes that only begin like a BOM are kept.
  EXPECT_EQ(Datas(Parse({"\xEF", "data: a\n\n"})).size(), 0u);  // "\xEF" "data" is no field
  EXPECT_EQ(Datas(Parse({"d", "ata: a\n\n"})), std::vector<std::string>{"a"});
}

TEST(SseParserTest, FinishDispatchesCompleteLinesButNotAPartialLine) {
  EXPECT_EQ(Datas(Parse({"data: [DONE]\n"})), std::vector<std::string>{"[DONE]"});
  EXPECT_EQ(Datas(Parse({"data: a\n\ndata: {\"cut"})), std::vector<std::string>{"a"});
  EXPECT_TRUE(Parse({""}).events.empty());
  EXPECT_TRUE(Parse({"da"}).events.empty());
}

TEST(SseParserTest, HasPendingEvent) {
  SseParser parser;
  auto ignore = [](const SseEvent&) { return true; };
  EXPECT_FALSE(parser.has_pending_event());
  ASSERT_EQ(parser.Feed("data: x", ignore), SseParser::FeedResult::kOk);
  EXPECT_TRUE(parser.has_pending_event());
  ASSERT_EQ(parser.Feed("\n\n", ignore), SseParser::FeedResult::kOk);
  EXPECT_FALSE(parser.has_pending_event());
}

TEST(SseParserTest, OverlongLineStopsTheParserForGood) {
  SseParser::Limits limits;
  limits.max_line_bytes = 64;
  SseParser parser(limits);
  int events = 0;
  auto count = [&](const SseEvent&) {
    ++events;
    return true;
  };
  EXPECT_EQ(parser.Feed("data: ok\n\n", count), SseParser::FeedResult::kOk);
  // The limit holds across reads: no terminator in sight, 40 bytes at a time.
  SseParser::FeedResult r = SseParser::FeedResult::kOk;
  for (int i = 0; i < 10 && r == SseParser::FeedResult::kOk; ++i) {
    r = parser.Feed(std::string(40, 'x'), count);
  }
  EXPECT_EQ(r, SseParser::FeedResult::kTooLarge);
  EXPECT_TRUE(parser.failed());
  EXPECT_EQ(parser.Feed("\n\ndata: more\n\n", count), SseParser::FeedResult::kTooLarge);
  EXPECT_EQ(parser.Finish(count), SseParser::FeedResult::kTooLarge);
  EXPECT_EQ(events, 1);

  // A long line inside one read, too.
  SseParser one(limits);
  EXPECT_EQ(one.Feed("data: " + std::string(100, 'y') + "\n\n", count),
            SseParser::FeedResult::kTooLarge);
}

TEST(SseParserTest, OversizedEventIsRefused) {
  SseParser::Limits limits;
  limits.max_line_bytes = 100;
  limits.max_event_bytes = 250;
  std::vector<std::string> lines;
  for (int i = 0; i < 10; ++i) lines.push_back("data: " + std::string(50, 'z') + "\n");
  Collected c = Parse(lines, limits);
  EXPECT_EQ(c.last, SseParser::FeedResult::kTooLarge);
  EXPECT_TRUE(c.events.empty());
}

TEST(SseParserTest, CallbackStopsParsing) {
  SseParser parser;
  std::vector<std::string> got;
  auto stop_at_b = [&](const SseEvent& e) {
    got.push_back(e.data);
    return e.data != "b";
  };
  EXPECT_EQ(parser.Feed("data: a\n\ndata: b\n\ndata: c\n\n", stop_at_b),
            SseParser::FeedResult::kStopped);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace chatd::llm
