// The SSE parser. See sse_parser.h; the field rules follow the WHATWG HTML standard, section
// "Interpreting an event stream".

#include "llm/sse_parser.h"

#include <algorithm>
#include <utility>

namespace chatd::llm {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

SseParser::FeedResult SseParser::Feed(std::string_view bytes, const EventCallback& on_event) {
  if (failed_) return FeedResult::kTooLarge;
  if (bom_done_) return FeedLines(bytes, on_event);

  // The stream's first bytes: hold them until they are known to be, or not to be, a BOM. This
  // copies at most the first read once.
  bom_prefix_.append(bytes);
  const size_t n = std::min(bom_prefix_.size(), kBom.size());
  if (bom_prefix_.size() < kBom.size() && bom_prefix_.compare(0, n, kBom.substr(0, n)) == 0) {
    return FeedResult::kOk;  // still undecided
  }
  bom_done_ = true;
  std::string held = std::move(bom_prefix_);
  bom_prefix_.clear();
  std::string_view rest = held;
  if (rest.starts_with(kBom)) rest.remove_prefix(kBom.size());
  return FeedLines(rest, on_event);
}

SseParser::FeedResult SseParser::FeedLines(std::string_view bytes, const EventCallback& on_event) {
  size_t i = 0;
  const size_t n = bytes.size();
  if (n == 0) return FeedResult::kOk;
  // A CRLF split between two reads: the CR ended the line already.
  if (last_was_cr_ && bytes[0] == '\n') i = 1;
  last_was_cr_ = false;

  while (i < n) {
    const size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      if (line_.size() + (n - i) > limits_.max_line_bytes) {
        failed_ = true;
        return FeedResult::kTooLarge;
      }
      line_.append(bytes.substr(i));
      break;
    }
    std::string_view line = bytes.substr(i, end - i);
    if (!line_.empty()) {  // the line began in an earlier read
      line_.append(line);
      line = line_;
    }
    if (line.size() > limits_.max_line_bytes) {
      failed_ = true;
      return FeedResult::kTooLarge;
    }
    size_t next = end + 1;
    if (bytes[end] == '\r') {
      if (next < n) {
        if (bytes[next] == '\n') ++next;
      } else {
        last_was_cr_ = true;
      }
    }
    bool too_large = false;
    const bool go_on = ProcessLine(line, on_event, &too_large);
    line_.clear();
    i = next;
    if (too_large) {
      failed_ = true;
      return FeedResult::kTooLarge;
    }
    if (!go_on) return FeedResult::kStopped;
  }
  return FeedResult::kOk;
}

bool SseParser::ProcessLine(std::string_view line, const EventCallback& on_event, bool* too_large) {
  if (line.empty()) return Dispatch(on_event);
  if (line[0] == ':') {
    ++comments_;
    return true;
  }
  std::string_view field = line;
  std::string_view value;
  if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > limits_.max_event_bytes) {
      *too_large = true;
      return false;
    }
    data_.append(value);
    data_.push_back('\n');
    pending_ = true;
  } else if (field == "event") {
    event_.event.assign(value);
    pending_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) event_.id.assign(value);
    pending_ = true;
  }
  // "retry" and unknown fields are ignored, as the standard says.
  return true;
}

bool SseParser::Dispatch(const EventCallback& on_event) {
  pending_ = false;
  if (data_.empty()) {  // an event without data is not dispatched; its name is forgotten
    event_.event = "message";
    return true;
  }
  data_.pop_back();  // the "\n" after the last data line
  std::swap(event_.data, data_);
  if (event_.event.empty()) event_.event = "message";
  const bool go_on = on_event(event_);
  data_.clear();
  event_.data.clear();
  event_.event = "message";
  return go_on;
}

SseParser::FeedResult SseParser::Finish(const EventCallback& on_event) {
  if (failed_) return FeedResult::kTooLarge;
  if (!bom_done_) {
    // A stream shorter than a BOM: whatever it held was not one.
    bom_done_ = true;
    std::string held = std::move(bom_prefix_);
    bom_prefix_.clear();
    if (FeedResult r = FeedLines(held, on_event); r != FeedResult::kOk) return r;
  }
  line_.clear();  // an unterminated last line may be cut anywhere: never trust it
  if (pending_ && !Dispatch(on_event)) return FeedResult::kStopped;
  return FeedResult::kOk;
}

}  // namespace chatd::llm
