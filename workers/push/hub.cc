// Fan-out of stored and ephemeral events. See hub.h.

#include "push/hub.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "core/log.h"
#include "json/json.h"
#include "push/ws_session.h"

namespace chatd::push {
namespace {

constexpr const char* kLatestEvent = "SELECT coalesce(max(id), 0) FROM events";
constexpr const char* kOldestEvent = "SELECT min(id) FROM events";
// Every event after the last delivered one, in commit order (ids are assigned under emit_event's
// lock, so id order is commit order).
constexpr const char* kEventsAfter =
    "SELECT id, kind, conversation_id::text, payload::text, recipients::text FROM events "
    "WHERE id > $1::bigint AND id <= $2::bigint ORDER BY id";
constexpr const char* kReplay =
    "SELECT id, kind, conversation_id::text, payload::text FROM events "
    "WHERE id > $1::bigint AND id <= $2::bigint AND $3::uuid = ANY(recipients) ORDER BY id LIMIT "
    "10000";
constexpr const char* kMembers =
    "SELECT user_id::text FROM conversation_members WHERE conversation_id = $1::uuid";
constexpr const char* kPublishEphemeral = "SELECT pg_notify('chatd_ephemeral', $1)";
// WS_MAX_PER_USER across daemons (sql/0007).
constexpr int kWsStaleSeconds = 90;
constexpr auto kWsHeartbeatEvery = std::chrono::seconds(30);
constexpr const char* kWsRegister =
    "SELECT ws_register($1::uuid, $2, $3::integer, $4::integer)::text";
constexpr const char* kWsUnregister = "DELETE FROM ws_sessions WHERE id = $1::uuid";
constexpr const char* kWsHeartbeat =
    "UPDATE ws_sessions SET heartbeat_at = now() WHERE daemon = $1";
constexpr const char* kWsForgetStale =
    "DELETE FROM ws_sessions WHERE heartbeat_at < now() - make_interval(secs => $1::integer)";

// "host:pid:random": unique per daemon run, so a restarted daemon never refreshes a dead one's
// rows.
std::string DaemonName() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  char suffix[17];
  snprintf(suffix, sizeof suffix, "%08x%08x", rd(), rd());
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + suffix;
}

}  // namespace

std::vector<std::string> ParseUuidArray(const std::string& text) {
  std::vector<std::string> out;
  std::string_view s = text;
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return out;
  s = s.substr(1, s.size() - 2);
  while (!s.empty()) {
    auto comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

std::string RenderEventFrame(const std::string& id, const std::string& kind,
                             const std::optional<std::string>& conversation_id,
                             const std::string& payload_json) {
  json::Writer head;
  head.StartObject().Field("type", kind).Field("cursor", id);
  auto payload = json::Document::Parse(payload_json, json::ParseLimits{16 * 1024 * 1024, 64});
  bool payload_has_conversation =
      payload.ok() && payload->root().Find("conversation_id").has_value();
  if (conversation_id && !payload_has_conversation) head.Field("conversation_id", *conversation_id);
  std::string frame = head.Take();  // "{...}" still open: the writer closes nothing we did not end
  // Splice the payload's members after ours: the payload is a JSON object written by the workers.
  std::string_view inner = payload_json;
  auto open = inner.find('{');
  auto close = inner.rfind('}');
  if (payload.ok() && open != std::string_view::npos && close != std::string_view::npos &&
      close > open) {
    inner = inner.substr(open + 1, close - open - 1);
    bool empty = inner.find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (!empty) {
      frame += ',';
      frame += inner;
    }
  }
  frame += '}';
  return frame;
}

Hub::Hub(boost::asio::io_context& io, const Config& config)
    : config_(config),
      jwt_(config),
      pg_(
          io, config.database_url,
          [this](const std::string& channel, const std::string& payload) {
            OnNotify(channel, payload);
          },
          [this] {
            ++metrics_.listener_reconnects;
            CatchUp(INT64_MAX);
          },
          [this] { FlushEvents(); }),
      heartbeat_timer_(io),
      daemon_(DaemonName()) {}

void Hub::Start() {
  if (auto rows = pg_.Query(kLatestEvent, {}); rows && !rows->empty() && (*rows)[0][0]) {
    last_event_id_ = std::stoll(*(*rows)[0][0]);
  }
  pg_.Start();
  ScheduleHeartbeat();
}

void Hub::ScheduleHeartbeat() {
  heartbeat_timer_.expires_after(kWsHeartbeatEvery);
  heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    pg_.Query(kWsHeartbeat, {daemon_});
    pg_.Query(kWsForgetStale, {std::to_string(kWsStaleSeconds)});
    ScheduleHeartbeat();
  });
}

void Hub::Stop() {
  heartbeat_timer_.cancel();
  for (const auto& [session, id] : ws_ids_) pg_.Query(kWsUnregister, {id});
  ws_ids_.clear();
  pg_.Stop();
  for (auto& [user, sessions] : by_user_) {
    for (auto& weak : sessions) {
      if (auto s = weak.lock()) s->Close(1001, "server shutting down");
    }
  }
}

size_t Hub::connections() const {
  size_t n = 0;
  for (const auto& [user, sessions] : by_user_) n += sessions.size();
  return n;
}

bool Hub::Register(const std::shared_ptr<WsSession>& session) {
  auto& sessions = by_user_[session->user_id()];
  sessions.erase(
      std::remove_if(sessions.begin(), sessions.end(), [](const auto& w) { return w.expired(); }),
      sessions.end());
  if (static_cast<int>(sessions.size()) >= config_.ws_max_per_user) return false;
  // Across daemons: the user's live connections everywhere. Without the database (it is down)
  // the local count above still bounds the user on this daemon: fail open rather than refuse
  // every connection.
  auto rows =
      pg_.Query(kWsRegister, {session->user_id(), daemon_, std::to_string(config_.ws_max_per_user),
                              std::to_string(kWsStaleSeconds)});
  if (rows && !rows->empty()) {
    if (!(*rows)[0][0]) {  // NULL: the user is at the cap on the daemons together
      if (sessions.empty()) by_user_.erase(session->user_id());
      return false;
    }
    ws_ids_[session.get()] = *(*rows)[0][0];
  }
  sessions.push_back(session);
  return true;
}

void Hub::Unregister(const WsSession* session) {
  if (auto id = ws_ids_.find(session); id != ws_ids_.end()) {
    pg_.Query(kWsUnregister, {id->second});
    ws_ids_.erase(id);
  }
  auto it = by_user_.find(session->user_id());
  if (it == by_user_.end()) return;
  auto& sessions = it->second;
  sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                [session](const auto& w) {
                                  auto s = w.lock();
                                  return !s || s.get() == session;
                                }),
                 sessions.end());
  if (sessions.empty()) by_user_.erase(it);
}

bool Hub::Replay(WsSession& session, int64_t cursor) {
  if (cursor >= last_event_id_) return true;
  auto oldest = pg_.Query(kOldestEvent, {});
  if (oldest && !oldest->empty() && (*oldest)[0][0] && std::stoll(*(*oldest)[0][0]) > cursor + 1) {
    // Events after the cursor were already collected: the client cannot be brought up to date
    // from the log and must refetch what it shows.
    ++metrics_.replays_expired;
    return false;
  }
  auto rows = pg_.Query(
      kReplay, {std::to_string(cursor), std::to_string(last_event_id_), session.user_id()});
  if (!rows) return false;
  for (const auto& row : *rows) {
    session.SendText(RenderEventFrame(*row[0], *row[1], row[2], row[3].value_or("{}")));
  }
  metrics_.replayed += rows->size();
  return true;
}

void Hub::OnNotify(const std::string& channel, const std::string& payload) {
  if (channel == "chatd_events") {
    int64_t id = 0;
    try {
      id = std::stoll(payload);
    } catch (...) {
      return;
    }
    // Deferred to the end of this read of notifications (or to the next ephemeral frame, which
    // must not overtake an event committed before it): a burst of events is one query.
    pending_event_id_ = std::max(pending_event_id_, id);
    return;
  }
  if (channel == "chatd_ephemeral") {
    FlushEvents();
    auto doc = json::Document::Parse(payload, json::ParseLimits{16 * 1024, 8});
    if (!doc.ok()) return;
    auto recipients = doc->root().Find("recipients");
    auto frame = doc->root().Find("frame");
    if (!recipients || !frame || !frame->is_object()) return;
    ++metrics_.ephemeral;
    std::vector<std::string> users;
    for (size_t i = 0; i < recipients->ArraySize(); ++i) {
      if (auto u = recipients->ArrayAt(i).AsString()) users.emplace_back(*u);
    }
    std::string exclude;
    if (auto e = doc->root().Find("exclude")) exclude = std::string(e->AsString().value_or(""));
    DeliverToUsers(users, std::make_shared<const std::string>(frame->Serialize()), exclude);
  }
}

void Hub::FlushEvents() {
  if (pending_event_id_ > last_event_id_) CatchUp(pending_event_id_);
  pending_event_id_ = 0;
}

void Hub::CatchUp(int64_t up_to) {
  auto rows = pg_.Query(kEventsAfter, {std::to_string(last_event_id_), std::to_string(up_to)});
  if (!rows) return;  // retried on the next notification or reconnect
  for (const auto& row : *rows) {
    const std::string& id = *row[0];
    auto frame = std::make_shared<const std::string>(
        RenderEventFrame(id, *row[1], row[2], row[3].value_or("{}")));
    DeliverToUsers(ParseUuidArray(row[4].value_or("{}")), frame, "");
    ++metrics_.events;
    last_event_id_ = std::max<int64_t>(last_event_id_, std::stoll(id));
  }
}

void Hub::DeliverToUsers(const std::vector<std::string>& users,
                         const std::shared_ptr<const std::string>& frame,
                         const std::string& exclude_user) {
  for (const auto& user : users) {
    if (user == exclude_user) continue;
    auto it = by_user_.find(user);
    if (it == by_user_.end()) continue;
    // Copy: Send may close a slow session, which unregisters it from this very vector.
    auto sessions = it->second;
    for (auto& weak : sessions) {
      if (auto s = weak.lock()) {
        s->Send(frame);
        ++metrics_.frames_sent;
      }
    }
  }
}

void Hub::Typing(WsSession& session, const std::string& conversation_id) {
  auto rows = pg_.Query(kMembers, {conversation_id});
  if (!rows) return;
  std::vector<std::string> members;
  for (const auto& row : *rows) members.push_back(*row[0]);
  if (std::find(members.begin(), members.end(), session.user_id()) == members.end()) {
    session.SendText(
        R"({"type":"error","code":"NOT_FOUND","detail":"That conversation was not found."})");
    return;
  }
  json::Writer w;
  w.StartObject().Key("recipients").StartArray();
  for (const auto& m : members) w.String(m);
  w.EndArray().Field("exclude", session.user_id());
  w.Key("frame")
      .StartObject()
      .Field("type", "typing")
      .Field("conversation_id", conversation_id)
      .Field("user_id", session.user_id())
      .EndObject();
  w.EndObject();
  pg_.Query(kPublishEphemeral, {w.Take()});
}

std::string RenderPushMetrics(const PushMetrics& m, size_t connections, size_t users) {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, uint64_t value) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    out.append(name).append(" ").append(std::to_string(value)).append("\n");
  };
  metric("chatd_push_connections", "gauge", "Authenticated WebSocket connections.", connections);
  metric("chatd_push_users", "gauge", "Users with at least one connection.", users);
  metric("chatd_push_handshakes_total", "counter", "WebSocket upgrades accepted.", m.handshakes);
  metric("chatd_push_origin_refused_total", "counter", "Upgrades refused for their Origin.",
         m.origin_refused);
  metric("chatd_push_auth_failures_total", "counter",
         "Connections closed 4001 for a bad, missing or expired token.", m.auth_failures);
  metric("chatd_push_token_expiries_total", "counter",
         "Connections closed 4001 when their token expired.", m.token_expiries);
  metric("chatd_push_over_limit_total", "counter", "Connections closed 4429 over WS_MAX_PER_USER.",
         m.over_limit);
  metric("chatd_push_slow_consumers_total", "counter",
         "Connections closed 4008 because their send queue overflowed.", m.slow_consumers);
  metric("chatd_push_events_total", "counter", "Stored events fanned out.", m.events);
  metric("chatd_push_ephemeral_total", "counter", "Typing and delta frames fanned out.",
         m.ephemeral);
  metric("chatd_push_frames_sent_total", "counter",
         "Event and ephemeral frames queued on connections (not replays).", m.frames_sent);
  metric("chatd_push_replayed_events_total", "counter", "Events replayed to resuming clients.",
         m.replayed);
  metric("chatd_push_replays_expired_total", "counter",
         "Resumes from a cursor older than the kept event log.", m.replays_expired);
  metric("chatd_push_listener_reconnects_total", "counter",
         "Times the LISTEN connection to PostgreSQL was re-established.", m.listener_reconnects);
  return out;
}

}  // namespace chatd::push
