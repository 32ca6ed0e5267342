// Every transition of the reply state machine (chat/reply_state.h), the illegal ones refused.

#include "chat/reply_state.h"

#include <gtest/gtest.h>

namespace chatd::chat {
namespace {

constexpr ReplyState kStates[] = {ReplyState::kStreaming, ReplyState::kComplete,
                                  ReplyState::kInterrupted, ReplyState::kFailed};
constexpr ReplyEvent kEvents[] = {ReplyEvent::kCompleted, ReplyEvent::kStopped,
                                  ReplyEvent::kShutdown, ReplyEvent::kUpstreamFailed,
                                  ReplyEvent::kOrphaned};

TEST(ReplyState, FromStreamingEveryEventEndsTheReply) {
  EXPECT_EQ(NextState(ReplyState::kStreaming, ReplyEvent::kCompleted), ReplyState::kComplete);
  EXPECT_EQ(NextState(ReplyState::kStreaming, ReplyEvent::kStopped), ReplyState::kInterrupted);
  EXPECT_EQ(NextState(ReplyState::kStreaming, ReplyEvent::kShutdown), ReplyState::kInterrupted);
  EXPECT_EQ(NextState(ReplyState::kStreaming, ReplyEvent::kOrphaned), ReplyState::kInterrupted);
  EXPECT_EQ(NextState(ReplyState::kStreaming, ReplyEvent::kUpstreamFailed), ReplyState::kFailed);
  for (ReplyEvent e : kEvents) {
    auto next = NextState(ReplyState::kStreaming, e);
    ASSERT_TRUE(next.has_value()) << EventName(e);
    EXPECT_TRUE(IsFinal(*next)) << EventName(e);
  }
}

TEST(ReplyState, FinalStatesRefuseEveryEvent) {
  for (ReplyState s : kStates) {
    if (s == ReplyState::kStreaming) continue;
    EXPECT_TRUE(IsFinal(s));
    for (ReplyEvent e : kEvents) {
      EXPECT_FALSE(NextState(s, e).has_value()) << StateName(s) << " + " << EventName(e);
    }
  }
  EXPECT_FALSE(IsFinal(ReplyState::kStreaming));
}

TEST(ReplyState, NamesRoundTripAndAreTheStoredOnes) {
  EXPECT_EQ(StateName(ReplyState::kStreaming), "streaming");
  EXPECT_EQ(StateName(ReplyState::kComplete), "complete");
  EXPECT_EQ(StateName(ReplyState::kInterrupted), "interrupted");
  EXPECT_EQ(StateName(ReplyState::kFailed), "failed");
  for (ReplyState s : kStates) EXPECT_EQ(ParseState(StateName(s)), s);
  for (const char* bad : {"", "Complete", "done", "streaming ", "stopped"}) {
    EXPECT_FALSE(ParseState(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace chatd::chat
