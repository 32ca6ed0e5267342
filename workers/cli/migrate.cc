// chatctl migrate and chatctl check-config.

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <cstdio>

#include "cli/commands.h"
#include "store/migrations.h"

namespace chatd::cli {

DbSettings DbSettingsFromEnv(const EnvLookup& env) {
  DbSettings s;
  s.database_url = env("DATABASE_URL").value_or(Config().database_url);
  s.migrations_dir = env("MIGRATIONS_DIR").value_or(DefaultMigrationsDir());
  return s;
}

int Migrate(const DbSettings& db, bool status_only) {
  try {
    soci::session session(soci::postgresql, db.database_url);
    if (status_only) {
      auto status = store::GetMigrationStatus(session, db.migrations_dir);
      if (!status.ok()) {
        std::fprintf(stderr, "chatctl migrate: %s\n", status.status().detail().c_str());
        return 1;
      }
      int pending = 0;
      for (const auto& m : *status) {
        if (!m.applied) ++pending;
        std::printf("%-8s %-40s %s%s\n", m.applied ? "applied" : "pending", m.file.name.c_str(),
                    m.applied_at.c_str(),
                    m.checksum_mismatch ? "  (file changed since it was applied)" : "");
      }
      std::printf("%d pending\n", pending);
      return 0;
    }
    auto applied = store::ApplyMigrations(session, db.migrations_dir);
    if (!applied.ok()) {
      std::fprintf(stderr, "chatctl migrate: %s\n", applied.status().detail().c_str());
      return 1;
    }
    if (applied->empty()) {
      std::printf("database is up to date\n");
    } else {
      for (const auto& name : *applied) std::printf("applied %s\n", name.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chatctl migrate: cannot use the database: %s\n", e.what());
    return 1;
  }
}

int CheckConfig(const EnvLookup& env, int vms) {
  auto config = LoadConfig(env);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().detail().c_str());
    return 1;
  }
  std::printf("configuration is valid\n");
  std::printf("  workers: %d x %d threads, db pool %d per worker (%d connections)\n",
              config->workers, config->threads_per_worker, config->db_pool_size,
              config->workers * config->db_pool_size);
  std::printf("  listen: %s\n", config->listen.c_str());
  std::printf("  llm: %s\n",
              config->llm_configured() ? config->llm_base_url.c_str() : "not configured");
  if (vms <= 0) return 0;
  // Each VM: every worker's pool plus its side connection (stop listener, heartbeats), and
  // chatd-push's two (LISTEN, queries); chatctl and the gc timer take one each, briefly.
  const int per_vm = config->workers * (config->db_pool_size + 1) + 2;
  const int needed = vms * per_vm + 2;
  int max_connections = 0, reserved = 0;
  try {
    soci::session s(soci::postgresql, config->database_url);
    std::string text, reserved_text;
    s << "SELECT current_setting('max_connections'), "
         "current_setting('superuser_reserved_connections')",
        soci::into(text), soci::into(reserved_text);
    max_connections = std::stoi(text);
    reserved = std::stoi(reserved_text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "check-config: cannot read max_connections from the database: %s\n",
                 e.what());
    return 1;
  }
  const int usable = max_connections - reserved;
  std::printf(
      "  connections: %d VM%s x %d (WORKERS x (DB_POOL_SIZE + 1) + 2 for chatd-push) + 2 "
      "= %d of PostgreSQL's %d usable (max_connections %d - %d reserved)\n",
      vms, vms == 1 ? "" : "s", per_vm, needed, usable, max_connections, reserved);
  if (needed > usable) {
    std::fprintf(stderr,
                 "check-config: %d VMs need %d connections but PostgreSQL allows %d: raise "
                 "max_connections, lower WORKERS or DB_POOL_SIZE, or put PgBouncer (session "
                 "mode for chatd-push) in front\n",
                 vms, needed, usable);
    return 1;
  }
  return 0;
}

}  // namespace chatd::cli
