// The one interface through which chatd asks a language model for a reply.
//
// A Provider turns a ChatRequest (model, system text, user/assistant turns, limits) into a reply,
// streaming each piece of text to a callback as the upstream produces it, and returns a ChatResult:
// the full text, the usage the upstream reported, why it stopped — or what went wrong, classified
// (ErrorKind) so callers can decide what to store and answer. Two adapters implement it over
// libcurl: OpenAI-compatible chat completions (openai.h: OpenAI, OpenRouter, vLLM, Ollama,
// llama.cpp's server) and Anthropic Messages (anthropic.h). MakeProvider() picks one from Config.
//
// Errors carry two texts: ChatResult::error_detail is for the logs (curl's message, the upstream's
// HTTP status and its own error text), while ChatResult::ToStatus() is what a client may see — a
// fixed, end-user safe sentence with the API's code (502 LLM_UNAVAILABLE, 504 LLM_TIMEOUT). The
// upstream's words never reach a client.
//
// Resilience lives inside Complete(): a total deadline, connect and idle-read timeouts, and retries
// with jittered exponential backoff on connection failures, 429 (honouring Retry-After, capped) and
// 5xx — but only while nothing has been delivered to the callback, so a client never sees text
// twice. An AbortSignal stops a call from any thread at once: the upstream connection is closed
// (the provider stops generating, and billing), and the call returns ErrorKind::kAborted with the
// text received so far.
//
// Threads: a Provider is immutable after construction and Complete() may run on many threads at
// once; each thread keeps its own curl handles (so connections and TLS sessions stay warm per
// thread) and a call runs entirely on the calling thread, callbacks included. curl_global_init()
// belongs in main() before threads and forks (chatd-workers calls it in the master); the transport
// also runs it once per process itself, for programs and tests that do not.

#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace chatd::llm {

enum class Role { kSystem, kUser, kAssistant };
std::string_view RoleName(Role role);  // "system", "user", "assistant"

struct ChatMessage {
  Role role = Role::kUser;
  std::string content;
};

struct ChatRequest {
  std::string model;   // empty: the provider's default (LLM_MODEL)
  std::string system;  // the system text (system context + knowledge); empty: none
  // The conversation, oldest first: user and assistant turns. A kSystem entry is folded into the
  // system text by adapters whose wire format has no system role in the list (Anthropic).
  std::vector<ChatMessage> messages;
  int max_tokens = 1024;
  std::optional<double> temperature;  // nullopt: the upstream's default
  // true: ask for SSE and deliver text as it comes. false: one JSON answer, delivered to the
  // callback in one piece when complete.
  bool stream = true;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool reported = false;  // false: the upstream said nothing (callers may estimate instead)
};

enum class ErrorKind {
  kNone,
  kConnect,         // could not resolve, connect or handshake (retried)         -> 502
  kTimeout,         // the total deadline passed, or the stream stalled          -> 504
  kRateLimited,     // the upstream answered 429 (retried, after Retry-After)    -> 502
  kServerError,     // the upstream answered 5xx, or sent an error in the stream -> 502
  kClientError,     // the upstream answered another 4xx (key, model, request)   -> 502
  kConnectionLost,  // the connection ended before the reply did (retried)       -> 502
  kMalformed,       // the stream or body could not be understood                -> 502
  kAborted,         // stopped by the caller (callback or AbortSignal)
};
std::string_view ErrorKindName(ErrorKind kind);  // "connect", "timeout", ... for logs

struct ChatResult {
  std::string text;  // everything delivered to the callback (the partial text after an error)
  Usage usage;
  std::string finish_reason;  // as the provider names it: "stop", "length", "end_turn", ...
  std::string model;          // as the provider reported it; may be empty
  ErrorKind error = ErrorKind::kNone;
  std::string error_detail;          // INTERNAL, for logs only: never put it in a response
  int http_status = 0;               // of the last attempt; 0 when no response arrived
  std::optional<int> retry_after_s;  // from the upstream's last 429, when it said
  int attempts = 0;

  bool ok() const { return error == ErrorKind::kNone; }
  // What a client may see: OK when ok(); 504 LLM_TIMEOUT for kTimeout; 502 LLM_UNAVAILABLE with a
  // fixed sentence otherwise (with Retry-After after an upstream 429 that gave one). kAborted also
  // maps to 502 LLM_UNAVAILABLE, but callers normally store an aborted reply as `interrupted`
  // instead of answering with an error.
  Status ToStatus() const;
};

// Receives each new piece of text, in order. Return false to abort the call (ErrorKind::kAborted).
// Runs on the thread that called Complete(), between network reads: keep it short.
using DeltaCallback = std::function<bool(std::string_view delta)>;

// A stop button for one call. Abort() may be called from any thread, any number of times; the
// call it is passed to notices at once (it is woken even while waiting on the network or sleeping
// before a retry). An AbortSignal must outlive the calls it is passed to; it is never reset.
class AbortSignal {
 public:
  AbortSignal() = default;
  AbortSignal(const AbortSignal&) = delete;
  AbortSignal& operator=(const AbortSignal&) = delete;

  void Abort();
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }

  // Sleeps for `duration` or until Abort(); true when aborted.
  bool WaitFor(std::chrono::milliseconds duration);

  // For transports: while a WakeScope lives, Abort() also runs `wake` (from the aborting thread,
  // under this signal's lock; it must not block). At most one scope at a time per signal.
  class WakeScope {
   public:
    WakeScope(AbortSignal* signal, std::function<void()> wake);
    ~WakeScope();
    WakeScope(const WakeScope&) = delete;
    WakeScope& operator=(const WakeScope&) = delete;

   private:
    AbortSignal* signal_;
  };

 private:
  std::atomic<bool> aborted_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> wake_;
};

// How a provider reaches its upstream. ProviderOptionsFromConfig() fills it from Config; tests
// build it by hand (millisecond timeouts, short backoffs).
struct ProviderOptions {
  std::string base_url;               // e.g. https://api.openai.com/v1; a trailing "/" is ignored
  std::string api_key;                // empty: no credentials sent (local servers)
  std::string model = "gpt-4o-mini";  // used when ChatRequest::model is empty
  std::chrono::milliseconds connect_timeout{10000};  // LLM_CONNECT_TIMEOUT_S
  // No byte for this long (waiting for the first one included) ends the call as kTimeout
  // (LLM_IDLE_TIMEOUT_S).
  std::chrono::milliseconds idle_timeout{30000};
  // The whole call, retries and backoff included (LLM_TIMEOUT_S). A stream still running at the
  // deadline is cut and ends as kTimeout with the text so far.
  std::chrono::milliseconds total_timeout{120000};
  int max_retries = 2;  // LLM_MAX_RETRIES: attempts = 1 + max_retries at most
  std::chrono::milliseconds backoff_base{500};  // first retry after 50..100% of this
  std::chrono::milliseconds backoff_max{8000};
  std::chrono::milliseconds retry_after_cap{
      30000};                        // an upstream's Retry-After is honoured up to this
  std::string openrouter_referer;    // sent as HTTP-Referer when set (OpenAI adapter)
  std::string openrouter_title;      // sent as X-Title when set (OpenAI adapter)
  size_t max_reply_bytes = 2 << 20;  // a longer reply ends as kMalformed
};

class Provider {
 public:
  virtual ~Provider() = default;

  // Blocks until the reply is complete, failed, or aborted. `on_delta` may be empty; `abort` may be
  // null. Never throws.
  virtual ChatResult Complete(const ChatRequest& request, const DeltaCallback& on_delta,
                              AbortSignal* abort) const = 0;

  virtual std::string_view name() const = 0;  // "openai" or "anthropic", for logs
  virtual const ProviderOptions& options() const = 0;
};

ProviderOptions ProviderOptionsFromConfig(const Config& config);

// The provider that Config names. Fails (502 LLM_UNAVAILABLE) when no LLM_BASE_URL is set.
Result<std::unique_ptr<Provider>> MakeProvider(const Config& config);
std::unique_ptr<Provider> MakeProvider(LlmProvider kind, ProviderOptions options);

}  // namespace chatd::llm
