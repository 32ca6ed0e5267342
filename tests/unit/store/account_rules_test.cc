// The account rules of store/users_repo.h and the lockout schedule of store/login_throttle.h:
// pure functions, no database.

#include <gtest/gtest.h>

#include <string>

#include "store/login_throttle.h"
#include "store/users_repo.h"

namespace chatd::store {
namespace {

std::string FieldOf(const Status& st) {
  return st.field_errors().empty() ? "" : st.field_errors()[0].field;
}

TEST(NormalizeUsername, AcceptsTheAllowedAlphabetAndLowercases) {
  EXPECT_EQ(NormalizeUsername("Alice").value(), "alice");
  EXPECT_EQ(NormalizeUsername("a.b_c-D9").value(), "a.b_c-d9");
  EXPECT_EQ(NormalizeUsername("abc").value(), "abc");
  EXPECT_EQ(NormalizeUsername(std::string(32, 'Z')).value(), std::string(32, 'z'));
}

TEST(NormalizeUsername, RejectsLengthOutsideThreeToThirtyTwo) {
  EXPECT_FALSE(NormalizeUsername("").ok());
  EXPECT_FALSE(NormalizeUsername("ab").ok());
  EXPECT_FALSE(NormalizeUsername(std::string(33, 'a')).ok());
  EXPECT_FALSE(NormalizeUsername(std::string(10000, 'a')).ok());
  EXPECT_EQ(FieldOf(NormalizeUsername("ab").status()), "username");
  EXPECT_EQ(NormalizeUsername("ab").status().code(), ErrorCode::kValidation);
}

TEST(NormalizeUsername, RejectsOtherCharacters) {
  for (const char* bad : {"al ice", "al'ice", "al;ice", "al%ice", "al@ice", "alice\n", "al\\ice",
                          "\xc3\xa9lise", "al\"ice", "a*b*c", "x' OR '1'='1"}) {
    EXPECT_FALSE(NormalizeUsername(bad).ok()) << bad;
  }
  EXPECT_FALSE(NormalizeUsername(std::string("ab\0c", 4)).ok());
}

TEST(NormalizeUsername, ReservesTheGuestPrefixInAnyCase) {
  EXPECT_FALSE(NormalizeUsername("guest-0123456789abcdef").ok());
  EXPECT_FALSE(NormalizeUsername("GUEST-me").ok());
  EXPECT_FALSE(NormalizeUsername("guest-").ok());
  EXPECT_TRUE(NormalizeUsername("guest").ok());
  EXPECT_TRUE(NormalizeUsername("guest_me").ok());
  EXPECT_TRUE(NormalizeUsername("myguest-x").ok());
}

TEST(ValidateEmail, AcceptsPlainAddresses) {
  EXPECT_TRUE(ValidateEmail("a@b").ok());
  EXPECT_TRUE(ValidateEmail("alice.smith+tag@example.co.uk").ok());
  EXPECT_TRUE(ValidateEmail("j\xc3\xb6rg@m\xc3\xbcller.de").ok());
  std::string longest = std::string(250, 'a') + "@b.c";  // 254 characters
  EXPECT_TRUE(ValidateEmail(longest).ok());
}

TEST(ValidateEmail, RejectsWhatIsNotAnAddress) {
  for (const char* bad : {"", "alice", "@example.com", "alice@", "a@b@c", "al ice@example.com",
                          "alice@exa mple.com", "alice@example.com\n", "al\tice@x.y",
                          "alice\xc2\xa0@x.y", "alice@\xe3\x80\x80x.y", "\xff@x.y"}) {
    Status st = ValidateEmail(bad);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_EQ(FieldOf(st), "email");
  }
  EXPECT_FALSE(ValidateEmail(std::string(251, 'a') + "@b.c").ok());  // 255 characters
  EXPECT_FALSE(ValidateEmail(std::string(10000, 'a') + "@b.c").ok());
}

TEST(NormalizeDisplayName, SanitizesAndBoundsTheLength) {
  EXPECT_EQ(NormalizeDisplayName("  Alice \x01Smith ").value(), "Alice Smith");
  EXPECT_EQ(NormalizeDisplayName(std::string(64, 'x')).value(), std::string(64, 'x'));
  EXPECT_FALSE(NormalizeDisplayName(std::string(65, 'x')).ok());
  EXPECT_FALSE(NormalizeDisplayName("   ").ok());
  EXPECT_FALSE(NormalizeDisplayName(std::string("a\0b", 3)).ok());
  EXPECT_EQ(FieldOf(NormalizeDisplayName("").status()), "display_name");
}

TEST(EscapeLikePattern, EscapesEveryMetacharacter) {
  EXPECT_EQ(EscapeLikePattern("plain"), "plain");
  EXPECT_EQ(EscapeLikePattern("50%_off\\"), "50\\%\\_off\\\\");
  EXPECT_EQ(EscapeLikePattern("%"), "\\%");
  EXPECT_EQ(EscapeLikePattern(""), "");
}

TEST(UsernameCursor, RoundTripsAndRejectsForgeries) {
  for (const char* name : {"abc", "a.b_c-9", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"}) {
    auto decoded = DecodeUsernameCursor(EncodeUsernameCursor(name));
    ASSERT_TRUE(decoded.has_value()) << name;
    EXPECT_EQ(*decoded, name);
  }
  for (const char* bad : {"", "6", "zz", "4142", "61'", "612", "2527", "6120",
                          "61626364656667686970717273747576777879706162636465666768697071727374"}) {
    EXPECT_FALSE(DecodeUsernameCursor(bad).has_value()) << bad;
  }
}

TEST(LockoutAfter, IsExponentialFromTheThresholdAndCapped) {
  LoginThrottlePolicy p;  // 5 failures, 60 s doubling, 15 min cap
  EXPECT_EQ(LockoutAfter(0, p).count(), 0);
  EXPECT_EQ(LockoutAfter(4, p).count(), 0);
  EXPECT_EQ(LockoutAfter(5, p).count(), 60);
  EXPECT_EQ(LockoutAfter(6, p).count(), 120);
  EXPECT_EQ(LockoutAfter(7, p).count(), 240);
  EXPECT_EQ(LockoutAfter(8, p).count(), 480);
  EXPECT_EQ(LockoutAfter(9, p).count(), 900);
  EXPECT_EQ(LockoutAfter(1000000, p).count(), 900);
}

}  // namespace
}  // namespace chatd::store
