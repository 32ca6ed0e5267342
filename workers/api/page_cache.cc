// The per-process cache of rendered pages. See page_cache.h.

#include "api/page_cache.h"

namespace chatd::api {

PageCache::PageCache(size_t max_bytes, Observer observer)
    : max_bytes_(max_bytes), observer_(std::move(observer)) {}

std::shared_ptr<const std::string> PageCache::Find(const std::string& key, const std::string& tag) {
  std::shared_ptr<const std::string> body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end() && it->second->tag == tag) {
      lru_.splice(lru_.begin(), lru_, it->second);
      body = it->second->body;
    }
  }
  if (body) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    if (observer_.on_hit) observer_.on_hit();
  } else {
    misses_.fetch_add(1, std::memory_order_relaxed);
    if (observer_.on_miss) observer_.on_miss();
  }
  return body;
}

bool PageCache::Has(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.count(key) != 0;
}

void PageCache::Store(const std::string& key, const std::string& tag, std::string body) {
  Entry entry{key, tag, std::make_shared<const std::string>(std::move(body))};
  const size_t size = entry.Size();
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->Size();
    lru_.erase(it->second);
    index_.erase(it);
  }
  if (size > max_bytes_ / 4) return;
  lru_.push_front(std::move(entry));
  index_.emplace(key, lru_.begin());
  bytes_ += size;
  EvictLocked();
}

void PageCache::EvictLocked() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    bytes_ -= lru_.back().Size();
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

size_t PageCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

size_t PageCache::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.size();
}

}  // namespace chatd::api
