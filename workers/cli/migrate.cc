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

int CheckConfig(const EnvLookup& env) {
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
  return 0;
}

}  // namespace chatd::cli
