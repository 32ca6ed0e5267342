// Helpers every handler uses: reading a JSON body under API.md's rules, and answering with a
// Result (a Response, or the problem+json of its Status).

#pragma once

#include <functional>

#include "http/http.h"
#include "http/router.h"
#include "json/json.h"

namespace chatd::api {

constexpr size_t kMaxJsonBody = 64 * 1024;
constexpr size_t kMaxDocumentBody = 2 * 1024 * 1024;

// 413 when the body was too large, 415 when it is not JSON, 400 when it does not parse.
Result<json::Document> ParseJsonBody(const http::Request& request, size_t max_bytes = kMaxJsonBody);

// Sends `result` (or its problem+json) on `writer`.
void Reply(const http::Request& request, http::ResponseWriter& writer,
           const Result<http::Response>& result);

// Adapts a function returning Result<Response> to an http::Handler.
http::Handler JsonHandler(std::function<Result<http::Response>(const http::Request&)> fn);

}  // namespace chatd::api
