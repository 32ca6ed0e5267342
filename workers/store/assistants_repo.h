// The assistants aggregate: a user's chatbots, the built-in default assistant, their prompts, and
// the assembled system context that a reply starts from.
//
// Access rules (API.md "Assistants"), enforced here so that every caller applies the same ones:
//   * an assistant is visible to its owner and to admins; the built-in default (owner_id NULL,
//     kDefaultAssistantId) is visible to everybody. Anything else is NOT_FOUND, never FORBIDDEN;
//   * changing an assistant, its prompts or its documents takes the owner or an admin; a
//     non-admin changing the default (which it can see) gets FORBIDDEN;
//   * the default assistant cannot be deleted, not even by an admin (CONFLICT).
// Validation of field values belongs to the API layer (the request's field names make the
// errors); the schema's CHECK constraints stay the last line of defence.
//
// Transactions belong to the caller: no function here begins or commits one, so a unit of work
// (lock the assistant, count its prompts, insert one) is one soci::transaction around several
// calls. Database exceptions propagate to Database::Run, which maps them once; domain outcomes
// (not found, forbidden, a bad cursor) come back as a Status.
//
// Threads: plain functions over the session they are given; the session belongs to one thread.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace soci {
class session;
}

namespace chatd::store {

// The built-in default assistant created by sql/0001_init.sql (conversations of kind 'assistant'
// without an assistant fall back to it).
inline constexpr std::string_view kDefaultAssistantId = "00000000-0000-0000-0000-000000000001";

// Application limits of API.md, mirrored by the CHECKs of sql/0001_init.sql.
inline constexpr size_t kMaxAssistantNameChars = 100;
inline constexpr size_t kMaxAssistantDescriptionChars = 2000;
inline constexpr size_t kMaxAssistantModelChars = 200;
inline constexpr double kMaxAssistantTemperature = 2.0;
inline constexpr int kMaxAssistantMaxTokens = 100000;
inline constexpr size_t kMaxSystemPromptChars = 32000;
inline constexpr size_t kMaxPromptTitleChars = 200;
inline constexpr size_t kMaxPromptContentChars = 32000;
inline constexpr int kMaxPromptPosition = 1000000;
// Prompts per assistant: the system context is their sum, so it is kept bounded.
inline constexpr int kMaxPromptsPerAssistant = 100;

// Who is asking. Built by the API from its authenticated principal.
struct AssistantViewer {
  std::string user_id;  // lowercase UUID
  bool is_admin = false;
};

// What the viewer intends to do with an assistant (or its prompts and documents).
enum class AssistantIntent { kRead, kChange, kDelete };

// API.md's Assistant.
struct Assistant {
  std::string id;
  std::string name;
  std::string description;
  std::optional<std::string> model;   // nullopt: the server's LLM_MODEL
  std::optional<double> temperature;  // nullopt: the provider's default
  std::optional<int> max_tokens;      // nullopt: MAX_RESPONSE_TOKENS
  std::string system_prompt;
  std::optional<std::string> owner_id;  // nullopt for the built-in default
  std::string created_at;               // RFC 3339 UTC with milliseconds
  std::string updated_at;
  bool is_default = false;
  std::string cursor;  // the keyset cursor that continues a list after this item
};

struct NewAssistant {
  std::string name;
  std::string description;
  std::optional<std::string> model;
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  std::string system_prompt;
};

// A partial update. Outer nullopt: leave as is; for the nullable settings an inner nullopt resets
// the setting to the server's default (NULL).
struct AssistantPatch {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::optional<std::string>> model;
  std::optional<std::optional<double>> temperature;
  std::optional<std::optional<int>> max_tokens;
  std::optional<std::string> system_prompt;
};

// API.md's Prompt.
struct Prompt {
  std::string id;
  std::string assistant_id;
  std::string title;
  std::string content;
  int position = 0;
  bool enabled = true;
  std::string created_at;
  std::string updated_at;
  std::string cursor;
};

struct NewPrompt {
  std::string title;
  std::string content;
  std::optional<int> position;  // nullopt: after the last prompt (max position + 1, or 0)
  bool enabled = true;
};

struct PromptPatch {
  std::optional<std::string> title;
  std::optional<std::string> content;
  std::optional<int> position;
  std::optional<bool> enabled;
};

// One page of a list, in API.md's {"items", "next_cursor"} form.
template <typename T>
struct AssistantListPage {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
};

// What a reply needs from its assistant (see LoadAssistantContext).
struct AssistantContext {
  std::string assistant_id;
  std::string name;
  std::optional<std::string> model;   // nullopt: LLM_MODEL
  std::optional<double> temperature;  // nullopt: the provider's default
  std::optional<int> max_tokens;      // nullopt: MAX_RESPONSE_TOKENS
  std::string system_context;
};

// ---- Keyset cursors --------------------------------------------------------------------------
// The lists here are ordered by a few integer keys and a UUID tiebreak; a cursor is those values
// joined by '_' ("1732270800123456_3f2a..."). Opaque to clients; Decode is the strict inverse of
// Encode and returns nullopt for anything Encode could not have produced.
struct KeysetPosition {
  std::vector<int64_t> keys;
  std::string id;
};
std::string EncodeKeysetCursor(const KeysetPosition& position);
std::optional<KeysetPosition> DecodeKeysetCursor(std::string_view cursor, size_t key_count);

// ---- Assistants ------------------------------------------------------------------------------

// OK when `viewer` may do `intent` with the assistant; NOT_FOUND / FORBIDDEN / CONFLICT per the
// rules above. For kChange and kDelete the assistant row is locked (FOR NO KEY UPDATE) until the
// caller's transaction ends, so that concurrent changes of its prompts serialise; foreign-key
// checks of inserted prompts/documents are not blocked by that lock. `assistant_id` must be a
// lowercase UUID (the API answers 404 for anything else before calling).
Status CheckAssistantAccess(soci::session& s, const std::string& assistant_id,
                            const AssistantViewer& viewer, AssistantIntent intent);

Result<Assistant> CreateAssistant(soci::session& s, const AssistantViewer& owner,
                                  const NewAssistant& fields);

// GET /assistants: the built-in default first, then the viewer's own assistants (admins too see
// only their own here) by creation time. `cursor` empty: from the start; VALIDATION_ERROR on field
// "cursor" when it is not one this list produced. `limit` is 1..100.
Result<AssistantListPage<Assistant>> ListAssistants(soci::session& s, const AssistantViewer& viewer,
                                                    int limit, std::string_view cursor);

Result<Assistant> GetAssistant(soci::session& s, const std::string& assistant_id,
                               const AssistantViewer& viewer);

// Applies `patch` (updated_at = now()). Locks the row; run it in a transaction.
Result<Assistant> UpdateAssistant(soci::session& s, const std::string& assistant_id,
                                  const AssistantViewer& viewer, const AssistantPatch& patch);

// Deletes the assistant with its prompts, documents and chunks (ON DELETE CASCADE); conversations
// and messages that refer to it keep existing with assistant_id NULL (ON DELETE SET NULL).
Status DeleteAssistant(soci::session& s, const std::string& assistant_id,
                       const AssistantViewer& viewer);

// ---- Prompts ---------------------------------------------------------------------------------
// Every function checks access to the assistant first (a prompt of an invisible assistant is
// NOT_FOUND like the assistant); a prompt id of another assistant is NOT_FOUND.

// Ordered by position, then creation (position ties are allowed).
Result<AssistantListPage<Prompt>> ListPrompts(soci::session& s, const std::string& assistant_id,
                                              const AssistantViewer& viewer, int limit,
                                              std::string_view cursor);
// CONFLICT when the assistant already has kMaxPromptsPerAssistant prompts.
Result<Prompt> CreatePrompt(soci::session& s, const std::string& assistant_id,
                            const AssistantViewer& viewer, const NewPrompt& fields);
Result<Prompt> UpdatePrompt(soci::session& s, const std::string& assistant_id,
                            const std::string& prompt_id, const AssistantViewer& viewer,
                            const PromptPatch& patch);
Status DeletePrompt(soci::session& s, const std::string& assistant_id, const std::string& prompt_id,
                    const AssistantViewer& viewer);

// ---- System context --------------------------------------------------------------------------

// The assistant's settings and its system context, for generating a reply. No access check: the
// caller has already decided that the conversation may use this assistant. NOT_FOUND when it does
// not exist (a conversation whose assistant was deleted should ask for kDefaultAssistantId).
//
// system_context joins, with one blank line ("\n\n") between parts and in this order:
//   1. the assistant's system_prompt (left out when empty);
//   2. the content of each ENABLED prompt in (position, created_at, id) order.
// Prompt titles are not included: they label a prompt for its owner, the content is the
// instruction, and headings the user never wrote would only invite the model to echo them.
// Parts are used verbatim (they were sanitized and trimmed when stored).
Result<AssistantContext> LoadAssistantContext(soci::session& s, const std::string& assistant_id);

}  // namespace chatd::store
