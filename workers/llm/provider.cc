// The provider interface's small parts: names, the error -> Status mapping, the AbortSignal, and
// the factory. See provider.h.

#include "llm/provider.h"

#include "llm/anthropic.h"
#include "llm/http_provider.h"
#include "llm/openai.h"

namespace chatd::llm {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kSystem:
      return "system";
    case Role::kUser:
      return "user";
    case Role::kAssistant:
      return "assistant";
  }
  return "user";
}

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone:
      return "none";
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kRateLimited:
      return "rate_limited";
    case ErrorKind::kServerError:
      return "server_error";
    case ErrorKind::kClientError:
      return "client_error";
    case ErrorKind::kConnectionLost:
      return "connection_lost";
    case ErrorKind::kMalformed:
      return "malformed";
    case ErrorKind::kAborted:
      return "aborted";
  }
  return "unknown";
}

Status ChatResult::ToStatus() const {
  // Fixed sentences only: error_detail (and anything the upstream said) stays in the logs.
  switch (error) {
    case ErrorKind::kNone:
      return Status::Ok();
    case ErrorKind::kTimeout:
      return Status(ErrorCode::kLlmTimeout,
                    "The assistant took too long to answer. Please try again.");
    case ErrorKind::kRateLimited: {
      Status s(ErrorCode::kLlmUnavailable,
               "The assistant is busy right now. Please try again shortly.");
      if (retry_after_s) s.WithRetryAfter(*retry_after_s);
      return s;
    }
    case ErrorKind::kAborted:
      return Status(ErrorCode::kLlmUnavailable, "The reply was stopped before it was complete.");
    case ErrorKind::kConnect:
    case ErrorKind::kServerError:
    case ErrorKind::kClientError:
    case ErrorKind::kConnectionLost:
    case ErrorKind::kMalformed:
      break;
  }
  return Status(ErrorCode::kLlmUnavailable,
                "The assistant is unavailable right now. Please try again.");
}

void AbortSignal::Abort() {
  std::lock_guard lock(mu_);
  aborted_.store(true, std::memory_order_release);
  if (wake_) wake_();
  cv_.notify_all();
}

bool AbortSignal::WaitFor(std::chrono::milliseconds duration) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, duration, [this] { return aborted(); });
}

AbortSignal::WakeScope::WakeScope(AbortSignal* signal, std::function<void()> wake)
    : signal_(signal) {
  std::lock_guard lock(signal_->mu_);
  signal_->wake_ = std::move(wake);
}

AbortSignal::WakeScope::~WakeScope() {
  std::lock_guard lock(signal_->mu_);
  signal_->wake_ = nullptr;
}

ProviderOptions ProviderOptionsFromConfig(const Config& config) {
  ProviderOptions o;
  o.base_url = config.llm_base_url;
  o.api_key = config.llm_api_key;
  o.model = config.llm_model;
  o.connect_timeout = std::chrono::seconds(config.llm_connect_timeout_s);
  o.idle_timeout = std::chrono::seconds(config.llm_idle_timeout_s);
  o.total_timeout = std::chrono::seconds(config.llm_timeout_s);
  o.max_retries = config.llm_max_retries;
  o.openrouter_referer = config.openrouter_referer;
  o.openrouter_title = config.openrouter_title;
  return o;
}

std::unique_ptr<Provider> MakeProvider(LlmProvider kind, ProviderOptions options) {
  std::unique_ptr<WireFormat> wire;
  if (kind == LlmProvider::kAnthropic) {
    wire = std::make_unique<AnthropicWire>();
  } else {
    wire = std::make_unique<OpenAiWire>();
  }
  return std::make_unique<HttpProvider>(std::move(wire), std::move(options));
}

Result<std::unique_ptr<Provider>> MakeProvider(const Config& config) {
  if (!config.llm_configured()) {
    return Status(ErrorCode::kLlmUnavailable, "No language model is configured.");
  }
  return MakeProvider(config.llm_provider, ProviderOptionsFromConfig(config));
}

}  // namespace chatd::llm
