// The Anthropic Messages wire format. See anthropic.h.

#include "llm/anthropic.h"

#include <algorithm>
#include <vector>

#include "llm/wire_util.h"

namespace chatd::llm {
namespace {

constexpr size_t kMaxEventJson = 1 << 20;
// An error's type as logged, at most.
constexpr size_t kMaxLoggedName = 64;

ErrorKind KindOfErrorType(std::string_view type) {
  if (type == "rate_limit_error") return ErrorKind::kRateLimited;
  if (type == "invalid_request_error" || type == "authentication_error" ||
      type == "permission_error" || type == "not_found_error" || type == "request_too_large") {
    return ErrorKind::kClientError;
  }
  return ErrorKind::kServerError;  // overloaded_error, api_error, and whatever comes next
}

void RecordError(const json::Value& root, DecodeState& state) {
  std::optional<json::Value> error = ObjectMember(root, "error");
  const std::string_view type = error ? StringMember(*error, "type") : std::string_view();
  const std::string_view message = error ? StringMember(*error, "message") : std::string_view();
  state.error = KindOfErrorType(type);
  // The type is upstream text too: cut and cleaned for the log (found by tests/fuzz).
  state.error_detail =
      "error in the response: " + LogSnippet(type, kMaxLoggedName) + ": " + LogSnippet(message);
}

void ReadInputUsage(const json::Value& usage, DecodeState& state) {
  // Prompt caching splits the input into three counts; together they are the prompt.
  state.usage.prompt_tokens = IntMember(usage, "input_tokens").value_or(0) +
                              IntMember(usage, "cache_creation_input_tokens").value_or(0) +
                              IntMember(usage, "cache_read_input_tokens").value_or(0);
  if (std::optional<int64_t> out = IntMember(usage, "output_tokens")) {
    state.usage.completion_tokens = *out;
  }
  state.usage.reported = true;
}

}  // namespace

HttpPost AnthropicWire::BuildRequest(const ChatRequest& request,
                                     const ProviderOptions& options) const {
  HttpPost post;
  post.url = options.base_url + "/messages";
  post.headers.push_back("Content-Type: application/json");
  post.headers.push_back(request.stream ? "Accept: text/event-stream" : "Accept: application/json");
  if (!options.api_key.empty()) post.headers.push_back("x-api-key: " + options.api_key);
  post.headers.push_back("anthropic-version: " + std::string(kApiVersion));

  // Normalise the turns (see anthropic.h).
  std::string system = request.system;
  std::vector<ChatMessage> turns;
  for (const ChatMessage& m : request.messages) {
    if (m.content.empty()) continue;
    if (m.role == Role::kSystem) {
      if (!system.empty()) system += "\n\n";
      system += m.content;
      continue;
    }
    if (turns.empty() && m.role == Role::kAssistant) continue;
    if (!turns.empty() && turns.back().role == m.role) {
      turns.back().content += "\n\n";
      turns.back().content += m.content;
      continue;
    }
    turns.push_back(m);
  }

  json::Writer w;
  w.StartObject();
  w.Field("model", request.model.empty() ? options.model : request.model);
  w.Field("max_tokens", request.max_tokens);
  if (!system.empty()) w.Field("system", system);
  w.Key("messages").StartArray();
  for (const ChatMessage& m : turns) {
    w.StartObject().Field("role", RoleName(m.role)).Field("content", m.content).EndObject();
  }
  w.EndArray();
  if (request.temperature) w.Field("temperature", std::clamp(*request.temperature, 0.0, 1.0));
  w.Field("stream", request.stream);
  w.EndObject();
  post.body = w.Take();
  return post;
}

void AnthropicWire::OnEvent(const SseEvent& event, DecodeState& state) const {
  std::optional<json::Document> doc = ParseUpstreamJson(event.data, kMaxEventJson);
  if (!doc || !doc->root().is_object()) {
    state.error = ErrorKind::kMalformed;
    state.error_detail = "the data of an SSE event '" + LogSnippet(event.event, 40) +
                         "' is not a JSON object (" + std::to_string(event.data.size()) + " bytes)";
    return;
  }
  const json::Value root = doc->root();
  std::string_view type = StringMember(root, "type");
  if (type.empty()) type = event.event;

  if (type == "content_block_delta") {
    std::optional<json::Value> delta = ObjectMember(root, "delta");
    if (delta && StringMember(*delta, "type") == "text_delta") {
      state.delta.append(StringMember(*delta, "text"));
    }
  } else if (type == "message_start") {
    if (std::optional<json::Value> message = ObjectMember(root, "message")) {
      if (std::string_view model = StringMember(*message, "model"); !model.empty()) {
        state.model = model;
      }
      if (std::optional<json::Value> usage = ObjectMember(*message, "usage")) {
        ReadInputUsage(*usage, state);
      }
    }
  } else if (type == "message_delta") {
    if (std::optional<json::Value> delta = ObjectMember(root, "delta")) {
      if (std::string_view stop = StringMember(*delta, "stop_reason"); !stop.empty()) {
        state.finish_reason = stop;
      }
    }
    if (std::optional<json::Value> usage = ObjectMember(root, "usage")) {
      if (std::optional<int64_t> out = IntMember(*usage, "output_tokens")) {
        state.usage.completion_tokens = *out;
        state.usage.reported = true;
      }
    }
  } else if (type == "message_stop") {
    state.done = true;
  } else if (type == "error") {
    RecordError(root, state);
  }
  // ping, content_block_start, content_block_stop and unknown events: nothing to do.
}

void AnthropicWire::OnJsonBody(std::string_view body, DecodeState& state) const {
  std::optional<json::Document> doc = ParseUpstreamJson(body, body.size() + 1);
  if (!doc || !doc->root().is_object()) {
    state.error = ErrorKind::kMalformed;
    state.error_detail = "the response body is not a JSON object";
    return;
  }
  const json::Value root = doc->root();
  if (StringMember(root, "type") == "error") {
    RecordError(root, state);
    return;
  }
  std::optional<json::Value> content = root.Find("content");
  if (!content || !content->is_array()) {
    state.error = ErrorKind::kMalformed;
    state.error_detail = "the response has no content array";
    return;
  }
  for (size_t i = 0; i < content->ArraySize(); ++i) {
    const json::Value block = content->ArrayAt(i);
    if (StringMember(block, "type") == "text") state.delta.append(StringMember(block, "text"));
  }
  state.finish_reason = StringMember(root, "stop_reason");
  if (std::string_view model = StringMember(root, "model"); !model.empty()) state.model = model;
  if (std::optional<json::Value> usage = ObjectMember(root, "usage")) ReadInputUsage(*usage, state);
  state.done = true;
}

std::string AnthropicWire::DescribeErrorBody(std::string_view body) const {
  std::optional<json::Document> doc = ParseUpstreamJson(body, body.size() + 1);
  if (doc && doc->root().is_object()) {
    if (std::optional<json::Value> error = ObjectMember(doc->root(), "error")) {
      return LogSnippet(StringMember(*error, "type"), kMaxLoggedName) + ": " +
             LogSnippet(StringMember(*error, "message"));
    }
  }
  return LogSnippet(body, 200);
}

}  // namespace chatd::llm
