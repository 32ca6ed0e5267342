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

TEST(ResumeCursor, PlainDecimalDigitsOnly) {
  EXPECT_EQ(ParseResumeCursor("0"), 0);
  EXPECT_EQ(ParseResumeCursor("1234"), 1234);
  EXPECT_EQ(ParseResumeCursor("9223372036854775807"), INT64_MAX);
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1e3", "0x10", "9223372036854775808"}) {
    EXPECT_FALSE(ParseResumeCursor(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace chatd::push
