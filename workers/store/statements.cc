// Prepared statements cached on their libpq connection. See statements.h for the why.

#include "store/statements.h"

#include <libpq-events.h>
#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <charconv>
#include <cstring>
#include <unordered_map>

#include "store/db.h"

namespace chatd::store {
namespace {

// The statements prepared on one connection: SQL constant (by address) -> statement name.
struct StatementCache {
  std::unordered_map<const char*, std::string> names;
  uint64_t next_id = 0;
};

// libpq calls this for the connection's life events; the cache is the connection's instance data,
// so it goes away exactly when the connection does.
int CacheEvents(PGEventId event, void* info, void*) {
  if (event == PGEVT_CONNRESET) {
    PGconn* conn = static_cast<PGEventConnReset*>(info)->conn;
    if (auto* cache = static_cast<StatementCache*>(PQinstanceData(conn, CacheEvents)))
      cache->names.clear();  // a reset connection is a new server session
  } else if (event == PGEVT_CONNDESTROY) {
    PGconn* conn = static_cast<PGEventConnDestroy*>(info)->conn;
    delete static_cast<StatementCache*>(PQinstanceData(conn, CacheEvents));
    PQsetInstanceData(conn, CacheEvents, nullptr);
  }
  return 1;  // never fail libpq's operation
}

StatementCache& CacheOf(PGconn* conn) {
  if (auto* cache = static_cast<StatementCache*>(PQinstanceData(conn, CacheEvents))) return *cache;
  // Registering twice fails harmlessly (the procedure is already there, without data).
  PQregisterEventProc(conn, CacheEvents, "chatd statement cache", nullptr);
  auto* cache = new StatementCache;
  if (!PQsetInstanceData(conn, CacheEvents, cache)) {
    delete cache;
    throw soci::soci_error("cannot attach the statement cache to the connection");
  }
  return *cache;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string SqlStateOf(const PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return state && std::strlen(state) == 5 ? state : "";
}

// Throws what SOCI throws for the same failure (see statements.h).
[[noreturn]] void ThrowFailure(PGconn* conn, const PGresult* r, const char* what) {
  std::string message = what;
  message += ": ";
  const char* detail = r ? PQresultErrorMessage(r) : nullptr;
  message += detail && *detail ? detail : PQerrorMessage(conn);
  std::string state = SqlStateOf(r);
  if (state.empty() && PQstatus(conn) != CONNECTION_OK) state = "08006";  // connection_failure
  if (state.empty()) throw soci::soci_error(message);
  throw soci::postgresql_soci_error(message, state.c_str());
}

bool Succeeded(const PGresult* r) {
  ExecStatusType status = PQresultStatus(r);
  return status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
}

}  // namespace

// ---- Params -------------------------------------------------------------------------------------

Params& Params::Add(const char* value) {
  if (count_ == kMax) throw soci::soci_error("too many statement parameters");
  values_[count_++] = value;
  return *this;
}

Params& Params::Text(const std::string& value) {
  return Add(value.c_str());
}

Params& Params::Text(const char* value) {
  return Add(value);
}

Params& Params::OptionalText(const std::optional<std::string>& value) {
  return Add(value ? value->c_str() : nullptr);
}

Params& Params::Int(int64_t value) {
  if (count_ == kMax) throw soci::soci_error("too many statement parameters");
  char* buffer = numbers_[count_];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof numbers_[0] - 1, value);
  *end = '\0';
  return Add(buffer);
}

Params& Params::OptionalInt(const std::optional<int64_t>& value) {
  return value ? Int(*value) : Null();
}

Params& Params::Bool(bool value) {
  return Add(value ? "true" : "false");
}

Params& Params::Null() {
  return Add(nullptr);
}

// ---- Rows ---------------------------------------------------------------------------------------

Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

Rows::~Rows() {
  if (result_) PQclear(result_);
}

int Rows::size() const {
  return result_ ? PQntuples(result_) : 0;
}

int64_t Rows::affected() const {
  const char* n = result_ ? PQcmdTuples(result_) : "";
  int64_t value = 0;
  std::from_chars(n, n + std::strlen(n), value);
  return value;
}

bool Rows::IsNull(int row, int col) const {
  return PQgetisnull(result_, row, col) != 0;
}

std::string_view Rows::View(int row, int col) const {
  return {PQgetvalue(result_, row, col), static_cast<size_t>(PQgetlength(result_, row, col))};
}

std::optional<std::string> Rows::OptionalText(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Text(row, col);
}

int64_t Rows::Int(int row, int col) const {
  std::string_view text = View(row, col);
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::optional<int64_t> Rows::OptionalInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int(row, col);
}

bool Rows::Bool(int row, int col) const {
  std::string_view text = View(row, col);
  return !text.empty() && text[0] == 't';
}

// ---- Query --------------------------------------------------------------------------------------

Rows Query(soci::session& session, const char* sql, const Params& params) {
  PGconn* conn = NativeConnection(session);
  if (conn == nullptr) throw soci::soci_error("no connection to the server");
  StatementCache& cache = CacheOf(conn);
  for (int attempt = 0;; ++attempt) {
    auto it = cache.names.find(sql);
    if (it == cache.names.end()) {
      std::string name = "chatd_" + std::to_string(++cache.next_id);
      ResultPtr prepared(PQprepare(conn, name.c_str(), sql, 0, nullptr));
      if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK)
        ThrowFailure(conn, prepared.get(), "cannot prepare a statement");
      it = cache.names.emplace(sql, std::move(name)).first;
    }
    const bool in_transaction = PQtransactionStatus(conn) != PQTRANS_IDLE;
    ResultPtr result(PQexecPrepared(conn, it->second.c_str(), params.size(), params.values(),
                                    nullptr, nullptr, 0));
    if (Succeeded(result.get())) return Rows(result.release());
    // The server forgot the statement, or a migration changed its row type: prepare it again
    // (retried here only outside a transaction, which the error did not abort).
    const std::string state = SqlStateOf(result.get());
    if (state == "26000" || state == "0A000") {
      cache.names.erase(it);
      if (attempt == 0 && !in_transaction) continue;
    }
    ThrowFailure(conn, result.get(), "cannot execute a statement");
  }
}

}  // namespace chatd::store
