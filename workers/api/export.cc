// GET /conversations/{id}/export?format=json|markdown: a conversation taken out, to keep, to move
// or to show someone; GET /export: the caller's whole data as one archive; and share links, a
// conversation shown to anyone with the link (below).
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
#include "auth/tokens.h"
#include "core/text.h"
#include "json/json.h"
#include "store/api_keys_repo.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/documents_repo.h"
#include "store/limits_repo.h"
#include "store/messages_repo.h"
#include "store/shares_repo.h"

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

// ---- Share links -------------------------------------------------------------------------------
//
// POST /conversations/{id}/shares (the owner; body {} or none) renders the conversation's messages
// as they are now — names and messages only: display names, no ids, usernames or addresses —
// into a snapshot stored with a random token (store/shares_repo.h, sql/0009); GET
// /conversations/{id}/shares lists the caller's links of it; DELETE /shares/{id} revokes one;
// GET /shared/{token} (no authentication) answers the snapshot, marked noindex and never cached
// (a revoked link is 404 at once). A reply still streaming is left out (its text is not final);
// at most kMaxShareMessages messages (413 past it).

constexpr size_t kMaxShareMessages = 5000;

void WriteShare(json::Writer& w, const store::ShareRecord& share) {
  w.StartObject()
      .Field("id", share.id)
      .Field("conversation_id", share.conversation_id)
      .Field("title", share.title)
      .Field("url", "/s/" + share.token)
      .Field("message_count", share.message_count)
      .Field("created_at", share.created_at)
      .EndObject();
}

// {"title", "created_at", "assistant": {"name"}|null, "messages": [{"role", "sender":
// {"display_name"}|null, "content", "status", "created_at", "sources"}]}
std::string SharedSnapshot(const store::ConversationRecord& c,
                           const std::vector<store::MessageRecord>& messages,
                           const std::string& title, const std::string& created_at) {
  json::Writer w;
  w.StartObject().Field("title", title).Field("created_at", created_at).Key("assistant");
  if (c.assistant) {
    w.StartObject().Field("name", c.assistant->name).EndObject();
  } else {
    w.Null();
  }
  w.Key("messages").StartArray();
  for (const auto& m : messages) {
    w.StartObject().Field("role", m.role).Key("sender");
    if (m.role == "user") {
      w.StartObject().Field("display_name", SenderName(m, c)).EndObject();
    } else {
      w.Null();
    }
    w.Field("content", m.content).Field("status", m.status).Field("created_at", m.created_at);
    w.Key("sources").Raw(m.sources_json);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

std::optional<std::string> ConversationPathId(const http::Request& r) {
  std::string_view raw = r.PathParam("id");
  if (!json::IsUuid(raw)) return std::nullopt;
  return AsciiLower(raw);
}

Result<http::Response> CreateShareLink(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  if (!r.body.empty() || r.body_too_large) {
    auto body = ParseJsonBody(r);
    if (!body.ok()) return body.status();
    json::ObjectReader reader(body->root());
    if (Status valid = reader.Finish(); !valid.ok()) return valid;
  }
  auto id = ConversationPathId(r);
  if (!id) return Status::NotFound("This conversation does not exist.");
  std::optional<store::ShareRecord> share;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    // Under the conversation's lock no message can be added meanwhile: the snapshot is one moment.
    auto locked = store::LockConversation(s, *id, me->user_id);
    if (!locked || !locked->is_member())
      return Status::NotFound("This conversation does not exist.");
    if (!locked->caller_is_owner()) {
      return Status(ErrorCode::kForbidden, "Only the conversation's owner can share it.");
    }
    std::optional<store::ConversationRecord> conversation;
    std::vector<store::MessageRecord> messages;
    size_t budget = kMaxShareMessages + 1000;  // streaming replies are dropped below
    if (Status loaded = LoadConversation(s, *id, me->user_id, &conversation, &messages, &budget);
        !loaded.ok()) {
      return loaded.code() == ErrorCode::kPayloadTooLarge
                 ? Status(ErrorCode::kPayloadTooLarge,
                          "This conversation is too long to share (at most " +
                              std::to_string(kMaxShareMessages) + " messages).")
                 : loaded;
    }
    std::erase_if(messages, [](const store::MessageRecord& m) { return m.status == "streaming"; });
    if (messages.size() > kMaxShareMessages) {
      return Status(ErrorCode::kPayloadTooLarge,
                    "This conversation is too long to share (at most " +
                        std::to_string(kMaxShareMessages) + " messages).");
    }
    const std::string display = DisplayTitle(*conversation, me->user_id);
    const std::string title(PrefixChars(display, 300));
    store::NewShareRow row;
    row.conversation_id = *id;
    row.owner_id = me->user_id;
    row.token = auth::NewRefreshToken();
    row.title = title.empty() ? "Conversation" : title;
    row.message_count = static_cast<int64_t>(messages.size());
    row.snapshot_json = SharedSnapshot(*conversation, messages, row.title, NowRfc3339());
    auto created = store::CreateShare(s, row);
    if (!created.ok()) return created.status();
    share = std::move(*created);
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  json::Writer w;
  WriteShare(w, *share);
  return http::Response::Json(201, w.Take());
}

Result<http::Response> ListShareLinks(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto id = ConversationPathId(r);
  if (!id) return Status::NotFound("This conversation does not exist.");
  std::vector<store::ShareRecord> shares;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        if (!store::FindConversation(s, *id, me->user_id)) {
          return Status::NotFound("This conversation does not exist.");
        }
        shares = store::ListShares(s, *id, me->user_id);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  json::Writer w;
  w.StartObject().Key("items").StartArray();
  for (const auto& share : shares) WriteShare(w, share);
  w.EndArray().EndObject();
  return http::Response::Json(200, w.Take());
}

Result<http::Response> RevokeShareLink(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  std::string_view raw = r.PathParam("id");
  if (!json::IsUuid(raw)) return Status::NotFound("This share link does not exist.");
  const std::string id = AsciiLower(raw);
  bool deleted = false;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    deleted = store::DeleteShare(s, me->user_id, id);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (!deleted) return Status::NotFound("This share link does not exist.");
  http::Response response;
  response.status = 204;
  return response;
}

// Anyone with the link: no authentication, and nothing beyond the snapshot.
Result<http::Response> GetShared(Services& services, const http::Request& r) {
  std::string_view token = r.PathParam("token");
  const bool well_formed =
      token.size() == 43 && token.find_first_not_of(
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                                "tuvwxyz0123456789_-") == std::string_view::npos;
  if (!well_formed) return Status::NotFound("This link was removed or never existed.");
  std::optional<store::SharedSnapshot> shared;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        shared = store::FindShared(s, std::string(token));
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  if (!shared) return Status::NotFound("This link was removed or never existed.");
  auto response = http::Response::Json(200, std::move(shared->snapshot_json));
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Robots-Tag", "noindex, nofollow");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  return response;
}

}  // namespace

void RegisterExportRoutes(http::Router& router, Services* services) {
  router.Add("GET", "/api/v1/export", JsonHandler([services](const http::Request& r) {
               return ExportAccount(*services, r);
             }));
  router.Add("GET", "/api/v1/conversations/{id}/export",
             JsonHandler([services](const http::Request& r) { return Export(*services, r); }));
  router.Add(
      "POST", "/api/v1/conversations/{id}/shares",
      JsonHandler([services](const http::Request& r) { return CreateShareLink(*services, r); }));
  router.Add(
      "GET", "/api/v1/conversations/{id}/shares",
      JsonHandler([services](const http::Request& r) { return ListShareLinks(*services, r); }));
  router.Add("DELETE", "/api/v1/shares/{id}", JsonHandler([services](const http::Request& r) {
               return RevokeShareLink(*services, r);
             }));
  router.Add("GET", "/api/v1/shared/{token}",
             JsonHandler([services](const http::Request& r) { return GetShared(*services, r); }));
}

}  // namespace chatd::api
