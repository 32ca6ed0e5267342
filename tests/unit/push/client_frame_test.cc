// chatd-push's client frames and resume cursor (push/client_frame.h), parsed without a socket:
// what a session does with each kind of frame follows from these fields.

#include "push/client_frame.h"

#include <gtest/gtest.h>

namespace chatd::push {
namespace {

TEST(ClientFrame, ReadsTheThreeKinds) {
  ClientFrame auth = ParseClientFrame(R"({"type":"auth","token":"abc.def.ghi"})");
  EXPECT_EQ(auth.type, "auth");
  EXPECT_EQ(auth.token, "abc.def.ghi");
  EXPECT_EQ(ParseClientFrame(R"({"type":"ping"})").type, "ping");
  ClientFrame typing = ParseClientFrame(
      R"({"type":"typing","conversation_id":"3F2A6B1C-0000-4000-8000-00000000000A"})");
  EXPECT_EQ(typing.type, "typing");
  EXPECT_EQ(typing.conversation_id, "3f2a6b1c-0000-4000-8000-00000000000a");
}

TEST(ClientFrame, AnythingElseReadsAsNothing) {
  for (const char* text : {"", "not json", "[]", R"({"type":7})", R"({"kind":"ping"})",
                           R"({"type":"ping"} trailing)", "{\"type\":\"ping\",\"x\":\"\xC0\"}"}) {
    ClientFrame f = ParseClientFrame(text);
    EXPECT_EQ(f.type, "") << text;
    EXPECT_EQ(f.token, "") << text;
  }
  // Fields of another kind are not read; a typing frame without a UUID has no conversation.
  EXPECT_EQ(ParseClientFrame(R"({"type":"ping","token":"t"})").token, "");
  EXPECT_EQ(ParseClientFrame(
                R"({"type":"auth","conversation_id":"3f2a6b1c-0000-4000-8000-00000000000a"})")
                .conversation_id,
            "");
  EXPECT_EQ(ParseClientFrame(R"({"type":"typing","conversation_id":"not-a-uuid"})").conversation_id,
            "");
  EXPECT_EQ(ParseClientFrame(R"({"type":"auth","token":5})").token, "");
}

TEST(ResumeCursor, XidDotIdInPlainDecimalDigits) {
  auto c = ParseResumeCursor("7281.1042");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->position, (EventPosition{7281, 1042}));
  EXPECT_FALSE(c->legacy);
  EXPECT_EQ(FormatCursor(c->position), "7281.1042");
  EXPECT_TRUE(ParseResumeCursor("0.0")->position.zero());
  EXPECT_EQ(ParseResumeCursor("9223372036854775807.9223372036854775807")->position,
            (EventPosition{static_cast<uint64_t>(INT64_MAX), INT64_MAX}));
  for (const char* bad :
       {"", ".", "1.", ".1", "1..2", "1.2.3", "-1.2", "1.-2", "+1.2", " 1.2", "1.2 ", "1,2",
        "0x1.2", "9223372036854775808.1", "1.9223372036854775808", "18446744073709551616.1"}) {
    EXPECT_FALSE(ParseResumeCursor(bad).has_value()) << bad;
  }
}

TEST(ResumeCursor, ABareIdIsALegacyCursor) {
  auto c = ParseResumeCursor("1234");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->legacy);
  EXPECT_EQ(c->position, (EventPosition{0, 1234}));
  EXPECT_EQ(ParseResumeCursor("9223372036854775807")->position.id, INT64_MAX);
  for (const char* bad : {"-1", "+1", " 1", "1 ", "1e3", "0x10", "9223372036854775808"}) {
    EXPECT_FALSE(ParseResumeCursor(bad).has_value()) << bad;
  }
}

TEST(EventPosition, OrdersByXidThenId) {
  EXPECT_LT((EventPosition{5, 900}), (EventPosition{6, 1}));
  EXPECT_LT((EventPosition{6, 1}), (EventPosition{6, 2}));
  EXPECT_EQ((EventPosition{6, 2}), (EventPosition{6, 2}));
}

}  // namespace
}  // namespace chatd::push
