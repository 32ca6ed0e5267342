// chatd-push's two PostgreSQL connections, driven from the daemon's single event loop.
//
// The listener connection is in autocommit mode, LISTENs on chatd_events (payload: an event id)
// and chatd_ephemeral (payload: a small JSON envelope for typing indicators and streamed deltas
// that are never stored), and is watched with async_wait on its socket (PQsocket +
// PQconsumeInput + PQnotifies, PITFALLS.md). When it drops, it reconnects with backoff and calls
// on_reconnect so that the hub can catch up on events committed while nobody listened.
//
// The query connection runs short synchronous queries (fetch events by id, replay for a resuming
// client, list a conversation's members). They take a millisecond or two on a local database;
// blocking the loop for that long is the price of simplicity here (a query thread would be the
// next step if it ever shows in the latency figures). To bound the worst case, both connections
// give up connecting after 5 s and the query connection's statements after 5 s.
//
// Not thread-safe: everything runs on the io_context's thread.

#pragma once

#include <libpq-fe.h>

#include <utility>  // before Boost 1.74's asio, which uses std::exchange under C++20

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace chatd::push {

// One row of a query result, as text (NULL -> nullopt).
using Row = std::vector<std::optional<std::string>>;

class PgLink {
 public:
  using NotifyHandler = std::function<void(const std::string& channel, const std::string& payload)>;

  // `on_notify` runs for each notification, in order; `on_drained` after each read of the
  // listener's socket, once the notifications it brought were handled (a handler may defer work
  // to it: many chatd_events ids become one query).
  PgLink(boost::asio::io_context& io, std::string url, NotifyHandler on_notify,
         std::function<void()> on_reconnect, std::function<void()> on_drained = nullptr);
  ~PgLink();
  PgLink(const PgLink&) = delete;
  PgLink& operator=(const PgLink&) = delete;

  // Connects the listener (retrying in the background until it succeeds).
  void Start();
  void Stop();

  // Runs a parameterised query on the query connection; nullopt on failure (logged). Reconnects
  // once when the connection was lost. `sql` must be a string constant: it is prepared once per
  // connection, keyed by its address (the daemon's few queries run thousands of times a second
  // under load; parsing and planning each was most of their cost).
  std::optional<std::vector<Row>> Query(const char* sql, const std::vector<std::string>& params);

  bool listening() const { return listen_conn_ != nullptr; }

 private:
  void ConnectListener();
  void WaitForNotifications();
  void DropListener();
  PGconn* QueryConnection();

  boost::asio::io_context& io_;
  std::string url_;
  NotifyHandler on_notify_;
  std::function<void()> on_reconnect_;
  std::function<void()> on_drained_;
  // Statements prepared on query_conn_ (cleared with it): the constant's address -> its name.
  std::unordered_map<const char*, std::string> prepared_;
  PGconn* listen_conn_ = nullptr;
  PGconn* query_conn_ = nullptr;
  std::unique_ptr<boost::asio::posix::stream_descriptor> socket_;
  boost::asio::steady_timer retry_timer_;
  int backoff_ms_ = 250;
  bool connected_once_ = false;
  bool stopped_ = false;
};

}  // namespace chatd::push
