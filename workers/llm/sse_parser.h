// An incremental Server-Sent-Events parser (the WHATWG "event stream" format): bytes in, events
// out, whatever the size and boundaries of the reads.
//
// LLM providers stream their replies as SSE over a long HTTP response, and TCP hands those bytes
// over in arbitrary pieces: a line, a UTF-8 sequence or a CRLF pair may be split across two reads.
// The parser keeps only the unfinished line and the event being assembled, accepts LF, CRLF and CR
// line ends, skips a byte-order mark at the very start, ignores comment lines (":" — OpenRouter's
// keep-alives), joins multi-line `data:` with "\n", and remembers `event:` names and `id:`.
// It knows nothing of JSON or of `[DONE]`: those belong to the adapters, which see `[DONE]` as an
// event whose data is "[DONE]".
//
// Memory is bounded: a line longer than Limits::max_line_bytes or an event whose data grows past
// Limits::max_event_bytes stops the parser for good (Feed returns kTooLarge), so a broken or
// hostile upstream cannot make a worker buffer without end.
//
// Finish() is for the end of the stream. The standard discards an event left without its closing
// blank line; this parser dispatches it when all of its lines were complete, because some servers
// end their stream on "data: [DONE]\n" alone. An unterminated last line is always discarded.
//
// A parser belongs to one stream and one thread at a time.

#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace chatd::llm {

struct SseEvent {
  std::string event = "message";  // the `event:` field, or "message" when absent
  std::string data;               // the `data:` lines joined with "\n"
  std::string id;                 // the last `id:` seen on the stream (it persists across events)
};

class SseParser {
 public:
  struct Limits {
    size_t max_line_bytes = 1 << 20;   // one line, terminator excluded
    size_t max_event_bytes = 4 << 20;  // the data of one event
  };

  enum class FeedResult {
    kOk,        // every complete event was handed over; ready for more bytes
    kStopped,   // the callback returned false; the remaining bytes of this call were not parsed
    kTooLarge,  // a limit was exceeded; the parser refuses all further input
  };

  // Called for each complete event; return false to stop parsing (Feed returns kStopped; a later
  // Feed continues after the event that stopped it, with the rest of that call's bytes lost).
  using EventCallback = std::function<bool(const SseEvent&)>;

  SseParser() : SseParser(Limits{}) {}
  explicit SseParser(Limits limits) : limits_(limits) {}

  FeedResult Feed(std::string_view bytes, const EventCallback& on_event);
  // The end of the stream: dispatches a pending event whose lines were all complete (see above).
  FeedResult Finish(const EventCallback& on_event);

  // True when an event has begun (a field line was read) but not yet been dispatched.
  bool has_pending_event() const { return pending_ || !line_.empty(); }
  size_t comments_seen() const { return comments_; }
  bool failed() const { return failed_; }

 private:
  // Handles one complete line; false when the callback asked to stop.
  FeedResult FeedLines(std::string_view bytes, const EventCallback& on_event);
  bool ProcessLine(std::string_view line, const EventCallback& on_event, bool* too_large);
  bool Dispatch(const EventCallback& on_event);

  Limits limits_;
  std::string line_;  // the unfinished line carried over from the previous Feed
  SseEvent event_;    // the event being assembled (data_ holds its data lines)
  std::string data_;  // data lines, each followed by "\n"
  bool pending_ = false;
  bool last_was_cr_ = false;  // the previous byte was a CR: a LF right after it ends nothing
  bool bom_done_ = false;     // the stream's start has been checked for a UTF-8 BOM
  std::string bom_prefix_;    // the stream's first bytes while they might still be a BOM
  bool failed_ = false;
  size_t comments_ = 0;
};

}  // namespace chatd::llm
