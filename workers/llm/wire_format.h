// What distinguishes one provider API from another: how a ChatRequest becomes an HTTP request, and
// how the response (an SSE stream, a JSON body, or an error body) becomes text, usage and errors.
//
// A WireFormat holds no per-call state: everything one attempt has decoded lives in a
// DecodeState that the caller (http_provider.cc) owns and passes to every call, so one WireFormat
// serves every thread at once. The transport, retries and callbacks are shared by all formats
// (HttpProvider); adding a provider means writing one WireFormat.

#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "llm/http_client.h"
#include "llm/provider.h"
#include "llm/sse_parser.h"

namespace chatd::llm {

// What one attempt has decoded so far.
struct DecodeState {
  std::string delta;  // new text from the last event; the caller delivers it and clears it
  Usage usage;
  std::string finish_reason;
  std::string model;
  bool done = false;  // the stream's explicit end was seen ([DONE], message_stop)
  // An error decoded from the stream or body (an error object, malformed JSON). Once set, the
  // caller stops the transfer.
  ErrorKind error = ErrorKind::kNone;
  std::string error_detail;  // internal, for logs
};

class WireFormat {
 public:
  virtual ~WireFormat() = default;

  virtual std::string_view name() const = 0;

  // The HTTP request for `request` (model defaulted from options, credentials from options).
  virtual HttpPost BuildRequest(const ChatRequest& request,
                                const ProviderOptions& options) const = 0;

  // One SSE event of a successful streaming response.
  virtual void OnEvent(const SseEvent& event, DecodeState& state) const = 0;

  // The whole body of a successful non-streaming (application/json) response.
  virtual void OnJsonBody(std::string_view body, DecodeState& state) const = 0;

  // The upstream's own explanation in a non-2xx body, for the logs ("" when there is none).
  virtual std::string DescribeErrorBody(std::string_view body) const = 0;
};

}  // namespace chatd::llm
