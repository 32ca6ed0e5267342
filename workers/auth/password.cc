// Argon2id password hashing through Debian's libargon2 (the reference implementation), salts from
// OpenSSL's RAND_bytes, and the password policy of API.md.
//
// Memory: each hash needs memory_kib KiB (19 MiB in production) of working memory. Left to malloc,
// that memory either stays on the heap for good (glibc's dynamic mmap threshold rises to the size
// of the largest block freed) or, with the threshold pinned at 1 MiB as chatd-workers' main() does
// for every other large allocation, is mapped and faulted in afresh for every hash: 4,864 page
// faults and a zeroed 19 MiB each time, which made a login about 0.7x as fast as the hash itself
// (docs/performance.md). So the hasher hands libargon2 its own working memory through
// argon2_context.allocate_cbk/free_cbk: a HashArena keeps at most `max_concurrent` buffers of the
// current parameters' size (the semaphore already bounds how many hashes run at once, so no more
// can ever be in use), lends one to each hash, and after the hash gives its pages back with
// MADV_FREE. While memory is plentiful the pages stay mapped and the next hash writes into them
// without a fault; under memory pressure the kernel reclaims them and the next hash faults them in
// again, as before. A hash of other parameters (verifying a stored hash made before a parameter
// change) gets a buffer of its own that is unmapped afterwards.
//
// Because the hasher runs argon2_ctx() itself, it also encodes and decodes the PHC string
// ("$argon2id$v=19$m=..,t=..,p=..$salt$hash", unpadded standard base64 through OpenSSL's
// EVP_EncodeBlock/EVP_DecodeBlock): libargon2 exports no encoder or decoder that takes a context.
// The parser is strict (argon2id, v=19, canonical numbers and base64, bounded costs and lengths),
// so absurd costs are refused before any memory is allocated.

#include "auth/password.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/mman.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

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
  std::string_view salt_b64;  // unpadded base64 of the salt and of the hash, within the input
  std::string_view hash_b64;
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
  p.salt_b64 = s.substr(0, dollar);
  p.hash_b64 = s.substr(dollar + 1);
  return p;
}

// Unpadded standard base64, as the PHC string format wants it.
std::string EncodeBase64(const uint8_t* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');  // EVP_EncodeBlock pads and NUL-terminates
  int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

// The bytes of unpadded base64 text (only the characters IsB64Char accepts, checked by the
// parser). nullopt unless the text is the canonical encoding of its bytes, as libargon2 demands.
std::optional<std::vector<uint8_t>> DecodeBase64(std::string_view text) {
  const size_t pad = (4 - text.size() % 4) % 4;
  if (pad == 3) return std::nullopt;  // one character left over encodes no byte
  std::string padded(text);
  padded.append(pad, '=');
  std::vector<uint8_t> out(padded.size() / 4 * 3);
  int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(padded.data()),
                            static_cast<int>(padded.size()));
  if (len < 0 || static_cast<size_t>(len) < pad) return std::nullopt;
  out.resize(static_cast<size_t>(len) - pad);  // EVP_DecodeBlock counts the padding as bytes
  if (EncodeBase64(out.data(), out.size()) != text) return std::nullopt;
  return out;
}

std::string EncodePhc(const PasswordHashParams& params, const uint8_t* salt, size_t salt_len,
                      const uint8_t* hash, size_t hash_len) {
  std::string out = "$argon2id$v=" + std::to_string(ARGON2_VERSION_13) +
                    "$m=" + std::to_string(params.memory_kib) +
                    ",t=" + std::to_string(params.iterations) +
                    ",p=" + std::to_string(params.parallelism) + "$";
  out += EncodeBase64(salt, salt_len);
  out += '$';
  out += EncodeBase64(hash, hash_len);
  return out;
}

// Argon2 working memory: an anonymous private mapping, unmapped on destruction. Release() gives
// its pages back lazily (MADV_FREE) but keeps the mapping for the next hash.
class HashBuffer {
 public:
  HashBuffer() = default;
  explicit HashBuffer(size_t bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      data_ = static_cast<uint8_t*>(p);
      size_ = bytes;
    }
  }
  HashBuffer(HashBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  HashBuffer& operator=(HashBuffer&& other) noexcept {
    if (this != &other) {
      Unmap();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  HashBuffer(const HashBuffer&) = delete;
  HashBuffer& operator=(const HashBuffer&) = delete;
  ~HashBuffer() { Unmap(); }

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // libargon2 has already wiped the memory (it clears its working memory before freeing it).
  // MADV_FREE needs Linux 4.5; older kernels get MADV_DONTNEED, which frees at once.
  void Release() {
    if (data_ == nullptr) return;
    if (madvise(data_, size_, MADV_FREE) != 0) (void)madvise(data_, size_, MADV_DONTNEED);
  }

 private:
  void Unmap() {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// libargon2's allocation callbacks take no user pointer, so the buffer lent to the hash running on
// this thread is found through a thread-local (argon2_ctx allocates and frees on the calling
// thread, also when it fills lanes with several threads).
thread_local HashBuffer* t_lent_buffer = nullptr;

int AllocateLentBuffer(uint8_t** memory, size_t bytes) {
  *memory = nullptr;  // libargon2 reports ARGON2_MEMORY_ALLOCATION_ERROR when left null
  HashBuffer* buffer = t_lent_buffer;
  if (buffer == nullptr) return ARGON2_MEMORY_ALLOCATION_ERROR;
  if (buffer->size() < bytes) *buffer = HashBuffer(bytes);
  *memory = buffer->data();
  return *memory == nullptr ? ARGON2_MEMORY_ALLOCATION_ERROR : ARGON2_OK;
}

void ReleaseLentBuffer(uint8_t* memory, size_t /*bytes*/) {
  HashBuffer* buffer = t_lent_buffer;
  if (buffer != nullptr && buffer->data() == memory) buffer->Release();
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

// The buffers of the current parameters' size that no hash is using. At most `max_kept`, which is
// the hasher's semaphore count: more can never be in use at once.
class PasswordHasher::HashArena {
 public:
  explicit HashArena(size_t max_kept) : max_kept_(max_kept) {}

  // A kept buffer, or an empty one (the allocation callback maps one of the right size).
  HashBuffer Take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (kept_.empty()) return HashBuffer();
    HashBuffer b = std::move(kept_.back());
    kept_.pop_back();
    return b;
  }

  void Give(HashBuffer buffer) {
    std::lock_guard<std::mutex> lock(mu_);
    if (buffer.data() != nullptr && kept_.size() < max_kept_) kept_.push_back(std::move(buffer));
  }

 private:
  const size_t max_kept_;
  std::mutex mu_;
  std::vector<HashBuffer> kept_;
};

PasswordHasher::PasswordHasher(PasswordHashParams params, int max_concurrent)
    : params_(params),
      slots_(max_concurrent < 1 ? 1 : max_concurrent),
      arena_(std::make_unique<HashArena>(
          static_cast<size_t>(max_concurrent < 1 ? 1 : max_concurrent))) {
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

PasswordHasher::~PasswordHasher() = default;

int PasswordHasher::RunArgon2(const PasswordHashParams& params, std::string_view password,
                              const std::vector<uint8_t>& salt, std::vector<uint8_t>& out) const {
  argon2_context ctx{};
  ctx.out = out.data();
  ctx.outlen = static_cast<uint32_t>(out.size());
  // libargon2 only reads the password (ARGON2_FLAG_CLEAR_PASSWORD is not set).
  ctx.pwd = reinterpret_cast<uint8_t*>(const_cast<char*>(password.data()));
  ctx.pwdlen = static_cast<uint32_t>(password.size());
  ctx.salt = const_cast<uint8_t*>(salt.data());
  ctx.saltlen = static_cast<uint32_t>(salt.size());
  ctx.t_cost = params.iterations;
  ctx.m_cost = params.memory_kib;
  ctx.lanes = params.parallelism;
  ctx.threads = params.parallelism;
  ctx.version = ARGON2_VERSION_13;
  ctx.allocate_cbk = AllocateLentBuffer;
  ctx.free_cbk = ReleaseLentBuffer;
  ctx.flags = ARGON2_DEFAULT_FLAGS;

  SemaphoreGuard slot(slots_);
  // Only buffers of the current parameters are kept; another size is mapped for this hash alone.
  const bool current = params == params_;
  HashBuffer buffer = current ? arena_->Take() : HashBuffer();
  t_lent_buffer = &buffer;
  int rc = argon2_ctx(&ctx, Argon2_id);
  t_lent_buffer = nullptr;
  hashes_run_.fetch_add(1, std::memory_order_relaxed);
  if (current) arena_->Give(std::move(buffer));
  return rc;
}

Result<std::string> PasswordHasher::Hash(std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) {
    return Status::Invalid("password", "must be at most 128 characters");
  }
  std::vector<uint8_t> salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return Status::Internal();
  std::vector<uint8_t> hash(kHashBytes);
  if (RunArgon2(params_, password, salt, hash) != ARGON2_OK) return Status::Internal();
  return EncodePhc(params_, salt.data(), salt.size(), hash.data(), hash.size());
}

bool PasswordHasher::VerifyAgainst(const PasswordHashParams& params, std::string_view salt_b64,
                                   std::string_view hash_b64, std::string_view password) const {
  std::optional<std::vector<uint8_t>> salt = DecodeBase64(salt_b64);
  std::optional<std::vector<uint8_t>> expected = DecodeBase64(hash_b64);
  if (!salt || !expected || salt->size() < ARGON2_MIN_SALT_LENGTH ||
      expected->size() < ARGON2_MIN_OUTLEN) {
    return false;
  }
  std::vector<uint8_t> actual(expected->size());
  if (RunArgon2(params, password, *salt, actual) != ARGON2_OK) return false;
  return CRYPTO_memcmp(actual.data(), expected->data(), actual.size()) == 0;
}

bool PasswordHasher::Verify(std::string_view encoded, std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) return false;
  std::optional<EncodedParams> p = ParseEncoded(encoded);
  if (!p || p->version != ARGON2_VERSION_13 ||
      !WithinBounds(p->memory_kib, p->iterations, p->parallelism)) {
    return false;
  }
  return VerifyAgainst({p->memory_kib, p->iterations, p->parallelism}, p->salt_b64, p->hash_b64,
                       password);
}

bool PasswordHasher::NeedsRehash(std::string_view encoded) const {
  std::optional<EncodedParams> p = ParseEncoded(encoded);
  return !p || p->version != ARGON2_VERSION_13 || p->memory_kib != params_.memory_kib ||
         p->iterations != params_.iterations || p->parallelism != params_.parallelism ||
         p->salt_b64.size() != B64Chars(kSaltBytes) || p->hash_b64.size() != B64Chars(kHashBytes);
}

void PasswordHasher::VerifyDummy(std::string_view password) const {
  // Same work as Verify(): the length cut-off, the parse, one hash with the current parameters.
  if (password.size() > kMaxPasswordBytes) return;
  std::optional<EncodedParams> p = ParseEncoded(dummy_hash_);
  if (p) {
    (void)VerifyAgainst({p->memory_kib, p->iterations, p->parallelism}, p->salt_b64, p->hash_b64,
                        password);
  }
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
