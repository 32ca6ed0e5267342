// The Anthropic Messages wire format.
//
// Request: POST {base_url}/messages with {model, max_tokens, system?, messages, stream,
// temperature?}; headers "x-api-key: <key>" (when set) and "anthropic-version: 2023-06-01".
// The Messages API is stricter than chat completions, so the request is normalised: kSystem
// entries join the system text, empty turns are dropped, consecutive turns of one role are merged
// (blank line between), a leading assistant turn is dropped (the first must be the user's), and
// temperature is clamped to Anthropic's 0..1.
//
// Stream (named events; the data's "type" repeats the name):
//   message_start        message.usage.input_tokens (+ cache tokens) -> usage.prompt_tokens
//   content_block_delta  delta.type "text_delta": delta.text is the next text (others skipped)
//   message_delta        delta.stop_reason -> finish_reason; usage.output_tokens (cumulative)
//   message_stop         the end
//   error                error.type: rate_limit_error -> kRateLimited; overloaded_error,
//                        api_error and unknown types -> kServerError; request/auth errors ->
//                        kClientError
//   ping, content_block_start/stop and unknown events are ignored, as Anthropic asks.
//
// Stateless; one instance serves every thread.

#pragma once

#include "llm/wire_format.h"

namespace chatd::llm {

class AnthropicWire final : public WireFormat {
 public:
  static constexpr std::string_view kApiVersion = "2023-06-01";

  std::string_view name() const override { return "anthropic"; }
  HttpPost BuildRequest(const ChatRequest& request, const ProviderOptions& options) const override;
  void OnEvent(const SseEvent& event, DecodeState& state) const override;
  void OnJsonBody(std::string_view body, DecodeState& state) const override;
  std::string DescribeErrorBody(std::string_view body) const override;
};

}  // namespace chatd::llm
