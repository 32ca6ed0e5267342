// The per-process registry of replies in flight and its background thread. See reply_bus.h.

#include "api/reply_bus.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/log.h"
#include "core/text.h"
#include "json/json.h"
#include "store/generations_repo.h"
#include "store/replies_repo.h"
#include "store/side_connection.h"

namespace chatd::api {
namespace {

using Clock = std::chrono::steady_clock;

// One statement sends every notification of a tick, in order.
constexpr const char* kPublishSql =
    "SELECT pg_notify('chatd_ephemeral', p) "
    "FROM jsonb_array_elements_text(CAST($1 AS jsonb)) WITH ORDINALITY AS t(p, n) ORDER BY n";

// The bytes `c` (one code point, UTF-8) takes inside a JSON string, as json::Writer writes it
// (control characters as \uXXXX at worst).
size_t EscapedSize(std::string_view c) {
  if (c.size() == 1) {
    unsigned char b = static_cast<unsigned char>(c[0]);
    if (b < 0x20) return 6;
    if (b == '"' || b == '\\') return 2;
  }
  return c.size();
}

size_t CodePointLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

std::string Envelope(const std::vector<std::string>& recipients, const std::string& conversation_id,
                     const std::string& message_id, size_t offset, std::string_view content) {
  json::Writer w;
  w.StartObject().Key("recipients").StartArray();
  for (const auto& r : recipients) w.String(r);
  w.EndArray();
  w.Key("frame")
      .StartObject()
      .Field("type", "message.delta")
      .Field("conversation_id", conversation_id)
      .Field("message_id", message_id)
      .Field("offset", static_cast<int64_t>(offset))
      .Field("content", content)
      .EndObject();
  w.EndObject();
  return w.Take();
}

std::string JsonStringArray(const std::vector<std::string>& items) {
  json::Writer w;
  w.StartArray();
  for (const auto& s : items) w.String(s);
  w.EndArray();
  return w.Take();
}

}  // namespace

std::vector<std::string> DeltaEnvelopes(const std::vector<std::string>& recipients,
                                        const std::string& conversation_id,
                                        const std::string& message_id, size_t offset,
                                        std::string_view text) {
  std::vector<std::string> out;
  // The empty envelope, plus room for the offset growing by a few digits.
  const size_t base = Envelope(recipients, conversation_id, message_id, offset, "").size() + 20;
  if (base >= kMaxEnvelopeBytes) return out;  // cannot happen with <= 100 members
  const size_t room = kMaxEnvelopeBytes - base;
  while (!text.empty()) {
    size_t bytes = 0, escaped = 0, chars = 0;
    while (bytes < text.size()) {
      size_t len =
          std::min(CodePointLength(static_cast<unsigned char>(text[bytes])), text.size() - bytes);
      size_t esc = EscapedSize(text.substr(bytes, len));
      if (escaped + esc > room) break;
      escaped += esc;
      bytes += len;
      ++chars;
    }
    if (bytes == 0) break;  // not even one character fits (cannot happen: room is kilobytes)
    out.push_back(Envelope(recipients, conversation_id, message_id, offset, text.substr(0, bytes)));
    offset += chars;
    text.remove_prefix(bytes);
  }
  return out;
}

ReplyBus::ReplyBus(Options options) : options_(std::move(options)) {}

ReplyBus::~ReplyBus() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  for (int fd : wake_pipe_) {
    if (fd >= 0) close(fd);
  }
}

void ReplyBus::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    LogError("reply bus: cannot create its wake-up pipe; stop and deltas are local only");
    return;
  }
  conn_ = std::make_unique<store::SideConnection>(options_.database_url);
  conn_->Listen(store::kStopChannel);
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void ReplyBus::Wake() {
  if (wake_pipe_[1] >= 0) {
    char b = 1;
    [[maybe_unused]] ssize_t n = write(wake_pipe_[1], &b, 1);  // full pipe: a wake-up is pending
  }
}

std::shared_ptr<llm::AbortSignal> ReplyBus::Register(const std::string& message_id,
                                                     const std::string& conversation_id,
                                                     std::vector<std::string> recipients) {
  auto signal = std::make_shared<llm::AbortSignal>();
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) signal->Abort();
  Entry& e = entries_[message_id];
  e.conversation_id = conversation_id;
  e.recipients = std::move(recipients);
  e.abort = signal;
  return signal;
}

void ReplyBus::Append(const std::string& message_id, std::string_view delta) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(message_id);
    if (it == entries_.end()) return;
    it->second.text.append(delta);
    // Only a thread in its long idle sleep needs waking; otherwise it ticks every 100 ms anyway.
    wake = idle_wait_;
    idle_wait_ = false;
  }
  if (wake) Wake();
}

void ReplyBus::Finish(const std::string& message_id, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(message_id);
  if (it == entries_.end()) return;
  if (!running_) {
    entries_.erase(it);
    return;
  }
  it->second.finishing = true;
  lock.unlock();
  Wake();
  lock.lock();
  finished_cv_.wait_for(lock, wait, [&] { return entries_.count(message_id) == 0; });
  entries_.erase(message_id);  // the bus thread is stuck (database gone): give up on the deltas
}

void ReplyBus::Forget(const std::string& message_id) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(message_id);
}

bool ReplyBus::Abort(const std::string& message_id) {
  std::shared_ptr<llm::AbortSignal> signal;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(message_id);
    if (it == entries_.end()) return false;
    signal = it->second.abort;
  }
  signal->Abort();
  return true;
}

void ReplyBus::AbortAll() {
  std::vector<std::shared_ptr<llm::AbortSignal>> signals;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    for (auto& [id, e] : entries_) signals.push_back(e.abort);
  }
  if (!signals.empty()) {
    LogInfo("shutdown: interrupting replies in flight")
        .Int("replies", static_cast<int64_t>(signals.size()));
  }
  for (auto& s : signals) s->Abort();
}

bool ReplyBus::shutting_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

size_t ReplyBus::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

// ---- The bus thread -----------------------------------------------------------------------------

void ReplyBus::EnsureConnected() {
  if (conn_->connected()) return;
  Clock::time_point now = Clock::now();
  if (now < next_connect_) return;
  if (!conn_->Connect()) {
    next_connect_ = now + std::chrono::seconds(1);
    return;
  }
  // Stops sent while we were away are lost as notifications: ask for them.
  CatchUpStops();
}

void ReplyBus::AbortIds(const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (Abort(id)) LogInfo("reply stopped").Str("message_id", id);
  }
}

void ReplyBus::HandleNotification(const std::string& payload) {
  auto doc = json::Document::Parse(payload, json::ParseLimits{16 * 1024, 8});
  if (!doc.ok()) return;
  auto ids = doc->root().Find("message_ids");
  if (!ids || !ids->is_array()) return;
  std::vector<std::string> list;
  for (size_t i = 0; i < ids->ArraySize(); ++i) {
    if (auto id = ids->ArrayAt(i).AsString()) list.emplace_back(*id);
  }
  AbortIds(list);
}

void ReplyBus::CatchUpStops() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, e] : entries_) ids.push_back(id);
  }
  if (ids.empty()) return;
  auto rows = conn_->Exec(store::kStopRequestedSql, {JsonStringArray(ids)});
  if (!rows) return;
  std::vector<std::string> stopped;
  for (const auto& row : *rows) {
    if (row[0]) stopped.push_back(*row[0]);
  }
  AbortIds(stopped);
}

void ReplyBus::Publish() {
  std::vector<std::string> payloads;
  std::vector<std::string> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, e] : entries_) {
      if (e.published_bytes < e.text.size()) {
        std::string_view fresh = std::string_view(e.text).substr(e.published_bytes);
        for (auto& envelope :
             DeltaEnvelopes(e.recipients, e.conversation_id, id, e.published_chars, fresh)) {
          payloads.push_back(std::move(envelope));
        }
        e.published_chars += CountChars(fresh);
        e.published_bytes = e.text.size();
      }
      if (e.finishing) finished.push_back(id);
    }
  }
  if (!payloads.empty() && conn_->connected()) {
    // Deltas are transient: a batch that fails is dropped (clients fetch the message on a gap).
    conn_->Exec(kPublishSql, {JsonStringArray(payloads)});
  }
  if (!finished.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& id : finished) entries_.erase(id);
    finished_cv_.notify_all();
  }
}

void ReplyBus::WriteProgress(bool heartbeat_due, bool only_new) {
  std::string partial_json;
  std::vector<std::string> heartbeat_ids;
  std::vector<std::string> streaming;  // have text, so their rows committed long ago
  std::map<std::string, size_t> written;
  {
    std::lock_guard<std::mutex> lock(mu_);
    json::Writer w;
    w.StartArray();
    for (auto& [id, e] : entries_) {
      if (e.text.size() != e.stored_bytes && (!only_new || e.stored_bytes == 0)) {
        w.StartObject().Field("id", id).Field("content", e.text).EndObject();
        written[id] = e.text.size();
      }
      if (heartbeat_due) {
        heartbeat_ids.push_back(id);
        if (!e.text.empty()) streaming.push_back(id);
      }
    }
    w.EndArray();
    partial_json = w.Take();
  }
  if (!written.empty() && conn_->Exec(store::kUpdatePartialSql, {partial_json})) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, bytes] : written) {
      auto it = entries_.find(id);
      if (it != entries_.end()) it->second.stored_bytes = bytes;
    }
  }
  if (!heartbeat_ids.empty()) {
    auto rows = conn_->Exec(store::kHeartbeatSql, {JsonStringArray(heartbeat_ids)});
    if (rows) {
      std::vector<std::string> stopped;
      std::set<std::string> alive;
      for (const auto& row : *rows) {
        if (!row[0]) continue;
        alive.insert(*row[0]);
        if (row[1] && *row[1] == "t") stopped.push_back(*row[0]);
      }
      // A streaming reply whose generations row is gone lost its conversation (deleted) or was
      // finished by gc: nobody will read the rest, so stop paying for it.
      for (const std::string& id : streaming) {
        if (!alive.count(id)) stopped.push_back(id);
      }
      AbortIds(stopped);
    }
  }
}

void ReplyBus::Run() {
  Clock::time_point last_publish = Clock::now();
  Clock::time_point last_progress = Clock::now();
  Clock::time_point last_heartbeat = Clock::now();
  for (;;) {
    bool urgent = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
      for (const auto& [id, e] : entries_) {
        if (e.finishing || e.published_bytes < e.text.size()) {
          urgent = true;
          break;
        }
      }
      // While nothing is pending the thread sleeps up to a progress interval; Append wakes it.
      idle_wait_ = !urgent;
    }
    Clock::time_point now = Clock::now();
    auto wait = urgent ? options_.publish_interval - (now - last_publish)
                       : options_.progress_interval - (now - last_progress);
    int timeout_ms = static_cast<int>(
        std::clamp<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count(), 0,
                            options_.progress_interval.count()));
    pollfd fds[2] = {{wake_pipe_[0], POLLIN, 0}, {conn_->socket(), POLLIN, 0}};
    poll(fds, conn_->socket() >= 0 ? 2 : 1, timeout_ms);
    if (fds[0].revents & POLLIN) {
      char buf[64];
      while (read(wake_pipe_[0], buf, sizeof buf) > 0) {
      }
    }

    EnsureConnected();
    if (conn_->connected()) {
      for (const auto& n : conn_->Drain()) {
        if (n.channel == store::kStopChannel) HandleNotification(n.payload);
      }
    }

    now = Clock::now();
    bool finishing = false, never_stored = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      idle_wait_ = false;
      for (const auto& [id, e] : entries_) {
        finishing = finishing || e.finishing;
        never_stored = never_stored || (e.stored_bytes == 0 && !e.text.empty());
      }
    }
    if (finishing || now - last_publish >= options_.publish_interval) {
      Publish();
      last_publish = now;
      // A reply's first text is stored at once, so a device opening the conversation right
      // after the reply started already sees some; later text about once a second.
      if (never_stored && conn_->connected()) WriteProgress(false, true);
    }
    if (now - last_progress >= options_.progress_interval) {
      bool heartbeat_due = now - last_heartbeat >= options_.heartbeat_interval;
      if (conn_->connected()) WriteProgress(heartbeat_due, false);
      if (heartbeat_due) last_heartbeat = now;
      last_progress = now;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
  finished_cv_.notify_all();
}

}  // namespace chatd::api
