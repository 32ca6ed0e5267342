// Fan-out of stored and ephemeral events. See hub.h.

#include "push/hub.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>

#include "core/log.h"
#include "json/json.h"
#include "push/ws_session.h"

namespace chatd::push {
namespace {

// The event log (sql/0008). Its xids are selected as text under another name: ORDER BY xid would
// otherwise sort by the text column of that name ("1000" before "964"). The horizon is the oldest
// transaction still running: every event below it is final, so a reader that has read everything
// below it in (xid, id) order never sees an event appear behind its position. One statement each,
// so the horizon and the rows agree.
constexpr const char* kTail =
    "SELECT xid::text AS xid_text, id FROM events "
    "WHERE xid < (SELECT pg_snapshot_xmin(pg_current_snapshot())) "
    "ORDER BY events.xid DESC, id DESC LIMIT 1";
// The events after the position and below the horizon, in order; `held`: committed events wait at
// or beyond the horizon (a transaction older than them is still open). The horizon row comes even
// when no event does (LEFT JOIN).
constexpr int kReadBatch = 1000;
constexpr const char* kEventsAfter =
    "SELECT h.horizon::text, h.held, e.xid::text, e.id, e.kind, e.conversation_id::text, "
    "e.payload::text, e.recipients::text "
    "FROM (SELECT s.x AS horizon, EXISTS (SELECT 1 FROM events WHERE xid >= s.x) AS held "
    "      FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x) s) h "
    "LEFT JOIN LATERAL (SELECT xid, id, kind, conversation_id, payload, recipients FROM events "
    "  WHERE (xid, id) > ($1::xid8, $2::bigint) AND xid < h.horizon "
    "  ORDER BY xid, id LIMIT 1000) e ON true "
    "ORDER BY e.xid, e.id";
// The stall fallback: committed events at or beyond a horizon that has not moved for a while,
// except those already delivered that way.
constexpr const char* kEventsAhead =
    "SELECT xid::text AS xid_text, id, kind, conversation_id::text, payload::text, "
    "recipients::text FROM events WHERE xid >= $1::xid8 AND NOT (id = ANY($2::bigint[])) "
    "ORDER BY events.xid, id LIMIT 1000";
constexpr const char* kReplay =
    "SELECT xid::text AS xid_text, id, kind, conversation_id::text, payload::text FROM events "
    "WHERE (xid, id) > ($1::xid8, $2::bigint) AND (xid, id) <= ($3::xid8, $4::bigint) "
    "AND $5::uuid = ANY(recipients) ORDER BY events.xid, id LIMIT 10000";
constexpr const char* kReplayAhead =
    "SELECT xid::text AS xid_text, id, kind, conversation_id::text, payload::text FROM events "
    "WHERE (xid, id) > ($1::xid8, $2::bigint) AND id = ANY($3::bigint[]) "
    "AND $4::uuid = ANY(recipients) ORDER BY events.xid, id";
// Whether a resume can start at a position: its event is still kept, and it is not from the
// future (a log restored from a dump into a cluster whose xids start lower, docs/operations.md).
constexpr const char* kPositionKept =
    "SELECT EXISTS (SELECT 1 FROM events WHERE id = $2::bigint AND xid = $1::xid8) "
    "AND $1::xid8 < pg_snapshot_xmax(pg_current_snapshot())";
// The zero position (the start of a log that was empty) is resumable while nothing was collected.
constexpr const char* kLogUncollected = "SELECT coalesce((SELECT min(id) FROM events) <= 1, true)";
// A cursor handed out before sql/0008 (a bare id): the position of that event, when still kept.
constexpr const char* kLegacyPosition = "SELECT xid::text FROM events WHERE id = $1::bigint";
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
            ReadEvents();
          },
          [this] { FlushEvents(); }),
      heartbeat_timer_(io),
      read_timer_(io),
      daemon_(DaemonName()) {}

namespace {

std::optional<uint64_t> ParseXid(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return v;
}

int64_t ParseId(const std::optional<std::string>& text) {
  int64_t v = 0;
  if (text) std::from_chars(text->data(), text->data() + text->size(), v);
  return v;
}

}  // namespace

void Hub::Start() {
  if (auto rows = pg_.Query(kTail, {}); rows && !rows->empty()) {
    if (auto xid = ParseXid((*rows)[0][0])) position_ = {*xid, ParseId((*rows)[0][1])};
  }
  pg_.Start();
  ScheduleHeartbeat();
  ScheduleRead(kPollEvery);
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
  read_timer_.cancel();
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

std::optional<EventPosition> Hub::ResolveCursor(const ResumeCursor& cursor) {
  if (cursor.legacy) {
    auto rows = pg_.Query(kLegacyPosition, {std::to_string(cursor.position.id)});
    if (!rows || rows->empty()) return std::nullopt;
    auto xid = ParseXid((*rows)[0][0]);
    if (!xid) return std::nullopt;
    return EventPosition{*xid, cursor.position.id};
  }
  if (cursor.position.zero()) {
    auto rows = pg_.Query(kLogUncollected, {});
    if (!rows || rows->empty() || (*rows)[0][0].value_or("f") != "t") return std::nullopt;
    return cursor.position;
  }
  auto rows = pg_.Query(kPositionKept,
                        {std::to_string(cursor.position.xid), std::to_string(cursor.position.id)});
  if (!rows || rows->empty() || (*rows)[0][0].value_or("f") != "t") return std::nullopt;
  return cursor.position;
}

bool Hub::Replay(WsSession& session, EventPosition from) {
  if (from < position_) {
    auto rows = pg_.Query(
        kReplay, {std::to_string(from.xid), std::to_string(from.id), std::to_string(position_.xid),
                  std::to_string(position_.id), session.user_id()});
    if (!rows) return false;
    for (const auto& row : *rows) {
      EventPosition at{ParseXid(row[0]).value_or(0), ParseId(row[1])};
      session.SendText(RenderEventFrame(FormatCursor(at), *row[2], row[3], row[4].value_or("{}")));
    }
    metrics_.replayed += rows->size();
  }
  // What the stall fallback delivered beyond the position (docs/websocket.md): replayed too, with
  // the position as their cursor, as they went out live.
  if (!ahead_.empty()) {
    auto rows = pg_.Query(kReplayAhead, {std::to_string(from.xid), std::to_string(from.id),
                                         AheadIdsLiteral(), session.user_id()});
    if (!rows) return false;
    for (const auto& row : *rows) {
      session.SendText(
          RenderEventFrame(FormatCursor(position_), *row[2], row[3], row[4].value_or("{}")));
    }
    metrics_.replayed += rows->size();
  }
  return true;
}

void Hub::OnNotify(const std::string& channel, const std::string& payload) {
  if (channel == "chatd_events") {
    // A payload-free wake-up: deferred to the end of this read of notifications (or to the next
    // ephemeral frame, which should not overtake an event committed before it), so a burst of
    // wake-ups is one query.
    wake_pending_ = true;
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
    DeliverToUsers(users, std::make_shared<const std::string>(frame->Serialize()), exclude,
                   std::nullopt);
  }
}

void Hub::FlushEvents() {
  if (!wake_pending_) return;
  wake_pending_ = false;
  ReadEvents();
}

void Hub::ScheduleRead(std::chrono::milliseconds after) {
  read_timer_.expires_after(after);
  read_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) ReadEvents();
  });
}

std::string Hub::AheadIdsLiteral() const {
  std::string out = "{";
  for (const auto& at : ahead_) {
    if (out.size() > 1) out += ',';
    out += std::to_string(at.id);
  }
  out += '}';
  return out;
}

void Hub::DeliverEventRow(const EventPosition& at, const std::string& cursor, const Row& row,
                          size_t kind_col) {
  auto frame = std::make_shared<const std::string>(RenderEventFrame(
      cursor, *row[kind_col], row[kind_col + 1], row[kind_col + 2].value_or("{}")));
  DeliverToUsers(ParseUuidArray(row[kind_col + 3].value_or("{}")), frame, "", at);
  ++metrics_.events;
}

void Hub::ReadEvents() {
  const auto now = std::chrono::steady_clock::now();
  bool held = false;
  std::optional<uint64_t> horizon;
  for (;;) {
    auto rows =
        pg_.Query(kEventsAfter, {std::to_string(position_.xid), std::to_string(position_.id)});
    if (!rows || rows->empty()) {
      ScheduleRead(kPollEvery);  // retried on the next wake-up, poll or reconnect
      return;
    }
    horizon = ParseXid((*rows)[0][0]);
    held = (*rows)[0][1].value_or("f") == "t";
    size_t events = 0;
    for (const auto& row : *rows) {
      if (!row[2]) continue;  // the horizon row alone: nothing new below it
      ++events;
      EventPosition at{ParseXid(row[2]).value_or(0), ParseId(row[3])};
      position_ = std::max(position_, at);
      // Already delivered by the stall fallback: the horizon has now passed it.
      if (ahead_.erase(at) > 0) continue;
      DeliverEventRow(at, FormatCursor(at), row, 4);
    }
    if (events < static_cast<size_t>(kReadBatch)) break;
  }
  // Whatever the fallback delivered that the position has passed is settled.
  while (!ahead_.empty() && *ahead_.begin() <= position_) ahead_.erase(ahead_.begin());

  // Held events wait for older transactions to end. Look again soon (the transactions that hold
  // them may write no event and so wake nobody), backing off while the horizon stands still.
  if (!held) {
    held_since_.reset();
    stalled_horizon_.reset();
    metrics_.stalled_ms = 0;
    retry_after_ = kRetryFirst;
    ScheduleRead(kPollEvery);
    return;
  }
  if (horizon != stalled_horizon_) {
    stalled_horizon_ = horizon;
    held_since_ = now;
    retry_after_ = kRetryFirst;
  } else {
    retry_after_ = std::min(retry_after_ * 2, kRetryMax);
  }
  metrics_.stalled_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - *held_since_).count());
  if (now - *held_since_ >= kStallAfter && horizon) DeliverAhead(*horizon);
  ScheduleRead(retry_after_);
}

void Hub::DeliverAhead(uint64_t horizon) {
  if (ahead_.size() >= kAheadMax) return;  // bounded: beyond it, events wait for the horizon
  auto rows = pg_.Query(kEventsAhead, {std::to_string(horizon), AheadIdsLiteral()});
  if (!rows) return;
  if (!rows->empty() && ahead_.empty()) {
    LogWarn("push: the event log's horizon has not moved; delivering committed events ahead of it")
        .Int("horizon_xid", static_cast<int64_t>(horizon))
        .Int("stalled_ms", static_cast<int64_t>(metrics_.stalled_ms));
  }
  for (const auto& row : *rows) {
    if (ahead_.size() >= kAheadMax) break;
    EventPosition at{ParseXid(row[0]).value_or(0), ParseId(row[1])};
    ahead_.insert(at);
    // The cursor stays the in-order position: a client that resumes from it gets these again
    // (at least once) rather than skip what commits behind them.
    DeliverEventRow(at, FormatCursor(position_), row, 2);
    ++metrics_.delivered_ahead;
  }
}

void Hub::DeliverToUsers(const std::vector<std::string>& users,
                         const std::shared_ptr<const std::string>& frame,
                         const std::string& exclude_user, std::optional<EventPosition> at) {
  for (const auto& user : users) {
    if (user == exclude_user) continue;
    auto it = by_user_.find(user);
    if (it == by_user_.end()) continue;
    // Copy: Send may close a slow session, which unregisters it from this very vector.
    auto sessions = it->second;
    for (auto& weak : sessions) {
      if (auto s = weak.lock()) {
        // A client that resumed from a cursor this daemon had not reached yet (it was connected
        // to another one) already has the events up to it.
        if (at && *at <= s->resumed_at()) continue;
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
  metric("chatd_push_event_horizon_stalled_ms", "gauge",
         "How long committed events have waited behind an open transaction (0: none wait).",
         m.stalled_ms);
  metric("chatd_push_events_delivered_ahead_total", "counter",
         "Events delivered ahead of a stalled horizon (at least once across a resume).",
         m.delivered_ahead);
  return out;
}

}  // namespace chatd::push
