// Body parsing and replying, shared by all handlers.

#include "api/common.h"

namespace chatd::api {

Result<json::Document> ParseJsonBody(const http::Request& request, size_t max_bytes) {
  if (request.body_too_large || request.body.size() > max_bytes) {
    return Status(ErrorCode::kPayloadTooLarge, "The request body is too large.");
  }
  Status type = http::RequireJsonContentType(request);
  if (!type.ok()) return type;
  json::ParseLimits limits;
  limits.max_bytes = max_bytes;
  return json::Document::Parse(request.body, limits);
}

void Reply(const http::Request& request, http::ResponseWriter& writer,
           const Result<http::Response>& result) {
  if (result.ok()) {
    writer.Send(result.value());
  } else {
    writer.Send(http::Problem(result.status(), request.request_id));
  }
}

http::Handler JsonHandler(std::function<Result<http::Response>(const http::Request&)> fn) {
  return [fn = std::move(fn)](const http::Request& request, http::ResponseWriter& writer) {
    Reply(request, writer, fn(request));
  };
}

}  // namespace chatd::api
