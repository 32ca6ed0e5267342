// Migration runner. See migrations.h. The SQL of the bookkeeping table sits here, beside the only
// code that uses it.

#include "store/migrations.h"

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/log.h"
#include "store/db.h"

namespace chatd::store {
namespace {

constexpr const char* kCreateTable =
    "CREATE TABLE schema_migrations ("
    "  version text PRIMARY KEY,"
    "  name text NOT NULL,"
    "  checksum text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now())";
constexpr const char* kTableExists = "SELECT to_regclass('schema_migrations') IS NOT NULL";
constexpr const char* kLock = "SELECT pg_advisory_lock(7236828469116020736)";  // "dchat-mi"
constexpr const char* kUnlock = "SELECT pg_advisory_unlock(7236828469116020736)";
constexpr const char* kSelectApplied =
    "SELECT version, checksum, to_char(applied_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations";
constexpr const char* kInsertApplied =
    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)";

// FNV-1a, 64 bit: enough to notice an edited migration; not a security boundary.
std::string Checksum(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Internal("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs one command string (possibly many statements); returns the error text or "".
std::string Exec(PGconn* conn, const char* sql) {
  PGresult* r = PQexec(conn, sql);
  ExecStatusType st = PQresultStatus(r);
  std::string err;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(r);
  PQclear(r);
  return err;
}

struct Applied {
  std::string checksum;
  std::string applied_at;
};

Result<std::map<std::string, Applied>> LoadApplied(PGconn* conn) {
  PGresult* exists = PQexec(conn, kTableExists);
  bool present = PQresultStatus(exists) == PGRES_TUPLES_OK && PQntuples(exists) == 1 &&
                 PQgetvalue(exists, 0, 0)[0] == 't';
  PQclear(exists);
  if (!present) {
    std::string err = Exec(conn, kCreateTable);
    if (!err.empty()) return Status::Internal("schema_migrations: " + err);
  }
  PGresult* r = PQexec(conn, kSelectApplied);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    std::string e = PQresultErrorMessage(r);
    PQclear(r);
    return Status::Internal("schema_migrations: " + e);
  }
  std::map<std::string, Applied> out;
  for (int i = 0; i < PQntuples(r); ++i) {
    out[PQgetvalue(r, i, 0)] = Applied{PQgetvalue(r, i, 1), PQgetvalue(r, i, 2)};
  }
  PQclear(r);
  return out;
}

}  // namespace

Result<std::vector<MigrationFile>> ListMigrationFiles(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<MigrationFile> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    std::string name = entry.path().filename().string();
    auto underscore = name.find('_');
    std::string version = name.substr(0, underscore);
    if (version.empty() || !std::all_of(version.begin(), version.end(), ::isdigit)) continue;
    auto text = ReadFile(entry.path().string());
    if (!text.ok()) return text.status();
    files.push_back({version, name, entry.path().string(), Checksum(*text)});
  }
  if (ec)
    return Status::Internal("cannot read the migrations directory " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::set<std::string> seen;
  for (const auto& f : files) {
    if (!seen.insert(f.version).second)
      return Status::Internal("two migrations share version " + f.version);
  }
  return files;
}

Result<std::vector<MigrationState>> GetMigrationStatus(soci::session& s, const std::string& dir) {
  auto files = ListMigrationFiles(dir);
  if (!files.ok()) return files.status();
  PGconn* conn = NativeConnection(s);
  if (!conn) return Status::Internal("not a PostgreSQL session");
  auto applied = LoadApplied(conn);
  if (!applied.ok()) return applied.status();
  std::vector<MigrationState> out;
  for (const auto& f : *files) {
    MigrationState st;
    st.file = f;
    auto it = applied->find(f.version);
    if (it != applied->end()) {
      st.applied = true;
      st.applied_at = it->second.applied_at;
      st.checksum_mismatch = it->second.checksum != f.checksum;
    }
    out.push_back(st);
  }
  return out;
}

Result<std::vector<std::string>> ApplyMigrations(soci::session& s, const std::string& dir) {
  auto files = ListMigrationFiles(dir);
  if (!files.ok()) return files.status();
  PGconn* conn = NativeConnection(s);
  if (!conn) return Status::Internal("not a PostgreSQL session");
  std::string err = Exec(conn, kLock);
  if (!err.empty()) return Status::Internal("advisory lock: " + err);
  std::vector<std::string> done;
  Status failure;
  auto applied = LoadApplied(conn);
  if (!applied.ok()) {
    failure = applied.status();
  } else {
    for (const auto& f : *files) {
      auto it = applied->find(f.version);
      if (it != applied->end()) {
        if (it->second.checksum != f.checksum) {
          LogWarn("an applied migration was edited since; it is not re-applied")
              .Str("migration", f.name);
        }
        continue;
      }
      auto text = ReadFile(f.path);
      if (!text.ok()) {
        failure = text.status();
        break;
      }
      err = Exec(conn, "BEGIN");
      if (err.empty()) err = Exec(conn, text->c_str());
      if (err.empty()) {
        const char* params[3] = {f.version.c_str(), f.name.c_str(), f.checksum.c_str()};
        PGresult* r = PQexecParams(conn, kInsertApplied, 3, nullptr, params, nullptr, nullptr, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) err = PQresultErrorMessage(r);
        PQclear(r);
      }
      if (err.empty()) err = Exec(conn, "COMMIT");
      if (!err.empty()) {
        Exec(conn, "ROLLBACK");
        failure = Status::Internal(f.name + ": " + err);
        break;
      }
      LogInfo("migration applied").Str("migration", f.name);
      done.push_back(f.name);
    }
  }
  Exec(conn, kUnlock);
  if (!failure.ok()) return failure;
  return done;
}

Result<bool> MigrationsUpToDate(soci::session& s, const std::vector<MigrationFile>& files) {
  std::string max_version;
  int count = 0;
  s << "SELECT coalesce(max(version), ''), count(*) FROM schema_migrations",
      soci::into(max_version), soci::into(count);
  // Applied versions are a prefix of the sorted files when up to date; compare the last and the
  // count rather than fetching every row on each /ready.
  if (files.empty()) return true;
  return count >= static_cast<int>(files.size()) && max_version >= files.back().version;
}

}  // namespace chatd::store
