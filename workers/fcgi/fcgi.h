// libfcgi adapter: one FastCGI request slot per thread, turned into http::Request and served
// through an http::ResponseWriter.
//
// Threading (PITFALLS.md): FCGX_Init() once per process (InitLibrary), one RequestSlot per thread,
// and Accept() calls serialised by the caller (pool/ holds a mutex around them: libfcgi's own
// accept lock is per process). libfcgi buffers output in 8 KiB; Flush() pushes each SSE event. A
// client that went away shows up as a failed write or flush, never as SIGPIPE (libfcgi ignores it).

#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"
#include "http/http.h"

namespace chatd::fcgi {

// FCGX_Init(); idempotent, call in each process before the first RequestSlot.
void InitLibrary();

// The http::Request of a FastCGI request's params (`envp`: "NAME=value" strings ending with a
// null pointer, as libfcgi hands them over), without its body; `content_length` receives
// CONTENT_LENGTH (0 when absent or not a number). Pure, so tests and tests/fuzz can reach it
// without a socket; RequestSlot::Read uses it.
http::Request RequestFromParams(char** envp, size_t* content_length);

// Owns one FCGX_Request bound to a listening socket.
class RequestSlot {
 public:
  explicit RequestSlot(int listen_fd);
  ~RequestSlot();
  RequestSlot(const RequestSlot&) = delete;
  RequestSlot& operator=(const RequestSlot&) = delete;

  // Accepts the next connection (the listening socket may be non-blocking: then returns false with
  // would_block set when there was nothing to accept). Returns true with a request in hand.
  bool Accept(bool* would_block);
  // Reads the params and up to max_body bytes of stdin into an http::Request. A body over the cap
  // sets body_too_large and is not read.
  http::Request Read(size_t max_body);
  // The writer for the current request; valid until Finish().
  http::ResponseWriter& writer();
  // Completes the request (flushes, closes the connection to nginx).
  void Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatd::fcgi
