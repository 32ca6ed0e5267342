// The context builder. See context.h for the pruning rules.

#include "llm/context.h"

#include <algorithm>

#include "llm/token_estimate.h"

namespace chatd::llm {
namespace {

constexpr std::string_view kKnowledgeHeader =
    "Relevant knowledge (excerpts from the assistant's documents; cite them as [n]):";

std::string ChunkEntry(const KnowledgeChunk& chunk, size_t number) {
  std::string entry = "\n\n[" + std::to_string(number) + "] " + chunk.filename + ", chunk " +
                      std::to_string(chunk.chunk_index) + ":\n";
  entry += chunk.content;
  return entry;
}

std::string JoinSystem(const std::string& system_context, const std::string& knowledge) {
  if (knowledge.empty()) return system_context;
  if (system_context.empty()) return knowledge;
  return system_context + "\n\n" + knowledge;
}

// Where the always-kept tail of the history begins: the shortest tail with two user and two
// assistant messages, or 0 when the history has fewer.
size_t MandatoryTailStart(const std::vector<ChatMessage>& history) {
  int users = 0;
  int assistants = 0;
  for (size_t i = history.size(); i > 0; --i) {
    const ChatMessage& m = history[i - 1];
    if (m.content.empty()) continue;
    if (m.role == Role::kUser) ++users;
    if (m.role == Role::kAssistant) ++assistants;
    if (users >= 2 && assistants >= 2) return i - 1;
  }
  return 0;
}

}  // namespace

std::string KnowledgeSection(const std::vector<KnowledgeChunk>& chunks, size_t count) {
  count = std::min(count, chunks.size());
  if (count == 0) return "";
  std::string section(kKnowledgeHeader);
  for (size_t i = 0; i < count; ++i) section += ChunkEntry(chunks[i], i + 1);
  return section;
}

BuiltContext BuildContext(const ContextInput& input) {
  BuiltContext out;
  out.budget_tokens = std::max<int64_t>(0, input.max_context_tokens - input.max_response_tokens);

  // The parts always kept.
  const int64_t system_context_cost =
      input.system_context.empty() ? 0 : EstimateTokens(input.system_context);
  int64_t used = kTokensPerReply + kTokensPerMessage + system_context_cost +
                 EstimateMessageTokens(input.user_message);
  const size_t tail_start = MandatoryTailStart(input.history);
  for (size_t i = tail_start; i < input.history.size(); ++i) {
    if (!input.history[i].content.empty()) used += EstimateMessageTokens(input.history[i].content);
  }
  out.over_budget = used > out.budget_tokens;

  // Knowledge, in rank order, while it fits.
  if (!input.chunks.empty() && !out.over_budget) {
    int64_t section_cost = EstimateTokens(kKnowledgeHeader);
    for (size_t i = 0; i < input.chunks.size(); ++i) {
      section_cost += EstimateTokens(ChunkEntry(input.chunks[i], i + 1));
      if (used + section_cost > out.budget_tokens) break;
      out.chunks_used = i + 1;
    }
    if (out.chunks_used > 0) {
      used += EstimateTokens(KnowledgeSection(input.chunks, out.chunks_used));
    }
  }

  // Older history, newest first, while it fits.
  size_t history_start = tail_start;
  while (history_start > 0) {
    const ChatMessage& m = input.history[history_start - 1];
    if (!m.content.empty()) {
      const int64_t cost = EstimateMessageTokens(m.content);
      if (used + cost > out.budget_tokens) break;
      used += cost;
    }
    --history_start;
  }

  out.system = JoinSystem(input.system_context, KnowledgeSection(input.chunks, out.chunks_used));
  for (size_t i = history_start; i < input.history.size(); ++i) {
    if (input.history[i].content.empty()) continue;
    out.messages.push_back(input.history[i]);
  }
  out.history_kept = out.messages.size();
  out.history_dropped = input.history.size() - out.history_kept;
  out.messages.push_back({Role::kUser, input.user_message});

  out.estimated_tokens = kTokensPerReply;
  if (!out.system.empty()) out.estimated_tokens += EstimateMessageTokens(out.system);
  for (const ChatMessage& m : out.messages)
    out.estimated_tokens += EstimateMessageTokens(m.content);
  return out;
}

}  // namespace chatd::llm
