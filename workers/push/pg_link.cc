// LISTEN/NOTIFY on the event loop, and the query connection. See pg_link.h.

#include "push/pg_link.h"

#include <algorithm>

#include "core/log.h"

namespace chatd::push {
namespace {

// Every call here blocks the daemon's one event loop, so none may block for long: connecting gives
// up after kConnectTimeoutS (DATABASE_URL's own connect_timeout, if it sets one, is overridden),
// and the query connection's statements are cut after kStatementTimeoutMs. A slow or unreachable
// PostgreSQL then costs the WebSocket traffic seconds, not minutes of a TCP timeout.
constexpr const char* kConnectTimeoutS = "5";
constexpr const char* kSetStatementTimeout = "SET statement_timeout = 5000";

PGconn* Connect(const std::string& url) {
  const char* keys[] = {"dbname", "connect_timeout", nullptr};
  const char* values[] = {url.c_str(), kConnectTimeoutS, nullptr};
  return PQconnectdbParams(keys, values, /*expand_dbname=*/1);
}

}  // namespace

PgLink::PgLink(boost::asio::io_context& io, std::string url, NotifyHandler on_notify,
               std::function<void()> on_reconnect, std::function<void()> on_drained)
    : io_(io),
      url_(std::move(url)),
      on_notify_(std::move(on_notify)),
      on_reconnect_(std::move(on_reconnect)),
      on_drained_(std::move(on_drained)),
      retry_timer_(io) {}

PgLink::~PgLink() {
  Stop();
  if (query_conn_) PQfinish(query_conn_);
}

void PgLink::Start() {
  ConnectListener();
}

void PgLink::Stop() {
  stopped_ = true;
  retry_timer_.cancel();
  DropListener();
}

void PgLink::DropListener() {
  if (socket_) {
    socket_->cancel();
    socket_->release();  // the fd belongs to libpq
    socket_.reset();
  }
  if (listen_conn_) {
    PQfinish(listen_conn_);
    listen_conn_ = nullptr;
  }
}

void PgLink::ConnectListener() {
  if (stopped_) return;
  PGconn* conn = Connect(url_);
  bool ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PGresult* r = PQexec(conn, "LISTEN chatd_events; LISTEN chatd_ephemeral");
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
  }
  if (!ok) {
    LogWarn("push: cannot listen on the database; retrying")
        .Str("error", PQerrorMessage(conn))
        .Int("retry_ms", backoff_ms_);
    PQfinish(conn);
    retry_timer_.expires_after(std::chrono::milliseconds(backoff_ms_));
    backoff_ms_ = std::min(backoff_ms_ * 2, 5000);
    retry_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) ConnectListener();
    });
    return;
  }
  PQsetnonblocking(conn, 1);
  listen_conn_ = conn;
  backoff_ms_ = 250;
  socket_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, PQsocket(conn));
  LogInfo("push: listening for events");
  if (connected_once_ && on_reconnect_) on_reconnect_();
  connected_once_ = true;
  WaitForNotifications();
}

void PgLink::WaitForNotifications() {
  if (!socket_) return;
  socket_->async_wait(
      boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
        if (ec == boost::asio::error::operation_aborted || stopped_) return;
        if (ec || PQconsumeInput(listen_conn_) == 0 || PQstatus(listen_conn_) != CONNECTION_OK) {
          LogWarn("push: lost the database listener; reconnecting");
          DropListener();
          ConnectListener();
          return;
        }
        while (PGnotify* n = PQnotifies(listen_conn_)) {
          std::string channel = n->relname, payload = n->extra;
          PQfreemem(n);
          on_notify_(channel, payload);
        }
        if (on_drained_) on_drained_();
        WaitForNotifications();
      });
}

PGconn* PgLink::QueryConnection() {
  if (query_conn_ && PQstatus(query_conn_) == CONNECTION_OK) return query_conn_;
  if (query_conn_) PQfinish(query_conn_);
  prepared_.clear();
  query_conn_ = Connect(url_);
  if (PQstatus(query_conn_) == CONNECTION_OK) {
    PGresult* r = PQexec(query_conn_, kSetStatementTimeout);
    PQclear(r);
  }
  if (PQstatus(query_conn_) != CONNECTION_OK) {
    LogWarn("push: cannot connect to the database").Str("error", PQerrorMessage(query_conn_));
    PQfinish(query_conn_);
    query_conn_ = nullptr;
  }
  return query_conn_;
}

std::optional<std::vector<Row>> PgLink::Query(const char* sql,
                                              const std::vector<std::string>& params) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    PGconn* conn = QueryConnection();
    if (!conn) return std::nullopt;
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    auto name = prepared_.find(sql);
    if (name == prepared_.end()) {
      std::string id = "push_" + std::to_string(prepared_.size());
      PGresult* p = PQprepare(conn, id.c_str(), sql, static_cast<int>(values.size()), nullptr);
      const bool ok = PQresultStatus(p) == PGRES_COMMAND_OK;
      std::string error = ok ? "" : PQresultErrorMessage(p);
      PQclear(p);
      if (!ok) {
        if (PQstatus(conn) == CONNECTION_OK) {
          LogWarn("push: cannot prepare a query").Str("error", error);
          return std::nullopt;
        }
        PQfinish(query_conn_);
        query_conn_ = nullptr;
        prepared_.clear();
        continue;  // reconnect and try once more
      }
      name = prepared_.emplace(sql, std::move(id)).first;
    }
    PGresult* r = PQexecPrepared(conn, name->second.c_str(), static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      std::vector<Row> rows;
      int n = PQntuples(r), cols = PQnfields(r);
      rows.reserve(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        Row row;
        row.reserve(static_cast<size_t>(cols));
        for (int c = 0; c < cols; ++c) {
          if (PQgetisnull(r, i, c)) {
            row.emplace_back(std::nullopt);
          } else {
            row.emplace_back(
                std::string(PQgetvalue(r, i, c), static_cast<size_t>(PQgetlength(r, i, c))));
          }
        }
        rows.push_back(std::move(row));
      }
      PQclear(r);
      return rows;
    }
    std::string error = PQresultErrorMessage(r);
    PQclear(r);
    if (PQstatus(conn) == CONNECTION_OK) {
      LogWarn("push: query failed").Str("error", error);
      return std::nullopt;
    }
    PQfinish(query_conn_);
    query_conn_ = nullptr;  // reconnect and try once more
    prepared_.clear();
  }
  return std::nullopt;
}

}  // namespace chatd::push
