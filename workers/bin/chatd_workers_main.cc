// chatd-workers: the FastCGI worker pool. This file only wires modules together: configuration,
// logging, process-wide library setup, the pool's hooks, and the API application built in each
// worker after fork.

#include <curl/curl.h>
#include <malloc.h>

#include <cstdio>
#include <memory>

#include "api/page_cache.h"
#include "api/reply_bus.h"
#include "api/routes.h"
#include "api/services.h"
#include "core/config.h"
#include "core/log.h"
#include "llm/provider.h"
#include "pool/pool.h"
#include "pool/scoreboard.h"
#include "pool/status.h"
#include "store/db.h"

namespace {

using chatd::Config;
using chatd::Result;
using chatd::Status;

// Indexes into the application metrics registered below.
enum AppMetricIndex {
  kDbAcquires = 0,
  kDbAcquireWaitUs,
  kDbWaitTimeouts,
  kDbReconnects,
  kPageCacheHits,
  kPageCacheMisses
};

std::vector<chatd::pool::AppMetricSpec> AppMetrics() {
  using chatd::pool::MetricType;
  return {
      {"chatd_db_pool_acquires_total", "Database sessions borrowed from the per-process pools.",
       MetricType::kCounter},
      {"chatd_db_pool_wait_microseconds_total", "Time spent waiting for a free database session.",
       MetricType::kCounter},
      {"chatd_db_pool_wait_timeouts_total",
       "Requests that found no free database session within DB_ACQUIRE_TIMEOUT_MS.",
       MetricType::kCounter},
      {"chatd_db_reconnects_total", "Broken database sessions closed for reconnection.",
       MetricType::kCounter},
      {"chatd_page_cache_hits_total",
       "Rendered pages (of messages, or listed conversations) reused at an unchanged version.",
       MetricType::kCounter},
      {"chatd_page_cache_misses_total",
       "Page cache lookups that found nothing at the current version (rendered afresh).",
       MetricType::kCounter},
  };
}

Result<std::shared_ptr<const Config>> LoadConfiguration() {
  auto env = chatd::ProcessEnvWithConfigFile();
  if (!env.ok()) return env.status();
  auto config = chatd::LoadConfig(env.value());
  if (!config.ok()) return config.status();
  return std::shared_ptr<const Config>(std::make_shared<Config>(std::move(config.value())));
}

// The application of one worker process.
class WorkerApp : public chatd::pool::App {
 public:
  explicit WorkerApp(std::unique_ptr<chatd::api::Services> services)
      : services_(std::move(services)), router_(chatd::api::BuildRouter(services_.get())) {}

  void Handle(chatd::http::Request& request, chatd::http::ResponseWriter& writer) override {
    router_.Dispatch(request, writer);
  }

  // Replies in flight are cut now and stored as `interrupted` by their own threads, which the
  // pool then waits for (SHUTDOWN_TIMEOUT).
  void BeginShutdown() override {
    if (services_->replies) services_->replies->AbortAll();
  }

 private:
  std::unique_ptr<chatd::api::Services> services_;
  chatd::http::Router router_;
};

Result<std::unique_ptr<chatd::pool::App>> MakeApp(const Config& config,
                                                  const chatd::pool::ProcessInfo&) {
  auto made = chatd::api::MakeServices(std::make_shared<const Config>(config));
  if (!made.ok()) return made.status();
  auto services = std::move(made.value());
  chatd::store::DbObserver observer;
  observer.on_acquire = [](int64_t wait_us) {
    auto* sb = chatd::pool::Scoreboard::Get();
    sb->AddAppMetric(kDbAcquires, 1);
    sb->AddAppMetric(kDbAcquireWaitUs, wait_us);
  };
  observer.on_wait_timeout = [] {
    chatd::pool::Scoreboard::Get()->AddAppMetric(kDbWaitTimeouts, 1);
  };
  observer.on_reconnect = [] { chatd::pool::Scoreboard::Get()->AddAppMetric(kDbReconnects, 1); };
  if (config.page_cache_mb > 0) {
    services->message_pages = std::make_shared<chatd::api::PageCache>(
        static_cast<size_t>(config.page_cache_mb) << 20,
        chatd::api::PageCache::Observer{
            [] { chatd::pool::Scoreboard::Get()->AddAppMetric(kPageCacheHits, 1); },
            [] { chatd::pool::Scoreboard::Get()->AddAppMetric(kPageCacheMisses, 1); }});
  }
  services->db = std::make_unique<chatd::store::Database>(config.database_url, config.db_pool_size,
                                                          config.db_acquire_timeout_ms, observer);
  // Assistant replies: the provider (none without LLM_BASE_URL), this process's registry of
  // replies in flight with its stop listener (its own database connection, not a pool session),
  // and the pool hooks that api/ cannot reach itself.
  if (config.llm_configured()) {
    auto provider = chatd::llm::MakeProvider(config);
    if (!provider.ok()) return provider.status();
    services->llm = std::move(provider.value());
  }
  services->replies = std::make_shared<chatd::api::ReplyBus>(
      chatd::api::ReplyBus::Options{.database_url = config.database_url});
  services->replies->Start();
  services->mark_long_running = chatd::pool::MarkCurrentRequestLongRunning;
  services->pool_status_json = [] {
    return chatd::pool::RenderStatusJson(*chatd::pool::Scoreboard::Get(), false);
  };
  return std::unique_ptr<chatd::pool::App>(std::make_unique<WorkerApp>(std::move(services)));
}

}  // namespace

int main() {
  auto config = LoadConfiguration();
  if (!config.ok()) {
    std::fprintf(stderr, "chatd-workers: invalid configuration\n%s\n",
                 config.status().detail().c_str());
    return 2;
  }
  chatd::InitLogging("chatd-workers", config.value()->log_format, config.value()->log_level);
  // Large blocks (document uploads, big replies) go back to the kernel when freed: without this,
  // glibc's dynamic mmap threshold rises to the largest block freed and keeps such memory on the
  // heap of every worker for good (PITFALLS.md). Argon2's working memory is managed apart, by
  // PasswordHasher's kept buffers (auth/password.cc).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  curl_global_init(CURL_GLOBAL_DEFAULT);  // once, before fork

  chatd::pool::Hooks hooks;
  hooks.load_config = LoadConfiguration;
  hooks.make_app = MakeApp;
  hooks.route_labels = chatd::api::RouteLabels();
  hooks.app_metrics = AppMetrics();
  int rc = chatd::pool::RunPool(hooks, config.value());
  curl_global_cleanup();
  return rc;
}
