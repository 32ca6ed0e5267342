// The context of a reply: what the model is sent, built to fit its window.
//
// BuildContext() assembles the system text — the assistant's system context, then a "Relevant
// knowledge" section listing the retrieved chunks with their sources — and the turns: the
// conversation's history and the new user message. When the estimate (token_estimate.h) exceeds
// the budget, max_context_tokens - max_response_tokens (room is kept for the reply), it prunes:
//
//   always kept      the system context, the new user message, and the last two exchanges of the
//                    history: the shortest tail holding two user and two assistant messages (the
//                    whole history when it has fewer) — even when they alone exceed the budget
//                    (BuiltContext::over_budget says so; the provider may then refuse);
//   then             retrieved chunks in rank order, while they fit (chunks_used is how many: the
//                    first chunks_used chunks of the input are the reply's `sources`);
//   then             older history, newest first, while it fits; the first message that does not
//                    fit ends the history there, so what is kept is always a contiguous tail
//                    (pruned oldest-first).
// Chunks win over older history because they were chosen for the message being answered.
// Messages with empty content (a failed reply) carry nothing and are skipped.
//
// Pure function of its input; safe from any thread.

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "llm/provider.h"

namespace chatd::llm {

struct KnowledgeChunk {
  std::string document_id;
  std::string filename;
  int chunk_index = 0;
  std::string content;
};

struct ContextInput {
  std::string system_context;          // system_prompt + enabled prompts, already joined
  std::vector<KnowledgeChunk> chunks;  // retrieved for this message, most relevant first
  std::vector<ChatMessage> history;    // earlier turns, oldest first, without the new message
  std::string user_message;            // the message being answered
  int64_t max_context_tokens = 8192;   // MAX_CONTEXT_TOKENS
  int64_t max_response_tokens = 1024;  // MAX_RESPONSE_TOKENS
};

struct BuiltContext {
  std::string system;                 // the system context + the knowledge section
  std::vector<ChatMessage> messages;  // the kept history + the new user message, oldest first
  size_t chunks_used = 0;             // input.chunks[0 .. chunks_used) are in `system`
  size_t history_kept = 0;            // messages of input.history sent (a tail)
  size_t history_dropped = 0;         // messages of input.history left out (empty ones included)
  int64_t estimated_tokens = 0;       // system + messages + reply priming
  int64_t budget_tokens = 0;          // max_context_tokens - max_response_tokens
  bool over_budget = false;           // the parts always kept exceed the budget
};

BuiltContext BuildContext(const ContextInput& input);

// The knowledge section for the first `count` chunks, as BuildContext writes it ("" for none):
//   Relevant knowledge (excerpts from the assistant's documents; cite them as [n]):
//
//   [1] handbook.md, chunk 3:
//   <content>
std::string KnowledgeSection(const std::vector<KnowledgeChunk>& chunks, size_t count);

}  // namespace chatd::llm
