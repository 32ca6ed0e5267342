// Prepared statements per connection: the hot queries are parsed and planned once per PostgreSQL
// connection instead of on every request.
//
// Why not SOCI for these. SOCI 4.0's PostgreSQL backend sends `session << sql` with PQexecParams,
// so the server parses and plans the statement every time; `session.prepare << sql` (and
// soci::rowset, soci::statement) does PQprepare, then PQexecPrepared, then DEALLOCATE in the
// statement's destructor: three round trips for one query (src/backends/postgresql/statement.cpp).
// Keeping soci::statement objects alive across requests would fix the round trips but ties their
// bound variables' addresses to the cache, makes them outlive-or-crash their session (their
// destructor DEALLOCATEs through the session's backend, which Database deletes when it reconnects)
// and still copies every value through soci::row's typed holders. The measured cost of the list
// endpoints was mostly that. So this is a deliberately small layer straight on libpq, used by the
// repositories for their hot statements, on the SAME connection as the SOCI session:
//
//   store::Rows rows = store::Query(session, kSql, store::Params().Text(id).Int(limit));
//   for (int i = 0; i < rows.size(); ++i) use(rows.Text(i, 0), rows.Int(i, 1));
//
// The SQL is PostgreSQL's own ($1, $2, ...), a constant with static storage duration: its address
// is the cache key. On first use on a connection it is prepared (PQprepare) under a generated name;
// afterwards each call is one PQexecPrepared round trip with text parameters.
//
// Lifetime of the cache: it hangs off the libpq connection itself (libpq's event procedure and
// instance data, libpq-events.h), so it is created with the connection's first Query and destroyed
// with the connection (PQfinish), and cleared by PQreset. When Database closes a broken session and
// opens a new one (db.h), the new connection starts with an empty cache: no statement name can
// outlive the server session that knew it. As a last defence, an execution that fails because the
// server no longer knows the statement (SQLSTATE 26000) or because its cached plan's row type
// changed under a migration (0A000) forgets it, and is retried once when no transaction is open
// (inside one, the transaction is already aborted: the error goes to the caller, and the next unit
// of work prepares afresh).
//
// Transactions: statements run on the session's connection, so they belong to whatever
// transaction the session is in (soci::transaction included) and see its writes. Preparing is not
// transactional in PostgreSQL, so a statement first prepared in a transaction that rolls back stays
// prepared, as intended.
//
// Errors: a failed statement throws what SOCI would have thrown — soci::postgresql_soci_error with
// the SQLSTATE, or soci::soci_error with libpq's message when there is none (a lost connection) —
// so Database::Run and MapDbError treat both kinds of statements alike.
//
// Threads: a session, its connection and so its cache belong to one thread at a time (the one
// holding the Lease); nothing here locks. Params and Rows are plain values of that thread.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace soci {
class session;
}

struct pg_result;

namespace chatd::store {

// The parameters of one execution, in order ($1, $2, ...), all sent as text. Text() keeps a
// pointer to the caller's string, which must outlive the Query call (a temporary Params built in
// the call's own expression is the usual form); numbers are formatted into the Params itself.
class Params {
 public:
  static constexpr int kMax = 16;

  Params& Text(const std::string& value);
  Params& Text(const char* value);  // a NUL-terminated constant
  Params& OptionalText(const std::optional<std::string>& value);
  Params& Int(int64_t value);
  Params& OptionalInt(const std::optional<int64_t>& value);
  Params& Bool(bool value);
  Params& Null();

  int size() const { return count_; }
  const char* const* values() const { return values_; }

 private:
  Params& Add(const char* value);

  int count_ = 0;
  const char* values_[kMax] = {};
  char numbers_[kMax][24] = {};
};

// The result of one statement (owns libpq's result). Columns are read as text, by position.
class Rows {
 public:
  explicit Rows(pg_result* result) : result_(result) {}
  Rows(Rows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  Rows& operator=(Rows&& other) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  ~Rows();

  int size() const;
  bool empty() const { return size() == 0; }
  // Rows changed by an INSERT/UPDATE/DELETE (also with RETURNING).
  int64_t affected() const;

  bool IsNull(int row, int col) const;
  // The value's text, valid as long as this Rows ("" for NULL).
  std::string_view View(int row, int col) const;
  std::string Text(int row, int col) const { return std::string(View(row, col)); }
  std::optional<std::string> OptionalText(int row, int col) const;
  // An integer column (int2/int4/int8); 0 for NULL.
  int64_t Int(int row, int col) const;
  std::optional<int64_t> OptionalInt(int row, int col) const;
  // A boolean column ('t' / 'f').
  bool Bool(int row, int col) const;

 private:
  pg_result* result_;
};

// Runs `sql` (static storage, $n parameters) on the session's connection as a prepared statement
// (prepared on first use per connection). Throws like SOCI on failure (see above).
Rows Query(soci::session& session, const char* sql, const Params& params = Params());

}  // namespace chatd::store
