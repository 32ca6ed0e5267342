// The libfcgi side of a request: params to http::Request, and the CGI-style "Status:" response.

#include "fcgi/fcgi.h"

#include <fcgiapp.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace chatd::fcgi {
namespace {

std::string Param(FCGX_ParamArray envp, const char* name) {
  const char* v = FCGX_GetParam(name, envp);
  return v ? std::string(v) : std::string();
}

class Writer : public http::ResponseWriter {
 public:
  // `accepted`: the slot's flag that the request is still open (End finishes it early, and the
  // slot's own Finish then has nothing left to do).
  Writer(FCGX_Request* req, bool* accepted) : req_(req), accepted_(accepted) {}

  void Reset() {
    begun_ = false;
    status_ = 0;
    failed_ = false;
  }

  bool Begin(int status, std::string_view content_type,
             const std::vector<http::Header>& headers) override {
    if (begun_) return !failed_;
    begun_ = true;
    status_ = status;
    std::string head =
        "Status: " + std::to_string(status) + " " + std::string(HttpReasonPhrase(status)) + "\r\n";
    if (!content_type.empty()) head += "Content-Type: " + std::string(content_type) + "\r\n";
    for (const auto& [k, v] : headers) head += k + ": " + v + "\r\n";
    head += "\r\n";
    return Put(head);
  }

  bool Write(std::string_view data) override {
    if (!begun_) Begin(200, "application/octet-stream", {});
    return Put(data);
  }

  bool Flush() override {
    if (failed_) return false;
    if (FCGX_FFlush(req_->out) != 0 || FCGX_GetError(req_->out) != 0) failed_ = true;
    return !failed_;
  }

  bool begun() const override { return begun_; }
  int status() const override { return status_; }

  void End() override {
    if (!begun_ || !*accepted_) return;
    failed_ = true;  // nothing more goes out: the request's streams are gone after the finish
    *accepted_ = false;
    FCGX_Finish_r(req_);
  }

 private:
  bool Put(std::string_view data) {
    if (failed_) return false;
    while (!data.empty()) {
      int chunk = static_cast<int>(std::min<size_t>(data.size(), 1 << 20));
      if (FCGX_PutStr(data.data(), chunk, req_->out) != chunk) {
        failed_ = true;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(chunk));
    }
    return true;
  }

  FCGX_Request* req_;
  bool* accepted_;
  bool begun_ = false;
  bool failed_ = false;
  int status_ = 0;
};

}  // namespace

void InitLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { FCGX_Init(); });
}

struct RequestSlot::Impl {
  FCGX_Request req{};
  bool accepted = false;
  Writer writer{&req, &accepted};
};

RequestSlot::RequestSlot(int listen_fd) : impl_(std::make_unique<Impl>()) {
  FCGX_InitRequest(&impl_->req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
}

RequestSlot::~RequestSlot() {
  Finish();
  FCGX_Free(&impl_->req, 1);
}

bool RequestSlot::Accept(bool* would_block) {
  *would_block = false;
  errno = 0;
  int rc = FCGX_Accept_r(&impl_->req);
  if (rc < 0) {
    *would_block = (-rc == EAGAIN || -rc == EWOULDBLOCK || -rc == EINTR);
    return false;
  }
  impl_->accepted = true;
  impl_->writer.Reset();
  return true;
}

http::Request RequestFromParams(char** envp, size_t* content_length) {
  http::Request r;
  r.method = Param(envp, "REQUEST_METHOD");
  std::string uri = Param(envp, "DOCUMENT_URI");
  if (uri.empty()) {
    uri = Param(envp, "REQUEST_URI");
    auto q = uri.find('?');
    if (q != std::string::npos) uri.resize(q);
  }
  r.path = std::move(uri);
  r.query = Param(envp, "QUERY_STRING");
  r.content_type = Param(envp, "CONTENT_TYPE");
  r.accept = Param(envp, "HTTP_ACCEPT");
  r.authorization = Param(envp, "HTTP_AUTHORIZATION");
  r.store_exchange = Param(envp, "HTTP_X_CHATD_STORE");
  r.request_id = Param(envp, "REQUEST_ID");
  if (r.request_id.empty()) r.request_id = Param(envp, "HTTP_X_REQUEST_ID");
  r.remote_addr = Param(envp, "REMOTE_ADDR");

  std::string length_text = Param(envp, "CONTENT_LENGTH");
  *content_length = length_text.empty() ? 0 : std::strtoull(length_text.c_str(), nullptr, 10);
  return r;
}

http::Request RequestSlot::Read(size_t max_body) {
  size_t length = 0;
  http::Request r = RequestFromParams(impl_->req.envp, &length);
  if (length > max_body) {
    r.body_too_large = true;
    return r;
  }
  r.body.resize(length);
  size_t got = 0;
  while (got < length) {
    int n = FCGX_GetStr(r.body.data() + got, static_cast<int>(length - got), impl_->req.in);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  r.body.resize(got);
  return r;
}

http::ResponseWriter& RequestSlot::writer() {
  return impl_->writer;
}

void RequestSlot::Finish() {
  if (!impl_->accepted) return;
  impl_->accepted = false;
  FCGX_Finish_r(&impl_->req);
}

}  // namespace chatd::fcgi
