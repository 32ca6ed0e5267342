// The reply state machine. See reply_state.h.

#include "chat/reply_state.h"

namespace chatd::chat {

std::optional<ReplyState> NextState(ReplyState state, ReplyEvent event) {
  if (state != ReplyState::kStreaming) return std::nullopt;  // final states are final
  switch (event) {
    case ReplyEvent::kCompleted:
      return ReplyState::kComplete;
    case ReplyEvent::kStopped:
    case ReplyEvent::kShutdown:
    case ReplyEvent::kOrphaned:
      return ReplyState::kInterrupted;
    case ReplyEvent::kUpstreamFailed:
      return ReplyState::kFailed;
  }
  return std::nullopt;
}

bool IsFinal(ReplyState state) {
  return state != ReplyState::kStreaming;
}

std::string_view StateName(ReplyState state) {
  switch (state) {
    case ReplyState::kStreaming:
      return "streaming";
    case ReplyState::kComplete:
      return "complete";
    case ReplyState::kInterrupted:
      return "interrupted";
    case ReplyState::kFailed:
      return "failed";
  }
  return "failed";
}

std::optional<ReplyState> ParseState(std::string_view name) {
  for (ReplyState s : {ReplyState::kStreaming, ReplyState::kComplete, ReplyState::kInterrupted,
                       ReplyState::kFailed}) {
    if (StateName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view EventName(ReplyEvent event) {
  switch (event) {
    case ReplyEvent::kCompleted:
      return "completed";
    case ReplyEvent::kStopped:
      return "stopped";
    case ReplyEvent::kShutdown:
      return "shutdown";
    case ReplyEvent::kUpstreamFailed:
      return "upstream_failed";
    case ReplyEvent::kOrphaned:
      return "orphaned";
  }
  return "unknown";
}

}  // namespace chatd::chat
