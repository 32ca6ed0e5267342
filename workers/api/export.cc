// GET /conversations/{id}/export?format=json|markdown: a conversation taken out, to keep, to move
// or to show someone.
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
#include "store/conversations_repo.h"
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

}  // namespace

void RegisterExportRoutes(http::Router& router, Services* services) {
  router.Add("GET", "/api/v1/conversations/{id}/export",
             JsonHandler([services](const http::Request& r) { return Export(*services, r); }));
}

}  // namespace chatd::api
