// See wire_util.h.

#include "llm/wire_util.h"

#include "core/text.h"

namespace chatd::llm {

std::optional<json::Document> ParseUpstreamJson(std::string_view text, size_t max_bytes) {
  json::ParseLimits limits;
  limits.max_bytes = max_bytes;
  Result<json::Document> doc = json::Document::Parse(text, limits);
  if (!doc.ok()) return std::nullopt;
  return std::move(doc).value();
}

std::string_view StringMember(const json::Value& object, std::string_view key) {
  std::optional<json::Value> v = object.Find(key);
  if (!v) return {};
  return v->AsString().value_or(std::string_view());
}

std::optional<int64_t> IntMember(const json::Value& object, std::string_view key) {
  std::optional<json::Value> v = object.Find(key);
  if (!v) return std::nullopt;
  return v->AsInt64();
}

std::optional<json::Value> ObjectMember(const json::Value& object, std::string_view key) {
  std::optional<json::Value> v = object.Find(key);
  if (!v || !v->is_object()) return std::nullopt;
  return v;
}

std::string LogSnippet(std::string_view text, size_t max_bytes) {
  std::string out(text.size() > max_bytes ? text.substr(0, max_bytes) : text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  // A cut in the middle of a UTF-8 sequence would make the log line invalid UTF-8: drop the
  // broken tail, and if the text is invalid elsewhere too, keep only its ASCII.
  for (int i = 0; i < 3 && !out.empty() && !IsValidUtf8(out); ++i) out.pop_back();
  if (!IsValidUtf8(out)) {
    for (char& c : out) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

}  // namespace chatd::llm
