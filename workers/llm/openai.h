// The OpenAI-compatible chat completions wire format: OpenAI itself, OpenRouter, vLLM, Ollama and
// llama.cpp's server, told apart only by the base URL.
//
// Request: POST {base_url}/chat/completions with {model, messages: [{role, content}] (the system
// text first, as a "system" message), max_tokens, temperature?, stream, and when streaming
// stream_options: {include_usage: true}}; "Authorization: Bearer <key>" when a key is set; and
// OpenRouter's attribution headers HTTP-Referer / X-Title when configured.
//
// Stream: `data: {...}` chunks whose choices[0].delta.content is the next text and whose
// choices[0].finish_reason says why it stopped; a last chunk with `usage` {prompt_tokens,
// completion_tokens} (and empty choices) when include_usage was asked; `data: [DONE]` at the end.
// An `{"error": {...}}` chunk is an upstream failure (kRateLimited when its code or type says rate
// limit, kServerError otherwise); data that is not JSON is kMalformed. Reasoning deltas
// (delta.reasoning / reasoning_content) are not part of the reply and are skipped.
//
// Stateless; one instance serves every thread.

#pragma once

#include "llm/wire_format.h"

namespace chatd::llm {

class OpenAiWire final : public WireFormat {
 public:
  std::string_view name() const override { return "openai"; }
  HttpPost BuildRequest(const ChatRequest& request, const ProviderOptions& options) const override;
  void OnEvent(const SseEvent& event, DecodeState& state) const override;
  void OnJsonBody(std::string_view body, DecodeState& state) const override;
  std::string DescribeErrorBody(std::string_view body) const override;
};

}  // namespace chatd::llm
