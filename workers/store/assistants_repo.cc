// SQL of the assistants aggregate (assistants and prompts). Every statement is a named constant
// with bound parameters. Rows are read through soci::row so that nullable columns come with their
// indicators; booleans are selected as integers (SOCI's PostgreSQL backend has no bool type).
//
// Keyset pagination: a list is ordered by (keys..., id) and continues where `(keys, id) > cursor`.
// Timestamps travel in cursors as exact microseconds since the epoch: EXTRACT(EPOCH ...) is numeric
// (exact) on PostgreSQL 14+, and 'epoch' + n * interval '1 microsecond' turns it back exactly.

#include "store/assistants_repo.h"

#include <soci/soci.h>

#include <charconv>
#include <limits>

#include "json/json.h"
#include "store/sql.h"

namespace chatd::store {
namespace {

#define CHATD_US(column) "CAST(EXTRACT(EPOCH FROM " column ") * 1000000 AS bigint)"
#define CHATD_FROM_US(param) \
  "(TIMESTAMPTZ 'epoch' + CAST(" param " AS bigint) * INTERVAL '1 microsecond')"

// ---- assistants ----

#define ASSISTANT_COLUMNS                                                        \
  "id::text, name, description, model, temperature, max_tokens, system_prompt, " \
  "owner_id::text, " CHATD_SQL_TS("created_at") ", " CHATD_SQL_TS(               \
      "updated_at") ", is_default::int, " CHATD_US("created_at")

constexpr const char* kSelectAccess =
    "SELECT is_default::int, CASE WHEN owner_id = CAST(:uid AS uuid) THEN 1 ELSE 0 END "
    "FROM assistants WHERE id = CAST(:id AS uuid)";
// FOR NO KEY UPDATE: serialises changes of the assistant and of its prompts (position, count)
// without blocking the FOR KEY SHARE locks that inserting a prompt or document takes.
constexpr const char* kSelectAccessForChange =
    "SELECT is_default::int, CASE WHEN owner_id = CAST(:uid AS uuid) THEN 1 ELSE 0 END "
    "FROM assistants WHERE id = CAST(:id AS uuid) FOR NO KEY UPDATE";

constexpr const char* kInsertAssistant =
    "INSERT INTO assistants (owner_id, name, description, model, temperature, max_tokens, "
    "system_prompt) VALUES (CAST(:owner AS uuid), :name, :description, :model, :temperature, "
    ":max_tokens, :system_prompt) RETURNING " ASSISTANT_COLUMNS;

constexpr const char* kSelectVisibleAssistant =
    "SELECT " ASSISTANT_COLUMNS
    " FROM assistants WHERE id = CAST(:id AS uuid) "
    "AND (is_default OR owner_id = CAST(:uid AS uuid) OR CAST(:admin AS int) = 1)";

// The default first (only on the first page), then the caller's own by (created_at, id).
// The OR of two indexed conditions becomes a BitmapOr of assistants_one_default_idx and
// assistants_owner_idx.
constexpr const char* kListAssistants =
    "SELECT " ASSISTANT_COLUMNS " FROM assistants "
    "WHERE (is_default AND CAST(:with_default AS int) = 1) "
    "OR (owner_id = CAST(:uid AS uuid) AND (created_at, id) > (" CHATD_FROM_US(":after_us")
    ", CAST(:after_id AS uuid))) "
    "ORDER BY is_default DESC, created_at, id LIMIT :lim";

constexpr const char* kUpdateAssistant =
    "UPDATE assistants SET name = :name, description = :description, model = :model, "
    "temperature = :temperature, max_tokens = :max_tokens, system_prompt = :system_prompt, "
    "updated_at = now() WHERE id = CAST(:id AS uuid) RETURNING " ASSISTANT_COLUMNS;

constexpr const char* kDeleteAssistant = "DELETE FROM assistants WHERE id = CAST(:id AS uuid)";

// ---- prompts ----

#define PROMPT_COLUMNS                                                                   \
  "id::text, assistant_id::text, title, content, position, enabled::int, " CHATD_SQL_TS( \
      "created_at") ", " CHATD_SQL_TS("updated_at") ", " CHATD_US("created_at")

constexpr const char* kListPrompts =
    "SELECT " PROMPT_COLUMNS
    " FROM prompts WHERE assistant_id = CAST(:aid AS uuid) "
    "AND (position, created_at, id) > (CAST(:after_pos AS int), " CHATD_FROM_US(
        ":after_us") ", CAST(:after_id AS uuid)) ORDER BY position, created_at, id LIMIT :lim";

constexpr const char* kPromptStats =
    "SELECT count(*), COALESCE(max(position) + 1, 0) FROM prompts "
    "WHERE assistant_id = CAST(:aid AS uuid)";

constexpr const char* kInsertPrompt =
    "INSERT INTO prompts (assistant_id, title, content, position, enabled) "
    "VALUES (CAST(:aid AS uuid), :title, :content, :position, CAST(:enabled AS int) = 1) "
    "RETURNING " PROMPT_COLUMNS;

constexpr const char* kSelectPromptForUpdate = "SELECT " PROMPT_COLUMNS
                                               " FROM prompts WHERE id = CAST(:id AS uuid) "
                                               "AND assistant_id = CAST(:aid AS uuid) FOR UPDATE";

constexpr const char* kUpdatePrompt =
    "UPDATE prompts SET title = :title, content = :content, position = :position, "
    "enabled = CAST(:enabled AS int) = 1, updated_at = now() WHERE id = CAST(:id AS uuid) "
    "RETURNING " PROMPT_COLUMNS;

constexpr const char* kDeletePrompt =
    "DELETE FROM prompts WHERE id = CAST(:id AS uuid) AND assistant_id = CAST(:aid AS uuid) "
    "RETURNING id::text";

// ---- system context ----

constexpr const char* kSelectContext =
    "SELECT a.id::text, a.name, a.model, a.temperature, a.max_tokens, a.system_prompt, "
    "(SELECT string_agg(p.content, E'\\n\\n' ORDER BY p.position, p.created_at, p.id) "
    "FROM prompts p WHERE p.assistant_id = a.id AND p.enabled) "
    "FROM assistants a WHERE a.id = CAST(:id AS uuid)";

// "Before everything": the keyset start of a list without a cursor.
constexpr long long kStartUs = -62135596800000000LL;  // 0001-01-01T00:00:00Z
constexpr const char* kNilUuid = "00000000-0000-0000-0000-000000000000";

std::optional<std::string> OptString(const soci::row& r, size_t i) {
  if (r.get_indicator(i) == soci::i_null) return std::nullopt;
  return r.get<std::string>(i);
}

Assistant ReadAssistant(const soci::row& r) {
  Assistant a;
  a.id = r.get<std::string>(0);
  a.name = r.get<std::string>(1);
  a.description = r.get<std::string>(2);
  a.model = OptString(r, 3);
  if (r.get_indicator(4) != soci::i_null) a.temperature = r.get<double>(4);
  if (r.get_indicator(5) != soci::i_null) a.max_tokens = r.get<int>(5);
  a.system_prompt = r.get<std::string>(6);
  a.owner_id = OptString(r, 7);
  a.created_at = r.get<std::string>(8);
  a.updated_at = r.get<std::string>(9);
  a.is_default = r.get<int>(10) != 0;
  // The default leads the list; "after it" means from the start of the caller's own.
  a.cursor = a.is_default ? EncodeKeysetCursor({{kStartUs}, kNilUuid})
                          : EncodeKeysetCursor({{r.get<long long>(11)}, a.id});
  return a;
}

Prompt ReadPrompt(const soci::row& r) {
  Prompt p;
  p.id = r.get<std::string>(0);
  p.assistant_id = r.get<std::string>(1);
  p.title = r.get<std::string>(2);
  p.content = r.get<std::string>(3);
  p.position = r.get<int>(4);
  p.enabled = r.get<int>(5) != 0;
  p.created_at = r.get<std::string>(6);
  p.updated_at = r.get<std::string>(7);
  p.cursor = EncodeKeysetCursor({{p.position, r.get<long long>(8)}, p.id});
  return p;
}

Status InvalidCursor() {
  return Status::Invalid("cursor", "is not a valid cursor");
}

// Binds the nullable settings of an assistant for INSERT/UPDATE. Holds the values the statement
// points to, so it must outlive the statement's execution.
struct AssistantParams {
  std::string name, description, system_prompt, model;
  double temperature = 0;
  int max_tokens = 0;
  soci::indicator model_ind = soci::i_null, temperature_ind = soci::i_null,
                  max_tokens_ind = soci::i_null;

  AssistantParams(std::string n, std::string d, std::string sp, const std::optional<std::string>& m,
                  std::optional<double> t, std::optional<int> mt)
      : name(std::move(n)), description(std::move(d)), system_prompt(std::move(sp)) {
    if (m) model = *m, model_ind = soci::i_ok;
    if (t) temperature = *t, temperature_ind = soci::i_ok;
    if (mt) max_tokens = *mt, max_tokens_ind = soci::i_ok;
  }
};

}  // namespace

// ---- cursors ----

std::string EncodeKeysetCursor(const KeysetPosition& position) {
  std::string out;
  for (int64_t key : position.keys) out += std::to_string(key) + "_";
  return out + position.id;
}

std::optional<KeysetPosition> DecodeKeysetCursor(std::string_view cursor, size_t key_count) {
  KeysetPosition p;
  for (size_t i = 0; i < key_count; ++i) {
    size_t sep = cursor.find('_');
    if (sep == std::string_view::npos || sep == 0 || sep > 20) return std::nullopt;
    std::string_view text = cursor.substr(0, sep);
    int64_t key = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), key);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    // Only the canonical spelling (what Encode writes) is accepted.
    if (std::to_string(key) != text) return std::nullopt;
    p.keys.push_back(key);
    cursor.remove_prefix(sep + 1);
  }
  if (!json::IsUuid(cursor)) return std::nullopt;
  for (char c : cursor) {
    if (c >= 'A' && c <= 'F') return std::nullopt;
  }
  p.id = std::string(cursor);
  return p;
}

// ---- assistants ----

Status CheckAssistantAccess(soci::session& s, const std::string& assistant_id,
                            const AssistantViewer& viewer, AssistantIntent intent) {
  int is_default = 0, is_owner = 0;
  s << (intent == AssistantIntent::kRead ? kSelectAccess : kSelectAccessForChange),
      soci::use(viewer.user_id, "uid"), soci::use(assistant_id, "id"), soci::into(is_default),
      soci::into(is_owner);
  if (!s.got_data()) return Status::NotFound();
  if (!is_default && !is_owner && !viewer.is_admin) return Status::NotFound();
  if (intent == AssistantIntent::kRead || !is_default) return Status::Ok();
  if (intent == AssistantIntent::kDelete) {
    if (!viewer.is_admin) {
      return Status(ErrorCode::kForbidden,
                    "Only an administrator can change the built-in assistant.");
    }
    return Status(ErrorCode::kConflict, "The built-in assistant cannot be deleted.");
  }
  if (!viewer.is_admin) {
    return Status(ErrorCode::kForbidden,
                  "Only an administrator can change the built-in assistant.");
  }
  return Status::Ok();
}

Result<Assistant> CreateAssistant(soci::session& s, const AssistantViewer& owner,
                                  const NewAssistant& f) {
  AssistantParams p(f.name, f.description, f.system_prompt, f.model, f.temperature, f.max_tokens);
  soci::rowset<soci::row> rows =
      (s.prepare << kInsertAssistant, soci::use(owner.user_id, "owner"), soci::use(p.name, "name"),
       soci::use(p.description, "description"), soci::use(p.model, p.model_ind, "model"),
       soci::use(p.temperature, p.temperature_ind, "temperature"),
       soci::use(p.max_tokens, p.max_tokens_ind, "max_tokens"),
       soci::use(p.system_prompt, "system_prompt"));
  for (const soci::row& r : rows) return ReadAssistant(r);
  return Status::Internal();
}

Result<AssistantListPage<Assistant>> ListAssistants(soci::session& s, const AssistantViewer& viewer,
                                                    int limit, std::string_view cursor) {
  int with_default = 1;
  long long after_us = kStartUs;
  std::string after_id = kNilUuid;
  if (!cursor.empty()) {
    auto position = DecodeKeysetCursor(cursor, 1);
    if (!position) return InvalidCursor();
    with_default = 0;
    after_us = position->keys[0];
    after_id = position->id;
  }
  int fetch = limit + 1;  // one more tells whether there is a next page
  AssistantListPage<Assistant> page;
  soci::rowset<soci::row> rows =
      (s.prepare << kListAssistants, soci::use(with_default, "with_default"),
       soci::use(viewer.user_id, "uid"), soci::use(after_us, "after_us"),
       soci::use(after_id, "after_id"), soci::use(fetch, "lim"));
  for (const soci::row& r : rows) page.items.push_back(ReadAssistant(r));
  if (page.items.size() > static_cast<size_t>(limit)) {
    page.items.pop_back();
    page.next_cursor = page.items.back().cursor;
  }
  return page;
}

Result<Assistant> GetAssistant(soci::session& s, const std::string& assistant_id,
                               const AssistantViewer& viewer) {
  int admin = viewer.is_admin ? 1 : 0;
  soci::rowset<soci::row> rows =
      (s.prepare << kSelectVisibleAssistant, soci::use(assistant_id, "id"),
       soci::use(viewer.user_id, "uid"), soci::use(admin, "admin"));
  for (const soci::row& r : rows) return ReadAssistant(r);
  return Status::NotFound();
}

Result<Assistant> UpdateAssistant(soci::session& s, const std::string& assistant_id,
                                  const AssistantViewer& viewer, const AssistantPatch& patch) {
  Status access = CheckAssistantAccess(s, assistant_id, viewer, AssistantIntent::kChange);
  if (!access.ok()) return access;
  Result<Assistant> current = GetAssistant(s, assistant_id, viewer);
  if (!current.ok()) return current.status();
  Assistant a = std::move(current).value();
  if (patch.name) a.name = *patch.name;
  if (patch.description) a.description = *patch.description;
  if (patch.model) a.model = *patch.model;
  if (patch.temperature) a.temperature = *patch.temperature;
  if (patch.max_tokens) a.max_tokens = *patch.max_tokens;
  if (patch.system_prompt) a.system_prompt = *patch.system_prompt;
  AssistantParams p(a.name, a.description, a.system_prompt, a.model, a.temperature, a.max_tokens);
  soci::rowset<soci::row> rows =
      (s.prepare << kUpdateAssistant, soci::use(p.name, "name"),
       soci::use(p.description, "description"), soci::use(p.model, p.model_ind, "model"),
       soci::use(p.temperature, p.temperature_ind, "temperature"),
       soci::use(p.max_tokens, p.max_tokens_ind, "max_tokens"),
       soci::use(p.system_prompt, "system_prompt"), soci::use(assistant_id, "id"));
  for (const soci::row& r : rows) return ReadAssistant(r);
  return Status::NotFound();
}

Status DeleteAssistant(soci::session& s, const std::string& assistant_id,
                       const AssistantViewer& viewer) {
  Status access = CheckAssistantAccess(s, assistant_id, viewer, AssistantIntent::kDelete);
  if (!access.ok()) return access;
  s << kDeleteAssistant, soci::use(assistant_id, "id");
  return Status::Ok();
}

// ---- prompts ----

Result<AssistantListPage<Prompt>> ListPrompts(soci::session& s, const std::string& assistant_id,
                                              const AssistantViewer& viewer, int limit,
                                              std::string_view cursor) {
  int after_pos = -1;
  long long after_us = kStartUs;
  std::string after_id = kNilUuid;
  if (!cursor.empty()) {
    auto position = DecodeKeysetCursor(cursor, 2);
    if (!position || position->keys[0] < -1 ||
        position->keys[0] > std::numeric_limits<int>::max()) {
      return InvalidCursor();
    }
    after_pos = static_cast<int>(position->keys[0]);
    after_us = position->keys[1];
    after_id = position->id;
  }
  Status access = CheckAssistantAccess(s, assistant_id, viewer, AssistantIntent::kRead);
  if (!access.ok()) return access;
  int fetch = limit + 1;
  AssistantListPage<Prompt> page;
  soci::rowset<soci::row> rows =
      (s.prepare << kListPrompts, soci::use(assistant_id, "aid"), soci::use(after_pos, "after_pos"),
       soci::use(after_us, "after_us"), soci::use(after_id, "after_id"), soci::use(fetch, "lim"));
  for (const soci::row& r : rows) page.items.push_back(ReadPrompt(r));
  if (page.items.size() > static_cast<size_t>(limit)) {
    page.items.pop_back();
    page.next_cursor = page.items.back().cursor;
  }
  return page;
}

Result<Prompt> CreatePrompt(soci::session& s, const std::string& assistant_id,
                            const AssistantViewer& viewer, const NewPrompt& f) {
  // The lock taken here makes the count and the "after the last" position exact under
  // concurrent creates.
  Status access = CheckAssistantAccess(s, assistant_id, viewer, AssistantIntent::kChange);
  if (!access.ok()) return access;
  long long count = 0;
  int next_position = 0;
  s << kPromptStats, soci::use(assistant_id, "aid"), soci::into(count), soci::into(next_position);
  if (count >= kMaxPromptsPerAssistant) {
    return Status(ErrorCode::kConflict, "An assistant can have at most " +
                                            std::to_string(kMaxPromptsPerAssistant) + " prompts.");
  }
  int position = f.position.value_or(next_position);
  int enabled = f.enabled ? 1 : 0;
  soci::rowset<soci::row> rows = (s.prepare << kInsertPrompt, soci::use(assistant_id, "aid"),
                                  soci::use(f.title, "title"), soci::use(f.content, "content"),
                                  soci::use(position, "position"), soci::use(enabled, "enabled"));
  for (const soci::row& r : rows) return ReadPrompt(r);
  return Status::Internal();
}

Result<Prompt> UpdatePrompt(soci::session& s, const std::string& assistant_id,
                            const std::string& prompt_id, const AssistantViewer& viewer,
                            const PromptPatch& patch) {
  Status access = CheckAssistantAccess(s, assistant_id, viewer, AssistantIntent::kChange);
  if (!access.ok()) return access;
  std::optional<Prompt> current;
  {
    soci::rowset<soci::row> rows = (s.prepare << kSelectPromptForUpdate, soci::use(prompt_id, "id"),
                                    soci::use(assistant_id, "aid"));
    for (const soci::row& r : rows) current = ReadPrompt(r);
  }
  if (!current) return Status::NotFound();
  Prompt p = std::move(*current);
  if (patch.title) p.title = *patch.title;
  if (patch.content) p.content = *patch.content;
  if (patch.position) p.position = *patch.position;
  if (patch.enabled) p.enabled = *patch.enabled;
  int enabled = p.enabled ? 1 : 0;
  soci::rowset<soci::row> rows =
      (s.prepare << kUpdatePrompt, soci::use(p.title, "title"), soci::use(p.content, "content"),
       soci::use(p.position, "position"), soci::use(enabled, "enabled"),
       soci::use(prompt_id, "id"));
  for (const soci::row& r : rows) return ReadPrompt(r);
  return Status::NotFound();
}

Status DeletePrompt(soci::session& s, const std::string& assistant_id, const std::string& prompt_id,
                    const AssistantViewer& viewer) {
  Status access = CheckAssistantAccess(s, assistant_id, viewer, AssistantIntent::kChange);
  if (!access.ok()) return access;
  std::string deleted;
  s << kDeletePrompt, soci::use(prompt_id, "id"), soci::use(assistant_id, "aid"),
      soci::into(deleted);
  return s.got_data() ? Status::Ok() : Status::NotFound();
}

// ---- system context ----

Result<AssistantContext> LoadAssistantContext(soci::session& s, const std::string& assistant_id) {
  if (!json::IsUuid(assistant_id)) return Status::NotFound();
  soci::rowset<soci::row> rows = (s.prepare << kSelectContext, soci::use(assistant_id, "id"));
  for (const soci::row& r : rows) {
    AssistantContext c;
    c.assistant_id = r.get<std::string>(0);
    c.name = r.get<std::string>(1);
    c.model = OptString(r, 2);
    if (r.get_indicator(3) != soci::i_null) c.temperature = r.get<double>(3);
    if (r.get_indicator(4) != soci::i_null) c.max_tokens = r.get<int>(4);
    c.system_context = r.get<std::string>(5);
    if (std::optional<std::string> prompts = OptString(r, 6); prompts && !prompts->empty()) {
      if (!c.system_context.empty()) c.system_context += "\n\n";
      c.system_context += *prompts;
    }
    return c;
  }
  return Status::NotFound();
}

}  // namespace chatd::store
