// Messages (API.md "Messages"): list a conversation's messages, send one (also through POST
// /chat), regenerate a reply, and stop the replies in flight.
//
// Sending is one transaction: lock the conversation row, check membership, look up the sender's
// client_message_id (a repeat answers 200 with the message already stored, and its reply, and
// writes nothing), take the next seq, insert, and emit message.created to the members, so seqs
// are gapless and in commit order and the event exists exactly when the message does.
//
// Assistant replies: AcceptUserMessage decides whether an assistant answers (kind "assistant":
// its assistant, or the built-in default when that was deleted; a group with an assistant: only
// when the message @mentions it by name, llm/mention.h) and then, in the same transaction,
// PrepareReply (api/reply.h) checks the limits and stores the reply-to-be (`streaming`, the next
// seq) with its generations row; a refused limit rolls the whole send back (429, nothing stored).
// After the commit RunReply generates and answers (JSON 201 {"message", "reply"} or SSE). When no
// LLM provider is configured (LLM_BASE_URL empty), assistant conversations store user messages
// without replies and answer 201 {"message"}.
//
// Listing: `before_seq` (the `limit` messages just before it), `after_seq` (the ones just after),
// or neither (the latest); always ascending seq. `next_cursor` continues in the same direction
// (older pages for the latest/before_seq, newer ones for after_seq) and is null when there is
// nothing further right now; it is opaque and goes back as ?cursor= (instead of before_seq or
// after_seq).
//
// The prompt-injection heuristic (llm/injection.h) flags, never rejects; the log line names the
// patterns, never the content.

#include <soci/soci.h>

#include <cstdint>

#include "api/common.h"
#include "api/conversation_events.h"
#include "api/handlers.h"
#include "api/page_cache.h"
#include "api/principal.h"
#include "api/query_params.h"
#include "api/render.h"
#include "api/reply.h"
#include "chat/messages.h"
#include "core/log.h"
#include "core/text.h"
#include "llm/injection.h"
#include "llm/mention.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/generations_repo.h"
#include "store/messages_repo.h"
#include "store/replies_repo.h"

namespace chatd::api {
namespace {

Status ConversationNotFound() {
  return Status::NotFound("This conversation does not exist.");
}

std::optional<std::string> PathId(const http::Request& r, std::string_view name) {
  std::string_view raw = r.PathParam(name);
  if (!json::IsUuid(raw)) return std::nullopt;
  return AsciiLower(raw);
}

// ---- Storing a user message, and the seam for assistant replies --------------------------------

// An assistant that should answer a stored user message.
struct AssistantTurn {
  std::string assistant_id;
};

struct AcceptedUserMessage {
  store::MessageRecord message;
  bool created = false;                // false: a repeated client_message_id, nothing stored
  std::optional<AssistantTurn> reply;  // set only for a newly stored message
  // A repeat: the newest reply stored for it, if any (nothing is generated again).
  std::optional<store::MessageRecord> stored_reply;
  // A new message that an assistant answers: the reply prepared in the same transaction, for
  // RunReply (api/reply.h). Unset when no LLM provider is configured.
  std::optional<PreparedReply> prepared;
};

// What POST /chat adds to a send.
struct SendOptions {
  bool create_assistant_chat = false;       // create an assistant conversation first
  std::optional<std::string> assistant_id;  // of the new chat, or the one the chat must have
  bool require_assistant_chat = false;      // the conversation must be of kind "assistant"
};

// Which assistant answers `content` in conversation `c`, if any (pure).
std::optional<AssistantTurn> AssistantToAnswer(const store::LockedConversation& c,
                                               std::string_view content) {
  if (c.kind == "assistant") {
    // A deleted assistant leaves assistant_id NULL: the built-in default takes over.
    return AssistantTurn{c.assistant_id.value_or(std::string(store::kDefaultAssistantId))};
  }
  if (c.kind == "group" && c.assistant_id && c.assistant_name &&
      llm::MentionsName(content, *c.assistant_name)) {
    return AssistantTurn{*c.assistant_id};
  }
  return std::nullopt;
}

// Stores a user message (sanitized `content`) from `me` in the conversation, idempotently per
// client_message_id, with its event; when an assistant answers it, also the reply-to-be, all in
// one transaction (PrepareReply). NOT_FOUND for a non-member; RATE_LIMITED / QUOTA_EXCEEDED when
// a limit refuses the reply (nothing is stored then), with `*rate` set when the rate was checked.
Result<AcceptedUserMessage> AcceptUserMessage(Services& services, const Principal& me,
                                              std::string conversation_id, std::string content,
                                              const std::optional<std::string>& client_message_id,
                                              const std::vector<std::string>& flags,
                                              const SendOptions& options,
                                              std::optional<store::RateWindow>* rate) {
  AcceptedUserMessage out;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    bool created_conversation = false;
    bool create = options.create_assistant_chat;
    if (create && client_message_id) {
      // A repeated first message of POST /chat finds the chat it created.
      if (auto existing = store::FindChatByClientMessageId(s, me.user_id, *client_message_id)) {
        conversation_id = *existing;
        create = false;
      }
    }
    if (create) {
      const std::string assistant =
          options.assistant_id.value_or(std::string(store::kDefaultAssistantId));
      if (!store::FindUsableAssistant(s, assistant, me.user_id, me.is_admin())) {
        return Status::NotFound("This assistant does not exist.");
      }
      conversation_id =
          store::InsertConversation(s, {"assistant", AutoTitle(content), assistant, me.user_id});
      created_conversation = true;
    }
    auto c = store::LockConversation(s, conversation_id, me.user_id);
    if (!c || !c->is_member()) return ConversationNotFound();
    if (options.require_assistant_chat && c->kind != "assistant") {
      return Status::Invalid("conversation_id", "is not a conversation with an assistant");
    }
    if (!options.create_assistant_chat && options.assistant_id &&
        c->assistant_id.value_or(std::string(store::kDefaultAssistantId)) !=
            *options.assistant_id) {
      return Status::Invalid("assistant_id", "is not the assistant of this conversation");
    }
    // Under the row lock, so two repeats of one id cannot both get past this check.
    if (client_message_id) {
      if (auto existing =
              store::FindByClientMessageId(s, conversation_id, me.user_id, *client_message_id)) {
        out.message = std::move(*existing);
        out.created = false;
        out.stored_reply = store::FindLatestReply(s, out.message.id);
        return Status::Ok();  // nothing written; the transaction rolls back empty
      }
    }
    // Whether an assistant answers depends on the conversation and the content only, so the
    // user message's seq and the reply's are taken in one statement (a refused limit rolls both
    // back: no gap).
    out.reply = AssistantToAnswer(*c, content);
    const bool generate = out.reply && services.llm;
    store::NewUserMessage m;
    m.conversation_id = conversation_id;
    const int64_t last_seq = store::TakeSeqs(s, conversation_id, generate ? 2 : 1);
    m.seq = generate ? last_seq - 1 : last_seq;
    m.sender = c->caller;
    m.content = std::move(content);
    m.client_message_id = client_message_id;
    m.flags = flags;
    out.message = store::InsertUserMessage(s, m);
    out.created = true;
    if (generate) {
      out.prepared.emplace();
      Status prepared = PrepareReply(s, services, me, *c, out.reply->assistant_id, out.message,
                                     &*out.prepared, last_seq);
      if (out.prepared->rate.limit > 0) *rate = out.prepared->rate;
      if (!prepared.ok()) return prepared;
    }
    // The events come last (emit_event's lock is held to commit).
    if (created_conversation) EmitChatCreated(s, conversation_id, me.user_id);
    if (out.prepared) {
      EmitReplyEvents(s, *out.prepared, me.user_id, &out.message);
    } else {
      store::EmitEventToMembers(s, conversation_id, "message.created",
                                MessageEventPayload(out.message));
    }
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) {
    if (out.prepared) AbandonReply(services, *out.prepared);
    return st;
  }
  return out;
}

// The problem for `status`, with the RateLimit-* headers when the rate was checked.
void ReplyProblem(const http::Request& r, http::ResponseWriter& writer, const Status& status,
                  const std::optional<store::RateWindow>& rate) {
  http::Response problem = http::Problem(status, r.request_id);
  if (rate) {
    for (auto& h : RateLimitHeaders(*rate)) problem.headers.push_back(std::move(h));
  }
  writer.Send(problem);
}

std::optional<std::string> OptionalUuidValue(const json::Field<std::string>& field) {
  return field.value ? std::optional<std::string>(AsciiLower(*field.value)) : std::nullopt;
}

// ---- Handlers -----------------------------------------------------------------------------------

// The answer to a send once AcceptUserMessage succeeded: a repeat gets what is stored, a message
// an assistant answers gets the reply (JSON or SSE, api/reply.h), any other 201 {"message"}.
void AnswerSend(Services& services, const http::Request& r, http::ResponseWriter& writer,
                AcceptedUserMessage accepted, bool include_conversation_id) {
  if (!accepted.created) {
    AnswerStored(r, writer, accepted.message, accepted.stored_reply, include_conversation_id);
    return;
  }
  if (accepted.prepared) {
    RunReply(services, std::move(*accepted.prepared), r, writer, {201, include_conversation_id});
    return;
  }
  if (accepted.reply) {
    LogDebug("assistant reply not generated (no LLM provider configured)")
        .Str("request_id", r.request_id)
        .Str("conversation_id", accepted.message.conversation_id)
        .Str("assistant_id", accepted.reply->assistant_id);
  }
  json::Writer w;
  w.StartObject();
  if (include_conversation_id) w.Field("conversation_id", accepted.message.conversation_id);
  w.Key("message");
  WriteMessage(w, accepted.message);
  w.EndObject();
  writer.Send(http::Response::Json(201, w.Take()));
}

void LogInjection(const http::Request& r, const Principal& me, const AcceptedUserMessage& accepted,
                  const std::vector<std::string>& patterns) {
  if (!accepted.created || patterns.empty()) return;
  std::string names;
  for (const std::string& p : patterns) names += (names.empty() ? "" : ",") + p;
  LogWarn("possible prompt injection flagged")
      .Str("request_id", r.request_id)
      .Str("user_id", me.user_id)
      .Str("conversation_id", accepted.message.conversation_id)
      .Str("message_id", accepted.message.id)
      .Str("patterns", names);
}

json::StringRule ContentRule(const Services& services) {
  json::StringRule rule;
  rule.min_chars = 1;
  rule.max_chars = static_cast<size_t>(services.config->max_message_chars);
  return rule;
}

json::StringRule ClientMessageIdRule() {
  json::StringRule rule;
  rule.min_chars = 1;
  rule.max_chars = store::kMaxClientMessageIdChars;
  rule.sanitize = false;  // an opaque key, compared byte for byte
  rule.allow_null = true;
  return rule;
}

void SendMessage(Services& services, const http::Request& r, http::ResponseWriter& writer) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return Reply(r, writer, me.status());
  auto body = ParseJsonBody(r);
  if (!body.ok()) return Reply(r, writer, body.status());
  json::ObjectReader reader(body->root());
  auto content = reader.String("content", ContentRule(services), /*required=*/true);
  auto client_message_id = reader.String("client_message_id", ClientMessageIdRule());
  Status valid = reader.Finish();
  if (!valid.ok()) return Reply(r, writer, valid);
  auto id = PathId(r, "id");
  if (!id) return Reply(r, writer, ConversationNotFound());

  std::vector<std::string> patterns = llm::DetectPromptInjection(*content.value);
  std::vector<std::string> flags;
  if (!patterns.empty()) flags.emplace_back(llm::kPromptInjectionFlag);

  std::optional<store::RateWindow> rate;
  auto accepted = AcceptUserMessage(services, *me, *id, std::move(*content.value),
                                    client_message_id.value, flags, {}, &rate);
  if (!accepted.ok()) return ReplyProblem(r, writer, accepted.status(), rate);
  LogInjection(r, *me, *accepted, patterns);
  AnswerSend(services, r, writer, std::move(accepted.value()), false);
}

// POST /chat {message, conversation_id?, assistant_id?, client_message_id?}: a send to an
// assistant conversation, created (kind "assistant", titled from the message) when
// conversation_id is absent. Answers like a send, with "conversation_id" in the JSON body; over
// SSE the `message` event's Message carries conversation_id.
void Chat(Services& services, const http::Request& r, http::ResponseWriter& writer) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return Reply(r, writer, me.status());
  auto body = ParseJsonBody(r);
  if (!body.ok()) return Reply(r, writer, body.status());
  json::ObjectReader reader(body->root());
  auto message = reader.String("message", ContentRule(services), /*required=*/true);
  auto conversation_id = reader.Uuid("conversation_id", false, /*allow_null=*/true);
  auto assistant_id = reader.Uuid("assistant_id", false, /*allow_null=*/true);
  auto client_message_id = reader.String("client_message_id", ClientMessageIdRule());
  Status valid = reader.Finish();
  if (!valid.ok()) return Reply(r, writer, valid);

  SendOptions options;
  options.assistant_id = OptionalUuidValue(assistant_id);
  options.create_assistant_chat = !conversation_id.value;
  options.require_assistant_chat = conversation_id.value.has_value();

  std::vector<std::string> patterns = llm::DetectPromptInjection(*message.value);
  std::vector<std::string> flags;
  if (!patterns.empty()) flags.emplace_back(llm::kPromptInjectionFlag);

  std::optional<store::RateWindow> rate;
  auto accepted =
      AcceptUserMessage(services, *me, OptionalUuidValue(conversation_id).value_or(""),
                        std::move(*message.value), client_message_id.value, flags, options, &rate);
  if (!accepted.ok()) return ReplyProblem(r, writer, accepted.status(), rate);
  LogInjection(r, *me, *accepted, patterns);
  AnswerSend(services, r, writer, std::move(accepted.value()), true);
}

// POST /conversations/{id}/messages/{mid}/regenerate: a new reply to user message `mid`, appended
// to the conversation (the earlier replies stay). The body is empty or {}.
void Regenerate(Services& services, const http::Request& r, http::ResponseWriter& writer) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return Reply(r, writer, me.status());
  if (!r.body.empty() || r.body_too_large) {
    auto body = ParseJsonBody(r);
    if (!body.ok()) return Reply(r, writer, body.status());
    json::ObjectReader reader(body->root());
    Status valid = reader.Finish();
    if (!valid.ok()) return Reply(r, writer, valid);
  }
  auto id = PathId(r, "id");
  auto mid = PathId(r, "mid");
  if (!id) return Reply(r, writer, ConversationNotFound());
  if (!mid) return Reply(r, writer, Status::NotFound("This message does not exist."));

  std::optional<store::RateWindow> rate;
  std::optional<PreparedReply> prepared;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    auto c = store::LockConversation(s, *id, me->user_id);
    if (!c || !c->is_member()) return ConversationNotFound();
    auto message = store::FindMessage(s, *id, *mid);
    if (!message || message->role != "user") {
      return Status::NotFound("This message does not exist.");
    }
    auto turn = AssistantToAnswer(*c, message->content);
    if (!turn) {
      return Status(ErrorCode::kConflict, "No assistant answers this message.");
    }
    // Without a provider: 502, but only for a message the caller may see (404 otherwise).
    if (!services.llm) {
      return Status(ErrorCode::kLlmUnavailable,
                    "The assistant is unavailable right now. Please try again later.");
    }
    prepared.emplace();
    Status ok = PrepareReply(s, services, *me, *c, turn->assistant_id, *message, &*prepared);
    if (prepared->rate.limit > 0) rate = prepared->rate;
    if (!ok.ok()) return ok;
    EmitReplyEvents(s, *prepared, me->user_id);
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) {
    if (prepared) AbandonReply(services, *prepared);
    return ReplyProblem(r, writer, st, rate);
  }
  RunReply(services, std::move(*prepared), r, writer, {201, false});
}

// POST /conversations/{id}/stop: every reply in flight in the conversation stops (whichever
// device, worker or machine runs it: store::RequestStop NOTIFYs them) and is stored as
// `interrupted`. 202 {"message_ids": [...]} (the replies asked to stop; possibly none).
Result<http::Response> Stop(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto id = PathId(r, "id");
  if (!id) return ConversationNotFound();
  std::vector<std::string> stopped;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    auto c = store::LockConversation(s, *id, me->user_id);
    if (!c || !c->is_member()) return ConversationNotFound();
    stopped = store::RequestStop(s, *id);
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  LogInfo("stop requested")
      .Str("request_id", r.request_id)
      .Str("conversation_id", *id)
      .Int("replies", static_cast<int64_t>(stopped.size()));
  json::Writer w;
  w.StartObject().Key("message_ids").StartArray();
  for (const auto& m : stopped) w.String(m);
  w.EndArray().EndObject();
  return http::Response::Json(202, w.Take());
}

Result<http::Response> ListMessages(Services& services, const http::Request& r) {
  // The query is read first, but its errors wait for the caller's identity (401 before 400).
  auto query = ParseMessagePageQuery(r);
  std::vector<FieldError> errors;
  if (!query.ok()) errors = query.status().field_errors();
  const MessagePageQuery q = query.ok() ? *query : MessagePageQuery{};
  const store::PageDirection direction =
      q.direction == MessagePageQuery::Direction::kBefore  ? store::PageDirection::kBefore
      : q.direction == MessagePageQuery::Direction::kAfter ? store::PageDirection::kAfter
                                                           : store::PageDirection::kLatest;
  const int64_t seq = q.seq;
  const int limit = q.limit;
  auto id = PathId(r, "id");

  // A rendered page is reused while the conversation's version holds (api/page_cache.h). With a
  // page cached under this key, the version is read with the caller's identity (one round trip)
  // and the page is read only when it moved; with nothing to compare, the page is read at once
  // (its statement returns the version too).
  PageCache* cache = errors.empty() && id ? services.message_pages.get() : nullptr;
  std::string key;
  if (cache != nullptr) {
    key = *id +
          (direction == store::PageDirection::kLatest   ? "/l"
           : direction == store::PageDirection::kBefore ? "/b"
                                                        : "/a") +
          std::to_string(seq) + "/" + std::to_string(limit);
  }
  const bool compare = cache != nullptr && cache->Has(key);
  std::optional<store::PageVersion> version;
  auto me =
      compare ? AuthenticateWithPageVersion(r, services, *id, &version) : Authenticate(r, services);
  if (!me.ok()) return me.status();
  if (!errors.empty()) return Status::Invalid(std::move(errors));
  if (!id) return ConversationNotFound();
  if (compare) {
    if (!version) return ConversationNotFound();
    if (auto cached = cache->Find(key, version->Tag())) return http::Response::Json(200, *cached);
  }

  std::optional<store::MessagePage> page;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        auto p = store::ListMessages(s, *id, me->user_id, direction, seq, limit);
        if (!p.ok()) return p.status();
        page = std::move(*p);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;

  json::Writer w;
  w.StartObject().Key("items").StartArray();
  bool streaming = false;
  for (const auto& m : page->items) {
    WriteMessage(w, m);
    streaming = streaming || m.status == "streaming";
  }
  w.EndArray().Key("next_cursor");
  if (page->more && !page->items.empty()) {
    w.String(direction == store::PageDirection::kAfter
                 ? "a" + std::to_string(page->items.back().seq)
                 : "b" + std::to_string(page->items.front().seq));
  } else {
    w.Null();
  }
  w.EndObject();
  std::string body = w.Take();
  // A streaming reply's text grows without a version change: such pages are always read afresh.
  if (cache != nullptr && page->version && !streaming) {
    cache->Store(key, page->version->Tag(), body);
  }
  return http::Response::Json(200, std::move(body));
}

// PATCH /conversations/{id}/messages/{mid} {content}: the sender edits a user message in place
// (chat/messages.h has the rules); 200 with the Message, edited_at set.
Result<http::Response> EditMessage(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader reader(body->root());
  auto content = reader.String("content", ContentRule(services), /*required=*/true);
  if (Status valid = reader.Finish(); !valid.ok()) return valid;
  auto id = PathId(r, "id");
  if (!id) return ConversationNotFound();
  auto mid = PathId(r, "mid");
  if (!mid) return Status::NotFound("This message does not exist.");
  std::optional<store::MessageRecord> edited;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    auto result = chat::EditMessage(s, *id, *mid, me->user_id, *content.value);
    if (!result.ok()) return result.status();
    edited = std::move(*result);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  json::Writer w;
  WriteMessage(w, *edited);
  return http::Response::Json(200, w.Take());
}

}  // namespace

void RegisterMessageRoutes(http::Router& router, Services* services) {
  auto bind = [services](Result<http::Response> (*fn)(Services&, const http::Request&)) {
    return JsonHandler([services, fn](const http::Request& r) { return fn(*services, r); });
  };
  auto stream = [services](void (*fn)(Services&, const http::Request&, http::ResponseWriter&)) {
    return [services, fn](const http::Request& r, http::ResponseWriter& w) { fn(*services, r, w); };
  };
  router.Add("GET", "/api/v1/conversations/{id}/messages", bind(ListMessages));
  router.Add("POST", "/api/v1/conversations/{id}/messages", stream(SendMessage));
  router.Add("POST", "/api/v1/conversations/{id}/messages/{mid}/regenerate", stream(Regenerate));
  router.Add("PATCH", "/api/v1/conversations/{id}/messages/{mid}", bind(EditMessage));
  router.Add("POST", "/api/v1/conversations/{id}/stop", bind(Stop));
  // POST /chat is a send (it shares this file's transaction); chat.cc only documents that.
  router.Add("POST", "/api/v1/chat", stream(Chat));
}

}  // namespace chatd::api
