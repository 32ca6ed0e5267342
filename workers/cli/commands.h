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
// With `vms` > 0 also checks the connection budget against the database's max_connections:
// vms x (WORKERS x (DB_POOL_SIZE + 1) + 2) + 2 must fit.
int CheckConfig(const EnvLookup& env, int vms = 0);

// The configuration for commands that need more than the database (argon2 parameters, the
// password deny list, GUEST_TTL): LoadConfig's checks, except that JWT_SECRET may be absent,
// since chatctl signs no tokens.
Result<Config> LoadCliConfig(const EnvLookup& env);

// chatctl user ... (users.cc). Passwords never come from the command line: from a file (`-` for
// standard input; its first line) or typed on the terminal with echo off, twice.
struct UserCreateOptions {
  std::string username;
  std::string display_name;  // empty: the username
  bool admin = false;
  std::string password_file;  // empty: prompt on the terminal
};
int UserCreate(const EnvLookup& env, const UserCreateOptions& options);
int UserList(const EnvLookup& env, bool include_guests);
int UserSetRole(const EnvLookup& env, const std::string& username, const std::string& role);
int UserDelete(const EnvLookup& env, const std::string& username);

// chatctl key ... (keys.cc): every active API key (of one user when `username` is not empty), and
// revoking one by id whoever owns it.
int KeyList(const EnvLookup& env, const std::string& username);
int KeyRevoke(const EnvLookup& env, const std::string& key_id);

// chatctl gc (gc.cc): deletes guests idle for longer than GUEST_TTL (with everything they own),
// refresh tokens that are expired or revoked, and stale login-failure counters; prints counts.
int Gc(const EnvLookup& env);

}  // namespace chatd::cli
