// Shared by the OpenAI and Anthropic stream-decoder fuzz targets: runs a wire format over an
// SSE stream the way HttpProvider does (SseParser -> WireFormat::OnEvent, stopping at the first
// error or at the stream's end), then over the same bytes as a whole JSON body and as an error
// body, and checks what any decoder must guarantee.
//
// Properties: the text a decoder hands on (the deltas) is valid UTF-8, since it comes out of JSON
// strings that were checked; usage counts are only ever what the upstream said (never garbage
// when reported is false); an error leaves a non-empty detail that is safe for a log line (valid
// UTF-8, no control characters, bounded); DescribeErrorBody is a log-safe snippet as well.

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/text.h"
#include "fuzz_check.h"
#include "llm/sse_parser.h"
#include "llm/wire_format.h"

namespace chatd::fuzz {

inline void CheckLogSafe(std::string_view s, size_t max_bytes) {
  FUZZ_CHECK(IsValidUtf8(s));
  for (char c : s) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
  FUZZ_CHECK(s.size() <= max_bytes);
}

inline void CheckState(const llm::DecodeState& state) {
  FUZZ_CHECK(IsValidUtf8(state.finish_reason));
  FUZZ_CHECK(IsValidUtf8(state.model));
  if (!state.usage.reported) {
    FUZZ_CHECK(state.usage.prompt_tokens == 0);
    FUZZ_CHECK(state.usage.completion_tokens == 0);
  }
  if (state.error != llm::ErrorKind::kNone) {
    FUZZ_CHECK(!state.error_detail.empty());
    // Upstream words in a detail are cut by LogSnippet (300 bytes + "..."), plus our own prose.
    CheckLogSafe(state.error_detail, 1024);
  }
}

inline void RunDecoder(const llm::WireFormat& wire, std::string_view input) {
  llm::SseParser::Limits limits;
  limits.max_line_bytes = 64 * 1024;
  limits.max_event_bytes = 64 * 1024;
  llm::SseParser parser(limits);
  llm::DecodeState state;
  std::string reply;
  auto on_event = [&](const llm::SseEvent& event) {
    wire.OnEvent(event, state);
    FUZZ_CHECK(IsValidUtf8(state.delta));
    reply += state.delta;
    state.delta.clear();
    CheckState(state);
    return state.error == llm::ErrorKind::kNone && !state.done;
  };
  if (parser.Feed(input, on_event) == llm::SseParser::FeedResult::kOk) parser.Finish(on_event);
  FUZZ_CHECK(IsValidUtf8(reply));

  llm::DecodeState body;
  wire.OnJsonBody(input, body);
  FUZZ_CHECK(IsValidUtf8(body.delta));
  CheckState(body);
  if (body.error == llm::ErrorKind::kNone) FUZZ_CHECK(body.done);

  CheckLogSafe(wire.DescribeErrorBody(input), 1024);
}

}  // namespace chatd::fuzz
