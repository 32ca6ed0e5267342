// SOCI session pool with bounded waits, lazy (re)connection and the one SQLSTATE -> Status map.

#include "store/db.h"

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <poll.h>

#include <chrono>
#include <utility>

#include "core/log.h"

namespace chatd::store {
PGconn* NativeConnection(soci::session& s) {
  // static_cast: SOCI does not export the backend's typeinfo, and every session here is opened
  // with the postgresql backend (checked by name).
  if (s.get_backend() == nullptr || s.get_backend_name() != "postgresql") return nullptr;
  return static_cast<soci::postgresql_session_backend*>(s.get_backend())->conn_;
}

namespace {

// libpq prints NOTICEs on stderr by default, outside the JSON log: route them through it.
void LogNotice(void*, const char* message) {
  std::string text = message;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  LogDebug("database notice").Str("notice", text);
}

// Whether a session's connection can be used. libpq only notices a dead server when it next talks
// to it, so an idle connection whose socket is readable counts as broken too: nothing is owed to
// an idle pool session (it never LISTENs), so what arrived is the FATAL of a terminated backend
// or the EOF of a restarted server. Reconnecting before use, rather than failing the request and
// retrying, keeps the first request after a restart from failing (and the statement cache of
// store/statements.h starts afresh with the new connection).
// Retry-After of the 503s: a busy pool frees up within moments; a database that is down (a
// restart, a failover) takes a little longer.
constexpr int kBusyRetryAfterS = 1;
constexpr int kDownRetryAfterS = 5;

bool Connected(soci::session& s) {
  PGconn* conn = s.get_backend() ? NativeConnection(s) : nullptr;
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return false;
  pollfd idle{PQsocket(conn), POLLIN, 0};
  return poll(&idle, 1, 0) == 0;
}

thread_local bool t_events_written = false;

constexpr const char* kSessionBounds = "SET idle_in_transaction_session_timeout = '30s'";

}  // namespace

void NoteEventsWritten() {
  t_events_written = true;
}

bool TakeEventsWritten() {
  return std::exchange(t_events_written, false);
}

Lease::Lease(Lease&& other) noexcept : db_(other.db_), pos_(other.pos_), session_(other.session_) {
  other.db_ = nullptr;
}

Lease::~Lease() {
  if (db_) db_->GiveBack(pos_);
}

Database::Database(std::string url, int pool_size, int acquire_timeout_ms, DbObserver observer)
    : url_(std::move(url)),
      pool_size_(pool_size),
      acquire_timeout_ms_(acquire_timeout_ms),
      observer_(std::move(observer)),
      pool_(std::make_unique<soci::connection_pool>(static_cast<size_t>(pool_size))) {}

Database::~Database() = default;

Result<Lease> Database::Acquire() {
  auto start = std::chrono::steady_clock::now();
  size_t pos = 0;
  if (!pool_->try_lease(pos, acquire_timeout_ms_)) {
    if (observer_.on_wait_timeout) observer_.on_wait_timeout();
    LogWarn("database pool exhausted").Int("timeout_ms", acquire_timeout_ms_);
    return Status::Unavailable("The service is busy. Please try again in a moment.")
        .WithRetryAfter(kBusyRetryAfterS);
  }
  if (observer_.on_acquire) {
    observer_.on_acquire(std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count());
  }
  soci::session& s = pool_->at(pos);
  if (!Connected(s)) {
    try {
      if (s.get_backend()) {
        // Open but broken (found before use): counted like one GiveBack closes after use.
        s.close();
        if (observer_.on_reconnect) observer_.on_reconnect();
      }
      s.open(soci::postgresql, url_);
      if (PGconn* conn = NativeConnection(s)) {
        PQsetNoticeProcessor(conn, LogNotice, nullptr);
        // A bound on how long a session may sit idle inside a transaction (a thread stuck between
        // statements): the event log's horizon waits for the oldest open write transaction
        // (sql/0008), and the locks it holds block its conversation. chatd never keeps a
        // transaction open across an LLM call or any other wait, so 30 s is far beyond any
        // legitimate use.
        PQclear(PQexec(conn, kSessionBounds));
      }
    } catch (const std::exception& e) {
      pool_->give_back(pos);
      LogWarn("database connection failed").Str("error", e.what());
      return Status::Unavailable("The database is unavailable. Please try again shortly.")
          .WithRetryAfter(kDownRetryAfterS);
    }
  }
  return Lease(this, pos, &s);
}

void Database::GiveBack(size_t pos) {
  soci::session& s = pool_->at(pos);
  if (s.get_backend()) {
    PGconn* conn = NativeConnection(s);
    bool broken = conn == nullptr || PQstatus(conn) != CONNECTION_OK;
    // A connection left inside a transaction (an exception skipped the rollback) is as unusable
    // as a broken one.
    bool in_tx = conn != nullptr && PQtransactionStatus(conn) != PQTRANS_IDLE;
    if (in_tx && !broken) {
      PGresult* r = PQexec(conn, "ROLLBACK");
      PQclear(r);
      broken = PQtransactionStatus(conn) != PQTRANS_IDLE;
    }
    // The wake-up of the push daemons (sql/0008): after COMMIT, in a transaction of its own that
    // writes no WAL, so it never waits for a flush nor holds NOTIFY's lock across one. Sent even
    // when the transaction rolled back (harmless: the daemons then find nothing new).
    if (TakeEventsWritten() && !broken && !in_tx) {
      PGresult* r = PQexec(conn, "NOTIFY chatd_events");
      PQclear(r);
    }
    if (broken) {
      try {
        s.close();
      } catch (...) {
      }
      if (observer_.on_reconnect) observer_.on_reconnect();
    }
  }
  pool_->give_back(pos);
}

Status Database::Run(const std::function<Status(soci::session&)>& work, bool idempotent) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto lease = Acquire();
    if (!lease.ok()) return lease.status();
    try {
      return work(lease->session());
    } catch (const std::exception& e) {
      bool retry = idempotent && attempt == 0 && IsConnectionError(e);
      if (!retry) return MapDbError(e);
      LogInfo("database connection lost; retrying once").Str("error", e.what());
    }
  }
  return Status::Unavailable("The database is unavailable. Please try again shortly.")
      .WithRetryAfter(kDownRetryAfterS);
}

std::string SqlState(const std::exception& e) {
  if (auto* pe = dynamic_cast<const soci::postgresql_soci_error*>(&e)) return pe->sqlstate();
  return "";
}

bool Database::IsConnectionError(const std::exception& e) {
  std::string state = SqlState(e);
  if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03")
    return true;
  if (auto* se = dynamic_cast<const soci::soci_error*>(&e)) {
    if (se->get_error_category() == soci::soci_error::connection_error) return true;
    // libpq reports a dropped server without a SQLSTATE.
    std::string what = se->what();
    return state.empty() && (what.find("server closed the connection") != std::string::npos ||
                             what.find("no connection to the server") != std::string::npos ||
                             what.find("terminating connection") != std::string::npos ||
                             what.find("could not connect") != std::string::npos ||
                             what.find("connection to server") != std::string::npos);
  }
  return false;
}

Status Database::MapDbError(const std::exception& e) {
  std::string state = SqlState(e);
  if (IsConnectionError(e)) {
    LogWarn("database unavailable").Str("sqlstate", state).Str("error", e.what());
    return Status::Unavailable("The database is unavailable. Please try again shortly.")
        .WithRetryAfter(kDownRetryAfterS);
  }
  if (state == "23505") {
    return Status(ErrorCode::kConflict, "This conflicts with something that already exists.");
  }
  if (state == "40001" || state == "40P01" || state == "55P03" || state == "53300" ||
      state == "57014") {
    LogWarn("database contention").Str("sqlstate", state).Str("error", e.what());
    return Status::Unavailable("The service is busy. Please try again in a moment.")
        .WithRetryAfter(kBusyRetryAfterS);
  }
  if (state == "23503") return Status::NotFound();
  if (state == "23514" || state == "22001" || state == "22P02" || state == "22023") {
    LogWarn("database rejected a value").Str("sqlstate", state).Str("error", e.what());
    return Status::Invalid("body", "contains a value that is not allowed");
  }
  LogError("database error").Str("sqlstate", state).Str("error", e.what());
  return Status::Internal();
}

}  // namespace chatd::store
