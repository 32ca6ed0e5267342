// Request helpers, problem+json, and the whole-response path of ResponseWriter.

#include "http/http.h"

#include "core/text.h"
#include "json/json.h"

namespace chatd::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Calls f(name, raw_value) for each query parameter, stopping when f returns true.
template <typename F>
void ForEachQueryParam(std::string_view query, F&& f) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (f(name, value)) return;
  }
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  std::optional<std::string> found;
  ForEachQueryParam(query, [&](std::string_view n, std::string_view v) {
    if (n != name) return false;
    found = PercentDecode(v);
    if (!found) found = std::string();  // a malformed escape reads as an empty (invalid) value
    return true;
  });
  return found;
}

bool Request::HasQueryParam(std::string_view name) const {
  bool found = false;
  ForEachQueryParam(query,
                    [&](std::string_view n, std::string_view) { return found = (n == name); });
  return found;
}

std::string_view Request::PathParam(std::string_view name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? std::string_view() : std::string_view(it->second);
}

bool Request::WantsEventStream() const {
  return accept.find("text/event-stream") != std::string::npos;
}

Response Problem(const Status& status, std::string_view request_id) {
  int http_status = HttpStatusOf(status.code());
  json::Writer w;
  w.StartObject()
      .Field("type", "about:blank")
      .Field("title", HttpReasonPhrase(http_status))
      .Field("status", http_status)
      .Field("code", ErrorCodeName(status.code()))
      .Field("detail", status.detail())
      .Field("request_id", request_id);
  if (!status.field_errors().empty()) {
    w.Key("errors").StartArray();
    for (const auto& e : status.field_errors()) {
      w.StartObject().Field("field", e.field).Field("message", e.message).EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  Response r;
  r.status = http_status;
  r.content_type = "application/problem+json";
  r.body = w.Take();
  if (auto retry = status.retry_after_s())
    r.headers.emplace_back("Retry-After", std::to_string(*retry));
  return r;
}

void ResponseWriter::Send(const Response& r) {
  std::vector<Header> headers = r.headers;
  if (r.status != 204) headers.emplace_back("Content-Length", std::to_string(r.body.size()));
  if (!Begin(r.status, r.content_type, headers)) return;
  if (!r.body.empty()) Write(r.body);
}

Status RequireJsonContentType(const Request& r) {
  std::string type = AsciiLower(r.content_type);
  auto semi = type.find(';');
  std::string_view media = std::string_view(type).substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  bool charset_ok = semi == std::string::npos || type.find("charset", semi) == std::string::npos ||
                    type.find("utf-8", semi) != std::string::npos;
  if (media != "application/json" || !charset_ok) {
    return Status(ErrorCode::kUnsupportedMediaType,
                  "Send the request body as application/json; charset=utf-8.");
  }
  return Status::Ok();
}

}  // namespace chatd::http
