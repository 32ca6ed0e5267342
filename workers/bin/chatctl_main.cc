// chatctl: the operator's command line. Parses arguments with CLI11 and calls workers/cli/.

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"

int main(int argc, char** argv) {
  CLI::App app{"chatctl: operate a chatd installation (reads the same environment as the services)"};
  app.require_subcommand(1);

  auto* migrate = app.add_subcommand("migrate", "Apply pending SQL migrations (sql/*.sql) in order");
  bool status_only = false;
  migrate->add_flag("--status", status_only, "List migrations and whether each is applied; change nothing");

  auto* check = app.add_subcommand("check-config", "Validate the configuration; exit non-zero on failure");

  CLI11_PARSE(app, argc, argv);

  auto env = chatd::ProcessEnvWithConfigFile();
  if (!env.ok()) {
    std::fprintf(stderr, "%s\n", env.status().detail().c_str());
    return 2;
  }
  chatd::InitLogging("chatctl", chatd::LogFormat::kText, "warn");
  if (*migrate) return chatd::cli::Migrate(chatd::cli::DbSettingsFromEnv(env.value()), status_only);
  if (*check) return chatd::cli::CheckConfig(env.value());
  return 0;
}
