// The token estimator's documented rules, one by one.

#include "llm/token_estimate.h"

#include <gtest/gtest.h>

#include <string>

namespace chatd::llm {
namespace {

TEST(TokenEstimateTest, Empty) {
  EXPECT_EQ(EstimateTokens(""), 0);
  EXPECT_EQ(EstimateTokens("   \n\t "), 0);  // whitespace is free
}

TEST(TokenEstimateTest, AsciiWords) {
  EXPECT_EQ(EstimateTokens("a"), 1);
  EXPECT_EQ(EstimateTokens("hello"), 1);
  EXPECT_EQ(EstimateTokens("planet"), 1);   // up to six letters: one token
  EXPECT_EQ(EstimateTokens("example"), 2);  // then ceil(len / 4)
  EXPECT_EQ(EstimateTokens("internationalization"), 5);
  EXPECT_EQ(EstimateTokens("The quick brown fox jumps over the lazy dog."), 10);
}

TEST(TokenEstimateTest, DigitsPunctuationAndSymbols) {
  EXPECT_EQ(EstimateTokens("123"), 1);
  EXPECT_EQ(EstimateTokens("1234567"), 3);      // groups of three digits
  EXPECT_EQ(EstimateTokens("abc123"), 2);       // letters and digits are separate runs
  EXPECT_EQ(EstimateTokens("f(x) = {y};"), 9);  // f ( x ) = { y } ; : one each
}

TEST(TokenEstimateTest, CjkCountsPerCharacter) {
  EXPECT_EQ(EstimateTokens("\xE4\xBD\xA0\xE5\xA5\xBD"), 2);  // 你好
  EXPECT_EQ(EstimateTokens("\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF"),
            5);                                              // こんにちは
  EXPECT_EQ(EstimateTokens("\xEC\x95\x88\xEB\x85\x95"), 2);  // 안녕
  EXPECT_EQ(EstimateTokens("hi\xE4\xBD\xA0"), 2);            // hi 你
}

TEST(TokenEstimateTest, OtherScriptsWeighTwoPerCharacter) {
  EXPECT_EQ(EstimateTokens("na\xC3\xAFve"), 1);  // naïve: weight 6
  EXPECT_EQ(EstimateTokens("\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"), 3);  // привет: 12
  EXPECT_EQ(EstimateTokens("\xC2\xA0"), 0);  // a no-break space is a space
}

TEST(TokenEstimateTest, InvalidBytesCountOneEach) {
  EXPECT_EQ(EstimateTokens("\xFF\xFE"), 2);
  EXPECT_EQ(EstimateTokens("ab\xC3"), 2);  // a truncated sequence ends the word
}

TEST(TokenEstimateTest, GrowsLinearlyAndMessagesAddFraming) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "word ";
  EXPECT_EQ(EstimateTokens(text), 1000);
  EXPECT_EQ(EstimateMessageTokens("hello"), 1 + kTokensPerMessage);
}

}  // namespace
}  // namespace chatd::llm
