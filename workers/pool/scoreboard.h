// The scoreboard: the pool's state in one shared-memory block, like php-fpm's.
//
// The master maps it (MAP_SHARED | MAP_ANONYMOUS) before forking, so every worker process
// inherits the same pages. Each worker process owns one WorkerSlot and each of its threads one
// ThreadSlot; the master owns slot allocation. Everything is lock-free: numbers are std::atomic
// (lock-free atomics work across processes on shared pages), and the text of a ThreadSlot (the
// request line and id) is guarded by a per-slot sequence counter (a seqlock), so a reader copying
// it while the owner writes retries instead of seeing torn text. Any process may read anything;
// each field has exactly one writer, named beside it.
//
// Route metrics are indexed by the position of a route label in the list given at creation (the
// router's labels, plus "unmatched" and the pool's own endpoints), so the table is fixed-size and
// every process agrees on the indexes. Application metrics (DB pool waits, replies in flight, ...)
// are generic named counters and gauges registered at creation.

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatd::pool {

constexpr int kMaxWorkerSlots = 136;  // WORKERS (max 64) x 2 generations during a reload, + spare
constexpr int kMaxThreadsPerWorker = 512;  // THREADS_PER_WORKER is capped to this
constexpr int kMaxRoutes = 128;
constexpr int kMaxAppMetrics = 32;
// Histogram bucket upper bounds, in milliseconds (the last bucket is +Inf).
constexpr int kDurationBucketsMs[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};
constexpr int kNumDurationBuckets = sizeof(kDurationBucketsMs) / sizeof(int) + 1;
// Status codes counted individually; anything else lands in the last bucket ("other").
constexpr int kCountedStatuses[] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                                    409, 413, 415, 429, 499, 500, 502, 503, 504};
constexpr int kNumStatusBuckets = sizeof(kCountedStatuses) / sizeof(int) + 1;

enum class WorkerState : uint8_t { kFree = 0, kStarting, kRunning, kStopping };
enum class ThreadState : uint8_t { kIdle = 0, kBusy };
enum ThreadFlags : uint8_t { kFlagLongRunning = 1 };

struct ThreadSlot {
  // Writer: the thread that owns the slot.
  std::atomic<uint32_t> seq{0};  // odd while the text below is being written
  // Bumped when a request starts, before flags, since_ms and the text are set for it: a reader
  // that sees the same serial before and after reading them has read one request's values.
  std::atomic<uint64_t> serial{0};
  std::atomic<uint8_t> state{0};
  std::atomic<uint8_t> flags{0};
  std::atomic<int64_t> since_ms{0};  // start of the current request (busy) or of idleness
  std::atomic<uint64_t> requests{0};
  char request[96] = {};  // "GET /api/v1/conversations/..."
  char request_id[40] = {};
  // Writer: the master. The serial of the last request reported slow (each is reported once).
  std::atomic<uint64_t> slow_logged_serial{0};
};

struct WorkerSlot {
  // Writer: the master (pid, generation, started_ms; state kFree/kStarting) and the worker
  // itself (pid once forked; state kRunning/kStopping, requests, threads).
  std::atomic<int32_t> pid{0};
  std::atomic<uint32_t> generation{0};
  std::atomic<uint8_t> state{0};
  std::atomic<int64_t> started_ms{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<int32_t> threads{0};
  ThreadSlot thread[kMaxThreadsPerWorker];
};

struct RouteStats {
  char label[112] = {};
  std::atomic<uint64_t> by_status[kNumStatusBuckets] = {};
  std::atomic<uint64_t> duration_buckets[kNumDurationBuckets] = {};  // not cumulative
  std::atomic<uint64_t> duration_sum_us{0};
  std::atomic<uint64_t> count{0};
};

enum class MetricType : uint8_t { kCounter, kGauge };

struct AppMetricSpec {
  std::string name;  // Prometheus name, e.g. "chatd_db_pool_wait_timeouts_total"
  std::string help;
  MetricType type = MetricType::kCounter;
};

struct AppMetric {
  char name[64] = {};
  char help[160] = {};
  MetricType type = MetricType::kCounter;
  std::atomic<int64_t> value{0};
};

struct PoolCounters {
  std::atomic<int64_t> start_ms{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> respawns{0};        // workers started to replace one that exited
  std::atomic<uint64_t> abnormal_exits{0};  // crashes, kills, non-zero exits
  std::atomic<uint64_t> recycles{0};        // exits after MAX_REQUESTS
  std::atomic<uint64_t> slow_requests{0};
  std::atomic<uint64_t> terminated_requests{0};
  std::atomic<uint64_t> reloads{0};
  std::atomic<uint64_t> emergency_backoffs{0};
  std::atomic<uint32_t> generation{0};
  std::atomic<int32_t> desired_workers{0};
  std::atomic<int32_t> threads_per_worker{0};
  std::atomic<uint8_t> master_state{0};      // pool::MasterState
  std::atomic<int32_t> max_threads_busy{0};  // high-water mark since start
};

struct Shared {
  PoolCounters counters;
  int num_routes = 0;
  RouteStats routes[kMaxRoutes];
  int num_app_metrics = 0;
  AppMetric app_metrics[kMaxAppMetrics];
  WorkerSlot workers[kMaxWorkerSlots];
};

// Owns the mapping. Created once by the master; workers use the inherited pointer.
class Scoreboard {
 public:
  // Maps and initialises the block. Route labels beyond kMaxRoutes share the "other" entry.
  static Scoreboard* Create(const std::vector<std::string>& route_labels,
                            const std::vector<AppMetricSpec>& app_metrics);
  // The scoreboard of this process tree (set by Create), or nullptr.
  static Scoreboard* Get();

  Shared& shared() { return *shared_; }
  const Shared& shared() const { return *shared_; }

  // Index of a route label ("unmatched" or "other" when unknown).
  int RouteIndex(std::string_view label) const;
  void RecordRequest(int route_index, int status, int64_t duration_us);
  // Application metrics by registration index.
  void AddAppMetric(int index, int64_t delta);
  void SetAppMetric(int index, int64_t value);

  // Writes a thread's current request text ("METHOD path") under the seqlock.
  static void SetThreadRequest(ThreadSlot& slot, std::string_view method, std::string_view path,
                               std::string_view request_id);
  // Copies a thread's text consistently.
  static void ReadThreadRequest(const ThreadSlot& slot, std::string* request,
                                std::string* request_id);

  Scoreboard(const Scoreboard&) = delete;
  Scoreboard& operator=(const Scoreboard&) = delete;

 private:
  // Heterogeneous lookup: RouteIndex() finds a string_view without building a std::string.
  struct LabelHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  explicit Scoreboard(Shared* shared) : shared_(shared) {}
  Shared* shared_;
  // Label -> index into shared_->routes. Built by Create() before any fork and only read after,
  // so every process has its own copy and no lock is needed.
  std::unordered_map<std::string, int, LabelHash, std::equal_to<>> route_index_;
};

int64_t NowMs();

}  // namespace chatd::pool
