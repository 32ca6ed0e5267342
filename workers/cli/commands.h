// chatctl's commands, one function each, returning the process exit code. Parsing the command line
// (CLI11) and wiring live in bin/chatctl_main.cc; these functions print for people on stdout and
// errors on stderr.

#pragma once

#include <string>

#include "core/config.h"

namespace chatd::cli {

// Settings chatctl needs without the full configuration (a migration needs no JWT secret).
struct DbSettings {
  std::string database_url;
  std::string migrations_dir;
};
DbSettings DbSettingsFromEnv(const EnvLookup& env);

int Migrate(const DbSettings& db, bool status_only);
int CheckConfig(const EnvLookup& env);

}  // namespace chatd::cli
