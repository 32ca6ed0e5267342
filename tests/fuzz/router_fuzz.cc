// Fuzz target: http::Router's path matching (workers/http/router) over chatd's real route table.
//
// The input is "METHOD path" (the method up to the first space). Properties: exactly one response
// or handler call per dispatch; a matched route's label is one of the table's and its handler is
// the one called; every path parameter of the matched pattern is set, non-empty and holds no '/';
// an unmatched request gets 404 or 405, and a 405 names allowed methods; HEAD is served by GET
// routes.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/router.h"

namespace {

using chatd::http::Header;
using chatd::http::Request;
using chatd::http::ResponseWriter;
using chatd::http::Router;

class CountingWriter : public ResponseWriter {
 public:
  bool Begin(int status, std::string_view, const std::vector<Header>& headers) override {
    ++begins;
    status_ = status;
    for (const auto& [k, v] : headers) {
      if (k == "Allow") allow = v;
    }
    return true;
  }
  bool Write(std::string_view) override { return true; }
  bool Flush() override { return true; }
  bool begun() const override { return begins > 0; }
  int status() const override { return status_; }
  int begins = 0;
  int status_ = 0;
  std::string allow;
};

// Every route of workers/api (the shapes that matter to matching: literals, {params}, nesting).
constexpr const char* kRoutes[][2] = {
    {"GET", "/api/v1/health"},
    {"GET", "/api/v1/ready"},
    {"GET", "/api/v1/info"},
    {"POST", "/api/v1/auth/signup"},
    {"POST", "/api/v1/auth/login"},
    {"POST", "/api/v1/auth/guest"},
    {"POST", "/api/v1/auth/refresh"},
    {"POST", "/api/v1/auth/logout"},
    {"GET", "/api/v1/auth/me"},
    {"PATCH", "/api/v1/auth/me"},
    {"GET", "/api/v1/users"},
    {"GET", "/api/v1/assistants"},
    {"POST", "/api/v1/assistants"},
    {"GET", "/api/v1/assistants/{id}"},
    {"PATCH", "/api/v1/assistants/{id}"},
    {"DELETE", "/api/v1/assistants/{id}"},
    {"GET", "/api/v1/assistants/{id}/prompts"},
    {"POST", "/api/v1/assistants/{id}/prompts"},
    {"PATCH", "/api/v1/assistants/{id}/prompts/{pid}"},
    {"DELETE", "/api/v1/assistants/{id}/prompts/{pid}"},
    {"GET", "/api/v1/assistants/{id}/documents"},
    {"POST", "/api/v1/assistants/{id}/documents"},
    {"DELETE", "/api/v1/assistants/{id}/documents/{did}"},
    {"GET", "/api/v1/conversations"},
    {"POST", "/api/v1/conversations"},
    {"GET", "/api/v1/conversations/{id}"},
    {"PATCH", "/api/v1/conversations/{id}"},
    {"DELETE", "/api/v1/conversations/{id}"},
    {"POST", "/api/v1/conversations/{id}/members"},
    {"DELETE", "/api/v1/conversations/{id}/members/{user_id}"},
    {"GET", "/api/v1/conversations/{id}/messages"},
    {"POST", "/api/v1/conversations/{id}/messages"},
    {"POST", "/api/v1/conversations/{id}/messages/{mid}/regenerate"},
    {"POST", "/api/v1/conversations/{id}/stop"},
    {"POST", "/api/v1/chat"},
    {"GET", "/api/v1/usage"},
    {"GET", "/api/v1/admin/stats"},
};

struct Table {
  Router router;
  std::set<std::string> labels;
  const char* called = nullptr;  // the label whose handler ran last
  int calls = 0;
};

Table& TheTable() {
  static Table* t = [] {
    auto* table = new Table;
    for (const auto& route : kRoutes) {
      std::string label = std::string(route[0]) + " " + route[1];
      table->labels.insert(label);
      const char* pattern = route[1];
      table->router.Add(route[0], pattern, [table, label](const Request&, ResponseWriter& w) {
        table->called = table->labels.find(label)->c_str();
        ++table->calls;
        w.Send(chatd::http::Response::NoContent());
      });
    }
    return table;
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t space = input.find(' ');
  Request r;
  r.method = std::string(space == std::string_view::npos ? "GET" : input.substr(0, space));
  r.path = std::string(space == std::string_view::npos ? input : input.substr(space + 1));

  Table& t = TheTable();
  t.called = nullptr;
  t.calls = 0;
  CountingWriter w;
  t.router.Dispatch(r, w);
  FUZZ_CHECK(w.begins == 1);
  if (r.route == "unmatched") {
    FUZZ_CHECK(t.calls == 0);
    FUZZ_CHECK(w.status_ == 404 || w.status_ == 405);
    FUZZ_CHECK((w.status_ == 405) == !w.allow.empty());
    FUZZ_CHECK(r.path_params.empty());
    return 0;
  }
  FUZZ_CHECK(t.calls == 1 && t.called != nullptr && r.route == t.called);
  FUZZ_CHECK(t.labels.count(r.route) == 1);
  FUZZ_CHECK(r.route.starts_with(r.method + " ") ||
             (r.method == "HEAD" && r.route.starts_with("GET ")));
  // Each {param} of the pattern is filled with one non-empty segment.
  const std::string_view pattern = std::string_view(r.route).substr(r.route.find(' ') + 1);
  size_t params = 0;
  for (size_t open = pattern.find('{'); open != std::string_view::npos;
       open = pattern.find('{', open + 1)) {
    const size_t close = pattern.find('}', open);
    const std::string_view name = pattern.substr(open + 1, close - open - 1);
    const std::string_view value = r.PathParam(name);
    FUZZ_CHECK(!value.empty() && value.find('/') == std::string_view::npos);
    FUZZ_CHECK(r.path.find(value) != std::string::npos);
    ++params;
  }
  FUZZ_CHECK(r.path_params.size() == params);
  return 0;
}
