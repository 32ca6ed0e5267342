// The libcurl transport of the LLM adapters. See http_client.h for the policy; this file is the
// only one that includes <curl/curl.h>.
//
// The easy handle runs inside a per-thread multi handle rather than through curl_easy_perform():
// that is what lets Abort() wake the wait (curl_multi_wakeup) and lets the loop check the deadline
// between polls, so a stop or a deadline never waits for the next byte of a silent upstream. The
// multi handle owns the connection cache, so the thread's connections survive between calls.

#include "llm/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>

namespace chatd::llm {
namespace {

using Clock = std::chrono::steady_clock;

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct MultiDeleter {
  void operator()(CURLM* handle) const { curl_multi_cleanup(handle); }
};

// A curl_slist, freed with its owner.
class HeaderList {
 public:
  HeaderList() = default;
  ~HeaderList() { curl_slist_free_all(list_); }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;

  bool Append(const std::string& header) {
    curl_slist* grown = curl_slist_append(list_, header.c_str());
    if (grown == nullptr) return false;
    list_ = grown;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// One thread's handles, kept for the thread's life. The easy handle is attached to the multi
// handle only during a transfer. Members are destroyed in reverse order: easy, then multi.
struct ThreadHandles {
  std::unique_ptr<CURLM, MultiDeleter> multi;
  std::unique_ptr<CURL, EasyDeleter> easy;
};

ThreadHandles* HandlesOfThisThread() {
  static std::once_flag global_init;
  // curl_global_init is refcounted; chatd-workers already called it before forking, and tests may
  // not have. call_once makes this the only concurrent call inside the process.
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  thread_local ThreadHandles handles;
  if (!handles.multi) handles.multi.reset(curl_multi_init());
  if (!handles.easy) handles.easy.reset(curl_easy_init());
  if (!handles.multi || !handles.easy) return nullptr;
  return &handles;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Retry-After: delta-seconds, or an HTTP date (curl_getdate parses RFC 7231's formats).
std::optional<int> ParseRetryAfter(std::string_view value) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 7) return 9999999;  // absurd, and the caller caps it anyway
    return std::stoi(std::string(value));
  }
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const time_t now = std::time(nullptr);
  return when > now ? static_cast<int>(std::min<time_t>(when - now, 9999999)) : 0;
}

// The state of one transfer, shared with curl's callbacks.
struct Transfer {
  ResponseHandler* handler = nullptr;
  AbortSignal* abort = nullptr;
  Clock::time_point deadline;
  Clock::duration idle_timeout{};
  Clock::time_point last_activity;  // the last byte received (or the start)

  int status = 0;  // of the response whose headers are being read or were read
  std::string content_type;
  std::optional<int> retry_after_s;
  bool aborted = false;
  bool deadline_passed = false;
  bool idle_passed = false;
  bool stopped_by_handler = false;

  // True when the transfer must end now (and records why).
  bool MustStop() {
    if (abort != nullptr && abort->aborted()) aborted = true;
    const Clock::time_point now = Clock::now();
    if (!aborted && now >= deadline) deadline_passed = true;
    if (!aborted && !deadline_passed && now - last_activity >= idle_timeout) idle_passed = true;
    return aborted || deadline_passed || idle_passed;
  }
  // When MustStop() would next become true by itself.
  Clock::time_point NextCheck() const { return std::min(deadline, last_activity + idle_timeout); }
};

size_t OnHeaderLine(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->MustStop()) return 0;
  t->last_activity = Clock::now();
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {  // a new response (after a 1xx, or the first)
    t->status = 0;
    t->content_type.clear();
    t->retry_after_s.reset();
    const size_t space = line.find(' ');
    if (space != std::string_view::npos && space + 4 <= line.size()) {
      int status = 0;
      for (size_t i = space + 1; i < space + 4; ++i) {
        if (line[i] < '0' || line[i] > '9') return n;  // not a status line we understand
        status = status * 10 + (line[i] - '0');
      }
      t->status = status;
    }
    return n;
  }
  if (Trim(line).empty()) {  // the end of the headers
    if (t->status >= 200) t->handler->OnHeaders(t->status, t->content_type);
    return n;
  }
  if (StartsWithNoCase(line, "content-type:")) {
    std::string_view value = Trim(line.substr(13));
    value = value.substr(0, value.find(';'));
    t->content_type.clear();
    for (char c : Trim(value)) {
      t->content_type.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  } else if (StartsWithNoCase(line, "retry-after:")) {
    t->retry_after_s = ParseRetryAfter(line.substr(12));
  }
  return n;
}

size_t OnBodyBytes(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->MustStop()) return 0;  // a short count makes curl fail the transfer at once
  t->last_activity = Clock::now();
  if (!t->handler->OnBody(std::string_view(data, n))) {
    t->stopped_by_handler = true;
    return 0;
  }
  return n;
}

int OnTransferInfo(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->MustStop() ? 1 : 0;
}

TransferError Classify(CURLcode code, const Transfer& t, CURL* easy) {
  // Our own reasons first: they explain the short counts and callback aborts curl reports.
  if (t.aborted) return TransferError::kAborted;
  if (t.deadline_passed) return TransferError::kDeadline;
  if (t.idle_passed) return TransferError::kIdle;
  if (t.stopped_by_handler) return TransferError::kStoppedByHandler;
  switch (code) {
    case CURLE_OK:
      return TransferError::kNone;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
      return TransferError::kConnect;
    case CURLE_OPERATION_TIMEDOUT: {
      // The connect timeout and the stall detector both report this code; a transfer that never
      // connected timed out connecting.
      curl_off_t connect_us = 0;
      curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
      return connect_us == 0 ? TransferError::kConnect : TransferError::kIdle;
    }
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return TransferError::kConnectionLost;
    default:
      return TransferError::kOther;
  }
}

}  // namespace

TransferOutcome Post(const HttpPost& request, const TransferLimits& limits,
                     ResponseHandler& handler, AbortSignal* abort) {
  TransferOutcome out;
  ThreadHandles* handles = HandlesOfThisThread();
  if (handles == nullptr) {
    out.error = TransferError::kOther;
    out.detail = "could not create curl handles";
    return out;
  }
  CURLM* multi = handles->multi.get();
  CURL* easy = handles->easy.get();
  // Forget the previous call's options; the connection cache (in the multi handle), DNS cache and
  // TLS session cache stay.
  curl_easy_reset(easy);

  HeaderList headers;
  bool headers_ok = true;
  for (const std::string& h : request.headers) headers_ok = headers_ok && headers.Append(h);
  headers_ok = headers_ok && headers.Append("Expect:");
  if (!headers_ok) {
    out.error = TransferError::kOther;
    out.detail = "out of memory building headers";
    return out;
  }

  Transfer t;
  t.handler = &handler;
  t.abort = abort;
  t.deadline = limits.deadline;
  t.idle_timeout = limits.idle_timeout;
  t.last_activity = Clock::now();
  if (t.MustStop()) {
    out.error = t.aborted ? TransferError::kAborted : TransferError::kDeadline;
    out.detail = t.aborted ? "aborted before the request" : "deadline passed before the request";
    return out;
  }

  char error_text[CURL_ERROR_SIZE] = {0};
  // curl's stall detector averages speed over ~5 s, so it fires several seconds late; the exact
  // check is Transfer::MustStop(), and this one is a backstop.
  const long idle_s = std::max<long>(
      1, static_cast<long>(std::chrono::ceil<std::chrono::seconds>(limits.idle_timeout).count()));
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "chatd/0.1");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   std::max<long>(1, static_cast<long>(limits.connect_timeout.count())));
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, idle_s);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeaderLine);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBodyBytes);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &OnTransferInfo);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);

  if (CURLMcode mc = curl_multi_add_handle(multi, easy); mc != CURLM_OK) {
    out.error = TransferError::kOther;
    out.detail = curl_multi_strerror(mc);
    return out;
  }

  std::string loop_error;
  {
    std::optional<AbortSignal::WakeScope> wake;
    if (abort != nullptr) wake.emplace(abort, [multi] { curl_multi_wakeup(multi); });
    int running = 1;
    while (true) {
      CURLMcode mc = curl_multi_perform(multi, &running);
      if (mc != CURLM_OK) {
        loop_error = curl_multi_strerror(mc);
        break;
      }
      if (running == 0) break;
      if (t.MustStop()) break;
      // Sleep until the network, curl's own timers (curl_multi_poll honours them), Abort(), the
      // deadline or the idle limit; at most a second, as a backstop.
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(t.NextCheck() - Clock::now());
      const int wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 1, 1000));
      mc = curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
      if (mc != CURLM_OK) {
        loop_error = curl_multi_strerror(mc);
        break;
      }
    }
  }

  CURLcode code = CURLE_OK;
  bool finished = false;
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
      code = msg->data.result;
      finished = true;
    }
  }
  // Detaching an unfinished transfer closes its connection: that is what stops the upstream.
  curl_multi_remove_handle(multi, easy);

  out.http_status = t.status;
  out.retry_after_s = t.retry_after_s;
  if (!finished && !t.aborted && !t.deadline_passed && !t.idle_passed && !t.stopped_by_handler) {
    out.error = TransferError::kOther;
    out.detail = loop_error.empty() ? "the transfer did not finish" : loop_error;
    return out;
  }
  out.error = Classify(code, t, easy);
  if (out.error != TransferError::kNone) {
    out.detail = error_text[0] != '\0' ? std::string(error_text) : curl_easy_strerror(code);
    if (out.error == TransferError::kAborted) out.detail = "aborted by the caller";
    if (out.error == TransferError::kDeadline) out.detail = "the total deadline passed";
    if (out.error == TransferError::kIdle) out.detail = "no byte received within the idle timeout";
  }
  return out;
}

}  // namespace chatd::llm
