// What the handlers share inside one worker process: the configuration, the database, and the
// other long-lived collaborators (token codec, password hasher, ...). Built once per process by
// main (bin/), after fork; immutable afterwards apart from the collaborators' own thread-safe
// state. Handlers receive a Services* (null only when the router is built to list its routes).

#pragma once

#include <memory>
#include <vector>

#include "auth/jwt.h"
#include "auth/password.h"
#include "core/config.h"
#include "store/db.h"
#include "store/migrations.h"

namespace chatd::api {

struct Services {
  std::shared_ptr<const Config> config;
  std::unique_ptr<store::Database> db;
  // The migration files this build expects, read at start (for /ready).
  std::vector<store::MigrationFile> migrations;
  std::unique_ptr<auth::JwtCodec> jwt;
  std::unique_ptr<auth::PasswordHasher> hasher;
  std::unique_ptr<auth::PasswordDenylist> denylist;
};

// Builds the collaborators that need only the configuration (everything but the database).
Result<std::unique_ptr<Services>> MakeServices(std::shared_ptr<const Config> config);

}  // namespace chatd::api
