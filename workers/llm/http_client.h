// One streaming HTTP POST over libcurl, for the LLM adapters. libcurl stays inside http_client.cc.
//
// Post() sends a request and hands the response to a ResponseHandler as it arrives, then says how
// the transfer ended. It owns the policy that PITFALLS.md asks for:
//   - the curl handles are per thread (thread_local, RAII) and reused, so connections and TLS
//     sessions to the provider stay warm; they are created lazily, so after fork() in a worker;
//   - CURLOPT_NOSIGNAL, a connect timeout, and stall detection instead of CURLOPT_TIMEOUT, which
//     would cut long streams: no byte for idle_timeout ends the transfer (checked exactly by the
//     loop and callbacks; CURLOPT_LOW_SPEED_LIMIT/TIME as a backstop, since curl averages speed
//     over ~5 s and so fires late);
//   - the total deadline and the AbortSignal are checked in the transfer-info and write callbacks,
//     and the wait for the network is a curl_multi_poll that Abort() wakes (curl_multi_wakeup), so
//     a stop closes the connection at once rather than at the next byte;
//   - no "Expect: 100-continue" (it would delay every request with a body > 1 KiB), no redirects,
//     only http and https.
// Post() makes one attempt; retrying is the caller's decision (http_provider.cc).
//
// Threads: Post() may be called from any number of threads at once; each uses its own handles.
// Callbacks run on the calling thread.

#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/provider.h"

namespace chatd::llm {

struct HttpPost {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
};

struct TransferLimits {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds idle_timeout{30000};  // no byte for this long ends the transfer
  std::chrono::steady_clock::time_point deadline;
};

class ResponseHandler {
 public:
  virtual ~ResponseHandler() = default;
  // Once per response, when its headers are complete and before any body byte. `content_type` is
  // lowercased and without parameters ("text/event-stream").
  virtual void OnHeaders(int http_status, std::string_view content_type) = 0;
  // Body bytes as they arrive (chunked framing already removed). Return false to stop the
  // transfer: the connection is closed and Post() returns kStoppedByHandler.
  virtual bool OnBody(std::string_view bytes) = 0;
};

enum class TransferError {
  kNone,              // the response arrived complete (whatever its HTTP status)
  kConnect,           // resolve, connect, TLS handshake, or the connect timeout
  kDeadline,          // the total deadline passed
  kIdle,              // the stall detector fired (no byte for idle_timeout)
  kConnectionLost,    // the connection broke or closed before the response was complete
  kAborted,           // the AbortSignal fired
  kStoppedByHandler,  // OnBody returned false
  kOther,             // anything else (bad URL, out of memory, ...)
};

struct TransferOutcome {
  TransferError error = TransferError::kNone;
  int http_status = 0;  // 0: no response headers arrived
  // Retry-After as seconds (delta-seconds or an HTTP date, counted from now; >= 0).
  std::optional<int> retry_after_s;
  std::string detail;  // curl's explanation when error != kNone; for logs
};

// `abort` may be null. Never throws; exceptions from the handler are not allowed.
TransferOutcome Post(const HttpPost& request, const TransferLimits& limits,
                     ResponseHandler& handler, AbortSignal* abort);

}  // namespace chatd::llm
