// The providers against the real fake upstream (build/fake-llm, started per test on a free port):
// streaming with usage, JSON replies, retries on 429/5xx/early drops, what is not retried,
// timeouts, drops and malformed streams after partial text, aborts (the fake sees its connection
// closed), warm connections, concurrency, and the Anthropic format. Runs under the "integration"
// label because it starts a server. The binary comes from $CHATD_FAKE_LLM or the build's path.

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "json/json.h"
#include "llm/provider.h"

extern char** environ;

namespace chatd::llm {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string FakeBinary() {
  if (const char* env = std::getenv("CHATD_FAKE_LLM"); env != nullptr && *env != '\0') return env;
  return CHATD_FAKE_LLM;
}

size_t AppendTo(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// A blocking HTTP request for inspecting the fake (not through the code under test).
std::string HttpCall(const std::string& url, const std::string& post_body = "", bool post = false) {
  std::string body;
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &AppendTo);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (post) curl_easy_setopt(h, CURLOPT_POSTFIELDS, post_body.c_str());
  CURLcode rc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  EXPECT_EQ(rc, CURLE_OK) << url;
  return body;
}

json::Document ParseJson(const std::string& text) {
  json::ParseLimits limits;
  limits.max_bytes = 64 << 20;
  Result<json::Document> doc = json::Document::Parse(text, limits);
  EXPECT_TRUE(doc.ok()) << text.substr(0, 200);
  return std::move(doc).value();
}

// One fake-llm process for one test.
class FakeLlm {
 public:
  explicit FakeLlm(std::vector<std::string> flags = {}) {
    int fds[2];
    if (pipe(fds) != 0) ADD_FAILURE() << "pipe";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> args = {FakeBinary(), "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << args[0];
      close(fds[0]);
      pid_ = -1;
      return;
    }
    // The first line is "fake-llm listening on http://127.0.0.1:PORT".
    std::string line;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos && Clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    const size_t colon = line.rfind(':');
    if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
      ADD_FAILURE() << "fake-llm did not start: " << line;
      return;
    }
    url_ = line.substr(line.find("http://"), line.find('\n') - line.find("http://"));
  }

  ~FakeLlm() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  const std::string& url() const { return url_; }
  std::string base_url() const { return url_ + "/v1"; }

  // The recorded requests, oldest first.
  json::Document Requests() { return ParseJson(HttpCall(url_ + "/_fake/requests?limit=1000")); }
  size_t RequestCount() { return Requests().root().Find("requests")->ArraySize(); }
  int64_t Accepted() {
    return *ParseJson(HttpCall(url_ + "/_fake/health")).root().Find("accepted")->AsInt64();
  }

  // Polls until the newest recorded request says the client closed early (or 10 s pass).
  bool WaitForClientClosedEarly() {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      json::Document d = Requests();
      json::Value reqs = *d.root().Find("requests");
      if (reqs.ArraySize() > 0) {
        json::Value last = reqs.ArrayAt(reqs.ArraySize() - 1);
        if (*last.Find("client_closed_early")->AsBool()) return true;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

ProviderOptions FastOptions(const FakeLlm& fake) {
  ProviderOptions o;
  o.base_url = fake.base_url();
  o.api_key = "test-key";
  o.model = "fake-model";
  o.connect_timeout = milliseconds(2000);
  o.idle_timeout = std::chrono::seconds(10);
  o.total_timeout = milliseconds(20000);
  o.max_retries = 2;
  o.backoff_base = milliseconds(10);
  o.backoff_max = milliseconds(50);
  o.retry_after_cap = milliseconds(5000);
  return o;
}

ChatRequest Ask(const std::string& user_text, const std::string& system = "") {
  ChatRequest r;
  r.system = system;
  r.messages = {{Role::kUser, user_text}};
  r.max_tokens = 200;
  return r;
}

struct CallOutcome {
  ChatResult result;
  std::vector<std::string> deltas;
  milliseconds elapsed{0};
};

CallOutcome Call(const Provider& p, const ChatRequest& r, AbortSignal* abort = nullptr,
                 std::function<bool(const std::string&)> on_delta = nullptr) {
  CallOutcome run;
  const auto start = Clock::now();
  run.result = p.Complete(
      r,
      [&](std::string_view d) {
        run.deltas.emplace_back(d);
        return on_delta ? on_delta(std::string(d)) : true;
      },
      abort);
  run.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return run;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += x;
  return s;
}

class AdaptersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

TEST_F(AdaptersTest, OpenAiStreamsTheReplyWithUsage) {
  FakeLlm fake;
  ProviderOptions o = FastOptions(fake);
  o.openrouter_referer = "https://chat.example";
  o.openrouter_title = "chatd tests";
  auto provider = MakeProvider(LlmProvider::kOpenAi, o);
  CallOutcome run =
      Call(*provider, Ask("hello there world", "Be nice.\nKNOWLEDGE: the code is 1234"));

  ASSERT_TRUE(run.result.ok()) << run.result.error_detail;
  EXPECT_EQ(run.result.text, "You said: hello there world KNOWLEDGE: the code is 1234");
  EXPECT_EQ(Joined(run.deltas), run.result.text);
  EXPECT_EQ(run.deltas.size(), 10u);  // one per word
  EXPECT_EQ(run.result.finish_reason, "stop");
  EXPECT_TRUE(run.result.usage.reported);
  EXPECT_EQ(run.result.usage.prompt_tokens, 10);  // the words of the system and user messages
  EXPECT_EQ(run.result.usage.completion_tokens, 10);
  EXPECT_EQ(run.result.attempts, 1);
  EXPECT_TRUE(run.result.ToStatus().ok());

  json::Document d = fake.Requests();
  json::Value reqs = *d.root().Find("requests");
  ASSERT_EQ(reqs.ArraySize(), 1u);
  json::Value rec = reqs.ArrayAt(0);
  EXPECT_EQ(*rec.Find("path")->AsString(), "/v1/chat/completions");
  json::Value headers = *rec.Find("headers");
  EXPECT_EQ(*headers.Find("authorization")->AsString(), "Bearer test-key");
  EXPECT_EQ(*headers.Find("http-referer")->AsString(), "https://chat.example");
  EXPECT_EQ(*headers.Find("x-title")->AsString(), "chatd tests");
  json::Value body = *rec.Find("body");
  EXPECT_EQ(*body.Find("model")->AsString(), "fake-model");
  EXPECT_TRUE(*body.Find("stream")->AsBool());
  EXPECT_TRUE(*body.Find("stream_options")->Find("include_usage")->AsBool());
  EXPECT_EQ(*body.Find("messages")->ArrayAt(0).Find("role")->AsString(), "system");
  EXPECT_FALSE(*rec.Find("client_closed_early")->AsBool());
}

TEST_F(AdaptersTest, OpenAiNonStreamingReply) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  ChatRequest r = Ask("one two");
  r.stream = false;
  CallOutcome run = Call(*provider, r);
  ASSERT_TRUE(run.result.ok()) << run.result.error_detail;
  EXPECT_EQ(run.result.text, "You said: one two");
  EXPECT_EQ(run.deltas, std::vector<std::string>{"You said: one two"});
  EXPECT_EQ(run.result.usage.completion_tokens, 4);
}

TEST_F(AdaptersTest, RetriesOn429ThenSucceeds) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("retry me [[fake:status=429,retry_after=0,fail_first=2]]"));
  ASSERT_TRUE(run.result.ok()) << run.result.error_detail;
  EXPECT_EQ(run.result.attempts, 3);
  EXPECT_EQ(run.result.text, "You said: retry me");
  json::Document d = fake.Requests();
  json::Value reqs = *d.root().Find("requests");
  ASSERT_EQ(reqs.ArraySize(), 3u);
  EXPECT_EQ(*reqs.ArrayAt(0).Find("status")->AsInt64(), 429);
  EXPECT_EQ(*reqs.ArrayAt(1).Find("status")->AsInt64(), 429);
  EXPECT_EQ(*reqs.ArrayAt(2).Find("status")->AsInt64(), 200);
}

TEST_F(AdaptersTest, HonoursRetryAfter) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("patience [[fake:status=429,retry_after=1,fail_first=1]]"));
  ASSERT_TRUE(run.result.ok()) << run.result.error_detail;
  EXPECT_EQ(run.result.attempts, 2);
  EXPECT_GE(run.elapsed, milliseconds(1000));  // it waited as long as it was asked to
}

TEST_F(AdaptersTest, RetryAfterBeyondTheCapIsNotWaitedFor) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));  // cap: 5 s
  CallOutcome run = Call(*provider, Ask("later [[fake:status=429,retry_after=60]]"));
  EXPECT_EQ(run.result.error, ErrorKind::kRateLimited);
  EXPECT_EQ(run.result.attempts, 1);
  ASSERT_TRUE(run.result.retry_after_s.has_value());
  EXPECT_EQ(*run.result.retry_after_s, 60);
  Status s = run.result.ToStatus();
  EXPECT_EQ(s.code(), ErrorCode::kLlmUnavailable);
  EXPECT_EQ(s.retry_after_s(), 60);
}

TEST_F(AdaptersTest, RetriesOn500ThenSucceeds) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("flaky [[fake:status=500,fail_first=1]]"));
  ASSERT_TRUE(run.result.ok()) << run.result.error_detail;
  EXPECT_EQ(run.result.attempts, 2);
  EXPECT_EQ(fake.RequestCount(), 2u);
}

TEST_F(AdaptersTest, GivesUpAfterMaxRetriesWithoutLeakingTheUpstreamText) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("down [[fake:status=503]]"));
  EXPECT_EQ(run.result.error, ErrorKind::kServerError);
  EXPECT_EQ(run.result.attempts, 3);
  EXPECT_EQ(run.result.http_status, 503);
  EXPECT_EQ(fake.RequestCount(), 3u);
  // The upstream's words are in the internal detail, never in the Status.
  EXPECT_NE(run.result.error_detail.find("do-not-leak"), std::string::npos);
  Status s = run.result.ToStatus();
  EXPECT_EQ(s.code(), ErrorCode::kLlmUnavailable);
  EXPECT_EQ(HttpStatusOf(s.code()), 502);
  EXPECT_EQ(s.detail().find("do-not-leak"), std::string::npos);
  EXPECT_EQ(s.detail().find("503"), std::string::npos);
}

TEST_F(AdaptersTest, ClientErrorsAreNotRetried) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("bad key [[fake:status=401]]"));
  EXPECT_EQ(run.result.error, ErrorKind::kClientError);
  EXPECT_EQ(run.result.attempts, 1);
  EXPECT_EQ(run.result.ToStatus().code(), ErrorCode::kLlmUnavailable);
}

TEST_F(AdaptersTest, HangEndsInTimeoutWithinTheDeadline) {
  FakeLlm fake;
  ProviderOptions o = FastOptions(fake);
  o.total_timeout = milliseconds(1500);
  auto provider = MakeProvider(LlmProvider::kOpenAi, o);
  CallOutcome run = Call(*provider, Ask("anyone? [[fake:hang=1]]"));
  EXPECT_EQ(run.result.error, ErrorKind::kTimeout) << run.result.error_detail;
  EXPECT_EQ(run.result.attempts, 1);
  EXPECT_LT(run.elapsed, milliseconds(1500 + 3000));  // the deadline, plus scheduling slack
  Status s = run.result.ToStatus();
  EXPECT_EQ(s.code(), ErrorCode::kLlmTimeout);
  EXPECT_EQ(HttpStatusOf(s.code()), 504);
  EXPECT_TRUE(fake.WaitForClientClosedEarly());  // the connection was closed, not left open
}

TEST_F(AdaptersTest, StallMidStreamEndsInTimeoutWithPartialText) {
  FakeLlm fake;
  ProviderOptions o = FastOptions(fake);
  o.idle_timeout = std::chrono::seconds(1);
  auto provider = MakeProvider(LlmProvider::kOpenAi, o);
  CallOutcome run = Call(*provider, Ask("stall [[fake:stall_after=2]]"));
  EXPECT_EQ(run.result.error, ErrorKind::kTimeout) << run.result.error_detail;
  EXPECT_EQ(run.result.text, "You said:");
  EXPECT_EQ(run.result.attempts, 1);
  EXPECT_TRUE(fake.WaitForClientClosedEarly());
}

TEST_F(AdaptersTest, DropMidStreamIsAnErrorAfterPartialTextAndNotRetried) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("drop [[fake:tokens=10,drop_after=3]]"));
  EXPECT_EQ(run.result.error, ErrorKind::kConnectionLost) << run.result.error_detail;
  EXPECT_EQ(run.result.text, "You said: drop");
  EXPECT_EQ(Joined(run.deltas), run.result.text);
  EXPECT_EQ(run.result.attempts, 1);  // text reached the caller: a retry would repeat it
  EXPECT_EQ(fake.RequestCount(), 1u);
  EXPECT_EQ(run.result.ToStatus().code(), ErrorCode::kLlmUnavailable);
}

TEST_F(AdaptersTest, DropBeforeAnyTextIsRetried) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("early drop [[fake:drop_after=0,fail_first=1]]"));
  ASSERT_TRUE(run.result.ok()) << run.result.error_detail;
  EXPECT_EQ(run.result.attempts, 2);
  EXPECT_EQ(run.result.text, "You said: early drop");
}

TEST_F(AdaptersTest, MalformedSseAfterPartialText) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("garble [[fake:tokens=10,malformed_after=2]]"));
  EXPECT_EQ(run.result.error, ErrorKind::kMalformed) << run.result.error_detail;
  EXPECT_EQ(run.result.text, "You said:");
  EXPECT_EQ(run.result.attempts, 1);
}

TEST_F(AdaptersTest, ErrorObjectInTheStream) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("oops [[fake:tokens=10,error_after=1]]"));
  EXPECT_EQ(run.result.error, ErrorKind::kServerError) << run.result.error_detail;
  EXPECT_EQ(run.result.text, "You");
  EXPECT_EQ(run.result.ToStatus().detail().find("do-not-leak"), std::string::npos);
}

TEST_F(AdaptersTest, CallbackAbortClosesTheUpstreamConnection) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  CallOutcome run = Call(*provider, Ask("long [[fake:tokens=200,interval_ms=50]]"), nullptr,
                         [](const std::string&) { return false; });
  EXPECT_EQ(run.result.error, ErrorKind::kAborted);
  EXPECT_EQ(run.result.text, "You");
  EXPECT_TRUE(fake.WaitForClientClosedEarly());
  json::Document d = fake.Requests();
  EXPECT_LT(*d.root().Find("requests")->ArrayAt(0).Find("tokens_sent")->AsInt64(), 200);
}

TEST_F(AdaptersTest, AbortSignalFromAnotherThreadStopsAHangAtOnce) {
  FakeLlm fake;
  ProviderOptions o = FastOptions(fake);
  o.total_timeout = milliseconds(60000);
  o.idle_timeout = std::chrono::seconds(60);
  auto provider = MakeProvider(LlmProvider::kOpenAi, o);
  AbortSignal abort;
  std::thread stopper([&] {
    // Once the fake has the request, stop it.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (fake.RequestCount() == 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    abort.Abort();
  });
  CallOutcome run = Call(*provider, Ask("wait [[fake:hang=1]]"), &abort);
  stopper.join();
  EXPECT_EQ(run.result.error, ErrorKind::kAborted);
  EXPECT_LT(run.elapsed, milliseconds(20000));  // nowhere near the 60 s timeouts
  EXPECT_TRUE(fake.WaitForClientClosedEarly());
}

TEST_F(AdaptersTest, AbortSignalStopsAStreamMidway) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  AbortSignal abort;
  std::atomic<int> seen{0};
  std::thread stopper;
  CallOutcome run = Call(*provider, Ask("stream [[fake:tokens=500,interval_ms=20]]"), &abort,
                         [&](const std::string&) {
                           if (++seen == 3) stopper = std::thread([&] { abort.Abort(); });
                           return true;
                         });
  if (stopper.joinable()) stopper.join();
  EXPECT_EQ(run.result.error, ErrorKind::kAborted);
  EXPECT_GE(run.deltas.size(), 3u);
  EXPECT_LT(run.deltas.size(), 500u);
  EXPECT_EQ(Joined(run.deltas), run.result.text);
  EXPECT_TRUE(fake.WaitForClientClosedEarly());
}

TEST_F(AdaptersTest, AbortDuringBackoffReturnsAtOnce) {
  FakeLlm fake;
  ProviderOptions o = FastOptions(fake);
  o.retry_after_cap = milliseconds(60000);
  o.total_timeout = milliseconds(60000);
  auto provider = MakeProvider(LlmProvider::kOpenAi, o);
  AbortSignal abort;
  std::thread stopper([&] {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (fake.RequestCount() == 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    abort.Abort();
  });
  CallOutcome run = Call(*provider, Ask("slow down [[fake:status=429,retry_after=30]]"), &abort);
  stopper.join();
  EXPECT_EQ(run.result.error, ErrorKind::kAborted);
  EXPECT_LT(run.elapsed, milliseconds(20000));
  EXPECT_EQ(fake.RequestCount(), 1u);
}

TEST_F(AdaptersTest, ConnectFailureIsRetriedThenUnavailable) {
  ProviderOptions o;
  {
    FakeLlm fake;  // a port that was just free, and is closed again
    o = FastOptions(fake);
  }
  auto provider = MakeProvider(LlmProvider::kOpenAi, o);
  CallOutcome run = Call(*provider, Ask("hello"));
  EXPECT_EQ(run.result.error, ErrorKind::kConnect) << run.result.error_detail;
  EXPECT_EQ(run.result.attempts, 3);
  EXPECT_EQ(run.result.http_status, 0);
  EXPECT_EQ(run.result.ToStatus().code(), ErrorCode::kLlmUnavailable);
}

TEST_F(AdaptersTest, ConnectionsStayWarmAcrossCallsOnOneThread) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  const int64_t before = fake.Accepted();  // counts its own connection
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Call(*provider, Ask("again")).result.ok());
  const int64_t after = fake.Accepted();  // counts its own connection too
  EXPECT_EQ(after - before, 2);           // one for the three calls, one for this check
}

TEST_F(AdaptersTest, ManyThreadsAtOnce) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kOpenAi, FastOptions(fake));
  constexpr int kThreads = 16;
  std::vector<std::thread> threads;
  std::vector<CallOutcome> runs(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      runs[i] = Call(*provider, Ask("thread " + std::to_string(i) + " [[fake:interval_ms=5]]"));
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(runs[i].result.ok()) << i << " " << runs[i].result.error_detail;
    EXPECT_EQ(runs[i].result.text, "You said: thread " + std::to_string(i));
  }
}

TEST_F(AdaptersTest, AnthropicStreamsTheReplyWithUsage) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kAnthropic, FastOptions(fake));
  ChatRequest r = Ask("hi claude", "KNOWLEDGE: sky is green");
  r.messages.insert(r.messages.begin(), {{Role::kUser, "earlier"}, {Role::kAssistant, "ok"}});
  CallOutcome run = Call(*provider, r);
  ASSERT_TRUE(run.result.ok()) << run.result.error_detail;
  EXPECT_EQ(run.result.text, "You said: hi claude KNOWLEDGE: sky is green");
  EXPECT_EQ(Joined(run.deltas), run.result.text);
  EXPECT_EQ(run.result.finish_reason, "end_turn");
  EXPECT_TRUE(run.result.usage.reported);
  EXPECT_EQ(run.result.usage.prompt_tokens, 8);  // earlier ok hi claude + 4 system words
  EXPECT_EQ(run.result.usage.completion_tokens, 8);
  EXPECT_EQ(run.result.model, "fake-model");

  json::Document d = fake.Requests();
  json::Value rec = d.root().Find("requests")->ArrayAt(0);
  EXPECT_EQ(*rec.Find("path")->AsString(), "/v1/messages");
  json::Value headers = *rec.Find("headers");
  EXPECT_EQ(*headers.Find("x-api-key")->AsString(), "test-key");
  EXPECT_EQ(*headers.Find("anthropic-version")->AsString(), "2023-06-01");
  EXPECT_FALSE(headers.Find("authorization").has_value());
  json::Value body = *rec.Find("body");
  EXPECT_EQ(*body.Find("system")->AsString(), "KNOWLEDGE: sky is green");
  EXPECT_EQ(body.Find("messages")->ArraySize(), 3u);
  EXPECT_EQ(*body.Find("max_tokens")->AsInt64(), 200);
}

TEST_F(AdaptersTest, AnthropicNonStreamingRetriesAndErrors) {
  FakeLlm fake;
  auto provider = MakeProvider(LlmProvider::kAnthropic, FastOptions(fake));
  ChatRequest r = Ask("plain");
  r.stream = false;
  CallOutcome plain = Call(*provider, r);
  ASSERT_TRUE(plain.result.ok()) << plain.result.error_detail;
  EXPECT_EQ(plain.result.text, "You said: plain");
  EXPECT_EQ(plain.result.usage.completion_tokens, 3);

  CallOutcome retried = Call(*provider, Ask("busy [[fake:status=529,fail_first=1]]"));
  ASSERT_TRUE(retried.result.ok()) << retried.result.error_detail;
  EXPECT_EQ(retried.result.attempts, 2);

  CallOutcome overloaded = Call(*provider, Ask("mid [[fake:tokens=5,error_after=2]]"));
  EXPECT_EQ(overloaded.result.error, ErrorKind::kServerError);
  EXPECT_EQ(overloaded.result.text, "You said:");
  EXPECT_NE(overloaded.result.error_detail.find("overloaded_error"), std::string::npos);

  CallOutcome dropped = Call(*provider, Ask("cut [[fake:tokens=5,drop_after=1]]"));
  EXPECT_EQ(dropped.result.error, ErrorKind::kConnectionLost);
  EXPECT_EQ(dropped.result.text, "You");
}

TEST_F(AdaptersTest, FactoryFollowsConfig) {
  Config config;
  EXPECT_EQ(MakeProvider(config).status().code(), ErrorCode::kLlmUnavailable);
  config.llm_base_url = "http://127.0.0.1:9/v1";
  config.llm_provider = LlmProvider::kAnthropic;
  config.llm_timeout_s = 7;
  config.llm_idle_timeout_s = 3;
  config.llm_max_retries = 4;
  Result<std::unique_ptr<Provider>> p = MakeProvider(config);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->name(), "anthropic");
  EXPECT_EQ((*p)->options().total_timeout, milliseconds(7000));
  EXPECT_EQ((*p)->options().idle_timeout, std::chrono::seconds(3));
  EXPECT_EQ((*p)->options().max_retries, 4);
  config.llm_provider = LlmProvider::kOpenAi;
  EXPECT_EQ((*MakeProvider(config))->name(), "openai");
}

}  // namespace
}  // namespace chatd::llm
