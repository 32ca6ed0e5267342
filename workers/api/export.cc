// GET /conversations/{id}/export?format=json|markdown: a conversation taken out, to keep, to move
// or to show someone; GET /export: the caller's whole data as one archive (below).
//
//   * json (the default): {"schema": "chatd.conversation", "version": 1, "exported_at",
//     "conversation": Conversation, "messages": [Message, ...]} — complete: every message in seq
//     order with its status, usage, sources and flags, exactly as the API renders them, so the
//     file is what the API would return page by page. The schema is versioned: a later version
//     adds fields, never renames them (docs/openapi.yaml, ConversationExport).
//   * markdown: readable — the title, who took part, then each message as "**Name** · time"
//     followed by its text (a stopped or failed reply says so), separated by rules.
//
// Only a member may export (404 for anyone else, as for the conversation itself). The messages are
// read in one REPEATABLE READ transaction, so a reply that finishes meanwhile cannot appear twice
// or half; one still streaming is exported with its text so far and status `streaming`. The
// answer is an attachment (Content-Disposition with an ASCII file name made from the title) and
// is never cached. At most kMaxExportMessages messages (a larger conversation is 413).

#include <soci/soci.h>

#include <chrono>
#include <ctime>

#include "api/common.h"
#include "api/handlers.h"
#include "api/principal.h"
#include "api/render.h"
#include "core/text.h"
#include "json/json.h"
#include "store/api_keys_repo.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/documents_repo.h"
#include "store/limits_repo.h"
#include "store/messages_repo.h"

namespace chatd::api {
namespace {

constexpr int kPage = 100;
constexpr size_t kMaxExportMessages = 100000;

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(ms));
  return out;
}

// The conversation's name as a person sees it: its title, else the other members' names.
std::string DisplayTitle(const store::ConversationRecord& c, const std::string& me) {
  if (c.title && !c.title->empty()) return *c.title;
  if (c.kind == "assistant") return c.assistant ? "Chat with " + c.assistant->name : "Chat";
  std::string names;
  for (const auto& m : c.members) {
    if (m.user.id == me) continue;
    if (!names.empty()) names += ", ";
    names += m.user.display_name.empty() ? m.user.username : m.user.display_name;
  }
  return names.empty() ? "Conversation" : "Conversation with " + names;
}

// An ASCII file name: letters, digits and '-' from the title (at most 60), else the id.
std::string FileStem(const std::string& title, const std::string& id) {
  std::string stem;
  bool dash = false;
  for (unsigned char ch : title) {
    if (std::isalnum(ch) && ch < 0x80) {
      if (dash && !stem.empty()) stem += '-';
      dash = false;
      stem += static_cast<char>(std::tolower(ch));
      if (stem.size() >= 60) break;
    } else {
      dash = true;
    }
  }
  return "chatd-" + (stem.empty() ? id : stem);
}

std::string SenderName(const store::MessageRecord& m, const store::ConversationRecord& c) {
  if (m.role == "assistant") return c.assistant ? c.assistant->name : "Assistant";
  if (!m.sender) return "Deleted user";
  return m.sender->display_name.empty() ? m.sender->username : m.sender->display_name;
}

std::string Markdown(const store::ConversationRecord& c,
                     const std::vector<store::MessageRecord>& ms, const std::string& me,
                     const std::string& exported_at) {
  std::string out = "# " + DisplayTitle(c, me) + "\n\n";
  std::string people;
  for (const auto& m : c.members) {
    if (!people.empty()) people += ", ";
    people += (m.user.display_name.empty() ? m.user.username : m.user.display_name) + " (@" +
              m.user.username + ")";
  }
  if (c.assistant) people += (people.empty() ? "" : ", ") + c.assistant->name + " (assistant)";
  out += "_Exported from chatd on " + exported_at + ". Participants: " + people + "._\n";
  for (const auto& m : ms) {
    out += "\n---\n\n**" + SenderName(m, c) + "** · " + m.created_at + "\n\n";
    out += m.content.empty() ? std::string("_(no text)_") : m.content;
    out += "\n";
    if (m.status == "interrupted") out += "\n_(stopped before it was complete)_\n";
    if (m.status == "failed") out += "\n_(this reply failed)_\n";
    if (m.status == "streaming") out += "\n_(still being written when exported)_\n";
  }
  return out;
}

constexpr const char* kReadOnlySnapshot =
    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY";

// The conversation as `user_id` sees it and all its messages in seq order; NOT_FOUND for a
// non-member. `budget` counts down the messages still allowed in this export (PAYLOAD_TOO_LARGE
// past it).
Status LoadConversation(soci::session& s, const std::string& id, const std::string& user_id,
                        std::optional<store::ConversationRecord>* conversation,
                        std::vector<store::MessageRecord>* messages, size_t* budget) {
  *conversation = store::FindConversation(s, id, user_id);
  if (!*conversation) return Status::NotFound("This conversation does not exist.");
  int64_t after = 0;
  for (;;) {
    auto page = store::ListMessages(s, id, user_id, store::PageDirection::kAfter, after, kPage);
    if (!page.ok()) return page.status();
    if (page->items.size() > *budget) {
      return Status(ErrorCode::kPayloadTooLarge, "There is too much to export in one file.");
    }
    *budget -= page->items.size();
    for (auto& m : page->items) messages->push_back(std::move(m));
    if (!page->more || messages->empty()) break;
    after = messages->back().seq;
  }
  return Status::Ok();
}

Result<http::Response> Export(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  std::string_view raw = r.PathParam("id");
  if (!json::IsUuid(raw)) return Status::NotFound("This conversation does not exist.");
  const std::string id = AsciiLower(raw);
  const std::string format = r.QueryParam("format").value_or("json");
  if (format != "json" && format != "markdown") {
    return Status::Invalid("format", "must be json or markdown");
  }

  std::optional<store::ConversationRecord> conversation;
  std::vector<store::MessageRecord> messages;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        conversation.reset();
        messages.clear();
        soci::transaction tx(s);
        s << "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY";
        conversation = store::FindConversation(s, id, me->user_id);
        if (!conversation) return Status::NotFound("This conversation does not exist.");
        int64_t after = 0;
        for (;;) {
          auto page =
              store::ListMessages(s, id, me->user_id, store::PageDirection::kAfter, after, kPage);
          if (!page.ok()) return page.status();
          for (auto& m : page->items) messages.push_back(std::move(m));
          if (messages.size() > kMaxExportMessages) {
            return Status(ErrorCode::kPayloadTooLarge,
                          "This conversation is too long to export in one file.");
          }
          if (!page->more || messages.empty()) break;
          after = messages.back().seq;
        }
        tx.commit();
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;

  const std::string exported_at = NowRfc3339();
  const std::string stem = FileStem(DisplayTitle(*conversation, me->user_id), id);
  http::Response response;
  response.status = 200;
  if (format == "markdown") {
    response.content_type = "text/markdown; charset=utf-8";
    response.body = Markdown(*conversation, messages, me->user_id, exported_at);
    response.headers.emplace_back("Content-Disposition",
                                  "attachment; filename=\"" + stem + ".md\"");
  } else {
    json::Writer w;
    w.StartObject()
        .Field("schema", "chatd.conversation")
        .Field("version", 1)
        .Field("exported_at", exported_at);
    w.Key("conversation");
    WriteConversation(w, *conversation);
    w.Key("messages").StartArray();
    for (const auto& m : messages) WriteMessage(w, m);
    w.EndArray().EndObject();
    response.body = w.Take();
    response.headers.emplace_back("Content-Disposition",
                                  "attachment; filename=\"" + stem + ".json\"");
  }
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

// GET /export: everything the caller has, as one JSON archive (the data export privacy law
// expects): {"schema": "chatd.account", "version": 1, "exported_at", "user": User, "assistants":
// [{"assistant", "prompts", "documents": [Document + {"content"}]}], "conversations":
// [{"conversation", "messages"}], "usage": [UsageDay], "api_keys": [ApiKey without secret]}.
// One REPEATABLE READ snapshot; at most kMaxExportMessages messages in all (413 past it).
Result<http::Response> ExportAccount(Services& services, const http::Request& r) {
  store::UserRecord user;
  auto me = Authenticate(r, services, &user);
  if (!me.ok()) return me.status();
  json::Writer w;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        w.Take();
        soci::transaction tx(s);
        s << kReadOnlySnapshot;
        w.StartObject()
            .Field("schema", "chatd.account")
            .Field("version", 1)
            .Field("exported_at", NowRfc3339());
        w.Key("user").StartObject();
        w.Field("id", user.id)
            .Field("username", user.username)
            .Field("display_name", user.display_name)
            .Field("email", user.email)
            .Field("is_guest", user.is_guest)
            .Field("role", user.role)
            .Field("created_at", user.created_at)
            .EndObject();

        const store::AssistantViewer viewer{me->user_id, false};
        w.Key("assistants").StartArray();
        std::string cursor;
        for (;;) {
          auto page = store::ListAssistants(s, viewer, 100, cursor);
          if (!page.ok()) return page.status();
          for (const auto& a : page->items) {
            if (!a.owner_id) continue;  // the built-in default is not the user's
            w.StartObject().Key("assistant");
            WriteAssistant(w, a);
            w.Key("prompts").StartArray();
            std::string prompt_cursor;
            for (;;) {
              auto prompts = store::ListPrompts(s, a.id, viewer, 100, prompt_cursor);
              if (!prompts.ok()) return prompts.status();
              for (const auto& p : prompts->items) WritePrompt(w, p);
              if (!prompts->next_cursor) break;
              prompt_cursor = *prompts->next_cursor;
            }
            w.EndArray().Key("documents").StartArray();
            for (const auto& [info, content] : store::ListDocumentsWithContent(s, a.id)) {
              WriteDocument(w, info, &content);
            }
            w.EndArray().EndObject();
          }
          if (!page->next_cursor) break;
          cursor = *page->next_cursor;
        }
        w.EndArray();

        w.Key("conversations").StartArray();
        size_t budget = kMaxExportMessages;
        for (const auto& id : store::MemberConversationIds(s, me->user_id)) {
          std::optional<store::ConversationRecord> conversation;
          std::vector<store::MessageRecord> messages;
          Status loaded = LoadConversation(s, id, me->user_id, &conversation, &messages, &budget);
          if (loaded.code() == ErrorCode::kNotFound) continue;
          if (!loaded.ok()) return loaded;
          w.StartObject().Key("conversation");
          WriteConversation(w, *conversation);
          w.Key("messages").StartArray();
          for (const auto& m : messages) WriteMessage(w, m);
          w.EndArray().EndObject();
        }
        w.EndArray();

        w.Key("usage").StartArray();
        for (const auto& d : store::ListUsage(s, me->user_id, 3650)) WriteUsageDay(w, d);
        w.EndArray();
        w.Key("api_keys").StartArray();
        for (const auto& k : store::ListApiKeys(s, me->user_id)) WriteApiKey(w, k);
        w.EndArray().EndObject();
        tx.commit();
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  http::Response response = http::Response::Json(200, w.Take());
  response.headers.emplace_back(
      "Content-Disposition", "attachment; filename=\"chatd-account-" + user.username + ".json\"");
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

}  // namespace

void RegisterExportRoutes(http::Router& router, Services* services) {
  router.Add("GET", "/api/v1/export", JsonHandler([services](const http::Request& r) {
               return ExportAccount(*services, r);
             }));
  router.Add("GET", "/api/v1/conversations/{id}/export",
             JsonHandler([services](const http::Request& r) { return Export(*services, r); }));
}

}  // namespace chatd::api
