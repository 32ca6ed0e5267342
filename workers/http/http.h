// The HTTP model the handlers see: a parsed request, a response writer, and problem+json.
//
// Nothing here knows FastCGI (fcgi/ adapts libfcgi to these types) or any resource (api/ holds the
// handlers). A Request is filled once by the adapter and then only read, except for `route` and
// `path_params`, which the Router sets before it calls a handler. A ResponseWriter is owned by the
// thread that serves the request; a handler either sends one whole Response or streams (SSE) with
// Begin/Write/Flush.

#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace chatd::http {

using Header = std::pair<std::string, std::string>;

struct Request {
  std::string method;        // "GET", "POST", ...
  std::string path;          // without the query string, not percent-decoded
  std::string query;         // raw, without '?'
  std::string content_type;  // as sent
  std::string accept;
  std::string authorization;
  std::string store_exchange;  // X-Chatd-Store (the /v1 surface's opt-in to store an exchange)
  std::string request_id;      // nginx's $request_id
  std::string remote_addr;
  std::string body;
  bool body_too_large = false;  // the body exceeded the adapter's cap and was not read

  // Set by the Router.
  std::string route;  // "METHOD pattern" ("GET /api/v1/conversations/{id}") or "unmatched"
  std::map<std::string, std::string, std::less<>> path_params;

  // The first value of a query parameter, percent-decoded; nullopt when absent.
  std::optional<std::string> QueryParam(std::string_view name) const;
  bool HasQueryParam(std::string_view name) const;
  std::string_view PathParam(std::string_view name) const;
  // True when Accept prefers text/event-stream.
  bool WantsEventStream() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<Header> headers;
  std::string body;

  static Response Json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static Response NoContent() {
    Response r;
    r.status = 204;
    r.content_type.clear();
    return r;
  }
};

// The problem+json response (RFC 9457) for a non-OK status: type, title, status, code, detail,
// request_id, errors (when any), and Retry-After when the status carries one.
Response Problem(const Status& status, std::string_view request_id);

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Sends the status line and headers; called at most once. Returns false when the client is gone.
  virtual bool Begin(int status, std::string_view content_type,
                     const std::vector<Header>& headers) = 0;
  // Appends body bytes; returns false when the client is gone (the caller may keep working).
  virtual bool Write(std::string_view data) = 0;
  // Pushes buffered bytes to nginx now (each SSE event).
  virtual bool Flush() = 0;
  virtual bool begun() const = 0;
  virtual int status() const = 0;
  // Ends the response now, once it is complete (after Begin/Send): the client has all of it and
  // the handler may go on with work whose outcome the client does not wait for; nothing more can
  // be written. Before Begin it does nothing. The default does nothing at all: the response then
  // ends when the handler returns.
  virtual void End() {}

  // Sends a whole response.
  void Send(const Response& r);
};

// Percent-decodes a query component ('+' is a space). nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s);

// Validation helpers shared by handlers.
// 415 unless the body is JSON (application/json, any charset parameter that is utf-8).
Status RequireJsonContentType(const Request& r);

}  // namespace chatd::http
