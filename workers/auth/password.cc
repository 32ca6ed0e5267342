// Argon2id password hashing through Debian's libargon2 (the reference implementation), salts from
// OpenSSL's RAND_bytes, and the password policy of API.md.
//
// Memory: each hash allocates memory_kib KiB (19 MiB in production) with malloc and frees it at the
// end. glibc's dynamic mmap threshold rises to the size of the largest block freed, so after the
// first hash the next ones are served from the heap and ~19 MiB per concurrent hash can stay
// resident in every worker process. The binary's main() sets mallopt(M_MMAP_THRESHOLD, 1 << 20)
// (or MALLOC_MMAP_THRESHOLD_=1048576), which also pins the threshold, so these blocks always come
// from mmap and go back to the kernel. The semaphore bounds how many are alive at once.
//
// The encoded string is parsed here (ParseEncoded) only to compare parameters and to refuse absurd
// costs before libargon2 allocates; libargon2 decodes and checks it again when verifying.

#include "auth/password.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <utility>

#include "core/text.h"

namespace chatd::auth {
namespace {

// Bounds on costs this process is willing to spend on one verification (Config allows up to
// m = 2^21 KiB, t = 100, p = 16).
constexpr uint32_t kMaxMemoryKib = 1u << 21;
constexpr uint32_t kMaxIterations = 100;
constexpr uint32_t kMaxParallelism = 64;
// An argon2id encoded string with 16-byte salt and 32-byte hash is about 100 characters.
constexpr size_t kMaxEncodedBytes = 512;

// Made once at construction; never checked against a real password, so it does not matter what it
// is, only that it costs what a real hash costs.
constexpr std::string_view kDummyPassword = "chatd dummy password for timing equalization";

struct EncodedParams {
  size_t salt_chars = 0;  // base64 characters of the salt and of the hash
  size_t hash_chars = 0;
  uint32_t version = 0;
  uint32_t memory_kib = 0;
  uint32_t iterations = 0;
  uint32_t parallelism = 0;
};

// Consumes `prefix` from the front of *s.
bool Consume(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

// Consumes a decimal uint32 (no sign, no leading zero, at least one digit).
bool ConsumeUint32(std::string_view* s, uint32_t* out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < s->size() && (*s)[i] >= '0' && (*s)[i] <= '9') {
    v = v * 10 + static_cast<uint64_t>((*s)[i] - '0');
    if (v > UINT32_MAX) return false;
    ++i;
  }
  if (i == 0 || (i > 1 && (*s)[0] == '0')) return false;
  *out = static_cast<uint32_t>(v);
  s->remove_prefix(i);
  return true;
}

bool IsB64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Parses "$argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>" (salt and hash in unpadded standard
// base64). nullopt for anything else, argon2i/argon2d included.
std::optional<EncodedParams> ParseEncoded(std::string_view s) {
  EncodedParams p;
  if (s.size() > kMaxEncodedBytes) return std::nullopt;
  if (!Consume(&s, "$argon2id$v=") || !ConsumeUint32(&s, &p.version)) return std::nullopt;
  if (!Consume(&s, "$m=") || !ConsumeUint32(&s, &p.memory_kib)) return std::nullopt;
  if (!Consume(&s, ",t=") || !ConsumeUint32(&s, &p.iterations)) return std::nullopt;
  if (!Consume(&s, ",p=") || !ConsumeUint32(&s, &p.parallelism)) return std::nullopt;
  if (!Consume(&s, "$")) return std::nullopt;
  size_t dollar = s.find('$');
  if (dollar == std::string_view::npos || dollar == 0 || dollar + 1 == s.size()) {
    return std::nullopt;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != dollar && !IsB64Char(s[i])) return std::nullopt;
  }
  p.salt_chars = dollar;
  p.hash_chars = s.size() - dollar - 1;
  return p;
}

// Unpadded base64 length of n bytes.
constexpr size_t B64Chars(size_t n) {
  return (n * 4 + 2) / 3;
}

bool WithinBounds(uint32_t m, uint32_t t, uint32_t p) {
  return t >= ARGON2_MIN_TIME && t <= kMaxIterations && p >= ARGON2_MIN_LANES &&
         p <= kMaxParallelism && m >= 8 * p && m <= kMaxMemoryKib;
}

// The built-in deny list: widespread passwords of at least 12 characters (keyboard walks, digit
// runs, words padded with digits), which is all the policy lets through to this check.
constexpr std::array kBuiltinDenylist = {
    "123456789012",     "1234567890123",    "12345678901234",
    "123456789012345",  "1234567890123456", "000000000000",
    "111111111111",     "222222222222",     "666666666666",
    "888888888888",     "999999999999",     "121212121212",
    "123123123123",     "123412341234",     "098765432109",
    "987654321098",     "123456123456",     "112233445566",
    "147258369147",     "159753159753",     "password1234",
    "password12345",    "password123456",   "password1234!",
    "passwordpassword", "password123!",     "password2020",
    "password2021",     "password2022",     "password2023",
    "password2024",     "password2025",     "p@ssw0rd1234",
    "p@ssword1234",     "passw0rd1234",     "mypassword123",
    "mypassword1234",   "changeme1234",     "changemenow!",
    "letmein12345",     "letmein123456",    "welcome12345",
    "welcome123456",    "welcome2024!",     "qwertyuiop12",
    "qwertyuiop123",    "qwertyuiopasdf",   "qwertyuiop[]",
    "qwerty123456",     "qwerty1234567",    "1qaz2wsx3edc",
    "1qaz2wsx3edc4rfv", "zaq12wsxcde3",     "zaq1zaq1zaq1",
    "qazwsxedcrfv",     "qazwsxedc123",     "1q2w3e4r5t6y",
    "1q2w3e4r5t6y7u",   "q1w2e3r4t5y6",     "asdfghjkl123",
    "1234qwerasdf",     "asdfasdfasdf",     "zxcvbnm12345",
    "zxcvbnmasdfg",     "abcdefghijkl",     "abcdefghijklm",
    "abc123abc123",     "abcd12345678",     "aaaaaaaaaaaa",
    "iloveyou1234",     "iloveyou12345",    "iloveyouforever",
    "administrator",    "admin1234567",     "administrator1",
    "adminadmin123",    "superman1234",     "batman123456",
    "football1234",     "baseball1234",     "basketball12",
    "basketball123",    "sunshine1234",     "princess1234",
    "starwars1234",     "pokemon12345",     "monkey123456",
    "dragon123456",     "master123456",     "michael12345",
    "charlie12345",     "computer1234",     "internet1234",
    "trustno1trustno1", "whatever1234",     "nopassword12",
    "secretpassword",   "thisismypassword", "correcthorsebatterystaple",
    "thequickbrownfox", "chatd1234567",     "chatdpassword",
    "chatbot12345",     "helloworld12",     "helloworld123",
    "hello1234567",     "summer202020",     "winter202020",
};

}  // namespace

PasswordHashParams PasswordHashParamsFrom(const Config& config) {
  return PasswordHashParams{static_cast<uint32_t>(config.argon2_memory_kib),
                            static_cast<uint32_t>(config.argon2_iterations),
                            static_cast<uint32_t>(config.argon2_parallelism)};
}

// Holds one of the hasher's slots for its lifetime.
class PasswordHasher::SemaphoreGuard {
 public:
  explicit SemaphoreGuard(std::counting_semaphore<>& s) : s_(s) { s_.acquire(); }
  ~SemaphoreGuard() { s_.release(); }
  SemaphoreGuard(const SemaphoreGuard&) = delete;
  SemaphoreGuard& operator=(const SemaphoreGuard&) = delete;

 private:
  std::counting_semaphore<>& s_;
};

Status PasswordHasher::ValidateParams(const PasswordHashParams& params) {
  if (!WithinBounds(params.memory_kib, params.iterations, params.parallelism)) {
    return Status::Invalid("ARGON2", "need 1 <= t <= 100, 1 <= p <= 64, 8*p <= m <= 2097152 KiB");
  }
  return Status::Ok();
}

PasswordHasher::PasswordHasher(PasswordHashParams params, int max_concurrent)
    : params_(params), slots_(max_concurrent < 1 ? 1 : max_concurrent) {
  if (max_concurrent < 1) throw std::invalid_argument("PasswordHasher: max_concurrent < 1");
  if (!ValidateParams(params_).ok()) {
    throw std::invalid_argument("PasswordHasher: invalid Argon2 parameters");
  }
  Result<std::string> dummy = Hash(kDummyPassword);
  if (!dummy.ok()) throw std::runtime_error("PasswordHasher: cannot compute the dummy hash");
  dummy_hash_ = std::move(dummy).value();
}

PasswordHasher::PasswordHasher(const Config& config)
    : PasswordHasher(PasswordHashParamsFrom(config), config.max_concurrent_hashes) {}

Result<std::string> PasswordHasher::Hash(std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) {
    return Status::Invalid("password", "must be at most 128 characters");
  }
  std::array<unsigned char, kSaltBytes> salt;
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return Status::Internal();

  const size_t encoded_len =
      argon2_encodedlen(params_.iterations, params_.memory_kib, params_.parallelism, kSaltBytes,
                        kHashBytes, Argon2_id);  // includes the terminating NUL
  std::string encoded(encoded_len, '\0');
  int rc;
  {
    SemaphoreGuard slot(slots_);
    rc = argon2id_hash_encoded(params_.iterations, params_.memory_kib, params_.parallelism,
                               password.data(), password.size(), salt.data(), salt.size(),
                               kHashBytes, encoded.data(), encoded.size());
  }
  if (rc != ARGON2_OK) return Status::Internal();
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool PasswordHasher::VerifyLocked(const std::string& encoded, std::string_view password) const {
  SemaphoreGuard slot(slots_);
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

bool PasswordHasher::Verify(std::string_view encoded, std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) return false;
  std::optional<EncodedParams> p = ParseEncoded(encoded);
  if (!p || p->version != ARGON2_VERSION_13 ||
      !WithinBounds(p->memory_kib, p->iterations, p->parallelism)) {
    return false;
  }
  return VerifyLocked(std::string(encoded), password);  // libargon2 wants a C string
}

bool PasswordHasher::NeedsRehash(std::string_view encoded) const {
  std::optional<EncodedParams> p = ParseEncoded(encoded);
  return !p || p->version != ARGON2_VERSION_13 || p->memory_kib != params_.memory_kib ||
         p->iterations != params_.iterations || p->parallelism != params_.parallelism ||
         p->salt_chars != B64Chars(kSaltBytes) || p->hash_chars != B64Chars(kHashBytes);
}

void PasswordHasher::VerifyDummy(std::string_view password) const {
  // Same work as Verify(): the length cut-off, the copy of the encoded string, one argon2id_verify.
  if (password.size() > kMaxPasswordBytes) return;
  (void)ParseEncoded(dummy_hash_);
  (void)VerifyLocked(std::string(dummy_hash_), password);
}

PasswordDenylist::PasswordDenylist() {
  entries_.reserve(kBuiltinDenylist.size());
  for (const char* p : kBuiltinDenylist) Add(p);
}

void PasswordDenylist::Add(std::string_view password) {
  if (password.size() < kMinPasswordChars) return;  // fewer bytes than the minimum characters
  entries_.insert(AsciiLower(password));
}

Result<PasswordDenylist> PasswordDenylist::Load(const std::string& path) {
  PasswordDenylist list;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Invalid("PASSWORD_DENYLIST",
                           "cannot open '" + path + "': " + std::strerror(errno));
  }
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) list.Add(line);
  }
  if (in.bad()) return Status::Invalid("PASSWORD_DENYLIST", "cannot read '" + path + "'");
  return list;
}

bool PasswordDenylist::Contains(std::string_view password) const {
  return entries_.contains(AsciiLower(password));
}

Status CheckPasswordPolicy(std::string_view password, std::string_view username,
                           const PasswordDenylist& denylist) {
  // The byte length bounds the character count from above, so a huge input is turned away
  // before it is scanned.
  if (password.size() > kMaxPasswordBytes) {
    return Status::Invalid("password", "must be at most 128 characters");
  }
  if (!IsValidUtf8(password) || password.find('\0') != std::string_view::npos) {
    return Status::Invalid("password", "contains characters that are not allowed");
  }
  const size_t chars = CountChars(password);
  if (chars < kMinPasswordChars) {
    return Status::Invalid("password", "must be at least 12 characters");
  }
  if (chars > kMaxPasswordChars) {
    return Status::Invalid("password", "must be at most 128 characters");
  }
  if (!username.empty() && AsciiLower(password) == AsciiLower(username)) {
    return Status::Invalid("password", "must not be the same as your username");
  }
  if (denylist.Contains(password)) {
    return Status::Invalid("password",
                           "is too common and easy to guess; please choose a different one");
  }
  return Status::Ok();
}

}  // namespace chatd::auth
