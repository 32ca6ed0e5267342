// The route table: (method, pattern) -> handler, with {name} path parameters.
//
// Dispatch finds the route, fills Request::route and path_params, and calls the handler; a path
// that matches no pattern gets a 404 problem, a path that matches with another method a 405 with
// an Allow header. Patterns are literal segments and {name} segments; a parameter matches one
// non-empty segment. The table is built once at start and then read concurrently by every thread.

#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http/http.h"

namespace chatd::http {

using Handler = std::function<void(const Request&, ResponseWriter&)>;

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler);
  void Dispatch(Request& request, ResponseWriter& writer) const;
  // Every "METHOD pattern" label (what Dispatch puts in Request::route), for metrics.
  std::vector<std::string> RouteLabels() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool Match(const Route& route, const std::vector<std::string_view>& segments,
                    std::map<std::string, std::string, std::less<>>* params);
  std::vector<Route> routes_;
};

}  // namespace chatd::http
