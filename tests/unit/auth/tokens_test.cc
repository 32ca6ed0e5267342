#include "auth/tokens.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace chatd::auth {
namespace {

TEST(Base64UrlTest, RoundTripsEveryLengthUpTo64) {
  for (size_t len = 0; len <= 64; ++len) {
    std::string bytes;
    for (size_t i = 0; i < len; ++i) bytes.push_back(static_cast<char>((i * 37 + len * 11) & 0xFF));
    std::string enc = Base64UrlEncode(bytes);
    EXPECT_EQ(enc.size(), (len * 4 + 2) / 3) << len;
    EXPECT_EQ(
        enc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << enc;
    std::optional<std::string> dec = Base64UrlDecode(enc);
    ASSERT_TRUE(dec.has_value()) << len << " " << enc;
    EXPECT_EQ(*dec, bytes) << len;
  }
}

TEST(Base64UrlTest, KnownVectors) {
  // RFC 4648 §10 vectors, unpadded, plus the bytes that differ from standard base64.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_"), std::string("\xfb\xff\xbf"));
  EXPECT_EQ(Base64UrlEncode("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
}

TEST(Base64UrlTest, RejectsMalformed) {
  for (const char* bad : {"Zg==", "Zg=", "Zm9v=", "+/+/", "Zm9v Yg", "Zm9v\n", "Z", "Zm9vY",
                          "Zm9v*", "Zh", "Zm9", "Zm8x!"}) {
    EXPECT_FALSE(Base64UrlDecode(bad).has_value()) << bad;
  }
  // "Zh" and "Zm9" have non-zero unused bits: "Zg" / "Zm8" are the only spellings.
  EXPECT_TRUE(Base64UrlDecode("Zg").has_value());
  EXPECT_TRUE(Base64UrlDecode("Zm8").has_value());
  EXPECT_FALSE(Base64UrlDecode(std::string("Zm9v\0", 5)).has_value());
  EXPECT_EQ(Base64UrlDecode(""), std::string());
}

TEST(RefreshTokenTest, ShapeAndUniqueness) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string t = NewRefreshToken();
    ASSERT_EQ(t.size(), 43u);
    std::optional<std::string> raw = Base64UrlDecode(t);
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(raw->size(), 32u);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RefreshTokenTest, HashIsDeterministicSha256Hex) {
  // SHA-256("abc"), FIPS 180-2.
  EXPECT_EQ(HashRefreshToken("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashRefreshToken(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string t = NewRefreshToken();
  EXPECT_EQ(HashRefreshToken(t), HashRefreshToken(t));
  EXPECT_EQ(HashRefreshToken(t).size(), 64u);
  EXPECT_NE(HashRefreshToken(t), HashRefreshToken(NewRefreshToken()));
  EXPECT_NE(HashRefreshToken(t), t);
}

TEST(ConstantTimeEqualsTest, Compares) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace chatd::auth
