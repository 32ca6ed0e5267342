// chatctl: the operator's command line. Parses arguments with CLI11 and calls workers/cli/.

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/config.h"
#include "core/log.h"

int main(int argc, char** argv) {
  CLI::App app{
      "chatctl: operate a chatd installation (reads the same environment as the services)"};
  app.require_subcommand(1);

  auto* migrate =
      app.add_subcommand("migrate", "Apply pending SQL migrations (sql/*.sql) in order");
  bool status_only = false;
  migrate->add_flag("--status", status_only,
                    "List migrations and whether each is applied; change nothing");

  auto* check =
      app.add_subcommand("check-config", "Validate the configuration; exit non-zero on failure");
  int check_vms = 0;
  check
      ->add_option("--vms", check_vms,
                   "also check that this many VMs' connections fit PostgreSQL's max_connections")
      ->check(CLI::Range(1, 10000));

  auto* user = app.add_subcommand("user", "Manage accounts");
  user->require_subcommand(1);
  chatd::cli::UserCreateOptions create_options;
  auto* user_create =
      user->add_subcommand("create", "Create a registered user (asks for the password)");
  user_create->add_option("USERNAME", create_options.username, "3-32 of [A-Za-z0-9_.-]")
      ->required();
  user_create->add_option("--display-name", create_options.display_name,
                          "Defaults to the username");
  user_create->add_flag("--admin", create_options.admin, "Give the user the admin role");
  user_create->add_option(
      "--password-file", create_options.password_file,
      "Read the password from the first line of this file ('-': standard input) "
      "instead of the terminal");
  bool list_all = false;
  auto* user_list = user->add_subcommand("list", "List registered users");
  user_list->add_flag("--all", list_all, "Include guests");
  std::string role_username, role;
  auto* user_set_role = user->add_subcommand("set-role", "Make a user an admin, or a user again");
  user_set_role->add_option("USERNAME", role_username)->required();
  user_set_role->add_option("ROLE", role, "user or admin")
      ->required()
      ->check(CLI::IsMember({"user", "admin"}));
  std::string delete_username;
  auto* user_delete = user->add_subcommand("delete", "Delete a user and everything it owns");
  user_delete->add_option("USERNAME", delete_username)->required();

  auto* key = app.add_subcommand("key", "List and revoke users' API keys (the /v1 surface)");
  key->require_subcommand(1);
  std::string key_user, key_id;
  auto* key_list = key->add_subcommand("list", "List active API keys (never their secrets)");
  key_list->add_option("USERNAME", key_user, "only this user's keys");
  auto* key_revoke = key->add_subcommand("revoke", "Revoke an API key at once");
  key_revoke->add_option("KEY_ID", key_id, "the key's id (see key list)")->required();

  auto* gc = app.add_subcommand("gc", "Delete idle guests, dead refresh tokens and stale counters");

  CLI11_PARSE(app, argc, argv);

  auto env = chatd::ProcessEnvWithConfigFile();
  if (!env.ok()) {
    std::fprintf(stderr, "%s\n", env.status().detail().c_str());
    return 2;
  }
  chatd::InitLogging("chatctl", chatd::LogFormat::kText, "warn");
  if (*migrate) return chatd::cli::Migrate(chatd::cli::DbSettingsFromEnv(env.value()), status_only);
  if (*check) return chatd::cli::CheckConfig(env.value(), check_vms);
  if (*user_create) return chatd::cli::UserCreate(env.value(), create_options);
  if (*user_list) return chatd::cli::UserList(env.value(), list_all);
  if (*user_set_role) return chatd::cli::UserSetRole(env.value(), role_username, role);
  if (*user_delete) return chatd::cli::UserDelete(env.value(), delete_username);
  if (*key_list) return chatd::cli::KeyList(env.value(), key_user);
  if (*key_revoke) return chatd::cli::KeyRevoke(env.value(), key_id);
  if (*gc) return chatd::cli::Gc(env.value());
  return 0;
}
