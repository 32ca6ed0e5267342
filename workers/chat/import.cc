// Importing conversations. See import.h.

#include "chat/import.h"

#include <soci/soci.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>
#include <string_view>

#include "core/text.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"
#include "store/statements.h"

namespace chatd::chat {
namespace {

constexpr size_t kMaxTitleChars = 200;
constexpr size_t kMaxModelChars = 200;
constexpr const char* kUntitled = "Imported conversation";

// All of one conversation's messages in one statement: $3 is a JSON array of {seq, role, content,
// status, created_at} (created_at "" for now).
constexpr const char* kInsertMessages =
    "INSERT INTO messages (conversation_id, seq, role, sender_id, assistant_id, content, status, "
    "model, prompt_tokens, completion_tokens, created_at, updated_at) "
    "SELECT CAST($1 AS uuid), m.seq, m.role, "
    "CASE WHEN m.role = 'user' THEN CAST($2 AS uuid) END, "
    "CASE WHEN m.role = 'assistant' THEN CAST($4 AS uuid) END, m.content, m.status, "
    "nullif(m.model, ''), m.prompt_tokens, m.completion_tokens, "
    "coalesce(CAST(nullif(m.created_at, '') AS timestamptz), now()), now() "
    "FROM jsonb_to_recordset(CAST($3 AS jsonb)) AS m(seq bigint, role text, content text, "
    "status text, model text, prompt_tokens integer, completion_tokens integer, created_at text) "
    "ORDER BY m.seq";
constexpr const char* kSetLastSeq =
    "UPDATE conversations SET last_seq = $2, updated_at = now() WHERE id = CAST($1 AS uuid)";

class Parser {
 public:
  explicit Parser(const ImportLimits& limits) : limits_(limits) {}

  Result<std::vector<ImportedConversation>> Parse(const json::Value& root) {
    if (root.is_object()) {
      auto schema = root.Find("schema");
      std::optional<std::string_view> name = schema ? schema->AsString() : std::nullopt;
      if (name == "chatd.conversation") {
        if (!CheckVersion(root)) return Fail();
        ChatdConversation(root, "");
      } else if (name == "chatd.account") {
        if (!CheckVersion(root)) return Fail();
        auto list = root.Find("conversations");
        if (!list || !list->is_array()) return Fail("conversations", "must be an array");
        for (size_t i = 0; i < list->ArraySize() && ok(); ++i) {
          ChatdConversation(list->ArrayAt(i), "conversations[" + std::to_string(i) + "].");
        }
      } else if (root.Find("mapping")) {
        ChatGptConversation(root, "");
      } else {
        return Fail("body", "is not a chatd export or a ChatGPT conversations.json");
      }
    } else if (root.is_array()) {
      for (size_t i = 0; i < root.ArraySize() && ok(); ++i) {
        ChatGptConversation(root.ArrayAt(i), "[" + std::to_string(i) + "].");
      }
    } else {
      return Fail("body", "is not a chatd export or a ChatGPT conversations.json");
    }
    if (!ok()) return Fail();
    return std::move(out_);
  }

 private:
  bool ok() const { return error_field_.empty(); }
  Status Fail() const { return Status::Invalid(error_field_, error_message_); }
  Status Fail(std::string field, std::string message) {
    Error(std::move(field), std::move(message));
    return Fail();
  }
  void Error(std::string field, std::string message) {
    if (!ok()) return;  // the first problem is the one reported
    error_field_ = std::move(field);
    error_message_ = std::move(message);
  }

  bool CheckVersion(const json::Value& root) {
    auto version = root.Find("version");
    if (!version || version->AsInt64() != 1) {
      Error("version", "must be 1 (the only version of chatd's export so far)");
      return false;
    }
    return true;
  }

  ImportedConversation* Begin(const std::string& where) {
    if (out_.size() >= limits_.max_conversations) {
      Error(where.empty() ? "body" : where.substr(0, where.size() - 1),
            "is beyond the " + std::to_string(limits_.max_conversations) +
                " conversations one import may hold");
      return nullptr;
    }
    out_.emplace_back();
    return &out_.back();
  }

  void Title(ImportedConversation* c, std::optional<json::Value> value, const std::string& field) {
    c->title = kUntitled;
    if (!value || value->is_null()) return;
    auto text = value->AsString();
    if (!text) return Error(field, "must be a string or null");
    SanitizedText clean = SanitizeUserText(*text);
    if (clean.problem != TextProblem::kNone) return Error(field, "is not valid text");
    if (!clean.text.empty()) c->title = std::string(PrefixChars(clean.text, kMaxTitleChars));
  }

  // Adds a message after checking it; `content` as in the file.
  void Add(ImportedConversation* c, std::string_view role, std::string_view content,
           std::string status, std::string created_at, const std::string& field) {
    if (++messages_ > limits_.max_messages) {
      return Error(field, "is beyond the " + std::to_string(limits_.max_messages) +
                              " messages one import may hold");
    }
    const bool user = role == "user";
    SanitizedText clean = user ? SanitizeUserText(content) : SanitizeUserTextKeepingLayout(content);
    if (clean.problem != TextProblem::kNone) return Error(field + "content", "is not valid text");
    const size_t max = user ? limits_.max_user_chars : limits_.max_reply_chars;
    if (CountChars(clean.text) > max) {
      return Error(field + "content", "is longer than " + std::to_string(max) + " characters");
    }
    if (user && clean.text.empty()) return;  // nothing to show: left out
    ImportedMessage m;
    m.role = std::string(role);
    m.content = std::move(clean.text);
    m.status = user ? std::string("complete") : std::move(status);
    m.created_at = std::move(created_at);
    c->messages.push_back(std::move(m));
  }

  // ---- chatd ----------------------------------------------------------------------------------

  void ChatdConversation(const json::Value& item, const std::string& where) {
    if (!item.is_object()) return Error(where.empty() ? "body" : where, "must be an object");
    ImportedConversation* c = Begin(where);
    if (!c) return;
    auto conversation = item.Find("conversation");
    if (!conversation || !conversation->is_object()) {
      return Error(where + "conversation", "must be an object");
    }
    Title(c, conversation->Find("title"), where + "conversation.title");
    auto messages = item.Find("messages");
    if (!messages || !messages->is_array()) return Error(where + "messages", "must be an array");
    for (size_t i = 0; i < messages->ArraySize() && ok(); ++i) {
      const std::string field = where + "messages[" + std::to_string(i) + "].";
      json::Value m = messages->ArrayAt(i);
      if (!m.is_object()) return Error(field.substr(0, field.size() - 1), "must be an object");
      auto role = m.Find("role");
      auto role_text = role ? role->AsString() : std::nullopt;
      if (role_text != "user" && role_text != "assistant") {
        return Error(field + "role", "must be user or assistant");
      }
      auto content = m.Find("content");
      auto content_text = content ? content->AsString() : std::nullopt;
      if (!content_text) return Error(field + "content", "must be a string");
      std::string status = "complete";
      if (auto st = m.Find("status")) {
        auto s = st->AsString();
        if (s == "complete" || s == "interrupted" || s == "failed") {
          status = std::string(*s);
        } else if (s == "streaming") {
          status = "interrupted";  // it was still being written when exported
        } else {
          return Error(field + "status", "must be complete, interrupted, failed or streaming");
        }
      }
      std::string created_at;
      if (auto at = m.Find("created_at"); at && !at->is_null()) {
        auto text = at->AsString();
        if (!text || !IsUtcTimestamp(*text)) {
          return Error(field + "created_at", "must be an RFC 3339 time in UTC");
        }
        created_at = std::string(*text);
      }
      Add(c, *role_text, *content_text, status, created_at, field);
      if (!ok() || *role_text != "assistant" || c->messages.empty()) continue;
      ImportedMessage& added = c->messages.back();
      if (auto model = m.Find("model"); model && !model->is_null()) {
        auto text = model->AsString();
        if (!text || CountChars(*text) > kMaxModelChars || !IsValidUtf8(*text)) {
          return Error(field + "model", "must be a string of at most 200 characters or null");
        }
        added.model = std::string(*text);
      }
      if (auto usage = m.Find("usage"); usage && !usage->is_null()) {
        auto prompt = usage->is_object() && usage->Find("prompt_tokens")
                          ? usage->Find("prompt_tokens")->AsInt64()
                          : std::nullopt;
        auto completion = usage->is_object() && usage->Find("completion_tokens")
                              ? usage->Find("completion_tokens")->AsInt64()
                              : std::nullopt;
        if (!prompt || !completion || *prompt < 0 || *completion < 0 || *prompt > INT32_MAX ||
            *completion > INT32_MAX) {
          return Error(field + "usage", "must hold two token counts or be null");
        }
        added.prompt_tokens = prompt;
        added.completion_tokens = completion;
      }
    }
  }

  // ---- ChatGPT --------------------------------------------------------------------------------

  void ChatGptConversation(const json::Value& item, const std::string& where) {
    const std::string at = where.empty() ? "body" : where.substr(0, where.size() - 1);
    if (!item.is_object()) return Error(at, "must be an object");
    auto mapping = item.Find("mapping");
    if (!mapping || !mapping->is_object()) return Error(where + "mapping", "must be an object");
    ImportedConversation* c = Begin(where);
    if (!c) return;
    Title(c, item.Find("title"), where + "title");
    if (!ok()) return;
    auto current = item.Find("current_node");
    auto current_id = current ? current->AsString() : std::nullopt;
    if (!current_id || !mapping->Find(*current_id)) {
      return Error(where + "current_node", "must name a node of mapping");
    }
    // The path from current_node up to the root, then read root first. A parent that is missing
    // ends the path; a cycle is refused (a file that was not written by ChatGPT).
    std::vector<json::Value> path;
    std::set<std::string_view> seen;
    std::optional<std::string_view> id = current_id;
    while (id) {
      if (!seen.insert(*id).second) return Error(where + "mapping", "has a cycle");
      auto node = mapping->Find(*id);
      if (!node || !node->is_object()) break;
      path.push_back(*node);
      auto parent = node->Find("parent");
      id = parent ? parent->AsString() : std::nullopt;
    }
    for (auto it = path.rbegin(); it != path.rend() && ok(); ++it) {
      auto message = it->Find("message");
      if (!message || !message->is_object()) continue;  // the root carries none
      const std::string field =
          where + "mapping[" +
          std::string(it->Find("id") ? it->Find("id")->AsString().value_or("?") : "?") +
          "].message.";
      auto author = message->Find("author");
      auto role = author && author->is_object() && author->Find("role")
                      ? author->Find("role")->AsString()
                      : std::nullopt;
      if (role != "user" && role != "assistant") continue;  // system, tool
      if (auto metadata = message->Find("metadata"); metadata && metadata->is_object()) {
        auto hidden = metadata->Find("is_visually_hidden_from_conversation");
        if (hidden && hidden->AsBool() == true) continue;
      }
      auto content = message->Find("content");
      if (!content || !content->is_object()) continue;
      auto type = content->Find("content_type");
      auto type_text = type ? type->AsString() : std::nullopt;
      if (type_text != "text" && type_text != "multimodal_text") continue;
      auto parts = content->Find("parts");
      if (!parts || !parts->is_array()) continue;
      std::string text;
      for (size_t i = 0; i < parts->ArraySize(); ++i) {
        auto part = parts->ArrayAt(i).AsString();  // images and files are objects: left out
        if (!part || part->empty()) continue;
        if (!text.empty()) text += "\n\n";
        text += *part;
      }
      if (*role == "assistant" && TrimSpace(text).empty()) continue;
      std::string created_at;
      if (auto t = message->Find("create_time"); t && !t->is_null()) {
        if (auto seconds = t->AsDouble()) created_at = FromEpoch(*seconds);
      }
      Add(c, *role, text, "complete", created_at, field);
    }
  }

  // ---- times ----------------------------------------------------------------------------------

  // "YYYY-MM-DDTHH:MM:SS[.fraction]Z" naming a real instant (no Feb 30), year 1970..9999.
  static bool IsUtcTimestamp(std::string_view t) {
    auto digits = [&](size_t pos, size_t n) {
      if (pos + n > t.size()) return -1;
      int v = 0;
      for (size_t i = pos; i < pos + n; ++i) {
        if (t[i] < '0' || t[i] > '9') return -1;
        v = v * 10 + (t[i] - '0');
      }
      return v;
    };
    if (t.size() < 20 || t.size() > 30 || t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
        t[13] != ':' || t[16] != ':' || t.back() != 'Z') {
      return false;
    }
    int year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
    int hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
    if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
        minute > 59 || second < 0 || second > 59) {
      return false;
    }
    if (t.size() > 20) {  // a fraction: '.' and 1..9 digits before the Z
      if (t[19] != '.' || t.size() < 22 || t.size() > 29 || digits(20, t.size() - 21) < 0) {
        return false;
      }
    }
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    std::time_t epoch = timegm(&tm);
    std::tm back{};
    gmtime_r(&epoch, &back);
    return back.tm_mday == day && back.tm_mon == month - 1;
  }

  // Seconds since the epoch (ChatGPT's create_time) as RFC 3339, or "" when out of 1970..2100.
  static std::string FromEpoch(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 4102444800.0) return "";
    const auto whole = static_cast<std::time_t>(seconds);
    const int millis = static_cast<int>((seconds - static_cast<double>(whole)) * 1000.0);
    std::tm tm{};
    gmtime_r(&whole, &tm);
    char buf[96];  // room for any int the compiler imagines in each field
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  std::min(999, std::max(0, millis)));
    return buf;
  }

  const ImportLimits& limits_;
  std::vector<ImportedConversation> out_;
  size_t messages_ = 0;
  std::string error_field_;
  std::string error_message_;
};

}  // namespace

Result<std::vector<ImportedConversation>> ParseImport(const json::Value& root,
                                                      const ImportLimits& limits) {
  return Parser(limits).Parse(root);
}

std::vector<std::string> ImportConversations(soci::session& s, const std::string& user_id,
                                             const std::vector<ImportedConversation>& imported) {
  const std::string assistant(store::kDefaultAssistantId);
  std::vector<std::string> ids;
  for (const ImportedConversation& c : imported) {
    const std::string id = store::InsertConversation(s, {"assistant", c.title, assistant, user_id});
    if (!c.messages.empty()) {
      json::Writer w;
      w.StartArray();
      int64_t seq = 0;
      for (const ImportedMessage& m : c.messages) {
        w.StartObject()
            .Field("seq", ++seq)
            .Field("role", m.role)
            .Field("content", m.content)
            .Field("status", m.status)
            .Field("model", m.model)
            .Field("created_at", m.created_at);
        if (m.prompt_tokens && m.completion_tokens) {
          w.Field("prompt_tokens", *m.prompt_tokens)
              .Field("completion_tokens", *m.completion_tokens);
        }
        w.EndObject();
      }
      w.EndArray();
      const std::string rows = w.Take();
      store::Query(s, kInsertMessages,
                   store::Params().Text(id).Text(user_id).Text(rows).Text(assistant));
      store::Query(s, kSetLastSeq, store::Params().Text(id).Int(seq));
    }
    ids.push_back(id);
  }
  return ids;
}

}  // namespace chatd::chat
