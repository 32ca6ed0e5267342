// Scoreboard creation and the few operations that need more than one atomic.

#include "pool/scoreboard.h"

#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>

namespace chatd::pool {
namespace {
Scoreboard* g_scoreboard = nullptr;

void CopyText(char* dst, size_t cap, std::string_view src) {
  size_t n = std::min(cap - 1, src.size());
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}
}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Scoreboard* Scoreboard::Create(const std::vector<std::string>& route_labels,
                               const std::vector<AppMetricSpec>& app_metrics) {
  void* mem =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw std::runtime_error("scoreboard: mmap failed");
  auto* shared = new (mem) Shared();
  shared->counters.start_ms = NowMs();
  // Entry 0 is "unmatched", the last used entry "other" (labels past the table's end).
  std::vector<std::string> labels = {"unmatched"};
  for (const auto& l : route_labels) {
    if (static_cast<int>(labels.size()) < kMaxRoutes - 1) labels.push_back(l);
  }
  labels.push_back("other");
  shared->num_routes = static_cast<int>(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    CopyText(shared->routes[i].label, sizeof shared->routes[i].label, labels[i]);
  }
  shared->num_app_metrics = static_cast<int>(std::min<size_t>(app_metrics.size(), kMaxAppMetrics));
  for (int i = 0; i < shared->num_app_metrics; ++i) {
    auto& m = shared->app_metrics[i];
    CopyText(m.name, sizeof m.name, app_metrics[i].name);
    CopyText(m.help, sizeof m.help, app_metrics[i].help);
    m.type = app_metrics[i].type;
  }
  g_scoreboard = new Scoreboard(shared);
  for (size_t i = 0; i < labels.size(); ++i) {
    g_scoreboard->route_index_.emplace(labels[i], static_cast<int>(i));
  }
  return g_scoreboard;
}

Scoreboard* Scoreboard::Get() {
  return g_scoreboard;
}

int Scoreboard::RouteIndex(std::string_view label) const {
  auto it = route_index_.find(label);
  if (it != route_index_.end()) return it->second;
  return label.empty() ? 0 : shared_->num_routes - 1;  // unmatched, or past the table's end
}

void Scoreboard::RecordRequest(int route_index, int status, int64_t duration_us) {
  if (route_index < 0 || route_index >= shared_->num_routes) route_index = shared_->num_routes - 1;
  RouteStats& r = shared_->routes[route_index];
  int s = kNumStatusBuckets - 1;
  for (int i = 0; i < kNumStatusBuckets - 1; ++i) {
    if (kCountedStatuses[i] == status) {
      s = i;
      break;
    }
  }
  r.by_status[s].fetch_add(1, std::memory_order_relaxed);
  int b = kNumDurationBuckets - 1;
  for (int i = 0; i < kNumDurationBuckets - 1; ++i) {
    if (duration_us <= static_cast<int64_t>(kDurationBucketsMs[i]) * 1000) {
      b = i;
      break;
    }
  }
  r.duration_buckets[b].fetch_add(1, std::memory_order_relaxed);
  r.duration_sum_us.fetch_add(static_cast<uint64_t>(duration_us), std::memory_order_relaxed);
  r.count.fetch_add(1, std::memory_order_relaxed);
}

void Scoreboard::AddAppMetric(int index, int64_t delta) {
  if (index >= 0 && index < shared_->num_app_metrics) {
    shared_->app_metrics[index].value.fetch_add(delta, std::memory_order_relaxed);
  }
}

void Scoreboard::SetAppMetric(int index, int64_t value) {
  if (index >= 0 && index < shared_->num_app_metrics) {
    shared_->app_metrics[index].value.store(value, std::memory_order_relaxed);
  }
}

void Scoreboard::SetThreadRequest(ThreadSlot& slot, std::string_view method, std::string_view path,
                                  std::string_view request_id) {
  slot.seq.fetch_add(1, std::memory_order_acq_rel);  // odd: writing
  // "METHOD path", truncated to the field, without building the string first (once per request).
  size_t n = std::min(sizeof slot.request - 1, method.size());
  std::memcpy(slot.request, method.data(), n);
  if (!path.empty() && n < sizeof slot.request - 1) {
    slot.request[n++] = ' ';
    size_t m = std::min(sizeof slot.request - 1 - n, path.size());
    std::memcpy(slot.request + n, path.data(), m);
    n += m;
  }
  slot.request[n] = '\0';
  CopyText(slot.request_id, sizeof slot.request_id, request_id);
  slot.seq.fetch_add(1, std::memory_order_release);  // even: stable
}

void Scoreboard::ReadThreadRequest(const ThreadSlot& slot, std::string* request,
                                   std::string* request_id) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    uint32_t before = slot.seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    char req[sizeof slot.request];
    char rid[sizeof slot.request_id];
    std::memcpy(req, slot.request, sizeof req);
    std::memcpy(rid, slot.request_id, sizeof rid);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.seq.load(std::memory_order_relaxed) == before) {
      req[sizeof req - 1] = '\0';
      rid[sizeof rid - 1] = '\0';
      *request = req;
      *request_id = rid;
      return;
    }
  }
  request->clear();
  request_id->clear();
}

}  // namespace chatd::pool
