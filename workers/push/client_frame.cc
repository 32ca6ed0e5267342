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

std::optional<int64_t> ParseResumeCursor(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace chatd::push
