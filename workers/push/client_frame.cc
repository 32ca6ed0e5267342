// Client frames and the resume cursor. See client_frame.h.

#include "push/client_frame.h"

#include <charconv>

#include "core/text.h"
#include "json/json.h"

namespace chatd::push {

ClientFrame ParseClientFrame(std::string_view text) {
  ClientFrame frame;
  auto doc = json::Document::Parse(text, json::ParseLimits{16 * 1024, 8});
  if (!doc.ok()) return frame;
  const json::Value root = doc->root();
  auto string_member = [&](std::string_view key) -> std::string {
    std::optional<json::Value> v = root.Find(key);
    return v ? std::string(v->AsString().value_or("")) : std::string();
  };
  frame.type = string_member("type");
  if (frame.type == "auth") frame.token = string_member("token");
  if (frame.type == "typing") {
    std::string id = string_member("conversation_id");
    if (json::IsUuid(id)) frame.conversation_id = AsciiLower(id);
  }
  return frame;
}

namespace {

// A whole string of 1..20 decimal digits that fits T.
template <typename T>
std::optional<T> Digits(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<ResumeCursor> ParseResumeCursor(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) {
    auto id = Digits<int64_t>(text);
    if (!id) return std::nullopt;
    return ResumeCursor{{0, *id}, true};
  }
  auto xid = Digits<uint64_t>(text.substr(0, dot));
  auto id = Digits<int64_t>(text.substr(dot + 1));
  // xid8 values are below 2^63 in practice (the epoch would have to wrap 2^31 times); refusing
  // larger ones keeps them representable as PostgreSQL's text input of xid8 and as JSON numbers.
  if (!xid || !id || *xid > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return ResumeCursor{{*xid, *id}, false};
}

}  // namespace chatd::push
