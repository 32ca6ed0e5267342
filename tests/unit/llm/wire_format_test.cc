// The wire formats without a network: recorded OpenAI and Anthropic streams fed through the SSE
// parser and the adapter at every split point (and byte by byte, and with CRLF), error objects in
// the stream, malformed JSON, non-streaming bodies, error bodies, and the requests they build.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "json/json.h"
#include "llm/anthropic.h"
#include "llm/openai.h"
#include "llm/sse_parser.h"

namespace chatd::llm {
namespace {

// A stream as OpenAI sends it (captured from api.openai.com, ids shortened), with an OpenRouter
// keep-alive comment, text with escapes and multi-byte characters, the finish chunk, the usage
// chunk of stream_options.include_usage, and [DONE].
const std::string kOpenAiStream =
    ": OPENROUTER PROCESSING\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":"
    "0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,"
    "\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\"H\\u00e9llo\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\" w\xC3\xB6rld "
    "\\\"quoted\\\"\\n\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\"\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x91\x8B\"},\"logprobs\":null,\"finish_reason\":null}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
    "\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
    "\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":19,"
    "\"completion_tokens\":9,\"total_tokens\":28,\"prompt_tokens_details\":{\"cached_tokens\":0}}}"
    "\n\n"
    "data: [DONE]\n\n";
const std::string kOpenAiText =
    "H\xC3\xA9llo w\xC3\xB6rld \"quoted\"\n\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x91\x8B";

// A stream as Anthropic documents it (Messages streaming, "Basic streaming request").
const std::string kAnthropicStream =
    "event: message_start\n"
    "data: "
    "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\","
    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-3-5-sonnet-"
    "20241022\","
    "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":"
    "1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Hello\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"! \\u00bfQu\\u00e9 tal?\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\n"
    "data: "
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
    "\"usage\":{\"output_tokens\":15}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";
const std::string kAnthropicText = "Hello! \xC2\xBFQu\xC3\xA9 tal?";

struct Decoded {
  std::string text;
  DecodeState state;
  int events = 0;
};

// What HttpProvider does with a body: SSE parser -> wire format, deltas collected, stopping at
// the first error.
Decoded Decode(const WireFormat& wire, const std::vector<std::string>& pieces) {
  Decoded d;
  SseParser parser;
  auto on_event = [&](const SseEvent& e) {
    ++d.events;
    if (d.state.done) return true;
    wire.OnEvent(e, d.state);
    d.text += d.state.delta;
    d.state.delta.clear();
    return d.state.error == ErrorKind::kNone;
  };
  for (const std::string& p : pieces) {
    if (parser.Feed(p, on_event) != SseParser::FeedResult::kOk) return d;
  }
  parser.Finish(on_event);
  return d;
}

std::string WithCrlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

void ExpectOpenAi(const Decoded& d, const std::string& where) {
  EXPECT_EQ(d.text, kOpenAiText) << where;
  EXPECT_EQ(d.state.error, ErrorKind::kNone) << where << " " << d.state.error_detail;
  EXPECT_TRUE(d.state.done) << where;
  EXPECT_EQ(d.state.finish_reason, "stop") << where;
  EXPECT_TRUE(d.state.usage.reported) << where;
  EXPECT_EQ(d.state.usage.prompt_tokens, 19) << where;
  EXPECT_EQ(d.state.usage.completion_tokens, 9) << where;
  EXPECT_EQ(d.state.model, "gpt-4o-mini-2024-07-18") << where;
}

void ExpectAnthropic(const Decoded& d, const std::string& where) {
  EXPECT_EQ(d.text, kAnthropicText) << where;
  EXPECT_EQ(d.state.error, ErrorKind::kNone) << where << " " << d.state.error_detail;
  EXPECT_TRUE(d.state.done) << where;
  EXPECT_EQ(d.state.finish_reason, "end_turn") << where;
  EXPECT_TRUE(d.state.usage.reported) << where;
  EXPECT_EQ(d.state.usage.prompt_tokens, 25) << where;
  EXPECT_EQ(d.state.usage.completion_tokens, 15) << where;
  EXPECT_EQ(d.state.model, "claude-3-5-sonnet-20241022") << where;
}

TEST(OpenAiWireTest, RecordedStreamAtEverySplitPoint) {
  const OpenAiWire wire;
  for (const std::string& stream : {kOpenAiStream, WithCrlf(kOpenAiStream)}) {
    ExpectOpenAi(Decode(wire, {stream}), "whole");
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
      ExpectOpenAi(Decode(wire, {stream.substr(0, cut), stream.substr(cut)}),
                   "cut at " + std::to_string(cut));
      if (HasFailure()) return;
    }
    std::vector<std::string> bytes;
    for (char c : stream) bytes.emplace_back(1, c);
    ExpectOpenAi(Decode(wire, bytes), "byte by byte");
  }
}

TEST(AnthropicWireTest, RecordedStreamAtEverySplitPoint) {
  const AnthropicWire wire;
  for (const std::string& stream : {kAnthropicStream, WithCrlf(kAnthropicStream)}) {
    ExpectAnthropic(Decode(wire, {stream}), "whole");
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
      ExpectAnthropic(Decode(wire, {stream.substr(0, cut), stream.substr(cut)}),
                      "cut at " + std::to_string(cut));
      if (HasFailure()) return;
    }
    std::vector<std::string> bytes;
    for (char c : stream) bytes.emplace_back(1, c);
    ExpectAnthropic(Decode(wire, bytes), "byte by byte");
  }
}

TEST(OpenAiWireTest, MalformedJsonIsAnError) {
  const OpenAiWire wire;
  Decoded d = Decode(wire, {"data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"
                            "data: {\"choices\": [{\"delta\": {\"content\": \n\n"
                            "data: {\"choices\":[{\"delta\":{\"content\":\"never\"}}]}\n\n"});
  EXPECT_EQ(d.text, "ok");
  EXPECT_EQ(d.state.error, ErrorKind::kMalformed);
  EXPECT_EQ(d.events, 2);  // decoding stopped at the bad event

  for (const char* bad :
       {"data: not json\n\n", "data: [1,2]\n\n", "data: {\"a\":1}{\n\n", "data: \"text\"\n\n"}) {
    EXPECT_EQ(Decode(wire, {bad}).state.error, ErrorKind::kMalformed) << bad;
  }
}

TEST(OpenAiWireTest, ErrorObjectInTheStream) {
  const OpenAiWire wire;
  Decoded d = Decode(
      wire, {"data: {\"choices\":[{\"delta\":{\"content\":\"par\"}}]}\n\n"
             "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\","
             "\"param\":null,\"code\":null}}\n\n"});
  EXPECT_EQ(d.text, "par");
  EXPECT_EQ(d.state.error, ErrorKind::kServerError);
  EXPECT_NE(d.state.error_detail.find("The server had an error"), std::string::npos);

  // OpenRouter's mid-stream error carries a numeric code.
  Decoded rl = Decode(wire, {"data: {\"error\":{\"code\":429,\"message\":\"Rate limit\"}}\n\n"});
  EXPECT_EQ(rl.state.error, ErrorKind::kRateLimited);
}

TEST(OpenAiWireTest, SkipsReasoningAndToleratesMissingPieces) {
  const OpenAiWire wire;
  Decoded d = Decode(
      wire, {"data: {\"choices\":[{\"delta\":{\"reasoning\":\"thinking...\"}}]}\n\n"
             "data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\n"
             "data: {\"choices\":[{\"delta\":{\"content\":\"answer\"},\"finish_reason\":\"length\","
             "\"index\":0}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"});
  EXPECT_EQ(d.text, "answer");
  EXPECT_EQ(d.state.error, ErrorKind::kNone);
  EXPECT_FALSE(d.state.done);  // no [DONE]: HttpProvider accepts it because finish_reason is set
  EXPECT_EQ(d.state.finish_reason, "length");
  EXPECT_EQ(d.state.usage.completion_tokens, 1);
}

TEST(AnthropicWireTest, MalformedJsonAndErrorEvents) {
  const AnthropicWire wire;
  Decoded bad =
      Decode(wire, {"event: content_block_delta\ndata: {\"type\": \"content_block_delta\", "
                    "\"delta\": {\n\n"});
  EXPECT_EQ(bad.state.error, ErrorKind::kMalformed);

  Decoded overloaded = Decode(
      wire, {"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
             "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
             "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
             "\"message\":\"Overloaded\"}}\n\n"});
  EXPECT_EQ(overloaded.text, "Hi");
  EXPECT_EQ(overloaded.state.error, ErrorKind::kServerError);
  EXPECT_NE(overloaded.state.error_detail.find("overloaded_error"), std::string::npos);

  Decoded limited = Decode(wire, {"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                                  "\"rate_limit_error\",\"message\":\"slow down\"}}\n\n"});
  EXPECT_EQ(limited.state.error, ErrorKind::kRateLimited);

  // Unknown events and non-text deltas are skipped.
  Decoded odd =
      Decode(wire, {"event: future_event\ndata: {\"type\":\"future_event\"}\n\n"
                    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                    "\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"x\"}}\n\n"});
  EXPECT_EQ(odd.state.error, ErrorKind::kNone);
  EXPECT_EQ(odd.text, "");
}

TEST(OpenAiWireTest, NonStreamingBody) {
  const OpenAiWire wire;
  DecodeState s;
  wire.OnJsonBody(R"({"id":"x","object":"chat.completion","model":"m1","choices":[{"index":0,
      "message":{"role":"assistant","content":"Full answer"},"finish_reason":"stop"}],
      "usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})",
                  s);
  EXPECT_EQ(s.error, ErrorKind::kNone);
  EXPECT_EQ(s.delta, "Full answer");
  EXPECT_EQ(s.finish_reason, "stop");
  EXPECT_EQ(s.usage.prompt_tokens, 5);
  EXPECT_EQ(s.usage.completion_tokens, 2);
  EXPECT_EQ(s.model, "m1");

  DecodeState broken;
  wire.OnJsonBody("{\"choices\":[]}", broken);
  EXPECT_EQ(broken.error, ErrorKind::kMalformed);
  DecodeState garbage;
  wire.OnJsonBody("<html>", garbage);
  EXPECT_EQ(garbage.error, ErrorKind::kMalformed);
}

TEST(AnthropicWireTest, NonStreamingBody) {
  const AnthropicWire wire;
  DecodeState s;
  wire.OnJsonBody(R"({"id":"msg","type":"message","role":"assistant","model":"claude",
      "content":[{"type":"text","text":"Part one. "},{"type":"text","text":"Part two."}],
      "stop_reason":"max_tokens","usage":{"input_tokens":10,"cache_read_input_tokens":5,
      "output_tokens":3}})",
                  s);
  EXPECT_EQ(s.error, ErrorKind::kNone);
  EXPECT_EQ(s.delta, "Part one. Part two.");
  EXPECT_EQ(s.finish_reason, "max_tokens");
  EXPECT_EQ(s.usage.prompt_tokens, 15);
  EXPECT_EQ(s.usage.completion_tokens, 3);
}

TEST(WireFormatTest, ErrorBodiesAreDescribedForLogs) {
  EXPECT_EQ(
      OpenAiWire().DescribeErrorBody(
          R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}})"),
      "invalid_request_error: Incorrect API key provided");
  EXPECT_EQ(AnthropicWire().DescribeErrorBody(
                R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"),
            "overloaded_error: Overloaded");
  // Not JSON: a snippet, without control characters.
  EXPECT_EQ(OpenAiWire().DescribeErrorBody("<html>\n<h1>502</h1>"), "<html> <h1>502</h1>");
}

// Found by tests/fuzz (openai_stream, anthropic_stream): the error's type and code went into the
// log detail unfiltered, so an upstream could put line breaks (a forged log line) or megabytes
// into a log field. They are cut and cleaned like the message.
TEST(WireFormatTest, ErrorTypesAndCodesAreLogSafe) {
  // JSON escapes: a line break, a forged JSON log line, a BEL, then 5,000 bytes.
  const std::string hostile =
      R"(rate_limit\n{\"level\":\"error\",\"forged\":1}\u0007)" + std::string(5000, 'x');
  auto log_safe = [](const std::string& s) {
    for (char c : s) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;
    }
    return s.size() < 1024;
  };
  Decoded openai = Decode(OpenAiWire(), {"data: {\"error\":{\"type\":\"" + hostile +
                                         "\",\"code\":\"" + hostile + "\"}}\n\n"});
  EXPECT_EQ(openai.state.error, ErrorKind::kRateLimited);
  EXPECT_TRUE(log_safe(openai.state.error_detail)) << openai.state.error_detail;
  Decoded anthropic = Decode(
      AnthropicWire(),
      {"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"" + hostile + "\"}}\n\n"});
  EXPECT_EQ(anthropic.state.error, ErrorKind::kServerError);
  EXPECT_TRUE(log_safe(anthropic.state.error_detail)) << anthropic.state.error_detail;
  const std::string body = "{\"type\":\"error\",\"error\":{\"type\":\"" + hostile + "\"}}";
  EXPECT_TRUE(log_safe(OpenAiWire().DescribeErrorBody(body)));
  EXPECT_TRUE(log_safe(AnthropicWire().DescribeErrorBody(body)));
}

ProviderOptions Options() {
  ProviderOptions o;
  o.base_url = "http://upstream.test/v1";
  o.api_key = "sk-test";
  o.model = "default-model";
  return o;
}

bool HasHeader(const HttpPost& p, const std::string& h) {
  for (const std::string& x : p.headers) {
    if (x == h) return true;
  }
  return false;
}

TEST(OpenAiWireTest, BuildsTheRequest) {
  ChatRequest r;
  r.system = "Be brief.";
  r.messages = {{Role::kUser, "Hi"}, {Role::kAssistant, "Hello"}, {Role::kUser, "Why \"x\"?"}};
  r.max_tokens = 100;
  r.temperature = 0.5;
  ProviderOptions o = Options();
  o.openrouter_referer = "https://chat.example";
  o.openrouter_title = "chatd";
  HttpPost p = OpenAiWire().BuildRequest(r, o);
  EXPECT_EQ(p.url, "http://upstream.test/v1/chat/completions");
  EXPECT_TRUE(HasHeader(p, "Authorization: Bearer sk-test"));
  EXPECT_TRUE(HasHeader(p, "HTTP-Referer: https://chat.example"));
  EXPECT_TRUE(HasHeader(p, "X-Title: chatd"));
  EXPECT_EQ(p.body,
            R"({"model":"default-model","messages":[{"role":"system","content":"Be brief."},)"
            R"({"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"},)"
            R"({"role":"user","content":"Why \"x\"?"}],"max_tokens":100,"temperature":0.5,)"
            R"("stream":true,"stream_options":{"include_usage":true}})");

  r.model = "override";
  r.stream = false;
  r.temperature.reset();
  o.api_key.clear();
  o.openrouter_referer.clear();
  o.openrouter_title.clear();
  p = OpenAiWire().BuildRequest(r, o);
  EXPECT_NE(p.body.find(R"("model":"override")"), std::string::npos);
  EXPECT_NE(p.body.find(R"("stream":false)"), std::string::npos);
  EXPECT_EQ(p.body.find("stream_options"), std::string::npos);
  EXPECT_EQ(p.body.find("temperature"), std::string::npos);
  for (const std::string& h : p.headers) {
    EXPECT_FALSE(h.starts_with("Authorization")) << h;
    EXPECT_FALSE(h.starts_with("HTTP-Referer")) << h;
  }
}

TEST(AnthropicWireTest, BuildsANormalisedRequest) {
  ChatRequest r;
  r.system = "Be brief.";
  r.messages = {{Role::kAssistant, "Welcome!"},  // dropped: the first turn must be the user's
                {Role::kUser, "Hi"},
                {Role::kUser, "Anyone?"},  // merged with the previous user turn
                {Role::kSystem, "Extra rule."},
                {Role::kAssistant, ""},  // dropped: empty
                {Role::kAssistant, "Yes"},
                {Role::kUser, "Good"}};
  r.max_tokens = 50;
  r.temperature = 1.7;  // clamped to 1
  HttpPost p = AnthropicWire().BuildRequest(r, Options());
  EXPECT_EQ(p.url, "http://upstream.test/v1/messages");
  EXPECT_TRUE(HasHeader(p, "x-api-key: sk-test"));
  EXPECT_TRUE(HasHeader(p, "anthropic-version: 2023-06-01"));
  EXPECT_EQ(p.body,
            R"({"model":"default-model","max_tokens":50,"system":"Be brief.\n\nExtra rule.",)"
            R"("messages":[{"role":"user","content":"Hi\n\nAnyone?"},)"
            R"({"role":"assistant","content":"Yes"},{"role":"user","content":"Good"}],)"
            R"("temperature":1.0,"stream":true})");
}

}  // namespace
}  // namespace chatd::llm
