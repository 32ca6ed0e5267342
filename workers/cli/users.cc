// chatctl user create|list|set-role|delete: account administration for operators, with the same
// rules as the API (store/users_repo.h, auth/password.h).
//
// A password never appears on the command line (it would be visible in `ps` and shell history):
// it is read from --password-file (its first line; `-` reads standard input) or typed on the
// terminal (/dev/tty) with echo off, twice. Echo is restored on every way out, Ctrl-C included.

#include <fcntl.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "api/conversation_events.h"
#include "auth/password.h"
#include "cli/commands.h"
#include "core/text.h"
#include "store/maintenance_repo.h"
#include "store/users_repo.h"

namespace chatd::cli {
namespace {

// ---- Reading a password ------------------------------------------------------------------------

// The terminal settings to restore if a signal arrives while echo is off.
int g_tty_fd = -1;
termios g_saved_tty;

void RestoreTtyAndReraise(int sig) {
  if (g_tty_fd >= 0) tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved_tty);  // async-signal-safe
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) != 0) return;
    g_saved_tty = saved_;
    g_tty_fd = fd_;
    old_int_ = std::signal(SIGINT, RestoreTtyAndReraise);
    old_term_ = std::signal(SIGTERM, RestoreTtyAndReraise);
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    active_ = tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (!active_) return;
    tcsetattr(fd_, TCSAFLUSH, &saved_);
    g_tty_fd = -1;
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// One line typed on the terminal without echo; nullopt at end of input.
std::optional<std::string> ReadHidden(int fd, const char* prompt) {
  // Echo goes off before the prompt shows (switching discards pending input), so nothing typed
  // after the prompt is ever echoed or lost.
  EchoOff quiet(fd);
  if (write(fd, prompt, std::strlen(prompt)) < 0) return std::nullopt;
  std::string line;
  char c = 0;
  for (;;) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return line.empty() ? std::nullopt : std::optional<std::string>(line);
    if (c == '\n') return line;
    // A password within the policy has at most 512 bytes; stop reading long before memory does.
    if (line.size() < 4096) line += c;
  }
}

Result<std::string> PromptPassword() {
  Fd tty(open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (tty.get() < 0) {
    return Status::Invalid("password",
                           "no terminal to ask for the password on; use --password-file FILE");
  }
  auto first = ReadHidden(tty.get(), "Password: ");
  if (!first) return Status::Invalid("password", "no password given");
  auto again = ReadHidden(tty.get(), "Password (again): ");
  if (!again || *again != *first) return Status::Invalid("password", "the two entries differ");
  if (!first->empty() && first->back() == '\r') first->pop_back();
  return std::move(*first);
}

// The first line of the file (or of standard input for "-"), without its line end.
Result<std::string> ReadPasswordFile(const std::string& path) {
  std::string text;
  if (path == "-") {
    std::getline(std::cin, text);
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status::Invalid("password-file", "cannot read " + path);
    std::getline(f, text);
  }
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

// ---- Helpers -----------------------------------------------------------------------------------

int Fail(const char* command, const std::string& message) {
  std::fprintf(stderr, "chatctl %s: %s\n", command, message.c_str());
  return 1;
}

// "field message" lines of a validation failure, else its detail.
std::string Describe(const Status& st) {
  if (st.field_errors().empty()) return st.detail();
  std::string out;
  for (const auto& e : st.field_errors()) {
    if (!out.empty()) out += "; ";
    out += e.field + " " + e.message;
  }
  return out;
}

}  // namespace

Result<Config> LoadCliConfig(const EnvLookup& env) {
  EnvLookup lookup = [env](std::string_view name) -> std::optional<std::string> {
    auto value = env(name);
    if (!value && name == "JWT_SECRET") {
      // Only to satisfy LoadConfig; nothing in chatctl signs or verifies a token.
      return std::string("chatctl-signs-no-tokens-0123456789abcdefghijklmnop");
    }
    return value;
  };
  return LoadConfig(lookup);
}

int UserCreate(const EnvLookup& env, const UserCreateOptions& options) {
  const char* kCmd = "user create";
  auto config = LoadCliConfig(env);
  if (!config.ok()) return Fail(kCmd, config.status().detail());
  auto username = store::NormalizeUsername(options.username);
  if (!username.ok()) return Fail(kCmd, Describe(username.status()));
  auto display_name = store::NormalizeDisplayName(
      options.display_name.empty() ? username.value() : options.display_name);
  if (!display_name.ok()) return Fail(kCmd, Describe(display_name.status()));

  Result<auth::PasswordDenylist> denylist = auth::PasswordDenylist();
  if (!config->password_denylist.empty()) {
    denylist = auth::PasswordDenylist::Load(config->password_denylist);
    if (!denylist.ok()) return Fail(kCmd, Describe(denylist.status()));
  }
  auto password =
      options.password_file.empty() ? PromptPassword() : ReadPasswordFile(options.password_file);
  if (!password.ok()) return Fail(kCmd, Describe(password.status()));
  Status policy = auth::CheckPasswordPolicy(password.value(), username.value(), denylist.value());
  if (!policy.ok()) return Fail(kCmd, Describe(policy));

  try {
    auth::PasswordHasher hasher(*config);
    auto hash = hasher.Hash(password.value());
    if (!hash.ok()) return Fail(kCmd, Describe(hash.status()));
    store::NewUser user;
    user.username = username.value();
    user.display_name = display_name.value();
    user.password_hash = std::move(hash.value());
    user.role = options.admin ? "admin" : "user";
    soci::session session(soci::postgresql, config->database_url);
    auto created = store::UsersRepo(session).Create(user);
    if (!created.ok()) return Fail(kCmd, Describe(created.status()));
    std::printf("created user %s (%s), role %s\n", created->username.c_str(), created->id.c_str(),
                created->role.c_str());
    return 0;
  } catch (const std::exception& e) {
    return Fail(kCmd, std::string("cannot create the user: ") + e.what());
  }
}

int UserList(const EnvLookup& env, bool include_guests) {
  const char* kCmd = "user list";
  auto config = LoadCliConfig(env);
  if (!config.ok()) return Fail(kCmd, config.status().detail());
  try {
    soci::session session(soci::postgresql, config->database_url);
    auto users = store::UsersRepo(session).List(include_guests);
    std::printf("%-36s  %-32s  %-5s  %-5s  %-24s  %s\n", "ID", "USERNAME", "ROLE", "GUEST",
                "CREATED", "DISPLAY NAME");
    for (const auto& u : users) {
      std::printf("%-36s  %-32s  %-5s  %-5s  %-24s  %s\n", u.id.c_str(), u.username.c_str(),
                  u.role.c_str(), u.is_guest ? "yes" : "no", u.created_at.c_str(),
                  u.display_name.c_str());
    }
    std::printf("%zu user%s\n", users.size(), users.size() == 1 ? "" : "s");
    return 0;
  } catch (const std::exception& e) {
    return Fail(kCmd, std::string("cannot use the database: ") + e.what());
  }
}

int UserSetRole(const EnvLookup& env, const std::string& username, const std::string& role) {
  const char* kCmd = "user set-role";
  if (role != "user" && role != "admin") return Fail(kCmd, "the role must be user or admin");
  auto config = LoadCliConfig(env);
  if (!config.ok()) return Fail(kCmd, config.status().detail());
  try {
    soci::session session(soci::postgresql, config->database_url);
    if (!store::UsersRepo(session).SetRole(username, role)) {
      return Fail(kCmd, "no registered user is named " + username);
    }
    std::printf("%s is now %s\n", AsciiLower(username).c_str(), role.c_str());
    return 0;
  } catch (const std::exception& e) {
    return Fail(kCmd, std::string("cannot use the database: ") + e.what());
  }
}

int UserDelete(const EnvLookup& env, const std::string& username) {
  const char* kCmd = "user delete";
  auto config = LoadCliConfig(env);
  if (!config.ok()) return Fail(kCmd, config.status().detail());
  try {
    soci::session session(soci::postgresql, config->database_url);
    // One transaction: the other members learn of it (conversation.deleted for what the user
    // owned, member.removed elsewhere) exactly when the deletion commits.
    soci::transaction tx(session);
    std::optional<std::string> id = store::UserIdByUsername(session, username);
    if (!id) return Fail(kCmd, "no user is named " + username);
    api::AnnounceUserDeparture(session, *id);
    if (!store::UsersRepo(session).DeleteByUsername(username)) {
      return Fail(kCmd, "no user is named " + username);
    }
    tx.commit();
    std::printf("deleted user %s and everything it owned\n", AsciiLower(username).c_str());
    return 0;
  } catch (const std::exception& e) {
    return Fail(kCmd, std::string("cannot use the database: ") + e.what());
  }
}

}  // namespace chatd::cli
