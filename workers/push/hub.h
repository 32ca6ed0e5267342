// The hub: who is connected, and which frames reach whom.
//
// Connections register under their user id once authenticated: at most WS_MAX_PER_USER per user
// across every daemon of the deployment, counted in PostgreSQL (ws_sessions, sql/0007: a row per
// connection, refreshed by a heartbeat every 30 s, stale after 90 s), and never more than that on
// this daemon even while the database is unreachable. Stored events are read from the event log
// (sql/0008) in (xid, id) order and only below the horizon (the oldest transaction still
// running), from the daemon's position onwards: on each payload-free NOTIFY chatd_events that
// the workers send after their commits, on a poll every second (so a lost wake-up only delays),
// and every few milliseconds while committed events wait behind an open transaction. The hub
// renders each event's frame once and queues it on the connections of the event's recipients
// (the conversation's members when it happened). When the horizon stands still for
// kStallAfter (a long write transaction, a forgotten prepared one), the committed events beyond
// it are delivered anyway, in order, and remembered so that they are not sent twice when the
// horizon moves on; their frames carry the in-order position as cursor, so a client that resumes
// from one gets them again rather than miss what commits behind them (docs/websocket.md).
// Ephemeral frames (typing, message.delta) arrive whole on NOTIFY chatd_ephemeral with their
// recipients. A resuming client gets its missed events from the events table first, then the live
// ones; both come from one ordered sequence of positions, so nothing is lost or repeated across a
// reconnect.
//
// Single-threaded: every method runs on the io_context's thread.

#pragma once

#include <utility>  // before Boost 1.74's asio, which uses std::exchange under C++20

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/jwt.h"
#include "core/config.h"
#include "push/client_frame.h"
#include "push/event_position.h"
#include "push/pg_link.h"

namespace chatd::push {

class WsSession;

// What the daemon has done since it started, for GET /metrics (Prometheus text). Plain counters:
// everything runs on the io_context's one thread.
struct PushMetrics {
  uint64_t handshakes = 0;           // WebSocket upgrades accepted
  uint64_t origin_refused = 0;       // upgrades refused for their Origin (403)
  uint64_t auth_failures = 0;        // closed 4001: bad, missing or expired token at connect
  uint64_t token_expiries = 0;       // closed 4001 later, when the token ran out
  uint64_t over_limit = 0;           // closed 4429: WS_MAX_PER_USER reached
  uint64_t slow_consumers = 0;       // closed 4008: the send queue overflowed
  uint64_t events = 0;               // stored events fetched from the log and fanned out
  uint64_t ephemeral = 0;            // typing / message.delta frames received from PostgreSQL
  uint64_t frames_sent = 0;          // event and ephemeral frames queued on connections
  uint64_t replayed = 0;             // events replayed to resuming clients
  uint64_t replays_expired = 0;      // resumes whose cursor was older than the kept log
  uint64_t listener_reconnects = 0;  // LISTEN connection re-established after a loss
  uint64_t stalled_ms = 0;           // how long committed events have waited behind the horizon
  uint64_t delivered_ahead = 0;      // events delivered ahead of a stalled horizon
};

// The Prometheus text of `m` and the hub's gauges.
std::string RenderPushMetrics(const PushMetrics& m, size_t connections, size_t users);

class Hub {
 public:
  Hub(boost::asio::io_context& io, const Config& config);
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  void Start();
  void Stop();

  const Config& config() const { return config_; }
  const auth::JwtCodec& jwt() const { return jwt_; }

  // False when the user already has WS_MAX_PER_USER connections (on any daemon).
  bool Register(const std::shared_ptr<WsSession>& session);
  void Unregister(const WsSession* session);

  // The position of the newest event delivered in order so far.
  EventPosition position() const { return position_; }
  // The position a client's cursor stands for; nullopt when the log no longer holds it (collected,
  // or from a restored dump's xids): the client must refetch.
  std::optional<EventPosition> ResolveCursor(const ResumeCursor& cursor);
  // Queues the events after `from` that `session`'s user received, up to the daemon's position
  // (and those delivered ahead of a stalled horizon); false when the database could not be read.
  bool Replay(WsSession& session, EventPosition from);
  // A member's typing indicator, published to the other members through PostgreSQL.
  void Typing(WsSession& session, const std::string& conversation_id);

  size_t connections() const;
  size_t users() const { return by_user_.size(); }
  PushMetrics& metrics() { return metrics_; }

 private:
  static constexpr auto kPollEvery = std::chrono::milliseconds(1000);
  static constexpr auto kRetryFirst = std::chrono::milliseconds(2);
  static constexpr auto kRetryMax = std::chrono::milliseconds(64);
  static constexpr auto kStallAfter = std::chrono::milliseconds(2000);
  static constexpr size_t kAheadMax = 10000;

  void OnNotify(const std::string& channel, const std::string& payload);
  void ReadEvents();  // everything below the horizon after position_, then the next read
  void DeliverAhead(uint64_t horizon);  // the stall fallback
  void FlushEvents();                   // ReadEvents when a wake-up came since the last flush
  void ScheduleRead(std::chrono::milliseconds after);
  void ScheduleHeartbeat();  // ws_sessions rows of this daemon kept live, stale ones forgotten
  std::string AheadIdsLiteral() const;  // ahead_'s ids as a bigint[] literal
  // Renders the event of `row` (kind, conversation id, payload, recipients from `kind_col` on)
  // with `cursor` and queues it on its recipients' connections.
  void DeliverEventRow(const EventPosition& at, const std::string& cursor, const Row& row,
                       size_t kind_col);
  // `at`: a stored event's position (sessions that resumed beyond it skip it); nullopt for
  // ephemeral frames.
  void DeliverToUsers(const std::vector<std::string>& users,
                      const std::shared_ptr<const std::string>& frame,
                      const std::string& exclude_user, std::optional<EventPosition> at);

  const Config& config_;
  auth::JwtCodec jwt_;
  PgLink pg_;
  EventPosition position_;         // everything at or before it has been delivered
  bool wake_pending_ = false;      // a chatd_events wake-up came since the last flush
  std::set<EventPosition> ahead_;  // delivered ahead of a stalled horizon, beyond position_
  std::optional<uint64_t> stalled_horizon_;  // the horizon while events are held
  std::optional<std::chrono::steady_clock::time_point> held_since_;
  std::chrono::milliseconds retry_after_ = kRetryFirst;
  PushMetrics metrics_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<WsSession>>> by_user_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer read_timer_;
  const std::string daemon_;                                  // this run's name in ws_sessions
  std::unordered_map<const WsSession*, std::string> ws_ids_;  // registered connection -> row id
};

// The frame of a stored event: {"type": kind, "cursor": id, "conversation_id"?, ...payload}.
std::string RenderEventFrame(const std::string& id, const std::string& kind,
                             const std::optional<std::string>& conversation_id,
                             const std::string& payload_json);
// Parses PostgreSQL's text form of a uuid[] ("{a,b}").
std::vector<std::string> ParseUuidArray(const std::string& text);

}  // namespace chatd::push
