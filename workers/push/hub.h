// The hub: who is connected, and which frames reach whom.
//
// Connections register under their user id once authenticated: at most WS_MAX_PER_USER per user
// across every daemon of the deployment, counted in PostgreSQL (ws_sessions, sql/0007: a row per
// connection, refreshed by a heartbeat every 30 s, stale after 90 s), and never more than that on
// this daemon even while the database is unreachable. Stored events arrive as ids on NOTIFY
// chatd_events; the hub fetches every event after the last one it delivered (so a burst, or a
// reconnect of the listener, never skips one), renders each event's frame once, and queues it on
// the connections of the event's recipients (the conversation's members when it happened).
// Ephemeral frames (typing, message.delta) arrive whole on NOTIFY chatd_ephemeral with their
// recipients. A resuming client gets its missed events from the events table first, then the live
// ones; both come from one ordered sequence of ids, so nothing is lost or repeated across a
// reconnect.
//
// Single-threaded: every method runs on the io_context's thread.

#pragma once

#include <utility>  // before Boost 1.74's asio, which uses std::exchange under C++20

#include <boost/asio.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/jwt.h"
#include "core/config.h"
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

  // The cursor of the newest event delivered so far.
  int64_t latest_cursor() const { return last_event_id_; }
  // Queues the events after `cursor` that `session`'s user received; false when events that old
  // are no longer kept (the client must refetch).
  bool Replay(WsSession& session, int64_t cursor);
  // A member's typing indicator, published to the other members through PostgreSQL.
  void Typing(WsSession& session, const std::string& conversation_id);

  size_t connections() const;
  size_t users() const { return by_user_.size(); }
  PushMetrics& metrics() { return metrics_; }

 private:
  void OnNotify(const std::string& channel, const std::string& payload);
  void CatchUp(int64_t up_to);
  void FlushEvents();        // CatchUp to the highest chatd_events id noted since the last flush
  void ScheduleHeartbeat();  // ws_sessions rows of this daemon kept live, stale ones forgotten
  void DeliverToUsers(const std::vector<std::string>& users,
                      const std::shared_ptr<const std::string>& frame,
                      const std::string& exclude_user);

  const Config& config_;
  auth::JwtCodec jwt_;
  PgLink pg_;
  int64_t last_event_id_ = 0;
  int64_t pending_event_id_ = 0;  // the highest notified event not yet caught up to
  PushMetrics metrics_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<WsSession>>> by_user_;
  boost::asio::steady_timer heartbeat_timer_;
  const std::string daemon_;                                  // this run's name in ws_sessions
  std::unordered_map<const WsSession*, std::string> ws_ids_;  // registered connection -> row id
};

// The frame of a stored event: {"type": kind, "cursor": "<id>", "conversation_id"?, ...payload}.
std::string RenderEventFrame(const std::string& id, const std::string& kind,
                             const std::optional<std::string>& conversation_id,
                             const std::string& payload_json);
// Parses PostgreSQL's text form of a uuid[] ("{a,b}").
std::vector<std::string> ParseUuidArray(const std::string& text);

}  // namespace chatd::push
