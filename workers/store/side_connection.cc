// A dedicated libpq connection for background threads. See side_connection.h.

#include "store/side_connection.h"

#include <libpq-fe.h>

#include <algorithm>

#include "core/log.h"

namespace chatd::store {

SideConnection::SideConnection(std::string url) : url_(std::move(url)) {}

SideConnection::~SideConnection() {
  Close();
}

void SideConnection::Close() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

bool SideConnection::connected() const {
  return conn_ && PQstatus(conn_) == CONNECTION_OK;
}

int SideConnection::socket() const {
  return connected() ? PQsocket(conn_) : -1;
}

bool SideConnection::Connect() {
  Close();
  conn_ = PQconnectdb(url_.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    // libpq's message names the server and the reason, never the password.
    LogWarn("side connection: cannot connect to the database").Str("error", PQerrorMessage(conn_));
    Close();
    return false;
  }
  for (const std::string& channel : channels_) {
    std::string sql = "LISTEN \"" + channel + "\"";
    PGresult* r = PQexec(conn_, sql.c_str());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
      LogWarn("side connection: LISTEN failed")
          .Str("channel", channel)
          .Str("error", PQerrorMessage(conn_));
      Close();
      return false;
    }
  }
  return true;
}

bool SideConnection::Listen(const std::string& channel) {
  // Channel names are our own constants; still, refuse anything that would need quoting.
  if (channel.empty() || !std::all_of(channel.begin(), channel.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      })) {
    return false;
  }
  if (std::find(channels_.begin(), channels_.end(), channel) == channels_.end()) {
    channels_.push_back(channel);
  }
  if (!connected()) return true;  // on the next Connect()
  std::string sql = "LISTEN \"" + channel + "\"";
  PGresult* r = PQexec(conn_, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  return ok;
}

std::optional<std::vector<SideRow>> SideConnection::Exec(const char* sql,
                                                         const std::vector<std::string>& params) {
  if (!connected()) return std::nullopt;
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  PGresult* r = PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(),
                             nullptr, nullptr, 0);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    LogWarn("side connection: statement failed").Str("error", PQresultErrorMessage(r));
    PQclear(r);
    return std::nullopt;
  }
  std::vector<SideRow> rows;
  int n = PQntuples(r), cols = PQnfields(r);
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    SideRow row;
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

std::vector<Notification> SideConnection::Drain() {
  std::vector<Notification> out;
  if (!conn_) return out;
  if (PQconsumeInput(conn_) == 0) {
    LogWarn("side connection: lost the database connection").Str("error", PQerrorMessage(conn_));
  }
  while (PGnotify* n = PQnotifies(conn_)) {
    out.push_back({n->relname, n->extra});
    PQfreemem(n);
  }
  return out;
}

}  // namespace chatd::store
