// @mentions of an assistant: case-insensitive, bounded on both sides, names with spaces.

#include "llm/mention.h"

#include <gtest/gtest.h>

namespace chatd::llm {
namespace {

TEST(MentionTest, FindsTheNameAfterAnAtSign) {
  EXPECT_TRUE(MentionsName("@Assistant what time is it?", "Assistant"));
  EXPECT_TRUE(MentionsName("hey @assistant, help", "Assistant"));
  EXPECT_TRUE(MentionsName("hey @ASSISTANT", "Assistant"));
  EXPECT_TRUE(MentionsName("(@assistant)", "Assistant"));
  EXPECT_TRUE(MentionsName("ask @Assistant.", "Assistant"));
  EXPECT_TRUE(MentionsName("line one\n@assistant\tline two", "assistant"));
  EXPECT_TRUE(MentionsName("@@assistant", "assistant"));  // the second '@' follows a non-word '@'
}

TEST(MentionTest, NamesWithSpacesAndNonAscii) {
  EXPECT_TRUE(MentionsName("@recipe helper give me soup", "Recipe Helper"));
  EXPECT_FALSE(MentionsName("@recipe  helper", "Recipe Helper"));
  EXPECT_TRUE(MentionsName("salut @Élodie !", "Élodie"));
  EXPECT_FALSE(MentionsName("salut @élodie !", "Élodie"));  // only ASCII is case-folded
  EXPECT_TRUE(MentionsName("@R2-D2! beep", "R2-D2!"));
}

TEST(MentionTest, NeedsBoundaries) {
  EXPECT_FALSE(MentionsName("mail bob@assistant.example", "assistant"));
  EXPECT_FALSE(MentionsName("@Assistants are great", "Assistant"));
  EXPECT_FALSE(MentionsName("@Assistant_2 please", "Assistant"));
  EXPECT_FALSE(MentionsName("@Assistant-bot please", "Assistant"));
  EXPECT_FALSE(MentionsName("Assistant, no at sign", "Assistant"));
  EXPECT_FALSE(MentionsName("@ Assistant", "Assistant"));
  EXPECT_FALSE(MentionsName("@Assist", "Assistant"));
  EXPECT_FALSE(MentionsName("anything", ""));
  EXPECT_TRUE(MentionsName("x@y and then @assistant", "assistant"));
}

}  // namespace
}  // namespace chatd::llm
