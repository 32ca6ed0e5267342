// The attempt loop shared by every adapter. See http_provider.h.

#include "llm/http_provider.h"

#include <algorithm>
#include <random>
#include <thread>
#include <utility>

#include "core/log.h"

namespace chatd::llm {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxErrorBodyBytes = 16 * 1024;  // enough for any provider's error object

// Receives one attempt's response: routes it by status and content type, feeds SSE through the
// parser into the wire format, and delivers text to the caller.
class AttemptHandler final : public ResponseHandler {
 public:
  AttemptHandler(const WireFormat& wire, const ProviderOptions& options,
                 const DeltaCallback& on_delta, std::string& text)
      : wire_(wire), options_(options), on_delta_(on_delta), text_(text) {}

  void OnHeaders(int http_status, std::string_view content_type) override {
    status_ = http_status;
    if (http_status < 200 || http_status >= 300) {
      mode_ = Mode::kErrorBody;
    } else if (content_type == "application/json") {
      mode_ = Mode::kJson;  // a non-streaming answer (asked for, or a server that ignores stream)
    } else {
      mode_ = Mode::kSse;  // text/event-stream, or a server that does not say
    }
  }

  bool OnBody(std::string_view bytes) override {
    switch (mode_) {
      case Mode::kErrorBody:
        body_.append(
            bytes.substr(0, kMaxErrorBodyBytes - std::min(kMaxErrorBodyBytes, body_.size())));
        return true;
      case Mode::kJson:
        if (body_.size() + bytes.size() > 2 * options_.max_reply_bytes + 64 * 1024) {
          Fail(ErrorKind::kMalformed, "the JSON response is larger than the reply limit");
          return false;
        }
        body_.append(bytes);
        return true;
      case Mode::kSse:
      case Mode::kNone:
        return FeedSse(bytes);
    }
    return false;
  }

  // After a transfer that completed: the end of the stream, or the JSON body.
  void Finish() {
    if (mode_ == Mode::kSse) {
      if (state_.error == ErrorKind::kNone && !caller_stopped_) {
        if (parser_.Finish([this](const SseEvent& e) { return OnEvent(e); }) ==
            SseParser::FeedResult::kTooLarge) {
          Fail(ErrorKind::kMalformed, "an SSE line or event is over the size limit");
        }
      }
    } else if (mode_ == Mode::kJson) {
      wire_.OnJsonBody(body_, state_);
      if (state_.error == ErrorKind::kNone && !state_.delta.empty()) {
        std::string all = std::move(state_.delta);
        state_.delta.clear();
        Deliver(all);
      }
    }
  }

  int status() const { return status_; }
  bool is_sse() const { return mode_ == Mode::kSse; }
  bool delivered() const { return delivered_; }
  bool caller_stopped() const { return caller_stopped_; }
  const std::string& error_body() const { return body_; }
  DecodeState& state() { return state_; }

 private:
  enum class Mode { kNone, kSse, kJson, kErrorBody };

  bool FeedSse(std::string_view bytes) {
    const SseParser::FeedResult r =
        parser_.Feed(bytes, [this](const SseEvent& e) { return OnEvent(e); });
    if (r == SseParser::FeedResult::kTooLarge) {
      Fail(ErrorKind::kMalformed, "an SSE line or event is over the size limit");
      return false;
    }
    return r == SseParser::FeedResult::kOk;
  }

  bool OnEvent(const SseEvent& event) {
    if (state_.done) return true;  // whatever follows the end marker is ignored
    wire_.OnEvent(event, state_);
    if (!state_.delta.empty()) {
      std::string delta = std::move(state_.delta);
      state_.delta.clear();
      if (!Deliver(delta)) return false;
    }
    return state_.error == ErrorKind::kNone;
  }

  bool Deliver(std::string_view delta) {
    if (text_.size() + delta.size() > options_.max_reply_bytes) {
      Fail(ErrorKind::kMalformed, "the reply is larger than max_reply_bytes");
      return false;
    }
    text_.append(delta);
    delivered_ = true;
    if (on_delta_ && !on_delta_(delta)) {
      caller_stopped_ = true;
      return false;
    }
    return true;
  }

  void Fail(ErrorKind kind, std::string detail) {
    if (state_.error != ErrorKind::kNone) return;
    state_.error = kind;
    state_.error_detail = std::move(detail);
  }

  const WireFormat& wire_;
  const ProviderOptions& options_;
  const DeltaCallback& on_delta_;
  std::string& text_;
  Mode mode_ = Mode::kNone;
  int status_ = 0;
  SseParser parser_;
  DecodeState state_;
  std::string body_;
  bool delivered_ = false;
  bool caller_stopped_ = false;
};

struct AttemptError {
  ErrorKind kind = ErrorKind::kNone;
  std::string detail;
};

AttemptError ClassifyAttempt(const TransferOutcome& t, AttemptHandler& h, const WireFormat& wire) {
  if (h.caller_stopped()) return {ErrorKind::kAborted, "the callback stopped the reply"};
  switch (t.error) {
    case TransferError::kAborted:
      return {ErrorKind::kAborted, t.detail};
    case TransferError::kDeadline:
    case TransferError::kIdle:
      return {ErrorKind::kTimeout, t.detail};
    case TransferError::kConnect:
    case TransferError::kOther:
      return {ErrorKind::kConnect, t.detail};
    case TransferError::kConnectionLost:
      return {ErrorKind::kConnectionLost, t.detail};
    case TransferError::kStoppedByHandler:
      return {h.state().error == ErrorKind::kNone ? ErrorKind::kMalformed : h.state().error,
              h.state().error_detail};
    case TransferError::kNone:
      break;
  }
  const int status = t.http_status;
  if (status < 200 || status >= 300) {
    std::string detail = "HTTP " + std::to_string(status);
    if (std::string said = wire.DescribeErrorBody(h.error_body()); !said.empty()) {
      detail += ": " + said;
    }
    if (status == 429) return {ErrorKind::kRateLimited, std::move(detail)};
    if (status >= 500) return {ErrorKind::kServerError, std::move(detail)};
    return {ErrorKind::kClientError, std::move(detail)};
  }
  h.Finish();
  if (h.caller_stopped()) return {ErrorKind::kAborted, "the callback stopped the reply"};
  if (h.state().error != ErrorKind::kNone) return {h.state().error, h.state().error_detail};
  if (h.is_sse() && !h.state().done && h.state().finish_reason.empty()) {
    return {ErrorKind::kConnectionLost, "the stream ended before its end marker"};
  }
  return {};
}

bool IsRetryable(ErrorKind kind) {
  return kind == ErrorKind::kConnect || kind == ErrorKind::kRateLimited ||
         kind == ErrorKind::kServerError || kind == ErrorKind::kConnectionLost;
}

milliseconds Backoff(const ProviderOptions& options, int failed_attempts) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t ceiling = options.backoff_base.count();
  for (int i = 1; i < failed_attempts && ceiling < options.backoff_max.count(); ++i) ceiling *= 2;
  ceiling = std::max<int64_t>(1, std::min(ceiling, options.backoff_max.count()));
  std::uniform_int_distribution<int64_t> pick(ceiling / 2, ceiling);
  return milliseconds(pick(rng));
}

}  // namespace

HttpProvider::HttpProvider(std::unique_ptr<WireFormat> wire, ProviderOptions options)
    : wire_(std::move(wire)), options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
}

ChatResult HttpProvider::Complete(const ChatRequest& request, const DeltaCallback& on_delta,
                                  AbortSignal* abort) const {
  ChatResult result;
  const Clock::time_point deadline = Clock::now() + options_.total_timeout;
  const HttpPost post = wire_->BuildRequest(request, options_);
  TransferLimits limits;
  limits.connect_timeout = options_.connect_timeout;
  limits.idle_timeout = options_.idle_timeout;
  limits.deadline = deadline;

  for (int attempt = 1;; ++attempt) {
    result.attempts = attempt;
    AttemptHandler handler(*wire_, options_, on_delta, result.text);
    const TransferOutcome transfer = Post(post, limits, handler, abort);
    AttemptError err = ClassifyAttempt(transfer, handler, *wire_);
    const DecodeState& state = handler.state();
    result.http_status = transfer.http_status;
    result.retry_after_s = transfer.http_status == 429 ? transfer.retry_after_s : std::nullopt;
    result.usage = state.usage;
    result.finish_reason = state.finish_reason;
    result.model = state.model;
    result.error = err.kind;
    result.error_detail = std::move(err.detail);
    if (!result.ok() && abort != nullptr && abort->aborted()) {
      // A stop that raced with a failure: the caller asked to stop, so that is the outcome.
      result.error = ErrorKind::kAborted;
      result.error_detail = "aborted by the caller";
    }
    if (result.ok() || result.error == ErrorKind::kAborted) return result;

    bool retry = IsRetryable(result.error) && !handler.delivered() && result.text.empty() &&
                 attempt <= options_.max_retries;
    milliseconds wait{0};
    if (retry) {
      wait = Backoff(options_, attempt);
      if (result.retry_after_s) {
        const milliseconds asked = milliseconds(int64_t{*result.retry_after_s} * 1000);
        if (asked > options_.retry_after_cap) retry = false;  // it asked for longer than we wait
        wait = std::max(wait, asked);
      }
      if (Clock::now() + wait >= deadline) retry = false;
    }
    LogWarn("llm attempt failed")
        .Str("provider", wire_->name())
        .Int("attempt", attempt)
        .Str("error", ErrorKindName(result.error))
        .Int("http_status", result.http_status)
        .Str("detail", result.error_detail)
        .Int("delivered_bytes", static_cast<int64_t>(result.text.size()))
        .Bool("will_retry", retry)
        .Int("retry_in_ms", retry ? wait.count() : 0);
    if (!retry) return result;
    if (abort != nullptr) {
      if (abort->WaitFor(wait)) {
        result.error = ErrorKind::kAborted;
        result.error_detail = "aborted while waiting to retry";
        return result;
      }
    } else {
      std::this_thread::sleep_for(wait);
    }
  }
}

}  // namespace chatd::llm
