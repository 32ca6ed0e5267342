// chatctl gc: the periodic clean-up (a systemd timer runs it). Each step is its own short
// statement (guests in batches), so gc never holds locks for long and can be interrupted and
// rerun at any time: it only deletes what is already dead.
//
//   * guests idle for longer than GUEST_TTL, with everything they own (the schema's cascades),
//     one transaction per guest that also tells the other members of its conversations
//     (conversation.deleted / member.removed, api/conversation_events.h);
//   * refresh tokens that are expired or revoked (spent ones of live families stay until they
//     expire: they are the tripwire of reuse detection, store/tokens_repo.h);
//   * login-failure counters idle for a day;
//   * replies orphaned by a worker that died mid-reply (no heartbeat for kStaleAfterSeconds):
//     stored as `interrupted` with the text saved so far, their generations row deleted, and a
//     message.updated event to the conversation's members, exactly as a worker would have done
//     (the event payload is rendered by the API's own renderer), one transaction per batch;
//   * /v1 completions whose worker died (completions_inflight rows with a stale heartbeat: they
//     already stopped counting against the in-flight caps; nothing else refers to them).

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <cstdio>

#include "api/conversation_events.h"
#include "chat/replies.h"
#include "cli/commands.h"
#include "store/conversations_repo.h"
#include "store/generations_repo.h"
#include "store/login_throttle.h"
#include "store/maintenance_repo.h"
#include "store/replies_repo.h"
#include "store/tokens_repo.h"
#include "store/users_repo.h"

namespace chatd::cli {
namespace {

int64_t DeleteIdleGuests(soci::session& session, int64_t idle_seconds) {
  constexpr int kBatch = 200;
  int64_t total = 0;
  for (;;) {
    std::vector<std::string> ids = store::IdleGuestIds(session, idle_seconds, kBatch);
    int64_t deleted = 0;
    for (const std::string& id : ids) {
      soci::transaction tx(session);
      api::AnnounceUserDeparture(session, id);
      if (store::DeleteIdleGuest(session, id, idle_seconds)) {
        tx.commit();  // with its announcements
        ++deleted;
      } else {
        tx.rollback();  // it came back meanwhile: no announcement either
      }
    }
    total += deleted;
    // A guest that came back is skipped by the next batch's query; stop when a batch was short
    // or freed nothing (every one of them came back).
    if (static_cast<int>(ids.size()) < kBatch || deleted == 0) return total;
  }
}

}  // namespace

int Gc(const EnvLookup& env) {
  auto config = LoadCliConfig(env);
  if (!config.ok()) {
    std::fprintf(stderr, "chatctl gc: %s\n", config.status().detail().c_str());
    return 1;
  }
  try {
    soci::session session(soci::postgresql, config->database_url);
    int64_t guests = DeleteIdleGuests(session, config->guest_ttl.count());
    int64_t tokens = store::RefreshTokensRepo(session).DeleteDead();
    int64_t failures = store::LoginThrottle(session).DeleteStale();
    int64_t orphans =
        chat::FinishOrphanedReplies(session, store::kStaleAfterSeconds, /*batch=*/100);
    int64_t completions = store::DeleteStaleCompletions(session);
    std::printf(
        "deleted %lld idle guest%s, %lld refresh token%s, %lld login-failure record%s; "
        "finished %lld orphaned repl%s; removed %lld stale completion%s\n",
        static_cast<long long>(guests), guests == 1 ? "" : "s", static_cast<long long>(tokens),
        tokens == 1 ? "" : "s", static_cast<long long>(failures), failures == 1 ? "" : "s",
        static_cast<long long>(orphans), orphans == 1 ? "y" : "ies",
        static_cast<long long>(completions), completions == 1 ? "" : "s");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chatctl gc: cannot use the database: %s\n", e.what());
    return 1;
  }
}

}  // namespace chatd::cli
