// Route matching by segments. The table is small (tens of routes), so a linear scan beats any
// cleverness and keeps the matching rules obvious.

#include "http/router.h"

namespace chatd::http {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return out;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.method = std::move(method);
  for (auto seg : SplitPath(pattern)) r.segments.emplace_back(seg);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

bool Router::Match(const Route& route, const std::vector<std::string_view>& segments,
                   std::map<std::string, std::string, std::less<>>* params) {
  if (route.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (params) (*params)[want.substr(1, want.size() - 2)] = std::string(segments[i]);
    } else if (want != segments[i]) {
      return false;
    }
  }
  return true;
}

void Router::Dispatch(Request& request, ResponseWriter& writer) const {
  auto segments = SplitPath(request.path);
  std::string allow;
  for (const auto& route : routes_) {
    if (!Match(route, segments, nullptr)) continue;
    if (route.method == request.method || (request.method == "HEAD" && route.method == "GET")) {
      request.route = route.method + " " + route.pattern;
      Match(route, segments, &request.path_params);
      route.handler(request, writer);
      return;
    }
    if (allow.find(route.method) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += route.method;
    }
  }
  request.route = "unmatched";
  if (!allow.empty()) {
    Response r = Problem(Status(ErrorCode::kMethodNotAllowed,
                                "This method is not allowed here. Allowed: " + allow + "."),
                         request.request_id);
    r.headers.emplace_back("Allow", allow);
    writer.Send(r);
    return;
  }
  writer.Send(Problem(Status::NotFound("There is nothing at this address."), request.request_id));
}

std::vector<std::string> Router::RouteLabels() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) {
    out.push_back(r.method + " " + r.pattern);
  }
  return out;
}

}  // namespace chatd::http
