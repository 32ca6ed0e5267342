// The database handle of one worker process: a small pool of SOCI sessions to PostgreSQL.
//
// Built after fork (libpq connections do not survive one). A request thread borrows a session
// only for its database work (Database::Acquire, or Run for a whole unit of work) and gives it back
// before calling anything outside, so a slow LLM call never pins a connection. Borrowing waits at
// most DB_ACQUIRE_TIMEOUT_MS and then fails with SERVICE_UNAVAILABLE instead of hanging.
//
// Sessions connect lazily and are checked on return: a session whose connection broke (the server
// restarted, the network dropped) is closed and reconnects on its next use, so a broken connection
// is never handed to the next request, and the pool heals by itself when PostgreSQL comes back.
//
// Errors: every soci_error is mapped once, here, from SQLSTATE to a domain Status (MapDbError);
// repositories add meaning where a constraint name tells more (a unique username, ...).
//
// Thread-safety: Database is shared by all threads of the process; a Lease belongs to one thread.

#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

namespace soci {
class session;
class connection_pool;
class soci_error;
}  // namespace soci

struct pg_conn;

namespace chatd::store {

// The libpq connection under a PostgreSQL session (nullptr when not connected): for what SOCI does
// not offer (multi-statement scripts, LISTEN/NOTIFY, status checks).
pg_conn* NativeConnection(soci::session& s);

// Counters the process manager exposes (wired by main through these hooks; all optional).
struct DbObserver {
  std::function<void()> on_wait_timeout;  // no session freed up within the acquire timeout
  std::function<void()> on_reconnect;     // a broken session was closed for reconnection
  std::function<void(int64_t wait_us)> on_acquire;
};

class Database;

// A borrowed session; gives it back on destruction (closing it first if its connection broke).
class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease();

  soci::session& session() { return *session_; }
  soci::session* operator->() { return session_; }

 private:
  friend class Database;
  Lease(Database* db, size_t pos, soci::session* s) : db_(db), pos_(pos), session_(s) {}
  Database* db_;
  size_t pos_;
  soci::session* session_;
};

class Database {
 public:
  Database(std::string url, int pool_size, int acquire_timeout_ms, DbObserver observer = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Borrows a connected session, connecting it first when needed.
  Result<Lease> Acquire();

  // Runs `work` with a borrowed session, mapping any database exception to a Status. When the
  // connection turns out to be broken and `idempotent` is true, reconnects and runs it once more
  // (never for a write that may have committed: the caller says which is which).
  Status Run(const std::function<Status(soci::session&)>& work, bool idempotent = false);

  // The Status for a database exception (SQLSTATE -> domain error); logs the internals.
  static Status MapDbError(const std::exception& e);
  static bool IsConnectionError(const std::exception& e);

  const std::string& url() const { return url_; }

 private:
  friend class Lease;
  void GiveBack(size_t pos);

  std::string url_;
  int pool_size_;
  int acquire_timeout_ms_;
  DbObserver observer_;
  std::unique_ptr<soci::connection_pool> pool_;
};

// Events written (store::EmitEvent*) by this thread's current unit of work: the lease that gives
// its session back then sends the payload-free wake-up NOTIFY chatd_events, after the COMMIT and
// outside the writing transaction (sql/0008). Take clears the flag.
void NoteEventsWritten();
bool TakeEventsWritten();

// The SQLSTATE of a database exception, or "" when it has none.
std::string SqlState(const std::exception& e);

}  // namespace chatd::store
