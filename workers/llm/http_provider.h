// HttpProvider: a Provider made of a WireFormat (what to send, how to read the answer) and the
// shared machinery around it — the curl transport (http_client.h), the SSE parser, the retry loop
// with jittered exponential backoff, the delivery of deltas and the classification of failures.
//
// One call is a sequence of attempts. An attempt that fails with kConnect, kRateLimited (429),
// kServerError (5xx or an error object in the stream) or kConnectionLost is retried, up to
// options.max_retries times, only while nothing has been delivered to the caller's callback and
// the next attempt can start before the deadline. The wait before attempt n+1 is drawn uniformly
// from [b/2, b] with b = min(backoff_max, backoff_base * 2^(n-1)); after a 429 with Retry-After
// it is at least that (capped at retry_after_cap). Every failed attempt is logged at warn level
// with its internal detail (never the API key or the prompt).
//
// Immutable after construction; Complete() is safe from any number of threads.

#pragma once

#include <memory>

#include "llm/provider.h"
#include "llm/wire_format.h"

namespace chatd::llm {

class HttpProvider final : public Provider {
 public:
  HttpProvider(std::unique_ptr<WireFormat> wire, ProviderOptions options);

  ChatResult Complete(const ChatRequest& request, const DeltaCallback& on_delta,
                      AbortSignal* abort) const override;
  std::string_view name() const override { return wire_->name(); }
  const ProviderOptions& options() const override { return options_; }

 private:
  std::unique_ptr<WireFormat> wire_;
  ProviderOptions options_;
};

}  // namespace chatd::llm
