// The OpenAI-compatible wire format. See openai.h.

#include "llm/openai.h"

#include "llm/wire_util.h"

namespace chatd::llm {
namespace {

constexpr size_t kMaxEventJson = 1 << 20;
// An error's type or code as logged, at most.
constexpr size_t kMaxLoggedName = 64;

std::string_view Model(const ChatRequest& request, const ProviderOptions& options) {
  return request.model.empty() ? std::string_view(options.model) : std::string_view(request.model);
}

// Records an {"error": {...}} object (in a stream or a 2xx body) on the state.
void RecordError(const json::Value& error, DecodeState& state) {
  // Upstream words, so cut and cleaned for the log like the message (found by tests/fuzz).
  std::string type = LogSnippet(StringMember(error, "type"), kMaxLoggedName);
  std::string code = LogSnippet(StringMember(error, "code"), kMaxLoggedName);
  if (code.empty()) {
    if (std::optional<int64_t> n = IntMember(error, "code")) code = std::to_string(*n);
  }
  const std::string_view message =
      error.is_object() ? StringMember(error, "message") : error.AsString().value_or("");
  const bool rate_limited = code == "429" || code.find("rate_limit") != std::string::npos ||
                            type.find("rate_limit") != std::string::npos;
  state.error = rate_limited ? ErrorKind::kRateLimited : ErrorKind::kServerError;
  state.error_detail = "error in the response: " + type + (code.empty() ? "" : " (" + code + ")") +
                       ": " + LogSnippet(message);
}

void ReadUsage(const json::Value& root, DecodeState& state) {
  std::optional<json::Value> usage = ObjectMember(root, "usage");
  if (!usage) return;
  state.usage.prompt_tokens = IntMember(*usage, "prompt_tokens").value_or(0);
  state.usage.completion_tokens = IntMember(*usage, "completion_tokens").value_or(0);
  state.usage.reported = true;
}

}  // namespace

HttpPost OpenAiWire::BuildRequest(const ChatRequest& request,
                                  const ProviderOptions& options) const {
  HttpPost post;
  post.url = options.base_url + "/chat/completions";
  post.headers.push_back("Content-Type: application/json");
  post.headers.push_back(request.stream ? "Accept: text/event-stream" : "Accept: application/json");
  if (!options.api_key.empty()) post.headers.push_back("Authorization: Bearer " + options.api_key);
  if (!options.openrouter_referer.empty()) {
    post.headers.push_back("HTTP-Referer: " + options.openrouter_referer);
  }
  if (!options.openrouter_title.empty())
    post.headers.push_back("X-Title: " + options.openrouter_title);

  json::Writer w;
  w.StartObject();
  w.Field("model", Model(request, options));
  w.Key("messages").StartArray();
  if (!request.system.empty()) {
    w.StartObject().Field("role", "system").Field("content", request.system).EndObject();
  }
  for (const ChatMessage& m : request.messages) {
    w.StartObject().Field("role", RoleName(m.role)).Field("content", m.content).EndObject();
  }
  w.EndArray();
  w.Field("max_tokens", request.max_tokens);
  if (request.temperature) w.Field("temperature", *request.temperature);
  w.Field("stream", request.stream);
  if (request.stream)
    w.Key("stream_options").StartObject().Field("include_usage", true).EndObject();
  w.EndObject();
  post.body = w.Take();
  return post;
}

void OpenAiWire::OnEvent(const SseEvent& event, DecodeState& state) const {
  if (event.data == "[DONE]") {
    state.done = true;
    return;
  }
  std::optional<json::Document> doc = ParseUpstreamJson(event.data, kMaxEventJson);
  if (!doc || !doc->root().is_object()) {
    state.error = ErrorKind::kMalformed;
    state.error_detail = "an SSE event's data is not a JSON object (" +
                         std::to_string(event.data.size()) + " bytes)";
    return;
  }
  const json::Value root = doc->root();
  if (std::optional<json::Value> error = root.Find("error"); error && !error->is_null()) {
    RecordError(*error, state);
    return;
  }
  if (std::string_view model = StringMember(root, "model"); !model.empty()) state.model = model;
  ReadUsage(root, state);
  std::optional<json::Value> choices = root.Find("choices");
  if (!choices || !choices->is_array() || choices->ArraySize() == 0) return;  // e.g. usage chunk
  const json::Value choice = choices->ArrayAt(0);
  if (std::optional<json::Value> delta = ObjectMember(choice, "delta")) {
    state.delta.append(StringMember(*delta, "content"));
  }
  if (std::string_view finish = StringMember(choice, "finish_reason"); !finish.empty()) {
    state.finish_reason = finish;
  }
}

void OpenAiWire::OnJsonBody(std::string_view body, DecodeState& state) const {
  std::optional<json::Document> doc = ParseUpstreamJson(body, body.size() + 1);
  if (!doc || !doc->root().is_object()) {
    state.error = ErrorKind::kMalformed;
    state.error_detail = "the response body is not a JSON object";
    return;
  }
  const json::Value root = doc->root();
  if (std::optional<json::Value> error = root.Find("error"); error && !error->is_null()) {
    RecordError(*error, state);
    return;
  }
  std::optional<json::Value> choices = root.Find("choices");
  if (!choices || choices->ArraySize() == 0) {
    state.error = ErrorKind::kMalformed;
    state.error_detail = "the response has no choices";
    return;
  }
  const json::Value choice = choices->ArrayAt(0);
  std::optional<json::Value> message = ObjectMember(choice, "message");
  if (!message) {
    state.error = ErrorKind::kMalformed;
    state.error_detail = "the response's first choice has no message";
    return;
  }
  state.delta.append(StringMember(*message, "content"));
  state.finish_reason = StringMember(choice, "finish_reason");
  if (std::string_view model = StringMember(root, "model"); !model.empty()) state.model = model;
  ReadUsage(root, state);
  state.done = true;
}

std::string OpenAiWire::DescribeErrorBody(std::string_view body) const {
  std::optional<json::Document> doc = ParseUpstreamJson(body, body.size() + 1);
  if (doc && doc->root().is_object()) {
    if (std::optional<json::Value> error = doc->root().Find("error")) {
      if (error->is_object()) {
        std::string out = LogSnippet(StringMember(*error, "type"), kMaxLoggedName);
        if (!out.empty()) out += ": ";
        return out + LogSnippet(StringMember(*error, "message"));
      }
      if (std::optional<std::string_view> s = error->AsString()) return LogSnippet(*s);
    }
  }
  return LogSnippet(body, 200);
}

}  // namespace chatd::llm
