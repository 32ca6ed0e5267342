// bench-stream-client: the load client of the `streams` benchmark section (40_streams.py). It
// opens many slow SSE streams at once and times each one's first delta, in one thread on libcurl's
// multi interface driven by epoll (curl_multi_socket_action: work per event, not per stream; the
// curl_multi_perform loop it replaces visited every stream on each wakeup), so the client costs
// little of the two cores it shares with what it measures.
//
//   bench-stream-client --port P --requests FILE --streams N --rate R --marker delta|openai
//                       [--host H] [--timeout-s T]
//
// FILE has one request per line: PATH, a tab, the JSON BODY, then optional tab-separated header
// lines ("Authorization: Bearer ..."). Stream i (0 <= i < N) sends line i % lines as a POST with
// Content-Type: application/json and Accept: text/event-stream.
//
// Schedule: stream i starts at i / R seconds (R <= 0: all at once, a burst). With R = N / (one
// stream's duration) about N streams are in flight in the steady state.
//
// The first delta is the first `event: delta` (marker "delta": chatd's SSE) or the first OpenAI
// chunk with content (marker "openai": `"content":"` followed by a character other than a quote,
// which is what the fake sends first). A stream is ok when it answered 200 and ended with
// `event: done` (delta) or `data: [DONE]` (openai), with no `event: error`.
//
// Output, on stdout: one line per stream, "i start_ms ttfd_ms total_ms http_status ok late_ms":
// start_ms since the schedule began, ttfd_ms from the request's start (-1: no delta), late_ms how
// late the client started the stream against its schedule (a client that cannot keep up shows it).

#include <curl/curl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string requests_file;
  int streams = 0;
  double rate = 0;  // streams per second; <= 0: all at once
  std::string marker = "delta";
  long timeout_s = 120;
};

struct RequestLine {
  std::string path;
  std::string body;
  std::vector<std::string> headers;
};

struct Stream {
  int index = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Clock::time_point scheduled;
  Clock::time_point started;
  Clock::time_point first_delta;
  Clock::time_point ended;
  bool got_delta = false;
  bool got_end = false;
  bool got_error = false;
  // The last bytes of the previous read, so a marker split across reads is still found.
  std::string tail;
  const Options* options = nullptr;
};

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Scans `text` for the markers of this stream's protocol.
void Scan(Stream& s, const std::string& text) {
  if (s.options->marker == "delta") {
    if (!s.got_delta && text.find("event: delta") != std::string::npos) {
      s.got_delta = true;
      s.first_delta = Clock::now();
    }
    if (text.find("event: done") != std::string::npos) s.got_end = true;
    if (text.find("event: error") != std::string::npos) s.got_error = true;
  } else {
    if (!s.got_delta) {
      for (size_t at = text.find("\"content\":\""); at != std::string::npos;
           at = text.find("\"content\":\"", at + 1)) {
        size_t next = at + 11;
        if (next < text.size() && text[next] != '"') {
          s.got_delta = true;
          s.first_delta = Clock::now();
          break;
        }
      }
    }
    if (text.find("data: [DONE]") != std::string::npos) s.got_end = true;
  }
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* s = static_cast<Stream*>(user);
  const size_t n = size * count;
  std::string text = s->tail;
  text.append(data, n);
  Scan(*s, text);
  constexpr size_t kTail = 32;  // longer than any marker
  s->tail = text.size() > kTail ? text.substr(text.size() - kTail) : text;
  return n;
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--host") {
      o->host = value;
    } else if (key == "--port") {
      o->port = std::atoi(value.c_str());
    } else if (key == "--requests") {
      o->requests_file = value;
    } else if (key == "--streams") {
      o->streams = std::atoi(value.c_str());
    } else if (key == "--rate") {
      o->rate = std::atof(value.c_str());
    } else if (key == "--marker") {
      o->marker = value;
    } else if (key == "--timeout-s") {
      o->timeout_s = std::atol(value.c_str());
    } else {
      return false;
    }
  }
  return o->port > 0 && o->streams > 0 && !o->requests_file.empty() &&
         (o->marker == "delta" || o->marker == "openai");
}

std::vector<RequestLine> ReadRequests(const std::string& file) {
  std::vector<RequestLine> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      size_t tab = line.find('\t', start);
      fields.push_back(
          line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (fields.size() < 2) continue;
    RequestLine r;
    r.path = fields[0];
    r.body = fields[1];
    r.headers.assign(fields.begin() + 2, fields.end());
    out.push_back(std::move(r));
  }
  return out;
}

void StartStream(CURLM* multi, Stream& s, const RequestLine& r, const Options& o) {
  s.easy = curl_easy_init();
  s.headers = curl_slist_append(s.headers, "Content-Type: application/json");
  s.headers = curl_slist_append(s.headers, "Accept: text/event-stream");
  s.headers = curl_slist_append(s.headers, "Expect:");
  for (const auto& h : r.headers) s.headers = curl_slist_append(s.headers, h.c_str());
  const std::string url = "http://" + o.host + ":" + std::to_string(o.port) + r.path;
  curl_easy_setopt(s.easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(s.easy, CURLOPT_POSTFIELDS, r.body.c_str());  // not copied: r outlives s
  curl_easy_setopt(s.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body.size()));
  curl_easy_setopt(s.easy, CURLOPT_HTTPHEADER, s.headers);
  curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(s.easy, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(s.easy, CURLOPT_PRIVATE, &s);
  curl_easy_setopt(s.easy, CURLOPT_TIMEOUT, o.timeout_s);
  curl_easy_setopt(s.easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(s.easy, CURLOPT_TCP_NODELAY, 1L);
  s.started = Clock::now();
  curl_multi_add_handle(multi, s.easy);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: bench-stream-client --port P --requests FILE --streams N --rate R "
                 "--marker delta|openai [--host H] [--timeout-s T]\n");
    return 2;
  }
  const std::vector<RequestLine> requests = ReadRequests(o.requests_file);
  if (requests.empty()) {
    std::fprintf(stderr, "bench-stream-client: no requests in %s\n", o.requests_file.c_str());
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(o.streams));

  std::vector<Stream> streams(static_cast<size_t>(o.streams));
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < o.streams; ++i) {
    Stream& s = streams[static_cast<size_t>(i)];
    s.index = i;
    s.options = &o;
    s.scheduled = o.rate > 0 ? t0 + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(i / o.rate))
                             : t0;
  }

  // libcurl tells which sockets to watch and when to call it back; epoll waits for both.
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  struct Timer {
    bool armed = false;
    Clock::time_point at;
  } timer;
  auto on_socket = +[](CURL*, curl_socket_t fd, int what, void* user, void*) -> int {
    const int epfd = *static_cast<int*>(user);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.data.fd = fd;
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) != 0) epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    return 0;
  };
  auto on_timer = +[](CURLM*, long timeout_ms, void* user) -> int {
    auto* t = static_cast<Timer*>(user);
    t->armed = timeout_ms >= 0;
    if (t->armed) t->at = Clock::now() + std::chrono::milliseconds(timeout_ms);
    return 0;
  };
  int epfd = ep;
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, &epfd);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, &timer);

  size_t next = 0;
  int running = 0;
  size_t done = 0;
  std::vector<epoll_event> events(256);
  while (done < streams.size()) {
    Clock::time_point now = Clock::now();
    while (next < streams.size() && streams[next].scheduled <= now) {
      StartStream(multi, streams[next], requests[next % requests.size()], o);
      ++next;
    }
    if (timer.armed && timer.at <= now) {
      timer.armed = false;
      curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Stream* s = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &s);
      s->ended = Clock::now();
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      const bool ok = msg->data.result == CURLE_OK && status == 200 && s->got_delta && s->got_end &&
                      !s->got_error;
      std::printf("%d %.3f %.3f %.3f %ld %d %.3f\n", s->index, Ms(s->started - t0),
                  s->got_delta ? Ms(s->first_delta - s->started) : -1.0, Ms(s->ended - s->started),
                  status, ok ? 1 : 0, Ms(s->started - s->scheduled));
      curl_multi_remove_handle(multi, msg->easy_handle);
      curl_easy_cleanup(msg->easy_handle);
      curl_slist_free_all(s->headers);
      s->easy = nullptr;
      s->headers = nullptr;
      ++done;
    }
    if (done == streams.size()) break;
    // Sleep until the network, libcurl's timer or the next scheduled start (at most 50 ms).
    now = Clock::now();
    Clock::time_point wake = now + std::chrono::milliseconds(50);
    if (next < streams.size()) wake = std::min(wake, streams[next].scheduled);
    if (timer.armed) wake = std::min(wake, timer.at);
    const int wait_ms = static_cast<int>(std::clamp<int64_t>(
        std::chrono::ceil<std::chrono::milliseconds>(wake - now).count(), 0, 50));
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), wait_ms);
    for (int k = 0; k < n; ++k) {
      int flags = 0;
      if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) flags |= CURL_CSELECT_IN;
      if (events[k].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
      if (events[k].events & EPOLLERR) flags |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi, events[k].data.fd, flags, &running);
    }
  }
  close(ep);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return 0;
}
