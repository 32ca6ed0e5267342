// Messages (API.md "Messages"): list a conversation's messages and send one.
//
// Sending is one transaction: lock the conversation row, check membership, look up the sender's
// client_message_id (a repeat answers 200 with the stored message and writes nothing), take the
// next seq, insert, and emit message.created to the members, so seqs are gapless and in commit
// order and the event exists exactly when the message does.
//
// Assistant replies are the LLM issue's: AcceptUserMessage below is the seam. It stores the user
// message and says whether an assistant should answer it and which one (kind "assistant": its
// assistant, or the built-in default when that was deleted; a group with an assistant: only when
// the message @mentions it by name, llm/mention.h). Today the handler answers 201 {"message"} in
// every case; the reply path will take the AcceptedUserMessage from there.
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
#include "api/handlers.h"
#include "api/principal.h"
#include "api/render.h"
#include "core/log.h"
#include "core/text.h"
#include "llm/injection.h"
#include "llm/mention.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/messages_repo.h"

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

// ---- The seam for assistant replies -------------------------------------------------------------

// An assistant that should answer a stored user message.
struct AssistantTurn {
  std::string assistant_id;
};

struct AcceptedUserMessage {
  store::MessageRecord message;
  bool created = false;                // false: a repeated client_message_id, nothing stored
  std::optional<AssistantTurn> reply;  // set only for a newly stored message
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
// client_message_id, with its event. NOT_FOUND for a non-member.
Result<AcceptedUserMessage> AcceptUserMessage(Services& services, const Principal& me,
                                              const std::string& conversation_id,
                                              std::string content,
                                              const std::optional<std::string>& client_message_id,
                                              const std::vector<std::string>& flags) {
  AcceptedUserMessage out;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    auto c = store::LockConversation(s, conversation_id, me.user_id);
    if (!c || !c->is_member()) return ConversationNotFound();
    // Under the row lock, so two repeats of one id cannot both get past this check.
    if (client_message_id) {
      if (auto existing =
              store::FindByClientMessageId(s, conversation_id, me.user_id, *client_message_id)) {
        out.message = std::move(*existing);
        out.created = false;
        return Status::Ok();  // nothing written; the transaction rolls back empty
      }
    }
    store::NewUserMessage m;
    m.conversation_id = conversation_id;
    m.seq = store::TakeSeqs(s, conversation_id, 1);
    m.sender = c->caller;
    m.content = std::move(content);
    m.client_message_id = client_message_id;
    m.flags = flags;
    out.message = store::InsertUserMessage(s, m);
    out.created = true;
    out.reply = AssistantToAnswer(*c, out.message.content);
    // The LLM issue stores the reply-to-be (status "streaming", the next seq) and its generations
    // row here, in this transaction, when out.reply is set; the events come last.
    store::EmitEventToMembers(s, conversation_id, "message.created",
                              MessageEventPayload(out.message));
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

// ---- Handlers -----------------------------------------------------------------------------------

Result<http::Response> SendMessage(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader reader(body->root());
  json::StringRule content_rule;
  content_rule.min_chars = 1;
  content_rule.max_chars = static_cast<size_t>(services.config->max_message_chars);
  auto content = reader.String("content", content_rule, /*required=*/true);
  json::StringRule id_rule;
  id_rule.min_chars = 1;
  id_rule.max_chars = store::kMaxClientMessageIdChars;
  id_rule.sanitize = false;  // an opaque key, compared byte for byte
  id_rule.allow_null = true;
  auto client_message_id = reader.String("client_message_id", id_rule);
  Status valid = reader.Finish();
  if (!valid.ok()) return valid;
  auto id = PathId(r, "id");
  if (!id) return ConversationNotFound();

  std::vector<std::string> patterns = llm::DetectPromptInjection(*content.value);
  std::vector<std::string> flags;
  if (!patterns.empty()) flags.emplace_back(llm::kPromptInjectionFlag);

  auto accepted = AcceptUserMessage(services, *me, *id, std::move(*content.value),
                                    client_message_id.value, flags);
  if (!accepted.ok()) return accepted.status();
  if (accepted->created && !patterns.empty()) {
    std::string names;
    for (const std::string& p : patterns) names += (names.empty() ? "" : ",") + p;
    LogWarn("possible prompt injection flagged")
        .Str("request_id", r.request_id)
        .Str("user_id", me->user_id)
        .Str("conversation_id", *id)
        .Str("message_id", accepted->message.id)
        .Str("patterns", names);
  }
  if (accepted->reply) {
    // The LLM issue answers here (JSON or SSE). Until then the user message stands alone.
    LogDebug("assistant reply not generated (no LLM path yet)")
        .Str("request_id", r.request_id)
        .Str("conversation_id", *id)
        .Str("assistant_id", accepted->reply->assistant_id);
  }
  json::Writer w;
  w.StartObject().Key("message");
  WriteMessage(w, accepted->message);
  w.EndObject();
  return http::Response::Json(accepted->created ? 201 : 200, w.Take());
}

Result<http::Response> ListMessages(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  std::vector<FieldError> errors;
  auto limit = LimitQueryParam(r);
  if (!limit.ok()) errors.push_back(limit.status().field_errors().front());
  auto before = IntQueryParam(r, "before_seq", 1, INT64_MAX);
  if (!before.ok()) errors.push_back(before.status().field_errors().front());
  auto after = IntQueryParam(r, "after_seq", 0, INT64_MAX);
  if (!after.ok()) errors.push_back(after.status().field_errors().front());
  store::PageDirection direction = store::PageDirection::kLatest;
  int64_t seq = 0;
  if (before.ok() && after.ok()) {
    if (*before && *after) {
      errors.push_back({"after_seq", "cannot be combined with before_seq"});
    } else if (*before) {
      direction = store::PageDirection::kBefore;
      seq = **before;
    } else if (*after) {
      direction = store::PageDirection::kAfter;
      seq = **after;
    }
  }
  // The cursor is "b<seq>" or "a<seq>": the same thing as before_seq / after_seq.
  if (auto cursor = r.QueryParam("cursor"); cursor && !cursor->empty()) {
    bool valid =
        cursor->size() >= 2 && cursor->size() <= 19 && ((*cursor)[0] == 'b' || (*cursor)[0] == 'a');
    int64_t value = 0;
    for (size_t i = 1; valid && i < cursor->size(); ++i) {
      valid = (*cursor)[i] >= '0' && (*cursor)[i] <= '9' &&
              !(i == 1 && (*cursor)[i] == '0' && cursor->size() > 2);
      if (valid) value = value * 10 + ((*cursor)[i] - '0');
    }
    if (!valid) {
      errors.push_back({"cursor", "is not a cursor of this list"});
    } else if (before.ok() && after.ok() && (*before || *after)) {
      errors.push_back({"cursor", "cannot be combined with before_seq or after_seq"});
    } else {
      direction =
          (*cursor)[0] == 'b' ? store::PageDirection::kBefore : store::PageDirection::kAfter;
      seq = value;
    }
  }
  if (!errors.empty()) return Status::Invalid(std::move(errors));
  auto id = PathId(r, "id");
  if (!id) return ConversationNotFound();

  std::optional<store::MessagePage> page;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        auto p = store::ListMessages(s, *id, me->user_id, direction, seq, *limit);
        if (!p.ok()) return p.status();
        page = std::move(*p);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;

  json::Writer w;
  w.StartObject().Key("items").StartArray();
  for (const auto& m : page->items) WriteMessage(w, m);
  w.EndArray().Key("next_cursor");
  if (page->more && !page->items.empty()) {
    w.String(direction == store::PageDirection::kAfter
                 ? "a" + std::to_string(page->items.back().seq)
                 : "b" + std::to_string(page->items.front().seq));
  } else {
    w.Null();
  }
  w.EndObject();
  return http::Response::Json(200, w.Take());
}

}  // namespace

void RegisterMessageRoutes(http::Router& router, Services* services) {
  auto bind = [services](Result<http::Response> (*fn)(Services&, const http::Request&)) {
    return JsonHandler([services, fn](const http::Request& r) { return fn(*services, r); });
  };
  router.Add("GET", "/api/v1/conversations/{id}/messages", bind(ListMessages));
  router.Add("POST", "/api/v1/conversations/{id}/messages", bind(SendMessage));
}

}  // namespace chatd::api
