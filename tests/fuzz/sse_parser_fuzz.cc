// Fuzz target: llm::SseParser (workers/llm/sse_parser), which reads every byte an LLM provider
// streams back.
//
// TCP splits a stream anywhere, so the parser must not care where: the input is parsed three
// times — whole, one byte at a time, and in pieces whose sizes the input's first bytes choose —
// and the three must give the same events and the same outcome (ok, or too large). Small limits
// (chosen by the input too) make the size checks reachable. Properties besides: an event's data
// never exceeds max_event_bytes, its name and id hold no line break, and a parser that said
// kTooLarge refuses everything after.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "llm/sse_parser.h"

namespace {

using chatd::llm::SseEvent;
using chatd::llm::SseParser;

struct Outcome {
  std::vector<SseEvent> events;
  SseParser::FeedResult result = SseParser::FeedResult::kOk;
};

bool Same(const Outcome& a, const Outcome& b) {
  if (a.result != b.result || a.events.size() != b.events.size()) return false;
  for (size_t i = 0; i < a.events.size(); ++i) {
    const SseEvent& x = a.events[i];
    const SseEvent& y = b.events[i];
    if (x.event != y.event || x.data != y.data || x.id != y.id) return false;
  }
  return true;
}

// Feeds `stream` in pieces of the given sizes (cycled; 0 means the rest), then finishes it.
Outcome Run(std::string_view stream, const std::vector<size_t>& sizes, SseParser::Limits limits) {
  SseParser parser(limits);
  Outcome out;
  auto keep = [&](const SseEvent& e) {
    FUZZ_CHECK(e.data.size() <= limits.max_event_bytes);
    FUZZ_CHECK(e.event.find_first_of("\r\n") == std::string::npos);
    FUZZ_CHECK(e.id.find_first_of("\r\n") == std::string::npos);
    FUZZ_CHECK(!e.event.empty());
    out.events.push_back(e);
    return true;
  };
  size_t k = 0;
  while (!stream.empty()) {
    size_t n = sizes.empty() ? stream.size() : sizes[k++ % sizes.size()];
    if (n == 0 || n > stream.size()) n = stream.size();
    out.result = parser.Feed(stream.substr(0, n), keep);
    stream.remove_prefix(n);
    if (out.result == SseParser::FeedResult::kTooLarge) {
      FUZZ_CHECK(parser.failed());
      FUZZ_CHECK(parser.Feed("data: x\n\n", keep) == SseParser::FeedResult::kTooLarge);
      return out;
    }
    FUZZ_CHECK(out.result == SseParser::FeedResult::kOk);
  }
  out.result = parser.Finish(keep);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  SseParser::Limits limits;
  // Half the inputs run with tiny limits so that both limits are exercised.
  if (data[0] & 1) {
    limits.max_line_bytes = 1 + data[1] % 64;
    limits.max_event_bytes = 1 + data[2] % 128;
  }
  std::vector<size_t> sizes;
  for (size_t i = 0; i < 4; ++i)
    sizes.push_back(1 + ((data[0] >> (2 * i)) & 3) * (1 + data[1] % 7));
  const std::string_view stream(reinterpret_cast<const char*>(data) + 3, size - 3);

  const Outcome whole = Run(stream, {}, limits);
  const Outcome bytes = Run(stream, {1}, limits);
  const Outcome pieces = Run(stream, sizes, limits);
  FUZZ_CHECK(Same(whole, bytes));
  FUZZ_CHECK(Same(whole, pieces));
  return 0;
}
