// fake-llm: a deterministic stand-in for an LLM provider, for scripts/run (the "demo model"), the
// tests and the benchmarks. One thread, one Boost.Asio event loop, no thread per connection: it
// holds thousands of slow streams at once on a small machine.
//
// It speaks the real wire formats, byte for byte what the providers send:
//   POST /v1/chat/completions (also /chat/completions)  OpenAI-compatible. "stream": true gets SSE
//        chunks `data: {"choices":[{"delta":{"content":...}}]}`, a finish chunk, a usage chunk
//        when stream_options.include_usage is true, then `data: [DONE]`; otherwise one JSON
//        chat.completion.
//   POST /v1/messages (also /messages)                   Anthropic Messages. "stream": true gets
//        message_start, content_block_start, ping, content_block_delta..., content_block_stop,
//        message_delta (stop_reason, usage.output_tokens), message_stop; otherwise one JSON
//        message.
//   GET  /v1/models                                      {"data":[{"id":"demo"}]}
//
// THE REPLY is a function of the request: the words "You said:", then the first echo_words (50)
// words of the last user message (with any [[fake:...]] marker removed), then every line of the
// system text (OpenAI: the "system" messages; Anthropic: "system") that starts with "KNOWLEDGE:",
// verbatim — so a test can check that retrieval put the right chunk into the request. With
// tokens=N the reply is cut or padded ("lorem ipsum ...") to exactly N words; without it, it is
// cut at the request's max_tokens (finish reason "length"). One word is one streamed token
// (chunks are "word", then " word"). Usage: prompt_tokens = the number of whitespace-separated
// words in the request's messages and system text; completion_tokens = the tokens sent.
//
// CONTROLS: a behaviour is a list "key=value,key=value" of:
//   tokens=N           reply with exactly N tokens (words)
//   interval_ms=M      wait M ms between tokens (the first token goes out with the headers)
//   delay_ms=D         wait D ms before answering at all (headers included)
//   status=S           answer HTTP S (429, 500, 503, 400, 401, ...) with the provider's error JSON
//   retry_after=R      with status: send Retry-After: R
//   hang=1             read the request, never answer (the connection stays open)
//   drop_after=N       send N tokens, then close the connection without ending the response
//   stall_after=N      send N tokens, then send nothing more, keeping the connection open
//   malformed_after=N  after N tokens, send an SSE event whose data is broken JSON, then go on
//   error_after=N      after N tokens, send an error object in the stream and end it
//   fail_first=K       the faults above (status, hang, drop/stall/malformed/error_after) apply to
//                      the first K attempts only; attempts are counted per key (below)
//   key=K              the attempt counter's key; default: a hash of the path and body, so the
//                      retries of one request count together (use a unique key, or POST
//                      /_fake/reset, when one test repeats another's request)
//   usage=0            send no usage
//   echo_words=N       echo at most N words of the user message (default 50)
// Sources, later ones winning: the command line (--tokens 50, --interval-ms=20, ...: every key
// above as a flag, "-" or "_"), POST /_fake/config (a body "k=v,..." that replaces the runtime
// defaults; empty to clear), the request header "X-Fake: k=v,...", and a marker "[[fake:k=v,...]]"
// anywhere in the last user message.
//
// INSPECTION (for tests):
//   GET  /_fake/requests?limit=N&since=ID  the last N (default 50) recorded requests with id > ID,
//        oldest first: {"requests": [{id, api, path, attempt, key, model, stream, status,
//        outcome, client_closed_early, tokens_sent, started_ms, ended_ms, headers: {authorization,
//        x-api-key, anthropic-version, http-referer, x-title, x-fake}, system, last_user,
//        message_count, body}]}. outcome: "in_progress", "complete", "error_status", "dropped",
//        "stalled", "hung", "client_closed". client_closed_early is true when the client closed
//        the connection before the response was complete (a stop, a timeout) — it is set the
//        moment the fake sees the close.
//   POST /_fake/reset                      forgets the recorded requests, the attempt counters
//        and the runtime defaults.
//   GET  /_fake/health                     {"status":"ok","in_flight":N,"connections":N (open now),
//        "accepted":N (since start),"requests":N}
//
// Command line: fake-llm [--host 127.0.0.1] [--port 0] [--max-log 1000] [behaviour flags].
// Port 0 picks a free port. The first line on stdout is "fake-llm listening on
// http://HOST:PORT" (tests read the port from it). SIGINT/SIGTERM stop it.

#include <sys/resource.h>

#include <utility>  // before Boost: 1.74's asio/awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "json/json.h"

namespace fake {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using chatd::json::Document;
using chatd::json::Value;
using chatd::json::Writer;

constexpr size_t kMaxBodyBytes = 64 << 20;

// ---- Behaviour ------------------------------------------------------------------------------

struct Behaviour {
  int tokens = -1;  // -1: the natural length of the reply
  int interval_ms = 0;
  int delay_ms = 0;
  int status = 0;  // 0: success
  int retry_after = -1;
  bool hang = false;
  int drop_after = -1;
  int stall_after = -1;
  int malformed_after = -1;
  int error_after = -1;
  int fail_first = -1;  // -1: faults on every attempt
  std::string key;
  bool usage = true;
  int echo_words = 50;

  bool has_fault() const {
    return status != 0 || hang || drop_after >= 0 || stall_after >= 0 || malformed_after >= 0 ||
           error_after >= 0;
  }
  void ClearFaults() {
    status = 0;
    hang = false;
    drop_after = stall_after = malformed_after = error_after = -1;
  }
};

bool ParseInt(std::string_view s, int* out) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  *out = v;
  return true;
}

// Applies one "key=value"; false when the key or value is not understood.
bool ApplyOne(std::string key, std::string_view value, Behaviour& b) {
  for (char& c : key) {
    if (c == '-') c = '_';
  }
  if (key == "key") {
    b.key = std::string(value);
    return true;
  }
  int v = 0;
  if (!ParseInt(value, &v)) return false;
  if (key == "tokens")
    b.tokens = v;
  else if (key == "interval_ms")
    b.interval_ms = v;
  else if (key == "delay_ms")
    b.delay_ms = v;
  else if (key == "status")
    b.status = v;
  else if (key == "retry_after")
    b.retry_after = v;
  else if (key == "hang")
    b.hang = v != 0;
  else if (key == "drop_after")
    b.drop_after = v;
  else if (key == "stall_after")
    b.stall_after = v;
  else if (key == "malformed_after")
    b.malformed_after = v;
  else if (key == "error_after")
    b.error_after = v;
  else if (key == "fail_first")
    b.fail_first = v;
  else if (key == "usage")
    b.usage = v != 0;
  else if (key == "echo_words")
    b.echo_words = v;
  else
    return false;
  return true;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Applies "k=v,k=v"; unknown keys are reported on stderr and skipped.
void ApplySpec(std::string_view spec, Behaviour& b) {
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    std::string_view item = TrimSpaces(spec.substr(0, comma));
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string key(TrimSpaces(item.substr(0, eq)));
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view("1") : TrimSpaces(item.substr(eq + 1));
    if (!ApplyOne(key, value, b)) {
      std::cerr << "fake-llm: ignoring unknown control '" << item << "'\n";
    }
  }
}

// Finds "[[fake:...]]" in text: returns the spec, and the text without the marker.
std::optional<std::string> ExtractMarker(std::string& text) {
  const size_t start = text.find("[[fake:");
  if (start == std::string::npos) return std::nullopt;
  const size_t end = text.find("]]", start);
  if (end == std::string::npos) return std::nullopt;
  std::string spec = text.substr(start + 7, end - start - 7);
  text.erase(start, end + 2 - start);
  return spec;
}

// ---- Requests as the fake understands them ---------------------------------------------------

enum class Api { kOpenAi, kAnthropic };

// A message's content: a string, or an array of parts with "text".
std::string ContentText(const std::optional<Value>& content) {
  if (!content) return "";
  if (auto s = content->AsString()) return std::string(*s);
  std::string out;
  for (size_t i = 0; i < content->ArraySize(); ++i) {
    if (auto part = content->ArrayAt(i).Find("text")) {
      if (auto s = part->AsString()) {
        if (!out.empty()) out += "\n";
        out += *s;
      }
    }
  }
  return out;
}

struct ParsedRequest {
  bool valid = false;
  std::string model = "demo";
  bool stream = false;
  bool include_usage = false;
  int max_tokens = 4096;
  std::string system;
  std::string last_user;
  size_t message_count = 0;
  size_t prompt_words = 0;
};

size_t CountWords(std::string_view s) {
  size_t n = 0;
  bool in_word = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

ParsedRequest ParseChatRequest(Api api, const Document& doc) {
  ParsedRequest r;
  const Value root = doc.root();
  if (!root.is_object()) return r;
  if (auto m = root.Find("model"); m && m->AsString()) r.model = std::string(*m->AsString());
  if (auto s = root.Find("stream"); s && s->AsBool()) r.stream = *s->AsBool();
  if (auto mt = root.Find("max_tokens"); mt && mt->AsInt64() && *mt->AsInt64() > 0) {
    r.max_tokens = static_cast<int>(std::min<int64_t>(*mt->AsInt64(), 1 << 20));
  }
  if (auto so = root.Find("stream_options")) {
    if (auto iu = so->Find("include_usage"); iu && iu->AsBool()) r.include_usage = *iu->AsBool();
  }
  if (api == Api::kAnthropic) r.system = ContentText(root.Find("system"));
  auto messages = root.Find("messages");
  if (!messages || !messages->is_array()) return r;
  r.message_count = messages->ArraySize();
  for (size_t i = 0; i < messages->ArraySize(); ++i) {
    const Value m = messages->ArrayAt(i);
    const std::string role(
        m.Find("role") && m.Find("role")->AsString() ? *m.Find("role")->AsString() : "");
    const std::string text = ContentText(m.Find("content"));
    r.prompt_words += CountWords(text);
    if (role == "system" || role == "developer") {
      if (!r.system.empty()) r.system += "\n";
      r.system += text;
    } else if (role == "user") {
      r.last_user = text;
    }
  }
  if (api == Api::kAnthropic) r.prompt_words += CountWords(r.system);
  r.valid = true;
  return r;
}

std::vector<std::string> SplitWords(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

struct Reply {
  std::vector<std::string> tokens;  // as streamed: "You", " said:", ...
  std::string finish = "stop";
};

Reply MakeReply(const ParsedRequest& req, const std::string& user_text, const Behaviour& b) {
  std::vector<std::string> words = {"You", "said:"};
  std::vector<std::string> echo = SplitWords(user_text);
  if (b.echo_words >= 0 && echo.size() > static_cast<size_t>(b.echo_words))
    echo.resize(b.echo_words);
  words.insert(words.end(), echo.begin(), echo.end());
  size_t pos = 0;
  while (pos <= req.system.size()) {
    size_t eol = req.system.find('\n', pos);
    if (eol == std::string::npos) eol = req.system.size();
    std::string_view line = TrimSpaces(std::string_view(req.system).substr(pos, eol - pos));
    if (line.starts_with("KNOWLEDGE:")) {
      for (std::string& w : SplitWords(line)) words.push_back(std::move(w));
    }
    pos = eol + 1;
  }
  Reply reply;
  if (b.tokens >= 0) {
    static const char* kFiller[] = {"lorem",      "ipsum", "dolor", "sit", "amet",    "consectetur",
                                    "adipiscing", "elit",  "sed",   "do",  "eiusmod", "tempor"};
    const size_t n = static_cast<size_t>(b.tokens);
    if (words.size() > n) words.resize(n);
    for (size_t i = 0; words.size() < n; ++i) words.push_back(kFiller[i % 12]);
  } else if (words.size() > static_cast<size_t>(req.max_tokens)) {
    words.resize(req.max_tokens);
    reply.finish = "length";
  }
  for (size_t i = 0; i < words.size(); ++i) reply.tokens.push_back((i ? " " : "") + words[i]);
  return reply;
}

// ---- The record of what the fake received ----------------------------------------------------

int64_t NowMs() {
  static const auto start = std::chrono::steady_clock::now();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

struct Record {
  uint64_t id = 0;
  std::string api;
  std::string path;
  int attempt = 0;
  std::string key;
  std::string model;
  bool stream = false;
  int status = 0;
  std::string outcome = "in_progress";
  bool client_closed_early = false;
  int tokens_sent = 0;
  int64_t started_ms = 0;
  int64_t ended_ms = -1;
  std::map<std::string, std::string> headers;
  std::string system;
  std::string last_user;
  size_t message_count = 0;
  std::string body;
  bool body_is_json = false;
};

struct Server {
  Behaviour flags;           // from the command line
  std::string runtime_spec;  // from POST /_fake/config
  size_t max_log = 1000;
  uint64_t next_id = 1;
  std::deque<std::shared_ptr<Record>> log;
  std::unordered_map<std::string, int> attempts;
  size_t in_flight = 0;
  size_t connections = 0;
  uint64_t accepted = 0;
  uint64_t requests = 0;

  std::shared_ptr<Record> NewRecord() {
    auto r = std::make_shared<Record>();
    r->id = next_id++;
    r->started_ms = NowMs();
    log.push_back(r);
    while (log.size() > max_log) log.pop_front();
    return r;
  }
  int NextAttempt(const std::string& key) {
    if (attempts.size() > 100000) attempts.clear();
    return ++attempts[key];
  }
};

void WriteRecord(Writer& w, const Record& r) {
  w.StartObject();
  w.Field("id", static_cast<int64_t>(r.id));
  w.Field("api", r.api);
  w.Field("path", r.path);
  w.Field("attempt", r.attempt);
  w.Field("key", r.key);
  w.Field("model", r.model);
  w.Field("stream", r.stream);
  w.Field("status", r.status);
  w.Field("outcome", r.outcome);
  w.Field("client_closed_early", r.client_closed_early);
  w.Field("tokens_sent", r.tokens_sent);
  w.Field("started_ms", r.started_ms);
  w.Key("ended_ms");
  if (r.ended_ms >= 0)
    w.Int(r.ended_ms);
  else
    w.Null();
  w.Key("headers").StartObject();
  for (const auto& [k, v] : r.headers) w.Field(k, v);
  w.EndObject();
  w.Field("system", r.system);
  w.Field("last_user", r.last_user);
  w.Field("message_count", static_cast<int64_t>(r.message_count));
  w.Key("body");
  if (r.body_is_json)
    w.Raw(r.body);
  else
    w.String(r.body);
  w.EndObject();
}

// ---- Wire rendering ----------------------------------------------------------------------------

std::string Chunk(std::string_view data) {  // HTTP/1.1 chunked framing
  char size[16];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out(size, n);
  out.append(data);
  out.append("\r\n");
  return out;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 529:
      return "Overloaded";
    default:
      return "Status";
  }
}

std::string FullResponse(int status, std::string_view content_type, std::string_view body,
                         bool keep_alive, std::string_view extra_headers = "") {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(ReasonPhrase(status)) +
                    "\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string StreamHead(bool keep_alive) {
  return std::string(
             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
             "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n") +
         (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
}

// The error text deliberately contains an "internal" marker: tests check it never reaches a
// client of chatd.
constexpr std::string_view kErrorMessage =
    "Fake upstream failure (internal detail: do-not-leak-7f3a)";

std::string ErrorBody(Api api, int status) {
  Writer w;
  if (api == Api::kAnthropic) {
    const char* type = status == 429   ? "rate_limit_error"
                       : status == 529 ? "overloaded_error"
                       : status >= 500 ? "api_error"
                       : status == 401 ? "authentication_error"
                                       : "invalid_request_error";
    w.StartObject().Field("type", "error").Key("error").StartObject();
    w.Field("type", type).Field("message", kErrorMessage).EndObject().EndObject();
  } else {
    const char* type = status == 429   ? "rate_limit_exceeded"
                       : status >= 500 ? "server_error"
                                       : "invalid_request_error";
    w.StartObject().Key("error").StartObject();
    w.Field("message", kErrorMessage).Field("type", type).Key("param").Null();
    w.Field("code", status == 429 ? "rate_limit_exceeded" : "fake_error").EndObject().EndObject();
  }
  return w.Take();
}

std::string SseData(std::string_view json) {
  return "data: " + std::string(json) + "\n\n";
}
std::string SseEvent(std::string_view name, std::string_view json) {
  return "event: " + std::string(name) + "\n" + SseData(json);
}

struct OpenAiIds {
  std::string id;
  std::string model;
};

std::string OpenAiChunk(const OpenAiIds& ids, std::optional<std::string_view> content,
                        std::optional<std::string_view> finish, bool role = false) {
  Writer w;
  w.StartObject().Field("id", ids.id).Field("object", "chat.completion.chunk");
  w.Field("created", int64_t{1700000000}).Field("model", ids.model);
  w.Key("choices").StartArray().StartObject().Field("index", 0).Key("delta").StartObject();
  if (role) w.Field("role", "assistant");
  if (content) w.Field("content", *content);
  w.EndObject();
  w.Key("finish_reason");
  if (finish)
    w.String(*finish);
  else
    w.Null();
  w.EndObject().EndArray().EndObject();
  return SseData(w.view());
}

// One step of a response: wait, write, then continue / close / stall.
struct Step {
  int wait_ms = 0;
  std::string bytes;
  enum class Then { kNext, kEnd, kClose, kStall } then = Then::kNext;
  int tokens = 0;  // content tokens this step carries
};

struct Plan {
  std::vector<Step> steps;
  int status = 200;
  std::string final_outcome = "complete";
};

// Builds the streamed response: the SSE events of `api`, in chunked framing, one step per token.
Plan StreamPlan(Api api, const ParsedRequest& req, const Reply& reply, const Behaviour& b,
                bool keep_alive, uint64_t id) {
  Plan plan;
  const OpenAiIds ids{"chatcmpl-fake-" + std::to_string(id), req.model};
  const std::string msg_id = "msg_fake_" + std::to_string(id);
  const int n = static_cast<int>(reply.tokens.size());
  const int prompt_tokens = static_cast<int>(req.prompt_words);

  std::string first = StreamHead(keep_alive);
  if (api == Api::kOpenAi) {
    first += Chunk(OpenAiChunk(ids, std::string_view(""), std::nullopt, true));
  } else {
    Writer w;
    w.StartObject().Field("type", "message_start").Key("message").StartObject();
    w.Field("id", msg_id).Field("type", "message").Field("role", "assistant");
    w.Key("content").StartArray().EndArray().Field("model", req.model);
    w.Key("stop_reason").Null().Key("stop_sequence").Null();
    w.Key("usage").StartObject().Field("input_tokens", prompt_tokens).Field("output_tokens", 1);
    w.EndObject().EndObject().EndObject();
    first += Chunk(SseEvent("message_start", w.view()));
    first += Chunk(SseEvent(
        "content_block_start",
        R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"));
    first += Chunk(SseEvent("ping", R"({"type": "ping"})"));
  }
  Step head;
  head.wait_ms = b.delay_ms;
  head.bytes = std::move(first);
  plan.steps.push_back(std::move(head));

  auto after_tokens = [&](int sent) -> bool {  // faults that strike after `sent` tokens
    if (b.drop_after == sent) {
      plan.steps.back().then = Step::Then::kClose;
      plan.final_outcome = "dropped";
      return true;
    }
    if (b.stall_after == sent) {
      plan.steps.back().then = Step::Then::kStall;
      plan.final_outcome = "stalled";
      return true;
    }
    if (b.malformed_after == sent) {
      plan.steps.back().bytes += Chunk(
          api == Api::kOpenAi ? std::string("data: {\"choices\": [{\"delta\": {\"content\": \n\n")
                              : std::string("event: content_block_delta\ndata: {\"type\": "
                                            "\"content_block_delta\", \"delta\": {\n\n"));
    }
    if (b.error_after == sent) {
      std::string err;
      if (api == Api::kOpenAi) {
        err = Chunk(SseData(ErrorBody(api, 500)));
      } else {
        err = Chunk(SseEvent("error", ErrorBody(api, 529)));
      }
      plan.steps.back().bytes += err + "0\r\n\r\n";
      plan.steps.back().then = Step::Then::kEnd;
      return true;
    }
    return false;
  };

  if (after_tokens(0)) return plan;
  for (int i = 0; i < n; ++i) {
    std::string bytes;
    if (api == Api::kOpenAi) {
      bytes = Chunk(OpenAiChunk(ids, reply.tokens[i], std::nullopt));
    } else {
      Writer w;
      w.StartObject().Field("type", "content_block_delta").Field("index", 0);
      w.Key("delta").StartObject().Field("type", "text_delta").Field("text", reply.tokens[i]);
      w.EndObject().EndObject();
      bytes = Chunk(SseEvent("content_block_delta", w.view()));
    }
    if (i == 0) {
      plan.steps.back().bytes += bytes;  // the first token goes out with the headers
      plan.steps.back().tokens = 1;
    } else {
      Step s;
      s.wait_ms = b.interval_ms;
      s.bytes = std::move(bytes);
      s.tokens = 1;
      plan.steps.push_back(std::move(s));
    }
    if (after_tokens(i + 1)) return plan;
  }

  std::string tail;
  if (api == Api::kOpenAi) {
    tail += Chunk(OpenAiChunk(ids, std::nullopt, reply.finish));
    if (req.include_usage && b.usage) {
      Writer w;
      w.StartObject().Field("id", ids.id).Field("object", "chat.completion.chunk");
      w.Field("created", int64_t{1700000000}).Field("model", ids.model);
      w.Key("choices").StartArray().EndArray();
      w.Key("usage").StartObject().Field("prompt_tokens", prompt_tokens);
      w.Field("completion_tokens", n).Field("total_tokens", prompt_tokens + n);
      w.EndObject().EndObject();
      tail += Chunk(SseData(w.view()));
    }
    tail += Chunk(SseData("[DONE]"));
  } else {
    tail += Chunk(SseEvent("content_block_stop", R"({"type":"content_block_stop","index":0})"));
    Writer w;
    w.StartObject().Field("type", "message_delta").Key("delta").StartObject();
    w.Field("stop_reason", reply.finish == "length" ? "max_tokens" : "end_turn");
    w.Key("stop_sequence").Null().EndObject();
    if (b.usage) w.Key("usage").StartObject().Field("output_tokens", n).EndObject();
    w.EndObject();
    tail += Chunk(SseEvent("message_delta", w.view()));
    tail += Chunk(SseEvent("message_stop", R"({"type":"message_stop"})"));
  }
  tail += "0\r\n\r\n";
  plan.steps.back().bytes += tail;
  plan.steps.back().then = Step::Then::kEnd;
  return plan;
}

std::string JsonReplyBody(Api api, const ParsedRequest& req, const Reply& reply, const Behaviour& b,
                          uint64_t id) {
  std::string text;
  for (const std::string& t : reply.tokens) text += t;
  const int n = static_cast<int>(reply.tokens.size());
  const int prompt_tokens = static_cast<int>(req.prompt_words);
  Writer w;
  if (api == Api::kOpenAi) {
    w.StartObject().Field("id", "chatcmpl-fake-" + std::to_string(id));
    w.Field("object", "chat.completion").Field("created", int64_t{1700000000});
    w.Field("model", req.model).Key("choices").StartArray().StartObject().Field("index", 0);
    w.Key("message").StartObject().Field("role", "assistant").Field("content", text).EndObject();
    w.Field("finish_reason", reply.finish).EndObject().EndArray();
    if (b.usage) {
      w.Key("usage").StartObject().Field("prompt_tokens", prompt_tokens);
      w.Field("completion_tokens", n).Field("total_tokens", prompt_tokens + n).EndObject();
    }
    w.EndObject();
  } else {
    w.StartObject().Field("id", "msg_fake_" + std::to_string(id)).Field("type", "message");
    w.Field("role", "assistant").Field("model", req.model).Key("content").StartArray();
    w.StartObject().Field("type", "text").Field("text", text).EndObject().EndArray();
    w.Field("stop_reason", reply.finish == "length" ? "max_tokens" : "end_turn");
    w.Key("stop_sequence").Null();
    if (b.usage) {
      w.Key("usage").StartObject().Field("input_tokens", prompt_tokens);
      w.Field("output_tokens", n).EndObject();
    }
    w.EndObject();
  }
  return w.Take();
}

// ---- Connections -------------------------------------------------------------------------------

std::string QueryValue(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
  }
  return "";
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server& server)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(server) {
    ++server_.connections;
    ++server_.accepted;
  }
  ~Session() { --server_.connections; }

  void Start() { ReadHeader(); }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    parser_->header_limit(64 * 1024);
    bhttp::async_read_header(socket_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               if (ec) return self->Close();
                               self->OnHeader();
                             });
  }

  void OnHeader() {
    const auto& req = parser_->get();
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      auto cont = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      asio::async_write(socket_, asio::buffer(*cont),
                        [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        self->OnRequest();
                      });
  }

  void OnRequest() {
    ++server_.requests;
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const bool post = req.method() == bhttp::verb::post;
    if (post && (path == "/v1/chat/completions" || path == "/chat/completions")) {
      return Chat(Api::kOpenAi, path);
    }
    if (post && (path == "/v1/messages" || path == "/messages")) return Chat(Api::kAnthropic, path);
    if (path == "/_fake/requests" && req.method() == bhttp::verb::get) return ListRequests(target);
    if (path == "/_fake/reset" && post) {
      server_.log.clear();
      server_.attempts.clear();
      server_.runtime_spec.clear();
      return Simple(200, R"({"ok":true})");
    }
    if (path == "/_fake/config" && post) {
      server_.runtime_spec = req.body();
      return Simple(200, R"({"ok":true})");
    }
    if (path == "/_fake/health") {
      return Simple(200, "{\"status\":\"ok\",\"in_flight\":" + std::to_string(server_.in_flight) +
                             ",\"connections\":" + std::to_string(server_.connections) +
                             ",\"accepted\":" + std::to_string(server_.accepted) +
                             ",\"requests\":" + std::to_string(server_.requests) + "}");
    }
    if (path == "/v1/models" || path == "/models") {
      return Simple(
          200,
          R"({"object":"list","data":[{"id":"demo","object":"model","owned_by":"fake-llm"}]})");
    }
    Simple(404, R"({"error":{"message":"no such endpoint on fake-llm","type":"not_found"}})");
  }

  void ListRequests(const std::string& target) {
    int limit = 50;
    int since = 0;
    if (std::string v = QueryValue(target, "limit"); !v.empty()) ParseInt(v, &limit);
    if (std::string v = QueryValue(target, "since"); !v.empty()) ParseInt(v, &since);
    std::vector<const Record*> picked;
    for (auto it = server_.log.rbegin(); it != server_.log.rend(); ++it) {
      if (static_cast<int>(picked.size()) >= limit) break;
      if ((*it)->id <= static_cast<uint64_t>(since)) break;
      picked.push_back(it->get());
    }
    Writer w;
    w.StartObject().Key("requests").StartArray();
    for (auto it = picked.rbegin(); it != picked.rend(); ++it) WriteRecord(w, **it);
    w.EndArray().EndObject();
    Simple(200, w.view());
  }

  void Simple(int status, std::string_view body) {
    Plan plan;
    plan.status = status;
    Step s;
    s.bytes = FullResponse(status, "application/json", body, keep_alive_);
    s.then = Step::Then::kEnd;
    plan.steps.push_back(std::move(s));
    Run(std::move(plan), nullptr);
  }

  void Chat(Api api, const std::string& path) {
    const auto& req = parser_->get();
    auto record = server_.NewRecord();
    record->api = api == Api::kOpenAi ? "openai" : "anthropic";
    record->path = path;
    static const char* kHeaders[] = {"authorization", "x-api-key", "anthropic-version",
                                     "http-referer",  "x-title",   "x-fake",
                                     "content-type",  "accept"};
    for (const char* h : kHeaders) {
      auto it = req.find(h);
      if (it != req.end()) record->headers[h] = std::string(it->value());
    }
    record->body = req.body();

    chatd::json::ParseLimits limits;
    limits.max_bytes = kMaxBodyBytes;
    auto doc = Document::Parse(req.body(), limits);
    ParsedRequest parsed;
    if (doc.ok()) {
      record->body_is_json = true;
      parsed = ParseChatRequest(api, doc.value());
    }
    Behaviour b = server_.flags;
    ApplySpec(server_.runtime_spec, b);
    if (auto it = req.find("x-fake"); it != req.end()) {
      ApplySpec(std::string_view(it->value().data(), it->value().size()), b);
    }
    std::string user_text = parsed.last_user;
    if (auto spec = ExtractMarker(user_text)) ApplySpec(*spec, b);

    record->model = parsed.model;
    record->stream = parsed.stream;
    record->system = parsed.system;
    record->last_user = parsed.last_user;
    record->message_count = parsed.message_count;
    record->key =
        b.key.empty() ? std::to_string(std::hash<std::string>{}(path + "\n" + req.body())) : b.key;
    record->attempt = server_.NextAttempt(record->key);
    if (b.fail_first >= 0 && record->attempt > b.fail_first) b.ClearFaults();

    if (!parsed.valid) {
      record->status = 400;
      Plan plan;
      plan.status = 400;
      plan.final_outcome = "error_status";
      Step s;
      s.bytes = FullResponse(400, "application/json", ErrorBody(api, 400), keep_alive_);
      s.then = Step::Then::kEnd;
      plan.steps.push_back(std::move(s));
      return Run(std::move(plan), record);
    }
    if (b.hang) {
      Plan plan;
      plan.status = 0;
      Step s;
      s.wait_ms = b.delay_ms;
      s.then = Step::Then::kStall;
      plan.steps.push_back(std::move(s));
      plan.final_outcome = "hung";
      return Run(std::move(plan), record);
    }
    if (b.status != 0 && b.status != 200) {
      Plan plan;
      plan.status = b.status;
      plan.final_outcome = "error_status";
      Step s;
      s.wait_ms = b.delay_ms;
      const std::string extra =
          b.retry_after >= 0 ? "Retry-After: " + std::to_string(b.retry_after) + "\r\n" : "";
      s.bytes =
          FullResponse(b.status, "application/json", ErrorBody(api, b.status), keep_alive_, extra);
      s.then = Step::Then::kEnd;
      plan.steps.push_back(std::move(s));
      return Run(std::move(plan), record);
    }
    const Reply reply = MakeReply(parsed, user_text, b);
    if (parsed.stream) {
      return Run(StreamPlan(api, parsed, reply, b, keep_alive_, record->id), record);
    }
    Plan plan;
    Step s;
    s.wait_ms = b.delay_ms;
    s.bytes = FullResponse(200, "application/json",
                           JsonReplyBody(api, parsed, reply, b, record->id), keep_alive_);
    s.tokens = static_cast<int>(reply.tokens.size());
    s.then = Step::Then::kEnd;
    plan.steps.push_back(std::move(s));
    Run(std::move(plan), record);
  }

  // Plays a plan: wait, write, repeat; meanwhile a read on the socket notices the client leaving.
  void Run(Plan plan, std::shared_ptr<Record> record) {
    plan_ = std::move(plan);
    record_ = std::move(record);
    if (record_) {
      record_->status = plan_.status;
      ++server_.in_flight;
    }
    step_ = 0;
    responding_ = true;
    Watch();
    NextStep();
  }

  void NextStep() {
    if (step_ >= plan_.steps.size()) return;
    const Step& s = plan_.steps[step_];
    if (s.wait_ms > 0) {
      timer_.expires_after(std::chrono::milliseconds(s.wait_ms));
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec || !self->responding_) return;
        self->WriteStep();
      });
    } else {
      WriteStep();
    }
  }

  void WriteStep() {
    const Step& s = plan_.steps[step_];
    if (s.bytes.empty()) return AfterStep();
    asio::async_write(socket_, asio::buffer(s.bytes),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (!self->responding_) return;
                        if (ec) return self->ClientGone();
                        self->AfterStep();
                      });
  }

  void AfterStep() {
    const Step& s = plan_.steps[step_];
    if (record_) record_->tokens_sent += s.tokens;
    switch (s.then) {
      case Step::Then::kNext:
        ++step_;
        return NextStep();
      case Step::Then::kStall:
        if (record_) record_->outcome = plan_.final_outcome;  // until the client leaves
        return;
      case Step::Then::kClose:
        Finish(plan_.final_outcome);
        return Close();
      case Step::Then::kEnd:
        Finish(plan_.final_outcome);
        if (!keep_alive_) Close();
        return;  // the pending Watch() read now waits for the next request
    }
  }

  void Finish(const std::string& outcome) {
    responding_ = false;
    if (record_) {
      record_->outcome = outcome;
      record_->ended_ms = NowMs();
      --server_.in_flight;
      record_.reset();
    }
  }

  // The client closed (or reset) the connection while a response was going on.
  void ClientGone() {
    if (record_) record_->client_closed_early = true;
    Finish("client_closed");
    Close();
  }

  // One read outstanding from the end of a request to the start of the next: during a response it
  // detects the client leaving; after it, it receives the next request's first bytes.
  void Watch() {
    if (watching_) return;
    watching_ = true;
    socket_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->watching_ = false;
                              self->buffer_.commit(n);
                              if (ec) {
                                if (self->responding_) return self->ClientGone();
                                return self->Close();
                              }
                              if (self->responding_) {
                                // A pipelined request: keep it buffered, keep watching.
                                if (self->buffer_.size() > kMaxBodyBytes) return self->Close();
                                return self->Watch();
                              }
                              self->ReadHeader();
                            });
  }

  void Close() {
    responding_ = false;
    timer_.cancel();
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  Server& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = true;
  Plan plan_;
  size_t step_ = 0;
  std::shared_ptr<Record> record_;
  bool responding_ = false;
  bool watching_ = false;
};

void Accept(tcp::acceptor& acceptor, Server& server) {
  acceptor.async_accept([&acceptor, &server](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), server)->Start();
    }
    if (acceptor.is_open()) Accept(acceptor, server);
  });
}

int Usage() {
  std::cerr << "usage: fake-llm [--host 127.0.0.1] [--port N] [--max-log N] [--tokens N] "
               "[--interval-ms M] [--delay-ms D] [--status S] [--retry-after R] [--hang] "
               "[--drop-after N] [--stall-after N] [--malformed-after N] [--error-after N] "
               "[--fail-first K] [--usage 0|1] [--echo-words N]\n";
  return 2;
}

}  // namespace
}  // namespace fake

int main(int argc, char** argv) {
  using namespace fake;
  Server server;
  std::string host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!arg.starts_with("--")) return Usage();
    arg = arg.substr(2);
    std::string value;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg == "hang") {
      value = "1";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Usage();
    }
    if (arg == "help") return Usage();
    if (arg == "host") {
      host = value;
    } else if (arg == "port") {
      if (!ParseInt(value, &port) || port < 0 || port > 65535) return Usage();
    } else if (arg == "max-log" || arg == "max_log") {
      int n = 0;
      if (!ParseInt(value, &n) || n < 1) return Usage();
      server.max_log = static_cast<size_t>(n);
    } else if (!ApplyOne(arg, value, server.flags)) {
      std::cerr << "fake-llm: unknown option --" << arg << "\n";
      return Usage();
    }
  }

  // Many slow streams need many descriptors: raise the soft limit to the hard one.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  try {
    const tcp::endpoint endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port));
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    std::cerr << "fake-llm: cannot listen on " << host << ":" << port << ": " << e.what() << "\n";
    return 1;
  }
  std::cout << "fake-llm listening on http://" << host << ":" << acceptor.local_endpoint().port()
            << std::endl;

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    beast::error_code ignored;
    acceptor.close(ignored);
    io.stop();
  });
  Accept(acceptor, server);
  io.run();
  return 0;
}
