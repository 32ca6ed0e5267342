// bench-argon2-rate: raw Argon2id hashes per second, the ceiling that scripts/bench measures
// chatd's logins against (tests/bench/sections/20_auth.py).
//
//   bench-argon2-rate [--mmap] THREADS SECONDS [MEMORY_KIB ITERATIONS PARALLELISM]
//
// THREADS threads each hash a password with libargon2's argon2id_hash_raw, back to back, for
// SECONDS seconds, with the cost parameters given (default: the config's, m=19456 KiB, t=2, p=1),
// a 16-byte salt and a 32-byte hash like the server's PasswordHasher. A login verifies one such
// hash (argon2id_verify recomputes it with the stored parameters), so logins per second can at
// best equal these hashes per second on the same cores; what a login costs beyond the hash is the
// server's overhead. Nothing else runs: no allocation beyond Argon2's own, no I/O while hashing.
//
// Argon2's memory (19 MiB per hash) comes from malloc. By default glibc's dynamic mmap threshold
// soon serves it from the heap, reused hash after hash. chatd-workers pins the threshold at 1 MiB
// (mallopt in its main(), so the memory goes back to the kernel after each hash), which makes every
// hash map and fault in fresh pages; --mmap does the same here, so the two allocation policies
// can be told apart from the rest of a login's cost.
//
// Prints one line for the driver:
//   ARGON2_RESULT threads=2 hashes=123 seconds=5.012 rate=24.54 m=19456 t=2 p=1 mmap=0
// where rate is hashes per second over the wall time from the start until the last thread's last
// hash ended (every thread finishes the hash it was in when time ran out).

#include <argon2.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Params {
  uint32_t memory_kib = 19456;
  uint32_t iterations = 2;
  uint32_t parallelism = 1;
};

bool ParsePositive(const char* text, long* out) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < 1) return false;
  *out = value;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool use_mmap = argc > 1 && std::string_view(argv[1]) == "--mmap";
  if (use_mmap) {
    mallopt(M_MMAP_THRESHOLD, 1 << 20);  // as chatd-workers' main()
    --argc;
    ++argv;
  }
  long threads = 0, seconds = 0, m = 19456, t = 2, p = 1;
  if ((argc != 3 && argc != 6) || !ParsePositive(argv[1], &threads) ||
      !ParsePositive(argv[2], &seconds) ||
      (argc == 6 && (!ParsePositive(argv[3], &m) || !ParsePositive(argv[4], &t) ||
                     !ParsePositive(argv[5], &p)))) {
    std::fprintf(stderr, "usage: %s [--mmap] THREADS SECONDS [MEMORY_KIB ITERATIONS PARALLELISM]\n",
                 argv[0]);
    return 2;
  }
  const Params params{static_cast<uint32_t>(m), static_cast<uint32_t>(t), static_cast<uint32_t>(p)};

  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::seconds(seconds);
  std::atomic<long> hashes{0};
  std::atomic<bool> failed{false};
  std::vector<Clock::time_point> finished(static_cast<size_t>(threads), start);
  std::vector<std::thread> pool;
  for (long i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      const std::string password = "correct horse battery staple " + std::to_string(i);
      uint8_t salt[16];
      uint8_t hash[32];
      for (size_t k = 0; k < sizeof salt; ++k) salt[k] = static_cast<uint8_t>(k * 31 + i);
      long mine = 0;
      while (Clock::now() < deadline) {
        salt[0] = static_cast<uint8_t>(mine);  // a different input each time, as in real use
        int rc = argon2id_hash_raw(params.iterations, params.memory_kib, params.parallelism,
                                   password.data(), password.size(), salt, sizeof salt, hash,
                                   sizeof hash);
        if (rc != ARGON2_OK) {
          std::fprintf(stderr, "argon2id_hash_raw: %s\n", argon2_error_message(rc));
          failed = true;
          return;
        }
        ++mine;
      }
      finished[static_cast<size_t>(i)] = Clock::now();
      hashes += mine;
    });
  }
  for (auto& thread : pool) thread.join();
  if (failed) return 1;

  Clock::time_point last = start;
  for (const auto& when : finished) last = std::max(last, when);
  const double elapsed = std::chrono::duration<double>(last - start).count();
  std::printf(
      "ARGON2_RESULT threads=%ld hashes=%ld seconds=%.3f rate=%.2f m=%u t=%u p=%u mmap=%d\n",
      threads, hashes.load(), elapsed, elapsed > 0 ? hashes.load() / elapsed : 0.0,
      params.memory_kib, params.iterations, params.parallelism, use_mmap ? 1 : 0);
  return 0;
}
