// What the handlers share inside one worker process: the configuration, the database, and the
// other long-lived collaborators. Built once per process by main (bin/), after fork; immutable
// afterwards apart from the collaborators' own thread-safe state.

#pragma once

#include <memory>
#include <vector>

#include "core/config.h"
#include "store/db.h"
#include "store/migrations.h"

namespace chatd::api {

struct Services {
  std::shared_ptr<const Config> config;
  std::unique_ptr<store::Database> db;
  // The migration files this build expects, read at start (for /ready).
  std::vector<store::MigrationFile> migrations;
};

}  // namespace chatd::api
