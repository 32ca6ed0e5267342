// The generation engine of assistant replies (DESIGN.md "A chat turn"), shared by the endpoints
// that start one: POST /conversations/{id}/messages, .../messages/{mid}/regenerate and POST /chat
// (api/messages.cc).
//
// A turn has three steps:
//   1. PrepareReply, inside the caller's sending transaction (conversation row locked, user message
//      stored, before any event): checks the per-minute rate and the daily quota (limits_repo.h),
//      loads the assistant's system context, the history and the retrieved chunks, builds the
//      context (llm/context.h, budget MAX_CONTEXT_TOKENS - MAX_RESPONSE_TOKENS), stores the
//      reply-to-be as `streaming` with the next seq and its `sources`, starts its generations row
//      (the in-flight caps), sets an automatic title on the first message of an untitled
//      assistant conversation, and registers the reply with this process's ReplyBus (before the
//      commit, so a stop that follows the commit always finds it). EmitReplyEvents then appends
//      the events (message.created; conversation.updated for a new title) as the caller's last
//      statements. If the transaction does not commit, AbandonReply forgets the registration.
//   2. RunReply, after the commit with no database session held: calls the provider and answers —
//      `Accept: text/event-stream`: 200 with `event: message` (the user message), `event: delta`
//      {"message_id", "offset", "content"} per upstream chunk, each flushed at once, then
//      `event: done` (the stored reply) or `event: error` (a problem object);
//      otherwise 201 {"message", "reply"} (plus `conversation_id` for /chat), or 502/504 when the
//      upstream failed. Every delta also goes to the ReplyBus (message.delta frames for the
//      members' devices, the stored partial text). A client that goes away does not stop the
//      reply: writes to it stop, generation goes on.
//   3. Still in RunReply: one transaction stores the final text, usage (as reported by the
//      provider, else estimated with llm::EstimateTokens), status complete | interrupted (stop or
//      shutdown: the AbortSignal fired) | failed (with error_code), model and sources, counts
//      the tokens against the user's day, deletes the generations row and emits message.updated.
//   4. After answering, when TITLE_MODEL is set and the turn gave the chat its first-message title:
//      one short non-streaming call to that model ("a title of at most six words" for the first
//      message, max 24 tokens), whose cleaned answer replaces the title (conversation.updated)
//      unless the user renamed the chat meanwhile. Its tokens count toward the user's day. Any
//      failure keeps the first-message title. It never costs a second full-context request.
//
// The upstream's own error text never reaches a client: failures are answered with
// llm::ChatResult::ToStatus() (fixed sentences) and logged in full.
//
// Threads: every function runs on the request's thread; Services is shared and thread-safe.

#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/principal.h"
#include "api/services.h"
#include "http/http.h"
#include "llm/provider.h"
#include "store/conversations_repo.h"
#include "store/documents_repo.h"
#include "store/limits_repo.h"
#include "store/messages_repo.h"

namespace soci {
class session;
}

namespace chatd::api {

// The most recent messages considered as history (the context builder prunes further).
inline constexpr int kMaxHistoryMessages = 1000;
// An automatic title is at most this many characters.
inline constexpr size_t kAutoTitleChars = 60;

// A reply prepared in the sending transaction, carried to RunReply.
struct PreparedReply {
  std::string conversation_id;
  std::string user_id;  // who asked (limits, usage)
  store::MessageRecord user_message;
  store::MessageRecord reply;  // as stored: status "streaming", empty content
  std::vector<std::string> recipients;
  llm::ChatRequest request;
  std::string sources_json = "[]";
  int64_t estimated_prompt_tokens = 0;
  std::shared_ptr<llm::AbortSignal> abort;
  bool registered = false;  // with the ReplyBus
  bool title_set = false;
  // The title cut from the first message of an assistant chat (set now or when the chat was
  // created by POST /chat); TITLE_MODEL, when configured, may replace it after the reply.
  std::optional<std::string> auto_title;
  store::RateWindow rate;  // for RateLimit-* headers (also filled when refused)
};

// Step 1. On a limit, RATE_LIMITED / QUOTA_EXCEEDED with Retry-After (the caller rolls back);
// `out->rate` is filled whenever the rate was checked. `reply_seq`: the seq the caller already took
// for the reply (a send takes the user message's and the reply's in one statement); 0: take one.
Status PrepareReply(soci::session& s, Services& services, const Principal& me,
                    const store::LockedConversation& conversation, const std::string& assistant_id,
                    const store::MessageRecord& user_message, PreparedReply* out,
                    int64_t reply_seq = 0);
// Step 1, the events; the caller's last statements before commit. With `user_message`, its
// message.created goes first, in the same statement as the reply's.
void EmitReplyEvents(soci::session& s, const PreparedReply& prepared, const std::string& actor_id,
                     const store::MessageRecord* user_message = nullptr);
// Step 1 did not commit.
void AbandonReply(Services& services, const PreparedReply& prepared);

struct ReplyAnswer {
  int json_status = 201;                 // success status of a JSON answer
  bool include_conversation_id = false;  // POST /chat
};
// Steps 2 and 3.
void RunReply(Services& services, PreparedReply prepared, const http::Request& request,
              http::ResponseWriter& writer, const ReplyAnswer& answer);

// A repeated client_message_id: answers with what is stored (the user message, and its newest
// reply when there is one) without calling the upstream. JSON: 200 {"message", "reply"?}; SSE:
// `event: message`, then `event: done` with the reply when there is one.
void AnswerStored(const http::Request& request, http::ResponseWriter& writer,
                  const store::MessageRecord& message,
                  const std::optional<store::MessageRecord>& reply, bool include_conversation_id);

// "host:pid" of this worker process, for generations.worker and completions_inflight.worker
// (operators and gc see who runs a reply); computed once per process, after the fork.
const std::string& WorkerName();

// A message's `sources`: the first `used` retrieved chunks as {document_id, filename, chunk_index,
// excerpt} (a reply's, and a /v1 completion's `chatd.sources`).
std::string SourcesJson(const std::vector<store::RetrievedChunk>& chunks, size_t used);

// RateLimit-Limit / -Remaining / -Reset for `rate`.
std::vector<http::Header> RateLimitHeaders(const store::RateWindow& rate);

// The automatic title of a conversation from its first message: whitespace collapsed, at most
// kAutoTitleChars characters, cut at a word boundary with "…" when it was longer.
std::string AutoTitle(std::string_view first_message);

}  // namespace chatd::api
