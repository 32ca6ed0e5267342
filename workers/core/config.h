// Configuration: every setting of every binary, read from the environment and validated once.
//
// Settings come from the process environment, optionally overlaid by the KEY=VALUE lines of the
// file named by CHATD_CONFIG (the same format as systemd's EnvironmentFile=), which chatd-workers
// re-reads on SIGHUP. LoadConfig() checks every value and reports each bad one as one line naming
// the variable and the rule it broke ("JWT_SECRET: must be at least 32 bytes"), so a misconfigured
// service stops at start instead of failing later. `chatctl check-config` runs the same checks.
//
// A Config is an immutable value once loaded; share it by const reference or shared_ptr<const>.

#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace chatd {

// Looks up one variable; std::nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment.
EnvLookup ProcessEnv();
// The process environment, overlaid by the file named in CHATD_CONFIG (when set). Fails when that
// file cannot be read or has a malformed line.
Result<EnvLookup> ProcessEnvWithConfigFile();
// Parses KEY=VALUE lines (comments, blank lines, optional quotes) as systemd's EnvironmentFile=.
Result<std::map<std::string, std::string>> ParseEnvFile(std::string_view text);

enum class LogFormat { kJson, kText };
enum class LlmProvider { kOpenAi, kAnthropic };

struct Config {
  // Database.
  std::string database_url = "postgresql:///chatd";
  int db_pool_size = 4;
  int db_acquire_timeout_ms = 2000;
  // Per worker process: rendered pages of messages kept for reuse (api/page_cache.h); 0 = off.
  int page_cache_mb = 16;

  // Worker pool (chatd-workers).
  std::string listen = "/run/chatd/workers.sock";  // a unix path, or host:port
  int listen_mode = 0660;                          // permissions of a unix socket
  int listen_backlog = 1024;
  int workers = 2;
  // A streaming reply holds its request thread for its whole life (but no database session), so
  // threads bound the concurrent streams: 2 x 256 serves 500 with room for other requests; an
  // idle thread costs little memory (docs/operations.md, "Sizing").
  int threads_per_worker = 256;
  long max_requests = 0;  // 0: never recycle
  int emergency_restart_threshold = 10;
  std::chrono::seconds emergency_restart_interval{60};
  std::chrono::seconds request_slowlog_timeout{5};    // 0: off
  std::chrono::seconds request_terminate_timeout{0};  // 0: off; streams are exempt
  std::chrono::seconds shutdown_timeout{30};

  // Auth.
  std::string jwt_secret;  // required, >= 32 bytes
  std::string jwt_issuer = "chatd";
  std::string jwt_audience = "chatd";
  std::chrono::seconds access_token_ttl{900};
  std::chrono::seconds refresh_token_ttl{30 * 24 * 3600};
  std::chrono::seconds guest_ttl{24 * 3600};
  int argon2_memory_kib = 19456;
  int argon2_iterations = 2;
  int argon2_parallelism = 1;
  int max_concurrent_hashes = 4;  // LoadConfig's default: ceil(usable CPUs / workers)
  std::string password_denylist;  // path; empty: the built-in list only

  // LLM.
  LlmProvider llm_provider = LlmProvider::kOpenAi;
  std::string llm_base_url;  // empty: no provider configured
  std::string llm_api_key;
  std::string llm_model = "gpt-4o-mini";
  std::string title_model;  // empty: titles cut from the first message
  // The provider is a demo (scripts/run's local fake LLM), not a real model: clients say so
  // (GET /api/v1/info). LLM_DEMO=1|0|true|false.
  bool llm_demo = false;
  int llm_timeout_s = 120;
  int llm_connect_timeout_s = 10;
  int llm_idle_timeout_s = 30;
  int llm_max_retries = 2;
  std::string openrouter_referer;
  std::string openrouter_title;

  // Limits.
  int max_message_chars = 5000;
  int max_context_tokens = 8192;
  int max_response_tokens = 1024;
  int llm_rate_per_min = 20;
  long daily_token_quota = 200000;
  long guest_daily_token_quota = 20000;
  int max_inflight_per_user = 3;
  int max_inflight_total = 1000;
  int retrieval_top_k = 4;
  int ws_max_per_user = 10;
  int auth_rate_per_min = 30;
  std::vector<std::string> cors_allowed_origins;

  // Push daemon.
  std::string push_listen = "127.0.0.1:8081";

  // Logging.
  LogFormat log_format = LogFormat::kJson;
  std::string log_level = "info";

  // Test-only endpoints (api/testing.cc); CHATD_TEST_ROUTES=1. Never in production.
  bool enable_test_routes = false;

  // Where migrations live (chatctl migrate, /ready).
  std::string migrations_dir;

  bool llm_configured() const { return !llm_base_url.empty(); }
};

// Where this build finds sql/ when MIGRATIONS_DIR is not set.
std::string DefaultMigrationsDir();
// The project's version (CMake's project(VERSION)), e.g. "0.1.0".
std::string_view ProjectVersion();

// Reads and validates every setting. On failure, the Status's field errors hold one entry per bad
// variable (field = the variable's name, message = the rule), and detail() is all of them, one per
// line, ready to print.
Result<Config> LoadConfig(const EnvLookup& env);

// Parses "90", "90s", "15m", "24h", "30d" into seconds; nullopt when malformed or negative.
std::optional<std::chrono::seconds> ParseDuration(std::string_view text);

}  // namespace chatd
