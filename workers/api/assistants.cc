// Assistants, their prompts and their knowledge documents (API.md "Assistants").
//
// Each handler authenticates, answers 404 for a path id that is not a UUID (nothing the caller
// could see has it), validates the body field by field (json::ObjectReader: one error per bad
// field, unknown fields rejected), and then does its database work in one borrowed session —
// writes in one transaction, so a failed request changes nothing. Who may see or change what is
// decided by store/assistants_repo.h, in the same transaction as the write.
//
// Documents are split into chunks here (llm/chunker.h), before any session is borrowed: chunking
// 1 MiB takes milliseconds of CPU, which a database connection should not wait for.
//
// Field rules beyond API.md's table, written into docs/openapi.yaml:
//   * strings are sanitized like all user text (control characters except newline and tab removed,
//     trimmed) and then measured in characters; name 1..100, description <= 2000, model 1..200,
//     system_prompt <= 32000, prompt title 1..200 and content 1..32000, filename 1..255;
//   * except that text whose layout is content (system_prompt, a prompt's content, a document's
//     content) keeps it: control characters other than newline, tab and carriage return are
//     removed and nothing is trimmed, so it is stored (and a document's `bytes` counts) exactly
//     what was sent; a required one must still hold something besides whitespace;
//   * model, temperature and max_tokens accept null (the server's default), also in PATCH;
//   * a document's filename is kept exactly as sent and must not contain '/', '\\' or control
//     characters; content_type defaults from the filename (".md"/".markdown": text/markdown, else
//     text/plain); content is at most 1 MiB (store::kMaxDocumentBytes) of UTF-8 once sanitized.

#include <soci/soci.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/common.h"
#include "api/conversation_events.h"
#include "api/handlers.h"
#include "api/principal.h"
#include "api/render.h"
#include "core/text.h"
#include "json/json.h"
#include "llm/chunker.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/documents_repo.h"

namespace chatd::api {
namespace {

struct ListParams {
  int limit = kDefaultListLimit;
  std::string cursor;
};

// ?limit= (api/query_params.h) and ?cursor= (validated by the repository).
Result<ListParams> ParseListParams(const http::Request& r) {
  ListParams p;
  auto limit = LimitQueryParam(r);
  if (!limit.ok()) return limit.status();
  p.limit = *limit;
  p.cursor = r.QueryParam("cursor").value_or("");
  return p;
}

// A path id as stored (lowercase UUID), or nullopt: the handler then answers 404.
std::optional<std::string> PathId(const http::Request& r, std::string_view name) {
  std::string_view id = r.PathParam(name);
  if (!json::IsUuid(id)) return std::nullopt;
  return AsciiLower(id);
}

Result<store::AssistantViewer> Viewer(const http::Request& r, Services& services) {
  auto principal = Authenticate(r, services);
  if (!principal.ok()) return principal.status();
  return store::AssistantViewer{principal->user_id, principal->is_admin()};
}

// Runs `work` on a borrowed session and hands back its value. `write`: inside one transaction,
// committed only when the work succeeded, and never retried (it may have committed).
template <typename T>
Result<T> WithSession(Services& services, bool write,
                      const std::function<Result<T>(soci::session&)>& work) {
  std::optional<T> out;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        std::optional<soci::transaction> tx;
        if (write) tx.emplace(s);
        Result<T> r = work(s);
        if (!r.ok()) return r.status();  // the transaction rolls back when it goes out of scope
        if (tx) tx->commit();
        out = std::move(r).value();
        return Status::Ok();
      },
      /*idempotent=*/!write);
  if (!st.ok()) return st;
  return std::move(*out);
}

// Void work (deletes) through the same path.
struct Done {};

// ---- JSON ----

// WriteDocument without content, as the function the page helpers take.
void WriteDocumentInfo(json::Writer& w, const store::DocumentInfo& d) {
  WriteDocument(w, d);
}

template <typename T>
http::Response One(int status, const T& item, void (*write)(json::Writer&, const T&)) {
  json::Writer w;
  write(w, item);
  return http::Response::Json(status, w.Take());
}

template <typename T>
http::Response Page(const store::AssistantListPage<T>& page,
                    void (*write)(json::Writer&, const T&)) {
  json::Writer w;
  w.StartObject().Key("items").StartArray();
  for (const T& item : page.items) write(w, item);
  w.EndArray().Field("next_cursor", page.next_cursor).EndObject();
  return http::Response::Json(200, w.Take());
}

http::Response Created(const std::string& location, http::Response r) {
  r.headers.emplace_back("Location", location);
  return r;
}

// ---- Field rules ----

json::StringRule Text(size_t min_chars, size_t max_chars, bool allow_null = false) {
  json::StringRule rule;
  rule.min_chars = min_chars;
  rule.max_chars = max_chars;
  rule.allow_null = allow_null;
  return rule;
}

// Text whose layout is content (a system prompt, a prompt, a document): stored as sent apart from
// control characters (carriage returns kept), never trimmed; `min_chars` counts the trimmed text.
json::StringRule LayoutText(size_t min_chars, size_t max_chars) {
  json::StringRule rule = Text(min_chars, max_chars);
  rule.keep_layout = true;
  return rule;
}

// The assistant fields shared by POST and PATCH; `creating` makes name required.
struct AssistantFields {
  json::Field<std::string> name, description, model, system_prompt;
  json::Field<double> temperature;
  json::Field<int64_t> max_tokens;
};

AssistantFields ReadAssistantFields(json::ObjectReader& in, bool creating) {
  AssistantFields f;
  f.name = in.String("name", Text(1, store::kMaxAssistantNameChars), creating);
  f.description = in.String("description", Text(0, store::kMaxAssistantDescriptionChars));
  f.model = in.String("model", Text(1, store::kMaxAssistantModelChars, /*allow_null=*/true));
  f.temperature = in.Number("temperature", 0, store::kMaxAssistantTemperature, false, true);
  f.max_tokens = in.Int("max_tokens", 1, store::kMaxAssistantMaxTokens, false, true);
  f.system_prompt = in.String("system_prompt", LayoutText(0, store::kMaxSystemPromptChars));
  return f;
}

std::optional<int> OptInt(const json::Field<int64_t>& f) {
  if (!f.value) return std::nullopt;
  return static_cast<int>(*f.value);
}

// ---- Assistants ----

Result<http::Response> CreateAssistant(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader in(body->root());
  AssistantFields f = ReadAssistantFields(in, /*creating=*/true);
  if (Status st = in.Finish(); !st.ok()) return st;
  store::NewAssistant fields{*f.name.value,        f.description.value.value_or(""),
                             f.model.value,        f.temperature.value,
                             OptInt(f.max_tokens), f.system_prompt.value.value_or("")};
  auto created = WithSession<store::Assistant>(
      services, true, [&](soci::session& s) { return store::CreateAssistant(s, *viewer, fields); });
  if (!created.ok()) return created.status();
  return Created("/api/v1/assistants/" + created->id, One(201, *created, WriteAssistant));
}

Result<http::Response> ListAssistants(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto params = ParseListParams(r);
  if (!params.ok()) return params.status();
  auto page = WithSession<store::AssistantListPage<store::Assistant>>(
      services, false, [&](soci::session& s) {
        return store::ListAssistants(s, *viewer, params->limit, params->cursor);
      });
  if (!page.ok()) return page.status();
  return Page(*page, WriteAssistant);
}

Result<http::Response> GetAssistant(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  if (!id) return Status::NotFound();
  auto a = WithSession<store::Assistant>(
      services, false, [&](soci::session& s) { return store::GetAssistant(s, *id, *viewer); });
  if (!a.ok()) return a.status();
  return One(200, *a, WriteAssistant);
}

Result<http::Response> PatchAssistant(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  if (!id) return Status::NotFound();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader in(body->root());
  AssistantFields f = ReadAssistantFields(in, /*creating=*/false);
  if (Status st = in.Finish(); !st.ok()) return st;
  store::AssistantPatch patch;
  if (f.name.present) patch.name = f.name.value;
  if (f.description.present) patch.description = f.description.value;
  // emplace: present-and-null must become an engaged outer optional holding nullopt (reset).
  if (f.model.present) patch.model.emplace(f.model.value);
  if (f.temperature.present) patch.temperature.emplace(f.temperature.value);
  if (f.max_tokens.present) patch.max_tokens.emplace(OptInt(f.max_tokens));
  if (f.system_prompt.present) patch.system_prompt = f.system_prompt.value;
  auto a = WithSession<store::Assistant>(
      services, true, [&](soci::session& s) -> Result<store::Assistant> {
        // A new name is announced to the members of the assistant's conversations (their
        // Conversation shows it), locked after the assistant. Not for the built-in default,
        // whose conversations are every chat of kind assistant (docs/websocket.md).
        std::vector<std::string> conversations;
        if (patch.name && *id != store::kDefaultAssistantId) {
          Status access =
              store::CheckAssistantAccess(s, *id, *viewer, store::AssistantIntent::kChange);
          if (!access.ok()) return access;
          auto before = store::GetAssistant(s, *id, *viewer);
          if (!before.ok()) return before.status();
          if (before->name != *patch.name) {
            conversations = store::LockConversationsOfAssistant(s, *id);
          }
        }
        auto updated = store::UpdateAssistant(s, *id, *viewer, patch);
        if (!updated.ok()) return updated;
        AnnounceAssistantChange(s, conversations, viewer->user_id, {"assistant"});
        return updated;
      });
  if (!a.ok()) return a.status();
  return One(200, *a, WriteAssistant);
}

Result<http::Response> DeleteAssistant(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  if (!id) return Status::NotFound();
  auto done = WithSession<Done>(services, true, [&](soci::session& s) -> Result<Done> {
    // The assistant, then its conversations, are locked before ON DELETE SET NULL clears their
    // assistant_id, so their members are told what the Conversation now shows.
    Status access = store::CheckAssistantAccess(s, *id, *viewer, store::AssistantIntent::kDelete);
    if (!access.ok()) return access;
    std::vector<std::string> conversations = store::LockConversationsOfAssistant(s, *id);
    Status st = store::DeleteAssistant(s, *id, *viewer);
    if (!st.ok()) return st;
    AnnounceAssistantChange(s, conversations, viewer->user_id, {"assistant_id", "assistant"});
    return Done{};
  });
  if (!done.ok()) return done.status();
  return http::Response::NoContent();
}

// ---- Prompts ----

struct PromptFields {
  json::Field<std::string> title, content;
  json::Field<int64_t> position;
  json::Field<bool> enabled;
};

PromptFields ReadPromptFields(json::ObjectReader& in, bool creating) {
  PromptFields f;
  f.title = in.String("title", Text(1, store::kMaxPromptTitleChars), creating);
  f.content = in.String("content", LayoutText(1, store::kMaxPromptContentChars), creating);
  f.position = in.Int("position", 0, store::kMaxPromptPosition);
  f.enabled = in.Bool("enabled");
  return f;
}

Result<http::Response> ListPrompts(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  if (!id) return Status::NotFound();
  auto params = ParseListParams(r);
  if (!params.ok()) return params.status();
  auto page =
      WithSession<store::AssistantListPage<store::Prompt>>(services, false, [&](soci::session& s) {
        return store::ListPrompts(s, *id, *viewer, params->limit, params->cursor);
      });
  if (!page.ok()) return page.status();
  return Page(*page, WritePrompt);
}

Result<http::Response> CreatePrompt(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  if (!id) return Status::NotFound();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader in(body->root());
  PromptFields f = ReadPromptFields(in, /*creating=*/true);
  if (Status st = in.Finish(); !st.ok()) return st;
  store::NewPrompt fields{*f.title.value, *f.content.value, OptInt(f.position),
                          f.enabled.value.value_or(true)};
  auto p = WithSession<store::Prompt>(services, true, [&](soci::session& s) {
    return store::CreatePrompt(s, *id, *viewer, fields);
  });
  if (!p.ok()) return p.status();
  return Created("/api/v1/assistants/" + *id + "/prompts/" + p->id, One(201, *p, WritePrompt));
}

Result<http::Response> PatchPrompt(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  auto pid = PathId(r, "pid");
  if (!id || !pid) return Status::NotFound();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader in(body->root());
  PromptFields f = ReadPromptFields(in, /*creating=*/false);
  if (Status st = in.Finish(); !st.ok()) return st;
  store::PromptPatch patch{f.title.value, f.content.value, OptInt(f.position), f.enabled.value};
  auto p = WithSession<store::Prompt>(services, true, [&](soci::session& s) {
    return store::UpdatePrompt(s, *id, *pid, *viewer, patch);
  });
  if (!p.ok()) return p.status();
  return One(200, *p, WritePrompt);
}

Result<http::Response> DeletePrompt(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  auto pid = PathId(r, "pid");
  if (!id || !pid) return Status::NotFound();
  auto done = WithSession<Done>(services, true, [&](soci::session& s) -> Result<Done> {
    Status st = store::DeletePrompt(s, *id, *pid, *viewer);
    if (!st.ok()) return st;
    return Done{};
  });
  if (!done.ok()) return done.status();
  return http::Response::NoContent();
}

// ---- Documents ----

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && AsciiLower(s.substr(s.size() - suffix.size())) == suffix;
}

// A filename is shown back to users and may end up in a download header: no path separators and
// no control characters (C0, DEL, C1), and not only whitespace or dots.
std::optional<std::string> FilenameProblem(std::string_view name) {
  if (name.find_first_of("/\\") != std::string_view::npos) {
    return "must not contain path separators";
  }
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    bool c1 = c == 0xC2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(name[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) return "must not contain control characters";
  }
  if (name.find_first_not_of(" .") == std::string_view::npos) {
    return "must contain something besides spaces and dots";
  }
  return std::nullopt;
}

Result<http::Response> ListDocuments(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  if (!id) return Status::NotFound();
  auto params = ParseListParams(r);
  if (!params.ok()) return params.status();
  auto page = WithSession<store::AssistantListPage<store::DocumentInfo>>(
      services, false, [&](soci::session& s) {
        return store::ListDocuments(s, *id, *viewer, params->limit, params->cursor);
      });
  if (!page.ok()) return page.status();
  return Page(*page, WriteDocumentInfo);
}

Result<http::Response> CreateDocument(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  if (!id) return Status::NotFound();
  auto body = ParseJsonBody(r, kMaxDocumentBody);
  if (!body.ok()) return body.status();
  json::ObjectReader in(body->root());
  json::StringRule filename_rule = Text(1, store::kMaxDocumentFilenameChars);
  filename_rule.sanitize = false;  // kept as sent; control characters are refused below
  auto filename = in.String("filename", filename_rule, /*required=*/true);
  // The byte limit is checked below; the character limit cannot be reached before it.
  auto content = in.String("content", LayoutText(1, store::kMaxDocumentBytes), /*required=*/true);
  json::StringRule type_rule = Text(1, 100);
  type_rule.sanitize = false;
  auto content_type = in.String("content_type", type_rule);
  if (filename.value) {
    if (auto problem = FilenameProblem(*filename.value)) in.AddError("filename", *problem);
  }
  if (content.value && content.value->size() > store::kMaxDocumentBytes) {
    in.AddError("content", "must be at most 1 MiB (" + std::to_string(store::kMaxDocumentBytes) +
                               " bytes) of UTF-8 text");
  }
  if (content_type.value && *content_type.value != "text/plain" &&
      *content_type.value != "text/markdown") {
    in.AddError("content_type", "must be \"text/plain\" or \"text/markdown\"");
  }
  if (Status st = in.Finish(); !st.ok()) return st;

  store::NewDocument doc;
  doc.filename = std::move(*filename.value);
  if (content_type.value) {
    doc.content_type = *content_type.value;
  } else {
    bool md = EndsWith(doc.filename, ".md") || EndsWith(doc.filename, ".markdown");
    doc.content_type = md ? "text/markdown" : "text/plain";
  }
  doc.content = std::move(*content.value);
  llm::ChunkOptions options;
  options.markdown = doc.content_type == "text/markdown";
  doc.chunks = llm::ChunkDocument(doc.content, options);

  auto created = WithSession<store::DocumentInfo>(services, true, [&](soci::session& s) {
    return store::CreateDocument(s, *id, *viewer, doc);
  });
  if (!created.ok()) return created.status();
  return Created("/api/v1/assistants/" + *id + "/documents/" + created->id,
                 One(201, *created, WriteDocumentInfo));
}

Result<http::Response> DeleteDocument(Services& services, const http::Request& r) {
  auto viewer = Viewer(r, services);
  if (!viewer.ok()) return viewer.status();
  auto id = PathId(r, "id");
  auto did = PathId(r, "did");
  if (!id || !did) return Status::NotFound();
  auto done = WithSession<Done>(services, true, [&](soci::session& s) -> Result<Done> {
    Status st = store::DeleteDocument(s, *id, *did, *viewer);
    if (!st.ok()) return st;
    return Done{};
  });
  if (!done.ok()) return done.status();
  return http::Response::NoContent();
}

}  // namespace

void RegisterAssistantRoutes(http::Router& router, Services* services) {
  using Fn = Result<http::Response> (*)(Services&, const http::Request&);
  auto add = [&](const char* method, const char* pattern, Fn fn) {
    router.Add(method, pattern,
               JsonHandler([services, fn](const http::Request& r) { return fn(*services, r); }));
  };
  add("POST", "/api/v1/assistants", CreateAssistant);
  add("GET", "/api/v1/assistants", ListAssistants);
  add("GET", "/api/v1/assistants/{id}", GetAssistant);
  add("PATCH", "/api/v1/assistants/{id}", PatchAssistant);
  add("DELETE", "/api/v1/assistants/{id}", DeleteAssistant);
  add("GET", "/api/v1/assistants/{id}/prompts", ListPrompts);
  add("POST", "/api/v1/assistants/{id}/prompts", CreatePrompt);
  add("PATCH", "/api/v1/assistants/{id}/prompts/{pid}", PatchPrompt);
  add("DELETE", "/api/v1/assistants/{id}/prompts/{pid}", DeletePrompt);
  add("GET", "/api/v1/assistants/{id}/documents", ListDocuments);
  add("POST", "/api/v1/assistants/{id}/documents", CreateDocument);
  add("DELETE", "/api/v1/assistants/{id}/documents/{did}", DeleteDocument);
}

}  // namespace chatd::api
