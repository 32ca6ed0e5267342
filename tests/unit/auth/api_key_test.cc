#include "auth/api_key.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace chatd::auth {
namespace {

TEST(ApiKeyTest, GeneratedKeysHaveTheDocumentedShapeAndAreUnique) {
  std::set<std::string> keys, lookups;
  for (int i = 0; i < 200; ++i) {
    NewApiKey k = GenerateApiKey();
    EXPECT_EQ(k.key.size(), kApiKeyChars);
    EXPECT_EQ(k.key.rfind("chatd_", 0), 0u) << k.key;
    EXPECT_EQ(k.prefix, "chatd_" + k.lookup);
    EXPECT_EQ(k.key.rfind(k.prefix + "_", 0), 0u);
    EXPECT_EQ(k.lookup.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(k.hash_hex, HashApiKey(k.key));
    EXPECT_EQ(k.hash_hex.size(), 64u);
    auto parsed = ParseApiKey(k.key);
    ASSERT_TRUE(parsed.has_value()) << k.key;
    EXPECT_EQ(*parsed, k.lookup);
    keys.insert(k.key);
    lookups.insert(k.lookup);
  }
  EXPECT_EQ(keys.size(), 200u);
  EXPECT_EQ(lookups.size(), 200u);
}

TEST(ApiKeyTest, ParseRefusesAnythingGenerateCouldNotHaveMade) {
  const std::string good = GenerateApiKey().key;
  EXPECT_FALSE(ParseApiKey(""));
  EXPECT_FALSE(ParseApiKey(good.substr(1)));
  EXPECT_FALSE(ParseApiKey(good + "A"));
  EXPECT_FALSE(ParseApiKey("Chatd_" + good.substr(6)));  // prefix is exact
  std::string upper = good;
  upper[6] = 'A';  // lookup is lowercase hex
  EXPECT_FALSE(ParseApiKey(upper));
  std::string sep = good;
  sep[22] = '-';
  EXPECT_FALSE(ParseApiKey(sep));
  std::string bad_char = good;
  bad_char[30] = '+';
  EXPECT_FALSE(ParseApiKey(bad_char));
  std::string with_nul = good;
  with_nul[40] = '\0';
  EXPECT_FALSE(ParseApiKey(with_nul));
  // A refresh token or a JWT is not a key.
  EXPECT_FALSE(ParseApiKey("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"));
}

TEST(ApiKeyTest, MatchesOnlyItsOwnHash) {
  NewApiKey a = GenerateApiKey(), b = GenerateApiKey();
  EXPECT_TRUE(ApiKeyMatches(a.key, a.hash_hex));
  EXPECT_FALSE(ApiKeyMatches(a.key, b.hash_hex));
  EXPECT_FALSE(ApiKeyMatches(a.key, ""));
  std::string tampered = a.key;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ApiKeyMatches(tampered, a.hash_hex));
  // Known vector: SHA-256 of the text, hex.
  EXPECT_EQ(HashApiKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace chatd::auth
