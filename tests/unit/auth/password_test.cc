#include "auth/password.h"

#include <argon2.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace chatd::auth {
namespace {

// Tiny costs keep the tests fast; production costs appear in one test only.
constexpr PasswordHashParams kSmall{8, 1, 1};

std::string FieldMessage(const Status& s) {
  return s.field_errors().empty() ? "" : s.field_errors()[0].message;
}

TEST(PasswordHasherTest, HashHasPhcFormatAndVerifies) {
  PasswordHasher hasher(kSmall, 2);
  Result<std::string> h = hasher.Hash("correct horse battery");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << *h;
  // 16-byte salt -> 22 base64 chars; 32-byte hash -> 43 base64 chars.
  size_t last = h->rfind('$');
  size_t salt_start = h->rfind('$', last - 1) + 1;
  EXPECT_EQ(last - salt_start, 22u);
  EXPECT_EQ(h->size() - last - 1, 43u);

  EXPECT_TRUE(hasher.Verify(*h, "correct horse battery"));
  EXPECT_FALSE(hasher.Verify(*h, "correct horse batterz"));
  EXPECT_FALSE(hasher.Verify(*h, ""));
  EXPECT_FALSE(hasher.NeedsRehash(*h));
}

TEST(PasswordHasherTest, SaltsDiffer) {
  PasswordHasher hasher(kSmall, 1);
  Result<std::string> a = hasher.Hash("same password here");
  Result<std::string> b = hasher.Hash("same password here");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(hasher.Verify(*a, "same password here"));
  EXPECT_TRUE(hasher.Verify(*b, "same password here"));
}

TEST(PasswordHasherTest, MultiByteAndBinaryPasswords) {
  PasswordHasher hasher(kSmall, 1);
  const std::string pw = "пароль-密码-🔑-long enough";
  Result<std::string> h = hasher.Hash(pw);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(hasher.Verify(*h, pw));
  EXPECT_FALSE(hasher.Verify(*h, pw.substr(0, pw.size() - 1)));
  // Embedded NUL is part of the password, not a terminator.
  const std::string with_nul("abc\0def", 7);
  Result<std::string> h2 = hasher.Hash(with_nul);
  ASSERT_TRUE(h2.ok());
  EXPECT_TRUE(hasher.Verify(*h2, with_nul));
  EXPECT_FALSE(hasher.Verify(*h2, "abc"));
}

TEST(PasswordHasherTest, VerifyRejectsMalformedEncodings) {
  PasswordHasher hasher(kSmall, 1);
  Result<std::string> h = hasher.Hash("a fine password");
  ASSERT_TRUE(h.ok());
  const std::string good = *h;
  std::vector<std::string> bad = {
      "",
      "not a hash",
      "$argon2id$",
      "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
      "$argon2d$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
      good.substr(0, good.size() - 5),  // truncated hash
      good + "$",
      good + "AAAA",
      "$argon2id$v=16$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
      // Absurd costs are refused before libargon2 would allocate.
      "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo",
      "$argon2id$v=19$m=8,t=4000000000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo",
      "$argon2id$v=19$m=8,t=1,p=0$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhh",
      std::string(100000, 'A'),
  };
  // Embedded NUL in the encoded string.
  std::string nul = good;
  nul[good.size() / 2] = '\0';
  bad.push_back(nul);
  for (const std::string& e : bad) {
    EXPECT_FALSE(hasher.Verify(e, "a fine password")) << e.substr(0, 120);
    EXPECT_TRUE(hasher.NeedsRehash(e)) << e.substr(0, 120);
  }
  // Well-formed, current parameters, but another hash value: no match, no rehash needed.
  std::string flipped = good;
  flipped[flipped.size() - 2] = flipped[flipped.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(hasher.Verify(flipped, "a fine password"));
  EXPECT_FALSE(hasher.NeedsRehash(flipped));
  std::string other_salt = good;
  other_salt[30] = other_salt[30] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(hasher.Verify(other_salt, "a fine password"));
}

TEST(PasswordHasherTest, NeedsRehashOnParameterChange) {
  PasswordHasher old_hasher(PasswordHashParams{8, 1, 1}, 1);
  Result<std::string> h = old_hasher.Hash("upgrade me please");
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(old_hasher.NeedsRehash(*h));

  for (PasswordHashParams p :
       {PasswordHashParams{16, 1, 1}, PasswordHashParams{8, 2, 1}, PasswordHashParams{16, 1, 2}}) {
    PasswordHasher new_hasher(p, 1);
    // The old hash still verifies (its parameters travel with it) but asks to be replaced.
    EXPECT_TRUE(new_hasher.Verify(*h, "upgrade me please"));
    EXPECT_TRUE(new_hasher.NeedsRehash(*h));
    Result<std::string> fresh = new_hasher.Hash("upgrade me please");
    ASSERT_TRUE(fresh.ok());
    EXPECT_FALSE(new_hasher.NeedsRehash(*fresh));
    EXPECT_TRUE(old_hasher.NeedsRehash(*fresh));
    EXPECT_TRUE(old_hasher.Verify(*fresh, "upgrade me please"));
  }
}

TEST(PasswordHasherTest, ProductionParameters) {
  PasswordHasher hasher(PasswordHashParams{19456, 2, 1}, 1);
  Result<std::string> h = hasher.Hash("production strength pw");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *h;
  EXPECT_TRUE(hasher.Verify(*h, "production strength pw"));
  EXPECT_FALSE(hasher.Verify(*h, "production strength pW"));
  EXPECT_FALSE(hasher.NeedsRehash(*h));
  Config config;
  EXPECT_EQ(PasswordHashParamsFrom(config), (PasswordHashParams{19456, 2, 1}));
}

TEST(PasswordHasherTest, RejectsInvalidParameters) {
  EXPECT_FALSE(PasswordHasher::ValidateParams({8, 0, 1}).ok());
  EXPECT_FALSE(PasswordHasher::ValidateParams({8, 1, 0}).ok());
  EXPECT_FALSE(PasswordHasher::ValidateParams({8, 1, 2}).ok());  // m < 8 * p
  EXPECT_FALSE(PasswordHasher::ValidateParams({(1u << 21) + 1, 1, 1}).ok());
  EXPECT_FALSE(PasswordHasher::ValidateParams({8, 101, 1}).ok());
  EXPECT_TRUE(PasswordHasher::ValidateParams({8, 1, 1}).ok());
  EXPECT_TRUE(PasswordHasher::ValidateParams({19456, 2, 1}).ok());
  EXPECT_THROW(PasswordHasher(PasswordHashParams{8, 0, 1}, 1), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(kSmall, 0), std::invalid_argument);
}

TEST(PasswordHasherTest, RefusesOverlongPasswordWithoutHashing) {
  PasswordHasher hasher(kSmall, 1);
  Result<std::string> h = hasher.Hash(std::string(kMaxPasswordBytes + 1, 'a'));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), ErrorCode::kValidation);
  Result<std::string> ok = hasher.Hash(std::string(kMaxPasswordBytes, 'a'));
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(hasher.Verify(*ok, std::string(kMaxPasswordBytes + 1, 'a')));
  EXPECT_TRUE(hasher.Verify(*ok, std::string(kMaxPasswordBytes, 'a')));
}

TEST(PasswordHasherTest, ConcurrentUseWithOneSlot) {
  PasswordHasher hasher(kSmall, 1);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::string pw = "thread password " + std::to_string(t);
      for (int i = 0; i < 5; ++i) {
        Result<std::string> h = hasher.Hash(pw);
        if (!h.ok() || !hasher.Verify(*h, pw) || hasher.Verify(*h, pw + "x")) ++failures;
        hasher.VerifyDummy(pw);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// The hasher encodes and decodes PHC strings itself (it runs argon2_ctx with its own memory), so
// its strings must be exactly libargon2's: hashes stored before this code verify, and libargon2
// verifies what the hasher writes.
TEST(PasswordHasherTest, PhcStringsInteroperateWithLibargon2) {
  PasswordHasher hasher(kSmall, 2);
  const std::string pw = "interoperable password";
  const unsigned char salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  char theirs[256];
  ASSERT_EQ(
      argon2id_hash_encoded(kSmall.iterations, kSmall.memory_kib, kSmall.parallelism, pw.data(),
                            pw.size(), salt, sizeof salt, 32, theirs, sizeof theirs),
      ARGON2_OK);
  EXPECT_TRUE(hasher.Verify(theirs, pw));
  EXPECT_FALSE(hasher.Verify(theirs, pw + "!"));
  EXPECT_FALSE(hasher.NeedsRehash(theirs));

  Result<std::string> ours = hasher.Hash(pw);
  ASSERT_TRUE(ours.ok());
  EXPECT_EQ(argon2id_verify(ours->c_str(), pw.data(), pw.size()), ARGON2_OK);
  EXPECT_NE(argon2id_verify(ours->c_str(), "other", 5), ARGON2_OK);

  // Other salt and hash lengths than ours are verified too (and need a rehash).
  char odd[256];
  ASSERT_EQ(argon2id_hash_encoded(1, 16, 1, pw.data(), pw.size(), salt, 9, 20, odd, sizeof odd),
            ARGON2_OK);
  EXPECT_TRUE(hasher.Verify(odd, pw));
  EXPECT_TRUE(hasher.NeedsRehash(odd));
}

// libargon2 accepts only the canonical base64 of the salt and hash (no padding, no stray low
// bits); so does the hasher.
TEST(PasswordHasherTest, RejectsNonCanonicalBase64) {
  PasswordHasher hasher(kSmall, 1);
  const std::string pw = "canonical password";
  Result<std::string> h = hasher.Hash(pw);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(hasher.Verify(*h, pw));
  // A 32-byte hash is 43 characters; the last one carries 4 bits of data and 2 zero bits.
  const std::string& good = *h;
  const char last = good.back();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t v = alphabet.find(last);
  ASSERT_NE(v, std::string::npos);
  std::string stray = good;
  stray.back() = alphabet[v ^ 1];  // sets or clears a bit that must be zero
  EXPECT_FALSE(hasher.Verify(stray, pw));
  EXPECT_FALSE(hasher.Verify(good + "=", pw));
  EXPECT_FALSE(hasher.Verify(good + "A", pw));  // well-formed: a 33-byte hash, but not this one
}

// Hashes of the current parameters reuse the hasher's buffers; a verification with other
// parameters (a hash stored before a parameter change) gets its own memory. Interleaving both
// from many threads must keep every result right.
TEST(PasswordHasherTest, BuffersAreReusedAcrossParameterSizes) {
  PasswordHasher old_hasher(PasswordHashParams{64, 1, 1}, 1);
  Result<std::string> old_hash = old_hasher.Hash("an older parameter set");
  ASSERT_TRUE(old_hash.ok());

  PasswordHasher hasher(PasswordHashParams{256, 1, 2}, 3);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      const std::string pw = "buffer reuse " + std::to_string(t);
      for (int i = 0; i < 10; ++i) {
        Result<std::string> h = hasher.Hash(pw);
        if (!h.ok() || !hasher.Verify(*h, pw) || hasher.Verify(*h, pw + "x")) ++failures;
        if (!hasher.Verify(*old_hash, "an older parameter set")) ++failures;
        if (hasher.Verify(*old_hash, pw)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// VerifyDummy must cost what a real verification costs: one Argon2id computation with the
// current parameters, also for the inputs that Verify refuses only after hashing.
TEST(PasswordHasherTest, VerifyDummyRunsOneRealHash) {
  PasswordHasher hasher(kSmall, 1);
  Result<std::string> h = hasher.Hash("timing equalization");
  ASSERT_TRUE(h.ok());
  uint64_t before = hasher.hashes_run();
  EXPECT_FALSE(hasher.Verify(*h, "wrong password guess"));
  EXPECT_EQ(hasher.hashes_run(), before + 1);
  hasher.VerifyDummy("wrong password guess");
  EXPECT_EQ(hasher.hashes_run(), before + 2);
  hasher.VerifyDummy("timing equalization");
  EXPECT_EQ(hasher.hashes_run(), before + 3);
  // Refused before hashing, by both paths alike.
  const std::string too_long(kMaxPasswordBytes + 1, 'a');
  EXPECT_FALSE(hasher.Verify(*h, too_long));
  hasher.VerifyDummy(too_long);
  EXPECT_EQ(hasher.hashes_run(), before + 3);
}

// --- Policy ----------------------------------------------------------------------------------

TEST(PasswordPolicyTest, LengthInCharacters) {
  PasswordDenylist deny;
  EXPECT_TRUE(CheckPasswordPolicy("abcdefghijk!", "alice", deny).ok());  // 12
  Status s = CheckPasswordPolicy("abcdefghij!", "alice", deny);          // 11
  EXPECT_EQ(s.code(), ErrorCode::kValidation);
  ASSERT_EQ(s.field_errors().size(), 1u);
  EXPECT_EQ(s.field_errors()[0].field, "password");
  EXPECT_EQ(FieldMessage(s), "must be at least 12 characters");

  // 12 two-byte characters (24 bytes) pass; 11 three-byte characters (33 bytes) do not.
  std::string cyr;
  for (int i = 0; i < 12; ++i) cyr += "ж";
  EXPECT_TRUE(CheckPasswordPolicy(cyr, "alice", deny).ok());
  std::string cjk;
  for (int i = 0; i < 11; ++i) cjk += "密";
  EXPECT_EQ(FieldMessage(CheckPasswordPolicy(cjk, "alice", deny)),
            "must be at least 12 characters");

  EXPECT_TRUE(CheckPasswordPolicy(std::string(128, 'q') + "", "alice", deny).ok());
  EXPECT_EQ(FieldMessage(CheckPasswordPolicy(std::string(129, 'q'), "alice", deny)),
            "must be at most 128 characters");
  // 128 four-byte characters (512 bytes) pass; 129 are rejected.
  std::string emoji;
  for (int i = 0; i < 128; ++i) emoji += "🔑";
  EXPECT_TRUE(CheckPasswordPolicy(emoji, "alice", deny).ok());
  EXPECT_EQ(FieldMessage(CheckPasswordPolicy(emoji + "🔑", "alice", deny)),
            "must be at most 128 characters");
  EXPECT_EQ(FieldMessage(CheckPasswordPolicy(std::string(10'000'000, 'x'), "alice", deny)),
            "must be at most 128 characters");
}

TEST(PasswordPolicyTest, RejectsInvalidUtf8AndNul) {
  PasswordDenylist deny;
  EXPECT_FALSE(CheckPasswordPolicy("abcdefghijkl\xff", "alice", deny).ok());
  EXPECT_FALSE(CheckPasswordPolicy("abcdefghijkl\xc0\xaf", "alice", deny).ok());      // overlong
  EXPECT_FALSE(CheckPasswordPolicy("abcdefghijkl\xed\xa0\x80", "alice", deny).ok());  // surrogate
  EXPECT_FALSE(CheckPasswordPolicy(std::string("abcdef\0ghijklm", 14), "alice", deny).ok());
}

TEST(PasswordPolicyTest, NotTheUsername) {
  PasswordDenylist deny;
  Status s = CheckPasswordPolicy("Alice.Wonder_1", "alice.wonder_1", deny);
  EXPECT_EQ(FieldMessage(s), "must not be the same as your username");
  EXPECT_FALSE(CheckPasswordPolicy("alice.wonder_1", "ALICE.WONDER_1", deny).ok());
  EXPECT_TRUE(CheckPasswordPolicy("alice.wonder_12", "alice.wonder_1", deny).ok());
  EXPECT_TRUE(CheckPasswordPolicy("alice.wonder_1", "", deny).ok());
}

TEST(PasswordPolicyTest, DenylistIsCaseInsensitive) {
  PasswordDenylist deny;
  EXPECT_GE(deny.size(), 100u);
  for (const char* pw : {"password1234", "PASSWORD1234", "PassWord1234", "123456789012",
                         "QwErTyUiOp12", "1qaz2wsx3edc"}) {
    Status s = CheckPasswordPolicy(pw, "alice", deny);
    EXPECT_EQ(s.code(), ErrorCode::kValidation) << pw;
    EXPECT_NE(FieldMessage(s).find("too common"), std::string::npos) << pw;
  }
  EXPECT_TRUE(CheckPasswordPolicy("password12345678x", "alice", deny).ok());
}

TEST(PasswordDenylistTest, LoadsFile) {
  const std::string path = ::testing::TempDir() + "/chatd_denylist_test.txt";
  {
    std::ofstream out(path, std::ios::binary);
    out << "MyCompanyName2024\r\n\nshort\nzebra-crossing-7\n";
  }
  Result<PasswordDenylist> list = PasswordDenylist::Load(path);
  ASSERT_TRUE(list.ok());
  PasswordDenylist builtin;
  EXPECT_EQ(list->size(), builtin.size() + 2);  // "short" is below the minimum length
  EXPECT_TRUE(list->Contains("mycompanyname2024"));
  EXPECT_TRUE(list->Contains("ZEBRA-CROSSING-7"));
  EXPECT_TRUE(list->Contains("password1234"));  // the built-in list stays
  EXPECT_FALSE(list->Contains("zebra-crossing-7\r"));
  EXPECT_FALSE(CheckPasswordPolicy("Zebra-Crossing-7", "alice", *list).ok());
  std::remove(path.c_str());

  Result<PasswordDenylist> missing = PasswordDenylist::Load(path + ".does-not-exist");
  ASSERT_FALSE(missing.ok());
  ASSERT_EQ(missing.status().field_errors().size(), 1u);
  EXPECT_EQ(missing.status().field_errors()[0].field, "PASSWORD_DENYLIST");
}

}  // namespace
}  // namespace chatd::auth
