// The life of an assistant reply, as one state machine.
//
// A reply is stored `streaming` (with the user message it answers, or by regenerate) and ends in
// exactly one final state; nothing leaves a final state. Which event leads where lives here and
// only here (NextState), as the pool's master keeps its states in pool/: the worker that streams
// it, a stop from any device, a graceful shutdown and `chatctl gc` (orphans of a crashed worker)
// all ask NextState, and the state's name is what the API shows and the database stores
// (messages.status).
//
//   streaming --completed----------> complete
//   streaming --stopped/shutdown---> interrupted    (the text so far is kept)
//   streaming --orphaned-----------> interrupted    (its worker died; gc finishes it)
//   streaming --upstream_failed----> failed         (an error code is kept, the text if any)
//
// Pure functions over values; safe from any thread.

#pragma once

#include <optional>
#include <string_view>

namespace chatd::chat {

enum class ReplyState { kStreaming, kComplete, kInterrupted, kFailed };

enum class ReplyEvent {
  kCompleted,       // the provider finished the reply
  kStopped,         // a member asked to stop it (POST /conversations/{id}/stop, any device)
  kShutdown,        // the worker is stopping (SIGTERM) and aborts what it streams
  kUpstreamFailed,  // the provider failed, timed out or refused
  kOrphaned,        // its worker is gone (heartbeat stale): chatctl gc finishes it
};

// The state `event` leads to from `state`; nullopt when the event is not allowed there (every
// event from a final state, which is how a late or repeated finish is refused).
std::optional<ReplyState> NextState(ReplyState state, ReplyEvent event);

bool IsFinal(ReplyState state);

// The name shown by the API and stored in messages.status: "streaming", "complete",
// "interrupted", "failed".
std::string_view StateName(ReplyState state);
// The state of a stored name; nullopt for anything else.
std::optional<ReplyState> ParseState(std::string_view name);
std::string_view EventName(ReplyEvent event);

}  // namespace chatd::chat
