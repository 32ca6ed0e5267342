// The per-process side of replies in flight: a registry of the replies this worker process is
// generating (message id -> stop signal, text so far), and one background thread with its own
// PostgreSQL connection (store/side_connection.h, never a pool session) that
//
//   * LISTENs on chatd_stop (store::kStopChannel) and aborts the upstream call of every local
//     reply whose id a stop names, so POST /conversations/{id}/stop works from any device, worker
//     or machine; after (re)connecting it also asks which local replies were stopped meanwhile,
//     and the periodic heartbeat reports a stop flag too, so a lost notification costs at most a
//     heartbeat interval;
//   * publishes the text of each reply to the conversation's members as `message.delta` frames
//     (NOTIFY chatd_ephemeral, the push daemon's envelope {"recipients", "frame"}), batched: at
//     most one frame per reply per publish interval (100 ms, so ~10 per second), each under
//     PostgreSQL's 8,000-byte payload limit (a large batch is split);
//   * stores each reply's text so far (its first text at once, then about once a second:
//     store::kUpdatePartialSql), so a client that lists the conversation mid-reply sees status
//     `streaming` with the text so far, and refreshes the generations heartbeat every ten seconds
//     (a streaming reply whose generations row has vanished — its conversation was deleted — is
//     aborted then).
// All publishes of one tick go out in one statement, so hundreds of streams cost a few round
// trips per tick, not one per delta.
//
// Request threads call Register / Append / Finish (cheap: a mutex and a string append; the
// database work happens on the bus thread). Finish waits, briefly, until the reply's last deltas
// are published, so they precede the message.updated event of the stored reply.
//
// Shutdown: AbortAll() (from pool::App::BeginShutdown) aborts every reply of the process, which
// their threads then store as `interrupted`; replies registered afterwards start aborted.
//
// Threads: every public method is thread-safe. Start() once after fork; the destructor stops the
// thread.

#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "llm/provider.h"

namespace chatd::store {
class SideConnection;
}

namespace chatd::api {

// PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more; envelopes stay at or below this.
inline constexpr size_t kMaxEnvelopeBytes = 7800;

// The chatd_ephemeral envelopes that carry `text` (starting `offset` characters into the reply) as
// message.delta frames to `recipients`: {"recipients": [...], "frame": {"type": "message.delta",
// "conversation_id", "message_id", "offset", "content"}}, split at code-point boundaries so that
// each stays within kMaxEnvelopeBytes. Pure; exposed for tests.
std::vector<std::string> DeltaEnvelopes(const std::vector<std::string>& recipients,
                                        const std::string& conversation_id,
                                        const std::string& message_id, size_t offset,
                                        std::string_view text);

class ReplyBus {
 public:
  struct Options {
    std::string database_url;
    std::chrono::milliseconds publish_interval{100};
    std::chrono::milliseconds progress_interval{1000};
    std::chrono::milliseconds heartbeat_interval{10000};
  };

  explicit ReplyBus(Options options);
  ~ReplyBus();
  ReplyBus(const ReplyBus&) = delete;
  ReplyBus& operator=(const ReplyBus&) = delete;

  // Starts the background thread (once; later calls do nothing).
  void Start();

  // A reply about to stream: returns its stop signal (already aborted when the process is
  // shutting down). `recipients` get its deltas. Register before the reply's row commits, so a
  // stop that follows the commit always finds it here.
  std::shared_ptr<llm::AbortSignal> Register(const std::string& message_id,
                                             const std::string& conversation_id,
                                             std::vector<std::string> recipients);
  // New text of a registered reply.
  void Append(const std::string& message_id, std::string_view delta);
  // The reply ended: publishes what is pending, then forgets it. Waits up to `wait` for that.
  void Finish(const std::string& message_id,
              std::chrono::milliseconds wait = std::chrono::milliseconds(2000));
  // Forgets a reply without publishing (its transaction rolled back).
  void Forget(const std::string& message_id);
  // Aborts a local reply now (true when it runs here).
  bool Abort(const std::string& message_id);
  // Shutdown: aborts every reply of the process; later Register()s start aborted.
  void AbortAll();

  bool shutting_down() const;
  size_t active() const;

 private:
  struct Entry {
    std::string conversation_id;
    std::vector<std::string> recipients;
    std::shared_ptr<llm::AbortSignal> abort;
    std::string text;
    size_t published_bytes = 0;
    size_t published_chars = 0;
    size_t stored_bytes = 0;
    bool finishing = false;
  };

  void Run();
  void Wake();
  void EnsureConnected();
  void HandleNotification(const std::string& payload);
  void CatchUpStops();
  void AbortIds(const std::vector<std::string>& ids);
  void Publish();
  // Stores the text of replies whose text changed (only_new: of those never stored yet), and
  // refreshes the heartbeat of all when due.
  void WriteProgress(bool heartbeat_due, bool only_new);

  Options options_;
  std::unique_ptr<store::SideConnection> conn_;  // bus thread only
  std::chrono::steady_clock::time_point next_connect_;

  mutable std::mutex mu_;
  std::condition_variable finished_cv_;
  std::map<std::string, Entry> entries_;
  bool shutting_down_ = false;
  bool stopping_ = false;
  bool running_ = false;
  bool started_ = false;
  bool idle_wait_ = false;  // the bus thread sleeps up to a progress interval

  int wake_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace chatd::api
