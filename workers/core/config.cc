// Configuration loading and validation. Every rule is written next to the variable it guards, in
// one table-like function, so that `chatctl check-config` and the binaries agree by construction.

#include "core/config.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#ifndef CHATD_DEFAULT_MIGRATIONS_DIR
#define CHATD_DEFAULT_MIGRATIONS_DIR "/usr/share/chatd/sql"
#endif

namespace chatd {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// ceil(usable CPUs / workers), at least 1. Usable: the affinity mask (taskset, cpusets), which
// can be narrower than the machine.
int HashSlotsPerWorker(int workers) {
  int cpus = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus < 1) cpus = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  return std::max(1, (cpus + std::max(1, workers) - 1) / std::max(1, workers));
}

// Collects one error per variable while reading; reading goes on so that every problem is
// reported at once.
class Reader {
 public:
  explicit Reader(const EnvLookup& env) : env_(env) {}

  std::optional<std::string> Raw(std::string_view name) {
    auto v = env_(name);
    if (v && v->empty()) return std::nullopt;  // VAR= means "use the default"
    return v;
  }

  void Fail(std::string_view name, std::string rule) {
    errors_.push_back({std::string(name), std::move(rule)});
  }

  void String(std::string_view name, std::string& out) {
    if (auto v = Raw(name)) out = *v;
  }

  template <typename Int>
  void Integer(std::string_view name, Int& out, long long min, long long max) {
    auto v = Raw(name);
    if (!v) return;
    long long parsed = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), parsed);
    if (ec != std::errc() || ptr != v->data() + v->size() || parsed < min || parsed > max) {
      Fail(name, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return;
    }
    out = static_cast<Int>(parsed);
  }

  void Duration(std::string_view name, std::chrono::seconds& out, long long min_s,
                long long max_s) {
    auto v = Raw(name);
    if (!v) return;
    auto d = ParseDuration(*v);
    if (!d || d->count() < min_s || d->count() > max_s) {
      Fail(name, "must be a duration (e.g. 90, 90s, 15m, 24h, 30d) from " + std::to_string(min_s) +
                     "s to " + std::to_string(max_s) + "s");
      return;
    }
    out = *d;
  }

  template <typename E>
  void Enum(std::string_view name, E& out,
            std::initializer_list<std::pair<const char*, E>> choices) {
    auto v = Raw(name);
    if (!v) return;
    std::string allowed;
    for (const auto& [text, value] : choices) {
      if (*v == text) {
        out = value;
        return;
      }
      allowed += allowed.empty() ? "" : "|";
      allowed += text;
    }
    Fail(name, "must be one of " + allowed);
  }

  // A switch: 1|0|true|false (the case as written; "True" is a typo worth reporting).
  void Bool(std::string_view name, bool& out) {
    auto v = Raw(name);
    if (!v) return;
    if (*v == "1" || *v == "true") {
      out = true;
    } else if (*v == "0" || *v == "false") {
      out = false;
    } else {
      Fail(name, "must be one of 1|0|true|false");
    }
  }

  std::vector<FieldError> take_errors() { return std::move(errors_); }

 private:
  const EnvLookup& env_;
  std::vector<FieldError> errors_;
};

bool LooksLikePlaceholder(std::string_view v) {
  static const char* kPlaceholders[] = {"your-api-key-here",
                                        "your_api_key_here",
                                        "changeme",
                                        "change-me",
                                        "change_me",
                                        "replace-me",
                                        "xxx",
                                        "todo",
                                        "<api-key>",
                                        "sk-...",
                                        "your-secret-here"};
  std::string lower(v);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* p : kPlaceholders) {
    if (lower == p) return true;
  }
  return lower.find("your-") != std::string::npos && lower.find("-here") != std::string::npos;
}

bool IsOrigin(std::string_view o) {
  // scheme://host[:port], no path, no trailing slash.
  auto scheme_end = o.find("://");
  if (scheme_end == std::string_view::npos) return false;
  auto scheme = o.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return false;
  auto rest = o.substr(scheme_end + 3);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return false;
  for (char c : rest) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '[' || c == ']')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::chrono::seconds> ParseDuration(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  long long multiplier = 1;
  switch (text.back()) {
    case 's':
      multiplier = 1;
      text.remove_suffix(1);
      break;
    case 'm':
      multiplier = 60;
      text.remove_suffix(1);
      break;
    case 'h':
      multiplier = 3600;
      text.remove_suffix(1);
      break;
    case 'd':
      multiplier = 86400;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  long long n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || n < 0 ||
      n > 100LL * 365 * 86400 / multiplier) {
    return std::nullopt;
  }
  return std::chrono::seconds(n * multiplier);
}

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<std::map<std::string, std::string>> ParseEnvFile(std::string_view text) {
  std::map<std::string, std::string> out;
  int line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.substr(0, 7) == "export ") line = Trim(line.substr(7));
    auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::Invalid("CHATD_CONFIG",
                             "line " + std::to_string(line_no) + " is not KEY=VALUE");
    }
    std::string key(Trim(line.substr(0, eq)));
    std::string_view value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[key] = std::string(value);
  }
  return out;
}

Result<EnvLookup> ProcessEnvWithConfigFile() {
  EnvLookup process = ProcessEnv();
  auto path = process("CHATD_CONFIG");
  if (!path || path->empty()) return process;
  std::ifstream in(*path);
  if (!in)
    return Status(ErrorCode::kValidation, "config: CHATD_CONFIG: cannot read the file " + *path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto parsed = ParseEnvFile(buffer.str());
  if (!parsed.ok()) {
    const auto& e = parsed.status().field_errors().front();
    return Status(ErrorCode::kValidation,
                  "config: " + e.field + ": " + e.message + " (" + *path + ")");
  }
  auto overlay = std::make_shared<std::map<std::string, std::string>>(std::move(parsed.value()));
  return EnvLookup([process, overlay](std::string_view name) -> std::optional<std::string> {
    auto it = overlay->find(std::string(name));
    if (it != overlay->end()) return it->second;
    return process(name);
  });
}

std::string DefaultMigrationsDir() {
  return CHATD_DEFAULT_MIGRATIONS_DIR;
}

std::string_view ProjectVersion() {
  return CHATD_VERSION;
}

Result<Config> LoadConfig(const EnvLookup& env) {
  Config c;
  c.migrations_dir = DefaultMigrationsDir();
  Reader r(env);

  r.String("DATABASE_URL", c.database_url);
  r.Integer("DB_POOL_SIZE", c.db_pool_size, 1, 64);
  r.Integer("DB_ACQUIRE_TIMEOUT_MS", c.db_acquire_timeout_ms, 10, 60000);
  r.Integer("PAGE_CACHE_MB", c.page_cache_mb, 0, 4096);

  r.String("LISTEN", c.listen);
  if (auto mode = r.Raw("LISTEN_MODE")) {
    char* end = nullptr;
    long m = std::strtol(mode->c_str(), &end, 8);
    if (*end != '\0' || m < 0 || m > 0777) {
      r.Fail("LISTEN_MODE", "must be octal permissions such as 0660");
    } else {
      c.listen_mode = static_cast<int>(m);
    }
  }
  r.Integer("LISTEN_BACKLOG", c.listen_backlog, 16, 65535);
  r.Integer("WORKERS", c.workers, 1, 64);
  r.Integer("THREADS_PER_WORKER", c.threads_per_worker, 1, 512);
  r.Integer("MAX_REQUESTS", c.max_requests, 0, 1000000000);
  r.Integer("EMERGENCY_RESTART_THRESHOLD", c.emergency_restart_threshold, 0, 10000);
  r.Duration("EMERGENCY_RESTART_INTERVAL", c.emergency_restart_interval, 1, 86400);
  r.Duration("REQUEST_SLOWLOG_TIMEOUT", c.request_slowlog_timeout, 0, 86400);
  r.Duration("REQUEST_TERMINATE_TIMEOUT", c.request_terminate_timeout, 0, 86400);
  r.Duration("SHUTDOWN_TIMEOUT", c.shutdown_timeout, 0, 3600);

  if (auto secret = r.Raw("JWT_SECRET")) {
    if (secret->size() < 32) {
      r.Fail("JWT_SECRET", "must be at least 32 bytes (try: openssl rand -base64 48)");
    } else if (LooksLikePlaceholder(*secret)) {
      r.Fail("JWT_SECRET", "is a placeholder; set a random secret (openssl rand -base64 48)");
    } else {
      c.jwt_secret = *secret;
    }
  } else {
    r.Fail("JWT_SECRET",
           "is required: a random secret of at least 32 bytes (openssl rand -base64 48)");
  }
  r.String("JWT_ISSUER", c.jwt_issuer);
  r.String("JWT_AUDIENCE", c.jwt_audience);
  r.Duration("ACCESS_TOKEN_TTL", c.access_token_ttl, 30, 86400);
  r.Duration("REFRESH_TOKEN_TTL", c.refresh_token_ttl, 60, 365LL * 86400);
  r.Duration("GUEST_TTL", c.guest_ttl, 60, 365LL * 86400);
  r.Integer("ARGON2_MEMORY_KIB", c.argon2_memory_kib, 19456, 1 << 21);
  r.Integer("ARGON2_ITERATIONS", c.argon2_iterations, 2, 100);
  r.Integer("ARGON2_PARALLELISM", c.argon2_parallelism, 1, 16);
  // Unset: the cores this process may run on, shared out among the workers. A hash is pure CPU,
  // so more slots than cores only make every hash slower (memory-hard hashes then evict each
  // other from the caches) and keep more 19 MiB buffers; docs/performance.md has the measurement.
  if (r.Raw("MAX_CONCURRENT_HASHES")) {
    r.Integer("MAX_CONCURRENT_HASHES", c.max_concurrent_hashes, 1, 256);
  } else {
    c.max_concurrent_hashes = HashSlotsPerWorker(c.workers);
  }
  r.String("PASSWORD_DENYLIST", c.password_denylist);
  if (!c.password_denylist.empty()) {
    std::ifstream f(c.password_denylist);
    if (!f) r.Fail("PASSWORD_DENYLIST", "cannot read the file " + c.password_denylist);
  }

  r.Enum("LLM_PROVIDER", c.llm_provider,
         {{"openai", LlmProvider::kOpenAi}, {"anthropic", LlmProvider::kAnthropic}});
  r.String("LLM_BASE_URL", c.llm_base_url);
  if (!c.llm_base_url.empty() && c.llm_base_url.rfind("http://", 0) != 0 &&
      c.llm_base_url.rfind("https://", 0) != 0) {
    r.Fail("LLM_BASE_URL", "must start with http:// or https://");
  }
  while (!c.llm_base_url.empty() && c.llm_base_url.back() == '/') c.llm_base_url.pop_back();
  if (auto key = r.Raw("LLM_API_KEY")) {
    if (LooksLikePlaceholder(*key)) {
      r.Fail("LLM_API_KEY", "is a placeholder; set the provider's real key or leave it unset");
    } else {
      c.llm_api_key = *key;
    }
  }
  r.String("LLM_MODEL", c.llm_model);
  r.String("TITLE_MODEL", c.title_model);
  r.Bool("LLM_DEMO", c.llm_demo);
  r.Integer("LLM_TIMEOUT_S", c.llm_timeout_s, 1, 3600);
  r.Integer("LLM_CONNECT_TIMEOUT_S", c.llm_connect_timeout_s, 1, 600);
  r.Integer("LLM_IDLE_TIMEOUT_S", c.llm_idle_timeout_s, 1, 3600);
  r.Integer("LLM_MAX_RETRIES", c.llm_max_retries, 0, 10);
  r.String("OPENROUTER_REFERER", c.openrouter_referer);
  r.String("OPENROUTER_TITLE", c.openrouter_title);

  r.Integer("MAX_MESSAGE_CHARS", c.max_message_chars, 1, 100000);
  r.Integer("MAX_CONTEXT_TOKENS", c.max_context_tokens, 256, 2000000);
  r.Integer("MAX_RESPONSE_TOKENS", c.max_response_tokens, 16, 200000);
  if (c.max_response_tokens >= c.max_context_tokens) {
    r.Fail("MAX_RESPONSE_TOKENS", "must be smaller than MAX_CONTEXT_TOKENS");
  }
  r.Integer("LLM_RATE_PER_MIN", c.llm_rate_per_min, 1, 100000);
  r.Integer("DAILY_TOKEN_QUOTA", c.daily_token_quota, 0, 1000000000000LL);
  r.Integer("GUEST_DAILY_TOKEN_QUOTA", c.guest_daily_token_quota, 0, 1000000000000LL);
  r.Integer("MAX_INFLIGHT_PER_USER", c.max_inflight_per_user, 1, 1000);
  r.Integer("MAX_INFLIGHT_TOTAL", c.max_inflight_total, 1, 100000);
  r.Integer("RETRIEVAL_TOP_K", c.retrieval_top_k, 0, 50);
  r.Integer("WS_MAX_PER_USER", c.ws_max_per_user, 1, 1000);
  r.Integer("AUTH_RATE_PER_MIN", c.auth_rate_per_min, 1, 10000000);
  if (auto origins = r.Raw("CORS_ALLOWED_ORIGINS")) {
    std::string_view rest = *origins;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view one = Trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (one.empty()) continue;
      if (!IsOrigin(one)) {
        r.Fail("CORS_ALLOWED_ORIGINS",
               "each entry must be an origin like https://chat.example.com (got '" +
                   std::string(one) + "')");
        break;
      }
      c.cors_allowed_origins.emplace_back(one);
    }
  }

  r.String("PUSH_LISTEN", c.push_listen);
  r.Enum("LOG_FORMAT", c.log_format, {{"json", LogFormat::kJson}, {"text", LogFormat::kText}});
  if (auto level = r.Raw("LOG_LEVEL")) {
    if (*level == "debug" || *level == "info" || *level == "warn" || *level == "error") {
      c.log_level = *level;
    } else {
      r.Fail("LOG_LEVEL", "must be one of debug|info|warn|error");
    }
  }
  r.String("MIGRATIONS_DIR", c.migrations_dir);
  if (auto t = r.Raw("CHATD_TEST_ROUTES")) c.enable_test_routes = *t == "1";

  auto errors = r.take_errors();
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) {
      if (!all.empty()) all += '\n';
      all += "config: " + e.field + ": " + e.message;
    }
    Status s(ErrorCode::kValidation, all);
    for (auto& e : errors) s.AddFieldError(std::move(e.field), std::move(e.message));
    return s;
  }
  return c;
}

}  // namespace chatd
