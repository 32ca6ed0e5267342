// The end of a reply's life: storing its final state, ending its generation row and telling the
// conversation's members — one code path for the worker that streamed it and for `chatctl gc`,
// which finishes the replies of a worker that died.
//
// The final state comes from the reply state machine (chat/reply_state.h): callers say what
// happened (a ReplyEvent), never which status to store. Both entry points own their transaction
// and its lock order: the worker's takes the conversation's row lock first (so the event's
// recipients agree with the membership, and the event log stays in the conversation's order,
// sql/0008); gc's locks the orphaned generation rows (SKIP LOCKED) and then finishes each.
//
// Threads: plain functions over the session they are given; the session belongs to one thread.

#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "chat/reply_state.h"
#include "store/messages_repo.h"

namespace soci {
class session;
}

namespace chatd::chat {

// What ended a streaming reply, and what it had produced by then.
struct ReplyOutcome {
  std::string message_id;
  std::string conversation_id;
  ReplyEvent event = ReplyEvent::kCompleted;
  std::string content;
  std::string model;
  std::string sources_json = "[]";
  std::optional<int64_t> prompt_tokens;  // both or neither
  std::optional<int64_t> completion_tokens;
  std::optional<std::string> error_code;  // event kUpstreamFailed
};

struct FinishedReply {
  // The reply as stored now; nullopt when it was no longer streaming (finished elsewhere) or gone.
  std::optional<store::MessageRecord> stored;
  bool vanished = false;  // the reply (its conversation) was deleted while it streamed
};

// The worker's finish, in one transaction: locks the conversation, stores the final state, ends
// the generation row, records `user_id`'s usage (once: when stored, or when the reply vanished and
// `first_attempt`) and writes message.updated to the members. Database errors propagate (the
// caller retries; a retry after a commit whose answer was lost finds the reply no longer
// streaming and records nothing twice).
FinishedReply FinishReply(soci::session& s, const ReplyOutcome& outcome, const std::string& user_id,
                          bool first_attempt);

// chatctl gc: finishes, as kOrphaned, the streaming replies whose generation heartbeat is older
// than `stale_seconds`, `batch` per transaction; returns how many were finished.
int64_t FinishOrphanedReplies(soci::session& s, int64_t stale_seconds, int batch);

}  // namespace chatd::chat
