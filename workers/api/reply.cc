// The generation engine of assistant replies. The flow and its rules are described in reply.h.

#include "api/reply.h"

#include <soci/soci.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "api/conversation_events.h"
#include "api/render.h"
#include "api/reply_bus.h"
#include "chat/replies.h"
#include "chat/reply_state.h"
#include "core/log.h"
#include "core/text.h"
#include "llm/context.h"
#include "llm/token_estimate.h"
#include "store/assistants_repo.h"
#include "store/documents_repo.h"
#include "store/generations_repo.h"
#include "store/replies_repo.h"

namespace chatd::api {
namespace {

using Clock = std::chrono::steady_clock;

// One SSE event; `data` is compact JSON (no newline inside).
bool WriteEvent(http::ResponseWriter& writer, std::string_view event, std::string_view data) {
  std::string frame;
  frame.reserve(data.size() + event.size() + 16);
  frame.append("event: ").append(event).append("\ndata: ").append(data).append("\n\n");
  return writer.Write(frame) && writer.Flush();
}

// conversation.updated (title) to the members, as every conversation event is emitted.
void EmitTitleChanged(soci::session& s, const std::string& conversation_id,
                      const std::string& actor_id) {
  auto snapshot = store::LoadConversationSnapshot(s, conversation_id);
  if (!snapshot) return;
  std::vector<std::string> members;
  for (const auto& m : snapshot->members) members.push_back(m.user.id);
  EmitConversationEvent(s, *snapshot, "conversation.updated", {actor_id, std::nullopt, {"title"}},
                        members);
}

// What ended the reply (chat/reply_state.h) and what it had produced, from the provider's result.
chat::ReplyOutcome Outcome(const PreparedReply& p, const llm::ChatResult& result) {
  chat::ReplyOutcome o;
  o.message_id = p.reply.id;
  o.conversation_id = p.conversation_id;
  o.content = result.text;
  o.model = !result.model.empty() ? result.model.substr(0, store::kMaxAssistantModelChars)
                                  : p.reply.model.value_or(p.request.model);
  o.sources_json = p.sources_json;
  if (result.ok()) {
    o.event = chat::ReplyEvent::kCompleted;
  } else if (result.error == llm::ErrorKind::kAborted) {
    o.event = chat::ReplyEvent::kStopped;  // a stop from any device, or this worker's shutdown
  } else {
    o.event = chat::ReplyEvent::kUpstreamFailed;
    o.error_code = std::string(ErrorCodeName(result.ToStatus().code()));
  }
  if (result.usage.reported) {
    o.prompt_tokens = result.usage.prompt_tokens;
    o.completion_tokens = result.usage.completion_tokens;
  } else if (o.event != chat::ReplyEvent::kUpstreamFailed || !result.text.empty()) {
    // Not reported (an aborted stream, a provider that does not say): estimated, so the quota
    // still counts what was most likely billed.
    o.prompt_tokens = p.estimated_prompt_tokens;
    o.completion_tokens = llm::EstimateTokens(result.text);
  }
  return o;
}

// Step 3: chat::FinishReply's one transaction. Retried a few times (the database may blip); a
// retry after a commit whose answer was lost finds the reply no longer streaming and records
// nothing twice.
constexpr auto kStoreOutcomeDeadline = std::chrono::seconds(30);

std::optional<store::MessageRecord> StoreOutcome(Services& services, const PreparedReply& p,
                                                 const chat::ReplyOutcome& outcome,
                                                 bool* vanished) {
  std::optional<store::MessageRecord> stored;
  *vanished = false;
  // Retried for as long as a database failover takes (a replica promoted, sessions reconnecting:
  // seconds), so that a reply that streamed through it is stored with its final status rather than
  // left `streaming` for gc. The request thread is already long-running; the client waits for
  // its `done` event meanwhile.
  const auto deadline = std::chrono::steady_clock::now() + kStoreOutcomeDeadline;
  for (int attempt = 0;; ++attempt) {
    Status st = services.db->Run([&](soci::session& s) -> Status {
      chat::FinishedReply finished = chat::FinishReply(s, outcome, p.user_id, attempt == 0);
      stored = std::move(finished.stored);
      *vanished = finished.vanished;
      // Finished elsewhere meanwhile (a retry after a lost commit answer, or gc): as it is now.
      if (!stored && !*vanished) stored = store::FindMessage(s, p.conversation_id, p.reply.id);
      return Status::Ok();
    });
    if (st.ok()) return stored;
    if (std::chrono::steady_clock::now() >= deadline) break;
    LogWarn("storing a finished reply failed; retrying")
        .Str("message_id", outcome.message_id)
        .Int("attempt", attempt + 1)
        .Str("error", st.detail());
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(250 * (attempt + 1), 2000)));
  }
  LogError("could not store a finished reply; gc will finish it")
      .Str("message_id", outcome.message_id);
  return std::nullopt;
}

}  // namespace

std::string SourcesJson(const std::vector<store::RetrievedChunk>& chunks, size_t used) {
  json::Writer w;
  w.StartArray();
  for (size_t i = 0; i < used && i < chunks.size(); ++i) {
    w.StartObject()
        .Field("document_id", chunks[i].document_id)
        .Field("filename", chunks[i].filename)
        .Field("chunk_index", chunks[i].chunk_index)
        .Field("excerpt", store::Excerpt(chunks[i].content))
        .EndObject();
  }
  w.EndArray();
  return w.Take();
}

const std::string& WorkerName() {
  static const std::string name = [] {
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    std::string n = std::string(host[0] ? host : "localhost") + ":" + std::to_string(getpid());
    return n.substr(0, 200);
  }();
  return name;
}

std::vector<http::Header> RateLimitHeaders(const store::RateWindow& rate) {
  return {{"RateLimit-Limit", std::to_string(rate.limit)},
          {"RateLimit-Remaining", std::to_string(rate.remaining)},
          {"RateLimit-Reset", std::to_string(rate.reset_s)}};
}

std::string AutoTitle(std::string_view first_message) {
  std::string collapsed;
  bool space = false;
  for (char c : first_message) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !collapsed.empty();
      continue;
    }
    if (space) collapsed.push_back(' ');
    space = false;
    collapsed.push_back(c);
  }
  if (CountChars(collapsed) <= kAutoTitleChars) return collapsed;
  // Room for the ellipsis; cut back to the last space unless that loses more than half.
  std::string cut(PrefixChars(collapsed, kAutoTitleChars - 1));
  size_t last_space = cut.rfind(' ');
  if (last_space != std::string::npos &&
      CountChars(cut.substr(0, last_space)) >= kAutoTitleChars / 2) {
    cut.resize(last_space);
  }
  while (!cut.empty() && (cut.back() == ' ' || cut.back() == ',' || cut.back() == '.' ||
                          cut.back() == ';' || cut.back() == ':')) {
    cut.pop_back();
  }
  return cut + "\u2026";
}

Status PrepareReply(soci::session& s, Services& services, const Principal& me,
                    const store::LockedConversation& c, const std::string& assistant_id,
                    const store::MessageRecord& user_message, PreparedReply* out,
                    int64_t reply_seq) {
  const Config& config = *services.config;
  PreparedReply& p = *out;
  p.conversation_id = c.id;
  p.user_id = me.user_id;
  p.user_message = user_message;

  // Limits first: a refused turn costs one lock and one read.
  const int64_t quota = me.is_guest ? config.guest_daily_token_quota : config.daily_token_quota;
  store::TurnLimits limits = store::TakeTurnLimits(s, me.user_id, config.llm_rate_per_min, quota);
  p.rate = limits.rate;
  if (!p.rate.allowed) {
    return Status(ErrorCode::kRateLimited,
                  "You're sending messages too quickly. Please wait a moment.")
        .WithRetryAfter(p.rate.reset_s);
  }
  const store::QuotaState& q = limits.quota;
  if (q.exhausted()) {
    return Status(ErrorCode::kQuotaExceeded,
                  "You've reached today's limit for assistant replies. It resets at midnight UTC.")
        .WithRetryAfter(q.seconds_to_reset);
  }

  // The assistant (a deleted one falls back to the built-in default), history, knowledge.
  std::string effective_assistant = assistant_id;
  auto assistant = store::LoadAssistantContext(s, effective_assistant);
  if (!assistant.ok() && assistant.status().code() == ErrorCode::kNotFound &&
      effective_assistant != store::kDefaultAssistantId) {
    effective_assistant = std::string(store::kDefaultAssistantId);
    assistant = store::LoadAssistantContext(s, effective_assistant);
  }
  if (!assistant.ok()) return assistant.status();
  std::vector<store::HistoryTurn> history =
      store::LoadHistory(s, c.id, user_message.seq, kMaxHistoryMessages);
  std::vector<store::RetrievedChunk> chunks;
  if (config.retrieval_top_k > 0) {
    auto found =
        store::RetrieveChunks(s, effective_assistant, user_message.content, config.retrieval_top_k);
    if (!found.ok()) return found.status();
    chunks = std::move(found.value());
  }

  llm::ContextInput input;
  input.system_context = assistant->system_context;
  for (const auto& chunk : chunks) {
    input.chunks.push_back({chunk.document_id, chunk.filename, chunk.chunk_index, chunk.content});
  }
  for (auto& turn : history) {
    input.history.push_back({turn.role == "assistant" ? llm::Role::kAssistant : llm::Role::kUser,
                             std::move(turn.content)});
  }
  input.user_message = user_message.content;
  input.max_context_tokens = config.max_context_tokens;
  input.max_response_tokens = config.max_response_tokens;
  llm::BuiltContext built = llm::BuildContext(input);

  p.request.model = assistant->model.value_or(config.llm_model);
  p.request.system = std::move(built.system);
  p.request.messages = std::move(built.messages);
  p.request.max_tokens = assistant->max_tokens.value_or(config.max_response_tokens);
  p.request.temperature = assistant->temperature;
  p.request.stream = true;  // always: partial text, deltas for other devices, and stop need it
  p.estimated_prompt_tokens = built.estimated_tokens;
  p.sources_json = SourcesJson(chunks, built.chunks_used);

  // The reply-to-be.
  store::NewReply reply;
  reply.conversation_id = c.id;
  reply.seq = reply_seq > 0 ? reply_seq : store::TakeSeqs(s, c.id, 1);
  reply.assistant_id = effective_assistant;
  reply.reply_to = user_message.id;
  reply.model = p.request.model;
  reply.sources_json = p.sources_json;
  p.reply = store::InsertStreamingReply(s, reply);
  // An assistant chat has exactly one member, its owner (members are added to groups only), and
  // the caller is a member (checked under the row lock): no query needed for its recipients.
  if (c.kind == "assistant") {
    p.recipients = {me.user_id};
  } else {
    p.recipients = store::MemberIds(s, c.id);
  }

  // The first message of an untitled assistant chat names it (cheap: no model call; a
  // TITLE_MODEL may improve on it after the reply, RetitleWithModel).
  if (c.kind == "assistant" && user_message.seq == 1) {
    std::string title = AutoTitle(user_message.content);
    if (!c.title && !title.empty()) {
      store::SetTitle(s, c.id, title);
      p.title_set = true;
      p.auto_title = title;
    } else if (c.title && *c.title == title && !title.empty()) {
      p.auto_title = title;  // POST /chat titled it so when it created it
    }
  }

  // The generations row last: StartGeneration takes the pool-wide in-flight lock, held to commit,
  // so every statement after it lengthens the section that all turns of all workers serialise on.
  Status caps = store::StartGeneration(s, {p.reply.id, c.id, me.user_id, WorkerName()},
                                       {config.max_inflight_per_user, config.max_inflight_total});
  if (!caps.ok()) return caps;

  if (services.replies) {
    p.abort = services.replies->Register(p.reply.id, c.id, p.recipients);
    p.registered = true;
  } else {
    p.abort = std::make_shared<llm::AbortSignal>();
  }
  if (built.over_budget || built.history_dropped > 0) {
    LogDebug("reply context pruned")
        .Str("message_id", p.reply.id)
        .Int("history_kept", static_cast<int64_t>(built.history_kept))
        .Int("history_dropped", static_cast<int64_t>(built.history_dropped))
        .Int("estimated_tokens", built.estimated_tokens)
        .Bool("over_budget", built.over_budget);
  }
  return Status::Ok();
}

void EmitReplyEvents(soci::session& s, const PreparedReply& p, const std::string& actor_id,
                     const store::MessageRecord* user_message) {
  std::vector<std::string> created;
  if (user_message != nullptr) created.push_back(MessageEventPayload(*user_message));
  created.push_back(MessageEventPayload(p.reply));
  store::EmitEventsToMembers(s, p.conversation_id, "message.created", created);
  if (p.title_set) EmitTitleChanged(s, p.conversation_id, actor_id);
}

void AbandonReply(Services& services, const PreparedReply& p) {
  if (p.registered && services.replies) services.replies->Forget(p.reply.id);
}

namespace {

// The model-written title, cleaned: one line, no quotes or "Title:" label, at most
// kAutoTitleChars characters cut at a word. Empty when nothing usable is left.
std::string CleanModelTitle(std::string_view raw) {
  SanitizedText clean = SanitizeUserText(raw);
  if (clean.problem != TextProblem::kNone) return "";
  std::string t = clean.text;
  if (size_t nl = t.find('\n'); nl != std::string::npos) t.resize(nl);
  if (AsciiLower(t.substr(0, 6)) == "title:") t.erase(0, 6);
  auto strip = [](char c) { return c == ' ' || c == '"' || c == '\'' || c == '*' || c == '#'; };
  while (!t.empty() && strip(t.front())) t.erase(t.begin());
  while (!t.empty() && (strip(t.back()) || t.back() == '.')) t.pop_back();
  return AutoTitle(t);
}

void RetitleWithModel(Services& services, const PreparedReply& p) {
  const std::string& model = services.config->title_model;
  if (model.empty() || !p.auto_title || !services.llm) return;
  llm::ChatRequest request;
  request.model = model;
  request.system =
      "You name conversations. Reply with a title of at most six words for a conversation that "
      "begins with the user's message below. Reply with the title only: no quotes, no final "
      "punctuation.";
  // The start of the first message is enough to name a conversation.
  request.messages.push_back(
      {llm::Role::kUser, std::string(PrefixChars(p.user_message.content, 1000))});
  request.max_tokens = 24;
  request.temperature = 0.2;
  request.stream = false;
  llm::ChatResult result = services.llm->Complete(request, {}, p.abort.get());
  const std::string title = result.ok() ? CleanModelTitle(result.text) : "";
  if (title.empty()) {
    LogInfo("title model gave no title; the first-message title stays")
        .Str("conversation_id", p.conversation_id)
        .Str("error", llm::ErrorKindName(result.error));
    return;
  }
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    auto locked = store::LockConversation(s, p.conversation_id, p.user_id);
    // Renamed meanwhile (by the user, or deleted): the user's choice wins.
    if (!locked || locked->title != p.auto_title) return Status::Ok();
    if (title != *p.auto_title) {
      store::SetTitle(s, p.conversation_id, title);
      EmitTitleChanged(s, p.conversation_id, p.user_id);
    }
    // The title call is billed like a reply's tokens (it is cheap: one short message).
    store::RecordUsage(s, p.user_id, 0, result.usage.prompt_tokens, result.usage.completion_tokens);
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) {
    LogWarn("could not store the model's title").Str("conversation_id", p.conversation_id);
  }
}

void Answer(const http::Request& request, http::ResponseWriter& writer, const ReplyAnswer& answer,
            const PreparedReply& p, bool client_here, const Status& failure,
            const std::optional<store::MessageRecord>& stored) {
  const bool sse = request.WantsEventStream();
  if (sse) {
    if (!client_here) return;
    if (!failure.ok()) {
      WriteEvent(writer, "error", http::Problem(failure, request.request_id).body);
    } else {
      WriteEvent(writer, "done", MessageJson(*stored));
    }
    return;
  }
  if (!failure.ok()) {
    http::Response problem = http::Problem(failure, request.request_id);
    for (auto& h : RateLimitHeaders(p.rate)) problem.headers.push_back(std::move(h));
    writer.Send(problem);
    return;
  }
  json::Writer w;
  w.StartObject();
  if (answer.include_conversation_id) w.Field("conversation_id", p.conversation_id);
  w.Key("message");
  WriteMessage(w, p.user_message);
  w.Key("reply");
  WriteMessage(w, *stored);
  w.EndObject();
  http::Response response = http::Response::Json(answer.json_status, w.Take());
  response.headers = RateLimitHeaders(p.rate);
  writer.Send(response);
}

}  // namespace

void RunReply(Services& services, PreparedReply p, const http::Request& request,
              http::ResponseWriter& writer, const ReplyAnswer& answer) {
  if (services.mark_long_running) services.mark_long_running();
  const Clock::time_point started = Clock::now();
  const bool sse = request.WantsEventStream();
  ReplyBus* bus = services.replies.get();

  bool client_here = true;
  if (sse) {
    std::vector<http::Header> headers = RateLimitHeaders(p.rate);
    headers.emplace_back("Cache-Control", "no-cache");
    headers.emplace_back("X-Accel-Buffering", "no");  // nginx: pass each event on at once
    client_here = writer.Begin(200, "text/event-stream; charset=utf-8", headers) &&
                  WriteEvent(writer, "message", MessageJson(p.user_message));
  }

  size_t chars = 0;
  auto on_delta = [&](std::string_view delta) {
    if (bus) bus->Append(p.reply.id, delta);
    if (sse && client_here) {
      json::Writer w;
      w.StartObject()
          .Field("message_id", p.reply.id)
          .Field("offset", static_cast<int64_t>(chars))
          .Field("content", delta)
          .EndObject();
      client_here = WriteEvent(writer, "delta", w.Take());
      if (!client_here) {
        LogInfo("client left mid-reply; the reply goes on")
            .Str("request_id", request.request_id)
            .Str("message_id", p.reply.id);
      }
    }
    chars += CountChars(delta);
    return true;  // only stop/shutdown (the AbortSignal) ends a reply early
  };

  llm::ChatResult result;
  if (services.llm) {
    result = services.llm->Complete(p.request, on_delta, p.abort.get());
  } else {
    result.error = llm::ErrorKind::kConnect;
    result.error_detail = "no LLM provider configured";
  }
  if (bus) bus->Finish(p.reply.id);

  const chat::ReplyOutcome outcome = Outcome(p, result);
  const bool failed = outcome.event == chat::ReplyEvent::kUpstreamFailed;
  {
    LogLine log = failed ? LogWarn("reply failed") : LogInfo("reply finished");
    log.Str("request_id", request.request_id)
        .Str("conversation_id", p.conversation_id)
        .Str("message_id", p.reply.id)
        .Str(
            "status",
            std::string(chat::StateName(chat::NextState(chat::ReplyState::kStreaming, outcome.event)
                                            .value_or(chat::ReplyState::kFailed))))
        .Str("model", outcome.model)
        .Int("attempts", result.attempts)
        .Int("prompt_tokens", outcome.prompt_tokens.value_or(0))
        .Int("completion_tokens", outcome.completion_tokens.value_or(0))
        .Bool("usage_reported", result.usage.reported)
        .Bool("client_left", !client_here)
        .Int("duration_ms",
             std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
    if (!result.ok() && result.error != llm::ErrorKind::kAborted) {
      // Internal detail, for operators only.
      log.Str("error", llm::ErrorKindName(result.error))
          .Int("upstream_status", result.http_status)
          .Str("error_detail", result.error_detail);
    }
  }

  bool vanished = false;
  std::optional<store::MessageRecord> stored = StoreOutcome(services, p, outcome, &vanished);
  Status failure;
  if (failed) {
    failure = result.ToStatus();
    if (failure.ok()) {
      failure = Status(ErrorCode::kLlmUnavailable,
                       "The assistant is unavailable right now. Please try again.");
    }
  } else if (!stored) {
    failure =
        vanished ? Status::NotFound("This conversation does not exist.") : Status::Unavailable();
  }

  Answer(request, writer, answer, p, client_here, failure, stored);
  if (stored && chat::ParseState(stored->status) == chat::ReplyState::kComplete && p.auto_title &&
      !services.config->title_model.empty()) {
    writer.End();  // the client does not wait for the title (it arrives as conversation.updated)
    RetitleWithModel(services, p);
  }
}

void AnswerStored(const http::Request& request, http::ResponseWriter& writer,
                  const store::MessageRecord& message,
                  const std::optional<store::MessageRecord>& reply, bool include_conversation_id) {
  if (request.WantsEventStream()) {
    if (!writer.Begin(200, "text/event-stream; charset=utf-8",
                      {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}})) {
      return;
    }
    if (!WriteEvent(writer, "message", MessageJson(message))) return;
    if (reply) WriteEvent(writer, "done", MessageJson(*reply));
    return;
  }
  json::Writer w;
  w.StartObject();
  if (include_conversation_id) w.Field("conversation_id", message.conversation_id);
  w.Key("message");
  WriteMessage(w, message);
  if (reply) {
    w.Key("reply");
    WriteMessage(w, *reply);
  }
  w.EndObject();
  writer.Send(http::Response::Json(200, w.Take()));
}

}  // namespace chatd::api
