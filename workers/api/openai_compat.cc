// The OpenAI-compatible surface (API.md "API keys and the OpenAI-compatible surface"), outside
// /api/v1 so that any OpenAI SDK pointed at https://host/v1 works:
//
//   GET  /v1/models            the caller's assistants and the built-in default, as models
//   GET  /v1/models/{id}       one of them (404 model_not_found otherwise)
//   POST /v1/chat/completions  a completion by one of them, streamed (SSE) or not
//
// Authentication is an API key (Authorization: Bearer chatd_..., api/keys.cc), never an access
// token. Errors are OpenAI's error object {"error": {"message", "type", "param", "code"}} with
// OpenAI's codes (invalid_api_key 401, model_not_found 404, context_length_exceeded 400,
// rate_limit_exceeded / insufficient_quota 429 with Retry-After), mapped once, in OpenAiError.
//
// A completion is what a chat turn is, minus the conversation:
//   * the model is an assistant: its system context (system prompt + enabled prompts) comes first,
//     then the request's own system/developer messages, then the knowledge retrieved for the last
//     user message (sources in the `chatd.sources` extension field); its model, temperature and
//     max_tokens apply unless the request sets temperature / max_tokens / max_completion_tokens;
//   * the request's messages are the whole context, as with OpenAI: nothing is pruned — a context
//     over MAX_CONTEXT_TOKENS minus the reply's budget is 400 context_length_exceeded;
//   * the user's limits are the UI's: LLM_RATE_PER_MIN, the daily token quota and the in-flight
//     caps (a completions_inflight row, sql/0006), checked and counted in one transaction before
//     the upstream call; the tokens are counted for the user's day and for the key afterwards;
//   * it stores nothing (no conversation, no message), unless the request carries
//     `X-Chatd-Store: true`: then, once complete, the exchange becomes a new assistant
//     conversation owned by the caller (its id in `chatd.conversation_id`), which every device
//     of the user sees at once (conversation.created);
//   * a client that goes away mid-stream aborts the upstream call at once (the delta callback
//     returns false): nothing is left to finish, and only what was generated is counted;
//   * `stop` sequences are applied here, over the text as it streams (the text is held back by at
//     most the longest sequence's length so a sequence split across chunks is still found); the
//     upstream call is aborted where one matches, and the finish reason is "stop".
// The upstream's own error text never reaches the client (llm::ChatResult::ToStatus()).

#include <soci/soci.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "api/common.h"
#include "api/conversation_events.h"
#include "api/handlers.h"
#include "api/principal.h"
#include "api/render.h"
#include "api/reply.h"
#include "chat/reply_state.h"
#include "core/log.h"
#include "core/text.h"
#include "json/json.h"
#include "llm/context.h"
#include "llm/provider.h"
#include "llm/token_estimate.h"
#include "store/api_keys_repo.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/documents_repo.h"
#include "store/generations_repo.h"
#include "store/limits_repo.h"
#include "store/messages_repo.h"
#include "store/replies_repo.h"

namespace chatd::api {
namespace {

constexpr size_t kMaxCompletionBody = 256 * 1024;
constexpr size_t kMaxMessages = 1000;
constexpr size_t kMaxStopSequences = 4;
constexpr size_t kMaxStopChars = 100;
constexpr size_t kMaxMessageChars = 200000;
constexpr auto kHeartbeatEvery = std::chrono::seconds(20);

// ---- errors ------------------------------------------------------------------------------------

// OpenAI's error object for a Status. `code_override` names a more precise OpenAI code
// (model_not_found, context_length_exceeded) where the Status's own code is generic.
http::Response OpenAiError(const Status& st, const std::string& code_override = "") {
  int status = HttpStatusOf(st.code());
  std::string type = "invalid_request_error", code;
  std::string message = st.detail();
  std::optional<std::string> param;
  switch (st.code()) {
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kTokenExpired:
    case ErrorCode::kInvalidCredentials:
    case ErrorCode::kTokenReused:
      status = 401;
      code = "invalid_api_key";
      message = "Incorrect or revoked API key provided. Create a key in chatd's settings.";
      break;
    case ErrorCode::kValidation:
      code = "invalid_value";
      if (!st.field_errors().empty()) {
        const FieldError& e = st.field_errors().front();
        param = e.field;
        message = e.field + " " + e.message;
        for (size_t i = 1; i < st.field_errors().size(); ++i) {
          message += "; " + st.field_errors()[i].field + " " + st.field_errors()[i].message;
        }
      }
      break;
    case ErrorCode::kNotFound:
      code = "not_found";
      break;
    case ErrorCode::kRateLimited:
      type = "requests";
      code = "rate_limit_exceeded";
      break;
    case ErrorCode::kQuotaExceeded:
      type = "insufficient_quota";
      code = "insufficient_quota";
      break;
    case ErrorCode::kForbidden:
      code = "forbidden";
      break;
    case ErrorCode::kPayloadTooLarge:
      code = "request_too_large";
      break;
    case ErrorCode::kUnsupportedMediaType:
      code = "unsupported_media_type";
      break;
    case ErrorCode::kMethodNotAllowed:
      code = "method_not_allowed";
      break;
    case ErrorCode::kLlmUnavailable:
    case ErrorCode::kLlmTimeout:
    case ErrorCode::kServiceUnavailable:
    case ErrorCode::kInternal:
      type = "server_error";
      code = std::string(ErrorCodeName(st.code()));
      for (char& c : code) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      break;
    default:
      code = "invalid_request";
      break;
  }
  // A more precise OpenAI code, for the generic domain codes only (never over a 401 or a 429).
  if (!code_override.empty() &&
      (st.code() == ErrorCode::kNotFound || st.code() == ErrorCode::kValidation)) {
    code = code_override;
  }
  json::Writer w;
  w.StartObject().Key("error").StartObject().Field("message", message).Field("type", type);
  w.Field("param", param).Field("code", code).EndObject().EndObject();
  http::Response r = http::Response::Json(status, w.Take());
  if (st.retry_after_s()) {
    r.headers.emplace_back("Retry-After", std::to_string(*st.retry_after_s()));
    r.headers.emplace_back("retry-after-ms", std::to_string(*st.retry_after_s() * 1000));
  }
  return r;
}

Status ModelNotFound(const std::string& model) {
  return Status(ErrorCode::kNotFound, "The model '" + std::string(PrefixChars(model, 100)) +
                                          "' does not exist or you do not have access to it.");
}

void SendResult(http::ResponseWriter& writer, const Result<http::Response>& result,
                const std::string& code_override = "") {
  if (result.ok()) {
    writer.Send(result.value());
  } else {
    writer.Send(OpenAiError(result.status(), code_override));
  }
}

// ---- models ------------------------------------------------------------------------------------

// Seconds since the epoch of an RFC 3339 UTC timestamp as the store writes it.
int64_t UnixSeconds(const std::string& rfc3339) {
  std::tm tm{};
  if (sscanf(rfc3339.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

void WriteModel(json::Writer& w, const store::Assistant& a) {
  w.StartObject()
      .Field("id", a.id)
      .Field("object", "model")
      .Field("created", UnixSeconds(a.created_at))
      .Field("owned_by", a.owner_id ? "user" : "chatd")
      .Field("name", a.name)  // extension: the assistant's name, for pickers
      .EndObject();
}

// The caller's view of an assistant as a model: its own and the built-in default (an admin's
// wider view of assistants is for administration, not for models).
store::AssistantViewer ModelViewer(const Principal& me) {
  return {me.user_id, false};
}

Result<http::Response> ListModels(Services& services, const http::Request& r) {
  auto me = AuthenticateApiKey(r, services);
  if (!me.ok()) return me.status();
  std::vector<store::Assistant> all;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        all.clear();
        std::string cursor;
        for (;;) {
          auto page = store::ListAssistants(s, ModelViewer(*me), 100, cursor);
          if (!page.ok()) return page.status();
          for (auto& a : page->items) all.push_back(std::move(a));
          if (!page->next_cursor) break;
          cursor = *page->next_cursor;
        }
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  json::Writer w;
  w.StartObject().Field("object", "list").Key("data").StartArray();
  for (const auto& a : all) WriteModel(w, a);
  w.EndArray().EndObject();
  return http::Response::Json(200, w.Take());
}

Result<http::Response> GetModel(Services& services, const http::Request& r) {
  auto me = AuthenticateApiKey(r, services);
  if (!me.ok()) return me.status();
  std::string id(r.PathParam("id"));
  if (!json::IsUuid(id)) return ModelNotFound(id);
  id = AsciiLower(id);
  std::optional<store::Assistant> found;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        auto a = store::GetAssistant(s, id, ModelViewer(*me));
        if (a.ok()) found = std::move(a).value();
        return a.ok() || a.status().code() == ErrorCode::kNotFound ? Status::Ok() : a.status();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  if (!found) return ModelNotFound(id);
  json::Writer w;
  WriteModel(w, *found);
  return http::Response::Json(200, w.Take());
}

// ---- the request
// ---------------------------------------------------------------------------------

struct CompletionRequest {
  std::string model;
  std::vector<std::string> system;        // the request's system/developer messages, in order
  std::vector<llm::ChatMessage> history;  // user/assistant turns before the last user message
  std::string last_user;
  bool stream = false;
  bool include_usage = false;
  std::optional<int64_t> max_tokens;
  std::optional<double> temperature;
  std::vector<std::string> stop;
};

// One message's content: a string, or an array of {"type": "text", "text": ...} parts (joined).
std::optional<std::string> ReadContent(const json::Value& v, const std::string& name,
                                       json::ObjectReader& errors) {
  auto clean = [&](std::string_view raw) -> std::optional<std::string> {
    SanitizedText t = SanitizeUserTextKeepingLayout(raw);
    if (t.problem == TextProblem::kContainsNul) {
      errors.AddError(name, "must not contain NUL characters");
      return std::nullopt;
    }
    if (t.problem != TextProblem::kNone) {
      errors.AddError(name, "must be valid UTF-8");
      return std::nullopt;
    }
    if (CountChars(t.text) > kMaxMessageChars) {
      errors.AddError(name, "must be at most " + std::to_string(kMaxMessageChars) + " characters");
      return std::nullopt;
    }
    return std::move(t.text);
  };
  if (auto s = v.AsString()) return clean(*s);
  if (v.is_array()) {
    std::string joined;
    for (size_t i = 0; i < v.ArraySize(); ++i) {
      json::Value part = v.ArrayAt(i);
      const std::string part_name = name + "[" + std::to_string(i) + "]";
      json::ObjectReader in(part, part_name + ".");
      json::StringRule type_rule;
      type_rule.sanitize = false;
      type_rule.min_chars = 1;
      type_rule.max_chars = 50;
      auto type = in.String("type", type_rule, true);
      if (type.value && *type.value != "text") {
        errors.AddError(part_name + ".type", "must be \"text\" (only text content is supported)");
        return std::nullopt;
      }
      auto text = in.Raw("text");
      Status st = in.Finish();
      if (!st.ok()) {
        for (const auto& e : st.field_errors()) errors.AddError(e.field, e.message);
        return std::nullopt;
      }
      auto s = text ? text->AsString() : std::nullopt;
      if (!s) {
        errors.AddError(part_name + ".text", "must be a string");
        return std::nullopt;
      }
      auto c = clean(*s);
      if (!c) return std::nullopt;
      if (!joined.empty()) joined += "\n";
      joined += *c;
    }
    return joined;
  }
  errors.AddError(name, "must be a string or an array of text parts");
  return std::nullopt;
}

Result<CompletionRequest> ReadCompletionRequest(const http::Request& r) {
  auto body = ParseJsonBody(r, kMaxCompletionBody);
  if (!body.ok()) return body.status();
  json::ObjectReader in(body->root());
  CompletionRequest out;
  json::StringRule model_rule;
  model_rule.sanitize = false;
  model_rule.min_chars = 1;
  model_rule.max_chars = 200;
  auto model = in.String("model", model_rule, true);
  auto stream = in.Bool("stream");
  auto max_tokens = in.Int("max_tokens", 1, store::kMaxAssistantMaxTokens, false, true);
  auto max_completion =
      in.Int("max_completion_tokens", 1, store::kMaxAssistantMaxTokens, false, true);
  auto temperature = in.Number("temperature", 0, 2, false, true);
  auto n = in.Int("n", 1, 1, false, true);
  // Sampling settings some clients always send; no provider adapter forwards them, so they are
  // accepted within OpenAI's ranges and documented as ignored (docs/openapi.yaml).
  in.Number("top_p", 0, 1, false, true);
  in.Number("presence_penalty", -2, 2, false, true);
  in.Number("frequency_penalty", -2, 2, false, true);
  in.Int("seed", INT64_MIN, INT64_MAX, false, true);
  json::StringRule user_rule;
  user_rule.max_chars = 256;
  in.String("user", user_rule);
  (void)n;

  if (auto opts = in.Raw("stream_options"); opts && !opts->is_null()) {
    json::ObjectReader o(*opts, "stream_options.");
    auto include = o.Bool("include_usage");
    Status st = o.Finish();
    for (const auto& e : st.field_errors()) in.AddError(e.field, e.message);
    out.include_usage = include.value.value_or(false);
  }
  if (auto stop = in.Raw("stop"); stop && !stop->is_null()) {
    std::vector<std::string_view> items;
    if (auto one = stop->AsString()) {
      items.push_back(*one);
    } else if (stop->is_array() && stop->ArraySize() <= kMaxStopSequences) {
      for (size_t i = 0; i < stop->ArraySize(); ++i) {
        auto s = stop->ArrayAt(i).AsString();
        if (!s) {
          items.clear();
          in.AddError("stop", "must be a string or an array of at most 4 strings");
          break;
        }
        items.push_back(*s);
      }
    } else {
      in.AddError("stop", "must be a string or an array of at most 4 strings");
    }
    for (std::string_view s : items) {
      if (s.empty() || s.size() > kMaxStopChars || !IsValidUtf8(s) ||
          s.find('\0') != std::string_view::npos) {
        in.AddError("stop", "each sequence must be 1..100 bytes of text");
        break;
      }
      out.stop.emplace_back(s);
    }
  }

  auto messages = in.Raw("messages");
  if (!messages) {
    in.AddError("messages", "is required");
  } else if (!messages->is_array() || messages->ArraySize() == 0 ||
             messages->ArraySize() > kMaxMessages) {
    in.AddError("messages", "must be an array of 1.." + std::to_string(kMaxMessages) + " messages");
  } else {
    std::vector<llm::ChatMessage> turns;
    for (size_t i = 0; i < messages->ArraySize(); ++i) {
      const std::string name = "messages[" + std::to_string(i) + "]";
      json::ObjectReader m(messages->ArrayAt(i), name + ".");
      json::StringRule role_rule;
      role_rule.sanitize = false;
      role_rule.min_chars = 1;
      role_rule.max_chars = 20;
      auto role = m.String("role", role_rule, true);
      auto content = m.Raw("content");
      json::StringRule name_rule;
      name_rule.max_chars = 64;
      m.String("name", name_rule);
      Status st = m.Finish();
      if (!st.ok()) {
        for (const auto& e : st.field_errors()) in.AddError(e.field, e.message);
        continue;
      }
      if (!content || content->is_null()) {
        in.AddError(name + ".content", "is required");
        continue;
      }
      auto text = ReadContent(*content, name + ".content", in);
      if (!text) continue;
      const std::string& rl = *role.value;
      if (rl == "system" || rl == "developer") {
        if (!TrimSpace(*text).empty()) out.system.push_back(std::move(*text));
      } else if (rl == "user") {
        turns.push_back({llm::Role::kUser, std::move(*text)});
      } else if (rl == "assistant") {
        turns.push_back({llm::Role::kAssistant, std::move(*text)});
      } else {
        in.AddError(name + ".role",
                    "must be one of system, developer, user, assistant (tools are not supported)");
      }
    }
    if (!in.has_errors()) {
      if (turns.empty() || turns.back().role != llm::Role::kUser) {
        in.AddError("messages", "must end with a user message");
      } else if (TrimSpace(turns.back().content).empty()) {
        in.AddError("messages", "the last user message must not be empty");
      } else {
        out.last_user = std::move(turns.back().content);
        turns.pop_back();
        out.history = std::move(turns);
      }
    }
  }
  Status st = in.Finish();
  if (!st.ok()) return st;
  out.model = *model.value;
  out.stream = stream.value.value_or(false);
  out.max_tokens = max_completion.value ? max_completion.value : max_tokens.value;
  out.temperature = temperature.value;
  return out;
}

// ---- stop sequences --------------------------------------------------------------------------

// Applies stop sequences to text arriving in pieces: Feed() returns what may be shown now, holding
// back a tail that could still become the start of a sequence; Finish() releases the tail.
class StopFilter {
 public:
  explicit StopFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
    for (const auto& s : stops_) hold_ = std::max(hold_, s.size() - 1);
  }
  bool stopped() const { return stopped_; }

  std::string Feed(std::string_view delta) {
    if (stopped_) return {};
    text_.append(delta);
    if (stops_.empty()) return Release(text_.size());
    size_t from = emitted_ > hold_ ? emitted_ - hold_ : 0;
    size_t hit = std::string::npos;
    for (const auto& s : stops_) hit = std::min(hit, text_.find(s, from));
    if (hit != std::string::npos) {
      stopped_ = true;
      return Release(hit);
    }
    size_t until = text_.size() > hold_ ? text_.size() - hold_ : 0;
    // Never cut inside a UTF-8 sequence.
    while (until > emitted_ && until < text_.size() &&
           (static_cast<unsigned char>(text_[until]) & 0xC0) == 0x80) {
      --until;
    }
    return until > emitted_ ? Release(until) : std::string();
  }
  std::string Finish() { return stopped_ ? std::string() : Release(text_.size()); }
  // Everything released so far.
  std::string_view shown() const { return std::string_view(text_).substr(0, emitted_); }

 private:
  std::string Release(size_t until) {
    std::string out = text_.substr(emitted_, until - emitted_);
    emitted_ = until;
    return out;
  }
  std::vector<std::string> stops_;
  size_t hold_ = 0;
  std::string text_;
  size_t emitted_ = 0;
  bool stopped_ = false;
};

// ---- the completion ----------------------------------------------------------------------------

struct Prepared {
  std::string id;  // completions_inflight row, and the completion's id
  std::string assistant_id;
  llm::ChatRequest request;
  std::string sources_json = "[]";
  int64_t estimated_prompt_tokens = 0;
  store::RateWindow rate;
};

// Everything before the upstream call, in one transaction: the model, the limits, the context.
Status Prepare(soci::session& s, Services& services, const Principal& me,
               const CompletionRequest& req, Prepared* out, std::string* code_override) {
  const Config& config = *services.config;
  const std::string model_id = json::IsUuid(req.model) ? AsciiLower(req.model) : "";
  if (model_id.empty()) {
    *code_override = "model_not_found";
    return ModelNotFound(req.model);
  }
  auto assistant = store::GetAssistant(s, model_id, ModelViewer(me));
  if (!assistant.ok()) {
    if (assistant.status().code() == ErrorCode::kNotFound) {
      *code_override = "model_not_found";
      return ModelNotFound(req.model);
    }
    return assistant.status();
  }
  auto context = store::LoadAssistantContext(s, model_id);
  if (!context.ok()) return context.status();

  const int64_t max_tokens =
      req.max_tokens.value_or(context->max_tokens.value_or(config.max_response_tokens));
  std::vector<store::RetrievedChunk> chunks;
  if (config.retrieval_top_k > 0) {
    auto found = store::RetrieveChunks(s, model_id, req.last_user, config.retrieval_top_k);
    if (!found.ok()) return found.status();
    chunks = std::move(found.value());
  }
  llm::ContextInput input;
  input.system_context = context->system_context;
  for (const auto& sys : req.system) {
    if (!input.system_context.empty()) input.system_context += "\n\n";
    input.system_context += sys;
  }
  for (const auto& c : chunks) {
    input.chunks.push_back({c.document_id, c.filename, c.chunk_index, c.content});
  }
  input.history = req.history;
  input.user_message = req.last_user;
  input.max_context_tokens = config.max_context_tokens;
  input.max_response_tokens = max_tokens;
  llm::BuiltContext built = llm::BuildContext(input);
  if (built.over_budget || built.history_dropped > 0) {
    *code_override = "context_length_exceeded";
    return Status::Invalid("messages", "are too long for this model: about " +
                                           std::to_string(built.estimated_tokens + max_tokens) +
                                           " tokens with the reply, over the maximum of " +
                                           std::to_string(config.max_context_tokens) +
                                           ". Shorten the messages or lower max_tokens.");
  }

  // Limits last, in this transaction: a refused completion counts nothing.
  const int64_t quota = me.is_guest ? config.guest_daily_token_quota : config.daily_token_quota;
  store::TurnLimits limits = store::TakeTurnLimits(s, me.user_id, config.llm_rate_per_min, quota);
  out->rate = limits.rate;
  if (!limits.rate.allowed) {
    return Status(ErrorCode::kRateLimited,
                  "Rate limit reached for requests. Please wait a moment and try again.")
        .WithRetryAfter(limits.rate.reset_s);
  }
  if (limits.quota.exhausted()) {
    return Status(ErrorCode::kQuotaExceeded,
                  "You exceeded today's token quota. It resets at midnight UTC.")
        .WithRetryAfter(limits.quota.seconds_to_reset);
  }
  out->assistant_id = model_id;
  auto started = store::StartCompletion(s, {me.user_id, me.api_key_id, WorkerName()},
                                        {config.max_inflight_per_user, config.max_inflight_total});
  if (!started.ok()) return started.status();
  out->id = std::move(started).value();

  out->request.model = context->model.value_or(config.llm_model);
  out->request.system = std::move(built.system);
  out->request.messages = std::move(built.messages);
  out->request.max_tokens = static_cast<int>(max_tokens);
  out->request.temperature = req.temperature ? req.temperature : context->temperature;
  out->request.stream = true;  // stop sequences, a vanished client and deltas all need it
  out->estimated_prompt_tokens = built.estimated_tokens;
  out->sources_json = SourcesJson(chunks, built.chunks_used);
  return Status::Ok();
}

std::string FinishReason(const llm::ChatResult& result, bool stopped) {
  if (stopped) return "stop";
  if (result.finish_reason == "length" || result.finish_reason == "max_tokens") return "length";
  return "stop";
}

// The exchange as a new assistant conversation of the caller (X-Chatd-Store: true), in the
// caller's transaction: the request's user and assistant turns (its system messages are
// instructions, not conversation), then the reply with its usage and sources, all complete, and
// conversation.created to the caller's devices. Returns the conversation's id.
Result<std::string> StoreExchange(soci::session& s, const Principal& me,
                                  const CompletionRequest& req, const Prepared& p,
                                  const std::string& reply_text, int64_t prompt_tokens,
                                  int64_t completion_tokens) {
  std::vector<llm::ChatMessage> turns = req.history;
  turns.push_back({llm::Role::kUser, req.last_user});
  std::string first_user;
  for (const auto& t : turns) {
    if (t.role == llm::Role::kUser) {
      first_user = t.content;
      break;
    }
  }
  std::string title = AutoTitle(first_user);
  store::NewConversation nc;
  nc.kind = "assistant";
  if (!title.empty()) nc.title = title;
  nc.assistant_id = p.assistant_id;
  nc.owner_id = me.user_id;
  const std::string id = store::InsertConversation(s, nc);
  auto locked = store::LockConversation(s, id, me.user_id);
  if (!locked || !locked->is_member()) return Status::Internal();
  const int count = static_cast<int>(turns.size()) + 1;
  int64_t seq = store::TakeSeqs(s, id, count) - count + 1;
  std::string last_user_id;
  auto store_reply = [&](const std::string& content, bool final) {
    store::NewReply nr;
    nr.conversation_id = id;
    nr.seq = seq++;
    nr.assistant_id = p.assistant_id;
    nr.reply_to = last_user_id;
    nr.model = p.request.model;
    nr.sources_json = final ? p.sources_json : "[]";
    store::MessageRecord m = store::InsertStreamingReply(s, nr);
    store::FinishedReply done;
    done.message_id = m.id;
    done.content = content;
    done.status = std::string(chat::StateName(chat::ReplyState::kComplete));
    done.model = p.request.model;
    if (final) {
      done.prompt_tokens = prompt_tokens;
      done.completion_tokens = completion_tokens;
      done.sources_json = p.sources_json;
    }
    store::FinishReply(s, done);
  };
  for (const auto& t : turns) {
    if (t.role == llm::Role::kUser) {
      store::NewUserMessage m;
      m.conversation_id = id;
      m.seq = seq++;
      m.sender = locked->caller;
      m.content = std::string(TrimSpace(t.content));
      if (m.content.empty()) m.content = "(empty)";
      last_user_id = store::InsertUserMessage(s, m).id;
    } else if (!last_user_id.empty()) {
      store_reply(std::string(TrimSpace(t.content)), false);
    }
  }
  store_reply(reply_text, true);
  auto snapshot = store::LoadConversationSnapshot(s, id);
  if (!snapshot) return Status::Internal();
  store::EmitEvent(s, id, "conversation.created",
                   ConversationEventPayload(*snapshot, {me.user_id, std::nullopt, {}}),
                   {me.user_id});
  return id;
}

bool WantsStore(const http::Request& r) {
  std::string v = AsciiLower(r.store_exchange);
  return v == "true" || v == "1" || v == "yes";
}

void ChatCompletions(Services& services, const http::Request& r, http::ResponseWriter& writer) {
  auto me = AuthenticateApiKey(r, services);
  if (!me.ok()) return SendResult(writer, me.status());
  auto req = ReadCompletionRequest(r);
  if (!req.ok()) return SendResult(writer, req.status());
  const bool store_it = WantsStore(r);

  Prepared p;
  std::string code_override;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    code_override.clear();
    Status prepared = Prepare(s, services, *me, *req, &p, &code_override);
    if (!prepared.ok()) return prepared;  // rolls back: nothing counted
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) {
    http::Response err = OpenAiError(st, code_override);
    for (auto& h : RateLimitHeaders(p.rate)) err.headers.push_back(h);
    return writer.Send(err);
  }
  if (services.mark_long_running) services.mark_long_running();

  const auto started = std::chrono::steady_clock::now();
  const int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  std::string hex = p.id;
  hex.erase(std::remove(hex.begin(), hex.end(), '-'), hex.end());
  const std::string completion_id = "chatcmpl-" + hex;

  auto chunk = [&](json::Writer& w) {
    w.StartObject()
        .Field("id", completion_id)
        .Field("object", "chat.completion.chunk")
        .Field("created", created)
        .Field("model", req->model)
        .Key("system_fingerprint")
        .Null();
  };
  bool client_here = true, begun = false;
  auto send_event = [&](std::string data) {
    if (!client_here) return false;
    data.insert(0, "data: ");
    data += "\n\n";
    client_here = writer.Write(data) && writer.Flush();
    return client_here;
  };
  auto begin_stream = [&]() {
    if (begun) return client_here;
    begun = true;
    std::vector<http::Header> headers = RateLimitHeaders(p.rate);
    headers.emplace_back("Cache-Control", "no-cache");
    headers.emplace_back("X-Accel-Buffering", "no");
    client_here = writer.Begin(200, "text/event-stream; charset=utf-8", headers);
    json::Writer w;
    chunk(w);
    w.Key("choices").StartArray().StartObject().Field("index", 0);
    w.Key("delta").StartObject().Field("role", "assistant").Field("content", "").EndObject();
    w.Key("logprobs").Null().Key("finish_reason").Null().EndObject().EndArray();
    if (req->include_usage) w.Key("usage").Null();
    w.Key("chatd").StartObject().Key("sources").Raw(p.sources_json).EndObject();
    w.EndObject();
    return send_event(w.Take());
  };
  auto send_delta = [&](std::string_view text) {
    if (text.empty()) return client_here;
    if (!begin_stream()) return false;
    json::Writer w;
    chunk(w);
    w.Key("choices").StartArray().StartObject().Field("index", 0);
    w.Key("delta").StartObject().Field("content", text).EndObject();
    w.Key("logprobs").Null().Key("finish_reason").Null().EndObject().EndArray();
    if (req->include_usage) w.Key("usage").Null();
    w.EndObject();
    return send_event(w.Take());
  };

  StopFilter filter(req->stop);
  auto last_beat = std::chrono::steady_clock::now();
  auto on_delta = [&](std::string_view delta) {
    std::string shown = filter.Feed(delta);
    if (req->stream && !send_delta(shown)) {
      LogInfo("completion client left; aborting upstream")
          .Str("request_id", r.request_id)
          .Str("completion_id", p.id);
      return false;  // a vanished client: stop generating (and billing) now
    }
    if (std::chrono::steady_clock::now() - last_beat > kHeartbeatEvery) {
      last_beat = std::chrono::steady_clock::now();
      services.db->Run([&](soci::session& s) {
        store::HeartbeatCompletion(s, p.id);
        return Status::Ok();
      });
    }
    return !filter.stopped();
  };

  llm::ChatResult result;
  if (services.llm) {
    result = services.llm->Complete(p.request, on_delta, nullptr);
  } else {
    result.error = llm::ErrorKind::kConnect;
    result.error_detail = "no LLM provider configured";
  }
  const bool stopped_by_sequence = filter.stopped();
  const bool failed = !result.ok() && !(result.error == llm::ErrorKind::kAborted);
  std::string tail = failed ? std::string() : filter.Finish();
  if (req->stream && !tail.empty()) send_delta(tail);
  const std::string text(filter.shown());

  const int64_t prompt_tokens =
      result.usage.reported ? result.usage.prompt_tokens : p.estimated_prompt_tokens;
  const int64_t completion_tokens = result.usage.reported && !stopped_by_sequence
                                        ? result.usage.completion_tokens
                                        : llm::EstimateTokens(result.text);
  std::optional<std::string> conversation_id;
  st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    store::FinishCompletion(s, p.id);
    store::RecordUsage(s, me->user_id, 1, prompt_tokens, completion_tokens);
    if (me->api_key_id) {
      store::RecordApiKeyUsage(s, *me->api_key_id, prompt_tokens, completion_tokens);
    }
    if (store_it && !failed && client_here) {
      auto stored = StoreExchange(s, *me, *req, p, text, prompt_tokens, completion_tokens);
      if (!stored.ok()) return stored.status();
      conversation_id = stored.value();
    }
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) {
    LogWarn("completion bookkeeping failed")
        .Str("request_id", r.request_id)
        .Str("completion_id", p.id)
        .Str("error", st.detail());
  }
  {
    LogLine log = failed ? LogWarn("completion failed") : LogInfo("completion finished");
    log.Str("request_id", r.request_id)
        .Str("completion_id", p.id)
        .Str("user_id", me->user_id)
        .Str("key_id", me->api_key_id.value_or(""))
        .Str("model", p.request.model)
        .Bool("stream", req->stream)
        .Bool("client_left", !client_here)
        .Int("prompt_tokens", prompt_tokens)
        .Int("completion_tokens", completion_tokens)
        .Int("duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count());
    if (failed) {
      log.Str("error", llm::ErrorKindName(result.error))
          .Int("upstream_status", result.http_status)
          .Str("error_detail", result.error_detail);
    }
  }
  if (!client_here) return;

  const std::string finish = FinishReason(result, stopped_by_sequence);
  if (failed) {
    Status failure = result.ToStatus();
    if (!req->stream || !begun) return writer.Send(OpenAiError(failure));
    // Mid-stream: OpenAI's SDKs raise an APIError for an error event.
    http::Response e = OpenAiError(failure);
    send_event(e.body);
    return;
  }
  if (req->stream) {
    begin_stream();
    json::Writer w;
    chunk(w);
    w.Key("choices").StartArray().StartObject().Field("index", 0);
    w.Key("delta").StartObject().EndObject();
    w.Key("logprobs").Null().Field("finish_reason", finish).EndObject().EndArray();
    if (req->include_usage) w.Key("usage").Null();
    if (conversation_id) {
      w.Key("chatd").StartObject().Field("conversation_id", *conversation_id).EndObject();
    }
    w.EndObject();
    send_event(w.Take());
    if (req->include_usage) {
      json::Writer u;
      chunk(u);
      u.Key("choices").StartArray().EndArray();
      u.Key("usage")
          .StartObject()
          .Field("prompt_tokens", prompt_tokens)
          .Field("completion_tokens", completion_tokens)
          .Field("total_tokens", prompt_tokens + completion_tokens)
          .EndObject();
      u.EndObject();
      send_event(u.Take());
    }
    if (client_here) {
      writer.Write("data: [DONE]\n\n");
      writer.Flush();
    }
    return;
  }
  json::Writer w;
  w.StartObject()
      .Field("id", completion_id)
      .Field("object", "chat.completion")
      .Field("created", created)
      .Field("model", req->model)
      .Key("system_fingerprint")
      .Null();
  w.Key("choices").StartArray().StartObject().Field("index", 0);
  w.Key("message")
      .StartObject()
      .Field("role", "assistant")
      .Field("content", text)
      .Key("refusal")
      .Null()
      .EndObject();
  w.Key("logprobs").Null().Field("finish_reason", finish).EndObject().EndArray();
  w.Key("usage")
      .StartObject()
      .Field("prompt_tokens", prompt_tokens)
      .Field("completion_tokens", completion_tokens)
      .Field("total_tokens", prompt_tokens + completion_tokens)
      .EndObject();
  w.Key("chatd").StartObject().Key("sources").Raw(p.sources_json);
  w.Field("conversation_id", conversation_id).EndObject();
  w.EndObject();
  http::Response response = http::Response::Json(200, w.Take());
  for (auto& h : RateLimitHeaders(p.rate)) response.headers.push_back(h);
  writer.Send(response);
}

}  // namespace

void RegisterOpenAiRoutes(http::Router& router, Services* services) {
  router.Add("GET", "/v1/models", [services](const http::Request& r, http::ResponseWriter& w) {
    SendResult(w, ListModels(*services, r));
  });
  router.Add("GET", "/v1/models/{id}", [services](const http::Request& r, http::ResponseWriter& w) {
    SendResult(w, GetModel(*services, r), "model_not_found");
  });
  router.Add("POST", "/v1/chat/completions",
             [services](const http::Request& r, http::ResponseWriter& w) {
               ChatCompletions(*services, r, w);
             });
}

}  // namespace chatd::api
