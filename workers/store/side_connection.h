// A dedicated PostgreSQL connection outside the SOCI pool, for a process's background thread:
// LISTEN for notifications and run small autocommit statements (NOTIFY, periodic updates) without
// ever borrowing a pool session from the request threads.
//
// Plain libpq, blocking calls, autocommit (never idle in a transaction). Connect() (re)opens the
// connection and re-issues every LISTEN given so far, so a caller only has to notice a loss
// (connected() turning false, or Exec/Drain failing) and call Connect() again; notifications sent
// while disconnected are lost, so after a reconnect the caller catches up by query
// (PITFALLS.md, LISTEN/NOTIFY).
//
// Threads: one thread owns a SideConnection; nothing here is synchronised.

#pragma once

#include <optional>
#include <string>
#include <vector>

struct pg_conn;

namespace chatd::store {

struct Notification {
  std::string channel;
  std::string payload;
};

using SideRow = std::vector<std::optional<std::string>>;

class SideConnection {
 public:
  explicit SideConnection(std::string url);
  ~SideConnection();
  SideConnection(const SideConnection&) = delete;
  SideConnection& operator=(const SideConnection&) = delete;

  // Opens the connection (closing a broken one first) and LISTENs on every channel of Listen().
  // false on failure (logged).
  bool Connect();
  bool connected() const;
  void Close();

  // Adds a channel to LISTEN on (now when connected, and after every Connect()).
  bool Listen(const std::string& channel);

  // Runs one statement with text parameters ($1, $2, ...). nullopt on failure (logged; a lost
  // connection also makes connected() false).
  std::optional<std::vector<SideRow>> Exec(const char* sql, const std::vector<std::string>& params);

  // The socket to poll for readability (-1 when not connected).
  int socket() const;
  // Reads what the server sent and returns the notifications received so far (also those that
  // arrived during Exec). Marks the connection lost when reading fails.
  std::vector<Notification> Drain();

 private:
  std::string url_;
  std::vector<std::string> channels_;
  pg_conn* conn_ = nullptr;
};

}  // namespace chatd::store
