// The migration runner: sql/NNNN_name.sql files applied in order, forward only.
//
// Each file runs in one transaction (the whole file in one PQexec, so PL/pgSQL bodies need no
// splitting) and is recorded in schema_migrations with a checksum; all of it happens under a
// session advisory lock, so two runners (two VMs starting at once) serialise instead of racing.
// Running it again changes nothing. A recorded file whose checksum changed is reported, never
// re-applied: migrations are immutable once applied.

#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace soci {
class session;
}

namespace chatd::store {

struct MigrationFile {
  std::string version;  // "0001"
  std::string name;     // "0001_init.sql"
  std::string path;
  std::string checksum;
};

struct MigrationState {
  MigrationFile file;
  bool applied = false;
  bool checksum_mismatch = false;
  std::string applied_at;
};

// The *.sql files of `dir`, sorted by name; fails when the directory cannot be read or two files
// share a version.
Result<std::vector<MigrationFile>> ListMigrationFiles(const std::string& dir);
// Every file with whether it has been applied.
Result<std::vector<MigrationState>> GetMigrationStatus(soci::session& s, const std::string& dir);
// Applies what is pending; returns the names applied (empty when up to date).
Result<std::vector<std::string>> ApplyMigrations(soci::session& s, const std::string& dir);
// True when every file of `dir` is recorded as applied (for /ready).
Result<bool> MigrationsUpToDate(soci::session& s, const std::vector<MigrationFile>& files);

}  // namespace chatd::store
