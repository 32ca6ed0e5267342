// A worker process's cache of rendered response bodies, for reads that are asked again and again
// and whose freshness one cheap read can prove: a page of a conversation's messages is stored
// under its version (store::PageVersion, kept by triggers in sql/0003), and reused only when the
// version read for the next request is the same. Nothing is ever served on faith: an entry whose
// tag differs from the current one is a miss, and is replaced.
//
// Bounded by the bytes of its keys and bodies (PAGE_CACHE_MB per process); the least recently used
// entries go first. Bodies are shared, immutable strings, so a hit copies no page while the lock
// is held.
//
// Threads: every method is thread-safe (one mutex; its sections are a hash lookup and a list
// splice).

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace chatd::api {

class PageCache {
 public:
  // Told of every lookup (main exports them as chatd_page_cache_{hits,misses}_total); either may
  // be empty. Called with no lock held.
  struct Observer {
    std::function<void()> on_hit;
    std::function<void()> on_miss;
  };

  explicit PageCache(size_t max_bytes, Observer observer = {});
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // The body stored under `key` with exactly `tag`, or null (counted as a hit or a miss).
  std::shared_ptr<const std::string> Find(const std::string& key, const std::string& tag);
  // Whether anything (any tag) is stored under `key`: a request can then skip the version read
  // when there is nothing to compare it with.
  bool Has(const std::string& key) const;
  // Stores (or replaces) the body for `key` at `tag`. A body larger than a quarter of the cache is
  // not kept.
  void Store(const std::string& key, const std::string& tag, std::string body);

  size_t bytes() const;
  size_t entries() const;
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::string key;
    std::string tag;
    std::shared_ptr<const std::string> body;
    size_t Size() const { return key.size() + tag.size() + body->size() + 64; }
  };
  using List = std::list<Entry>;

  void EvictLocked();

  const size_t max_bytes_;
  const Observer observer_;
  mutable std::mutex mu_;
  List lru_;  // most recently used first
  std::unordered_map<std::string, List::iterator> index_;
  size_t bytes_ = 0;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace chatd::api
