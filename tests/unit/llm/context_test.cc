// The context builder: what it keeps, in what order, and that it respects the budget.

#include "llm/context.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llm/token_estimate.h"

namespace chatd::llm {
namespace {

// A 300-message conversation: user and assistant alternate, each message ~60 tokens and unique.
std::vector<ChatMessage> LongHistory(int n = 300) {
  std::vector<ChatMessage> h;
  for (int i = 0; i < n; ++i) {
    std::string text = "message " + std::to_string(i) + ":";
    for (int w = 0; w < 55; ++w) text += " lorem";
    h.push_back({i % 2 == 0 ? Role::kUser : Role::kAssistant, text});
  }
  return h;
}

int64_t Cost(const BuiltContext& c) {
  int64_t t = kTokensPerReply + EstimateMessageTokens(c.system);
  for (const ChatMessage& m : c.messages) t += EstimateMessageTokens(m.content);
  return t;
}

TEST(ContextTest, SmallConversationIsSentWhole) {
  ContextInput in;
  in.system_context = "You are helpful.";
  in.history = {{Role::kUser, "Hi"}, {Role::kAssistant, "Hello!"}};
  in.user_message = "How are you?";
  BuiltContext c = BuildContext(in);
  EXPECT_EQ(c.system, "You are helpful.");
  ASSERT_EQ(c.messages.size(), 3u);
  EXPECT_EQ(c.messages[0].content, "Hi");
  EXPECT_EQ(c.messages[1].role, Role::kAssistant);
  EXPECT_EQ(c.messages[2].role, Role::kUser);
  EXPECT_EQ(c.messages[2].content, "How are you?");
  EXPECT_EQ(c.history_kept, 2u);
  EXPECT_EQ(c.history_dropped, 0u);
  EXPECT_FALSE(c.over_budget);
  EXPECT_EQ(c.estimated_tokens, Cost(c));
}

TEST(ContextTest, PrunesA300MessageHistoryOldestFirstWithinTheBudget) {
  ContextInput in;
  in.system_context = "SYSTEM: you are the test assistant.";
  in.history = LongHistory();
  in.user_message = "the new question";
  in.max_context_tokens = 8192;
  in.max_response_tokens = 1024;
  BuiltContext c = BuildContext(in);

  EXPECT_EQ(c.budget_tokens, 8192 - 1024);
  EXPECT_LE(c.estimated_tokens, c.budget_tokens);
  EXPECT_EQ(c.estimated_tokens, Cost(c));
  EXPECT_EQ(c.system, in.system_context);
  EXPECT_FALSE(c.over_budget);
  // Pruned, but not more than needed: another message would not have fit.
  EXPECT_GT(c.history_dropped, 0u);
  EXPECT_GT(c.history_kept, 4u);
  EXPECT_GT(c.estimated_tokens + EstimateMessageTokens(in.history[0].content), c.budget_tokens);
  // What is kept is the newest tail, in order, then the new message.
  ASSERT_EQ(c.messages.size(), c.history_kept + 1);
  for (size_t i = 0; i < c.history_kept; ++i) {
    EXPECT_EQ(c.messages[i].content, in.history[300 - c.history_kept + i].content);
  }
  EXPECT_EQ(c.messages.back().content, "the new question");
}

TEST(ContextTest, KeepsSystemAndLastTwoExchangesEvenOverBudget) {
  ContextInput in;
  in.system_context = "SYSTEM: keep me.";
  in.history = LongHistory();
  in.user_message = "the new question";
  in.max_context_tokens = 300;  // a budget of 44 tokens: less than one message
  in.max_response_tokens = 256;
  in.chunks = {{"d1", "a.md", 0, "some knowledge"}};
  BuiltContext c = BuildContext(in);

  EXPECT_TRUE(c.over_budget);
  EXPECT_EQ(c.system, "SYSTEM: keep me.");  // no room for knowledge
  EXPECT_EQ(c.chunks_used, 0u);
  ASSERT_EQ(c.messages.size(), 5u);
  EXPECT_EQ(c.history_kept, 4u);
  EXPECT_EQ(c.history_dropped, 296u);
  EXPECT_EQ(c.messages[0].content, in.history[296].content);
  EXPECT_EQ(c.messages[0].role, Role::kUser);
  EXPECT_EQ(c.messages[3].content, in.history[299].content);
  EXPECT_EQ(c.messages[3].role, Role::kAssistant);
  EXPECT_EQ(c.messages[4].content, "the new question");
}

TEST(ContextTest, TwoExchangesMeanTwoUserAndTwoAssistantMessages) {
  // A failed reply left an empty assistant message, and a user sent two messages in a row.
  ContextInput in;
  in.history = {{Role::kUser, "u1"},    {Role::kAssistant, "a1"}, {Role::kUser, "u2"},
                {Role::kAssistant, ""}, {Role::kUser, "u3"},      {Role::kAssistant, "a3"},
                {Role::kUser, "u4"},    {Role::kUser, "u5"},      {Role::kAssistant, "a5"}};
  in.user_message = "now";
  in.max_context_tokens = 256;
  in.max_response_tokens = 250;  // nothing optional fits
  BuiltContext c = BuildContext(in);
  std::vector<std::string> got;
  for (const ChatMessage& m : c.messages) got.push_back(m.content);
  EXPECT_EQ(got, (std::vector<std::string>{"a3", "u4", "u5", "a5", "now"}));
}

TEST(ContextTest, EmptyMessagesAreSkipped) {
  ContextInput in;
  in.history = {{Role::kUser, "q"}, {Role::kAssistant, ""}, {Role::kUser, "q again"}};
  in.user_message = "third try";
  BuiltContext c = BuildContext(in);
  ASSERT_EQ(c.messages.size(), 3u);
  EXPECT_EQ(c.messages[1].content, "q again");
  EXPECT_EQ(c.history_kept, 2u);
  EXPECT_EQ(c.history_dropped, 1u);
}

TEST(ContextTest, KnowledgeSectionListsSourcesInRankOrder) {
  ContextInput in;
  in.system_context = "Be helpful.";
  in.chunks = {{"d1", "handbook.md", 3, "KNOWLEDGE: the code is 1234"},
               {"d2", "faq.txt", 0, "Line one\nLine two"}};
  in.user_message = "What is the code?";
  BuiltContext c = BuildContext(in);
  EXPECT_EQ(c.chunks_used, 2u);
  EXPECT_EQ(c.system,
            "Be helpful.\n\n"
            "Relevant knowledge (excerpts from the assistant's documents; cite them as [n]):\n\n"
            "[1] handbook.md, chunk 3:\nKNOWLEDGE: the code is 1234\n\n"
            "[2] faq.txt, chunk 0:\nLine one\nLine two");
  EXPECT_EQ(KnowledgeSection(in.chunks, 0), "");

  in.system_context.clear();
  c = BuildContext(in);
  EXPECT_TRUE(c.system.starts_with("Relevant knowledge"));
}

TEST(ContextTest, KnowledgeWinsOverOldHistoryAndIsCutAtTheBudget) {
  ContextInput in;
  in.system_context = "S";
  in.history = LongHistory(40);
  in.user_message = "q";
  std::string big;
  for (int i = 0; i < 800; ++i) big += "fact ";  // 800 tokens each
  for (int i = 0; i < 5; ++i) in.chunks.push_back({"d", "f.txt", i, big});
  in.max_context_tokens = 3000;
  in.max_response_tokens = 500;
  BuiltContext c = BuildContext(in);
  EXPECT_EQ(c.chunks_used, 2u);  // 2 x 800 fit with the kept tail; a third does not
  EXPECT_LE(c.estimated_tokens, c.budget_tokens);
  EXPECT_GE(c.history_kept, 4u);
  EXPECT_EQ(c.system.find("[3]"), std::string::npos);
}

}  // namespace
}  // namespace chatd::llm
