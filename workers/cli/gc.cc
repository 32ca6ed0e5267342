// chatctl gc: the periodic clean-up (a systemd timer runs it). Each step is its own short
// statement (guests in batches), so gc never holds locks for long and can be interrupted and
// rerun at any time: it only deletes what is already dead.
//
//   * guests idle for longer than GUEST_TTL, with everything they own (the schema's cascades);
//   * refresh tokens that are expired or revoked (spent ones of live families stay until they
//     expire: they are the tripwire of reuse detection, store/tokens_repo.h);
//   * login-failure counters idle for a day.

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <cstdio>

#include "cli/commands.h"
#include "store/login_throttle.h"
#include "store/tokens_repo.h"
#include "store/users_repo.h"

namespace chatd::cli {

int Gc(const EnvLookup& env) {
  auto config = LoadCliConfig(env);
  if (!config.ok()) {
    std::fprintf(stderr, "chatctl gc: %s\n", config.status().detail().c_str());
    return 1;
  }
  try {
    soci::session session(soci::postgresql, config->database_url);
    int64_t guests = store::UsersRepo(session).DeleteIdleGuests(config->guest_ttl.count());
    int64_t tokens = store::RefreshTokensRepo(session).DeleteDead();
    int64_t failures = store::LoginThrottle(session).DeleteStale();
    std::printf("deleted %lld idle guest%s, %lld refresh token%s, %lld login-failure record%s\n",
                static_cast<long long>(guests), guests == 1 ? "" : "s",
                static_cast<long long>(tokens), tokens == 1 ? "" : "s",
                static_cast<long long>(failures), failures == 1 ? "" : "s");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chatctl gc: cannot use the database: %s\n", e.what());
    return 1;
  }
}

}  // namespace chatd::cli
