// Passwords: Argon2id hashing and verification, and the password policy of API.md.
//
// PasswordHasher turns a password into an encoded PHC string
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", 16-byte random salt, 32-byte hash) that carries
// its own parameters, so the parameters can change later: NeedsRehash() tells a login whether the
// stored hash was made with other parameters and should be replaced by a fresh Hash() of the
// password it just verified. VerifyDummy() spends the time of a real verification against a hash
// made once at construction, so that a login for an unknown user takes as long as one with a wrong
// password (no user enumeration by timing).
//
// Every hash needs memory_kib KiB for its duration. A counting semaphore of `max_concurrent`
// bounds how many hashes (Hash, Verify, VerifyDummy) run at once in this process; the others wait
// their turn, so a login flood costs latency, never more than max_concurrent * memory_kib KiB.
// That memory is kept mapped between hashes (at most max_concurrent buffers) and its pages are
// given back to the kernel lazily (MADV_FREE), so hashes do not fault in fresh pages each time
// while memory is plentiful (password.cc explains why).
//
// CheckPasswordPolicy() enforces API.md's rules (12..128 characters, not the username, not on the
// deny list) and must run before any hashing, so an over-long password never reaches Argon2.
//
// Threads: PasswordHasher and PasswordDenylist are immutable after construction and safe to share
// between threads; the hasher's semaphore is its only shared mutable state. A PasswordHasher is not
// copyable or movable (it owns the semaphore); hold it by reference or smart pointer. Construct it
// before fork() or after, but never fork while another thread is inside one of its methods.

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace chatd::auth {

// Argon2id cost parameters. Production uses at least m=19456 KiB, t=2, p=1 (Config enforces it);
// the hasher itself accepts anything libargon2 does (m >= 8*p), so tests can use tiny costs.
struct PasswordHashParams {
  uint32_t memory_kib = 19456;
  uint32_t iterations = 2;
  uint32_t parallelism = 1;

  bool operator==(const PasswordHashParams&) const = default;
};

// The parameters of `config` (ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_PARALLELISM).
PasswordHashParams PasswordHashParamsFrom(const Config& config);

class PasswordHasher {
 public:
  static constexpr size_t kSaltBytes = 16;
  static constexpr size_t kHashBytes = 32;

  // OK when libargon2 accepts `params` (t >= 1, 1 <= p <= 2^24-1, m >= 8*p) and they are within
  // the bounds this class verifies (m <= 2 GiB, t <= 100, p <= 64).
  static Status ValidateParams(const PasswordHashParams& params);

  // Computes the dummy hash, which takes one full hash of time. Throws std::invalid_argument when
  // ValidateParams(params) fails or max_concurrent < 1, and std::runtime_error when the dummy hash
  // cannot be computed (out of memory); both are start-up errors.
  PasswordHasher(PasswordHashParams params, int max_concurrent);
  // From Config: its argon2_* parameters and max_concurrent_hashes.
  explicit PasswordHasher(const Config& config);

  ~PasswordHasher();
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  // A fresh encoded Argon2id hash of `password` with the current parameters. Fails (INTERNAL)
  // only when the random generator or the allocation fails, or (VALIDATION_ERROR on "password")
  // for a password longer than kMaxPasswordBytes, which CheckPasswordPolicy() rejects first.
  Result<std::string> Hash(std::string_view password) const;

  // Whether `password` matches the encoded Argon2id hash. False for a wrong password, and for an
  // encoded string that is malformed, not argon2id, or has costs beyond ValidateParams' bounds.
  bool Verify(std::string_view encoded, std::string_view password) const;

  // True when `encoded` is not an argon2id v=19 hash with exactly the current m, t and p and a
  // 16-byte salt and 32-byte hash (also when it is malformed). Call after a successful Verify() to
  // decide whether to store a new hash.
  bool NeedsRehash(std::string_view encoded) const;

  // Runs a verification of `password` against the dummy hash and ignores the outcome: the same
  // cost and the same wait for the semaphore as Verify() with a hash of the current parameters.
  void VerifyDummy(std::string_view password) const;

  const PasswordHashParams& params() const { return params_; }

  // How many Argon2id computations this hasher has run to completion or failure (Hash, Verify,
  // VerifyDummy alike; not the inputs refused before hashing). For metrics and for tests that
  // check that a path really hashes.
  uint64_t hashes_run() const { return hashes_run_.load(std::memory_order_relaxed); }

 private:
  class SemaphoreGuard;
  class HashArena;

  // One Argon2id hash of `password` with `salt` into `out` (its size is the hash length), in a
  // semaphore slot, with working memory from the arena. Returns libargon2's code.
  int RunArgon2(const PasswordHashParams& params, std::string_view password,
                const std::vector<uint8_t>& salt, std::vector<uint8_t>& out) const;
  // Whether `password` hashes to the base64 `hash_b64` with `params` and the base64 `salt_b64`.
  bool VerifyAgainst(const PasswordHashParams& params, std::string_view salt_b64,
                     std::string_view hash_b64, std::string_view password) const;

  const PasswordHashParams params_;
  std::string dummy_hash_;
  // Mutable: acquiring a slot or a buffer does not change what the hasher computes.
  mutable std::counting_semaphore<> slots_;
  const std::unique_ptr<HashArena> arena_;
  mutable std::atomic<uint64_t> hashes_run_{0};
};

// The common passwords that the policy rejects, compared case-insensitively (ASCII). Always holds
// the built-in list of common passwords of at least 12 characters; Load() adds a file's entries.
class PasswordDenylist {
 public:
  // The built-in list only.
  PasswordDenylist();

  // The built-in list plus every line of the file at `path` (one password per line, "\n" or "\r\n"
  // line ends, empty lines skipped; lines shorter than the policy's minimum are skipped, since the
  // policy rejects them anyway). Fails (VALIDATION_ERROR on field "PASSWORD_DENYLIST", as a
  // configuration error) when the file cannot be read.
  static Result<PasswordDenylist> Load(const std::string& path);

  bool Contains(std::string_view password) const;
  size_t size() const { return entries_.size(); }

 private:
  void Add(std::string_view password);

  std::unordered_set<std::string> entries_;  // ASCII-lowercased
};

// API.md's limits, in characters (Unicode code points).
inline constexpr size_t kMinPasswordChars = 12;
inline constexpr size_t kMaxPasswordChars = 128;
// The most bytes a password within the policy can have (4 bytes per code point).
inline constexpr size_t kMaxPasswordBytes = kMaxPasswordChars * 4;

// OK, or VALIDATION_ERROR with one field error on "password" saying what to fix: the password must
// be valid UTF-8 without NUL, 12..128 characters, not the username (compared case-insensitively;
// skipped when `username` is empty), and not on the deny list. Cheap: never hashes anything.
Status CheckPasswordPolicy(std::string_view password, std::string_view username,
                           const PasswordDenylist& denylist);

}  // namespace chatd::auth
