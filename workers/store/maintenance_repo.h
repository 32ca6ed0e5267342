// What `chatctl gc` and `chatctl user delete` need beyond the API's repositories: the idle guests
// one by one (so that their deletion can announce itself to the other members, api/
// conversation_events.h), a user's memberships, and the replies orphaned by a dead worker.
//
// A worker refreshes its replies' generations.heartbeat_at about every few seconds while they
// stream (api/reply_bus.h). A row whose heartbeat stopped long ago belongs to a worker that
// crashed or was killed: nobody will ever finish that reply, so its message would stay
// `streaming` forever and its row would keep counting toward nobody's cap (the caps already skip
// stale rows). gc finishes it as `interrupted`, with the text the worker last saved.
//
// Transactions belong to the caller: LockOrphanedReplies locks the rows it returns (SKIP LOCKED,
// so two gc runs never finish one reply twice, and a worker that is alive after all and finishing
// it right now wins), and the caller finishes them in the same transaction. Threads: plain
// functions over the session they are given.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace soci {
class session;
}

namespace chatd::store {

struct OrphanedReply {
  std::string message_id;
  std::string conversation_id;
  std::string content;  // the text saved so far
  std::string model;
  std::string sources_json;
};

// The id of the user named `username` (compared lowercased, as stored), if any.
std::optional<std::string> UserIdByUsername(soci::session& s, const std::string& username);

// The conversations `user_id` is a member of (any kind, owned or not), row-locked in id order
// until the end of the transaction: the first step of deleting the user.
std::vector<std::string> ConversationIdsOfMember(soci::session& s, const std::string& user_id);

// Up to `batch` guests idle for longer than `idle_seconds`, oldest first.
std::vector<std::string> IdleGuestIds(soci::session& s, int64_t idle_seconds, int batch);

// Deletes the guest `id` if it is still idle for longer than `idle_seconds` (it may have come
// back since IdleGuestIds), with everything it owns (the schema's cascades). False otherwise.
bool DeleteIdleGuest(soci::session& s, const std::string& id, int64_t idle_seconds);

// Up to `limit` replies whose generation's heartbeat is older than `stale_seconds`, locked.
std::vector<OrphanedReply> LockOrphanedReplies(soci::session& s, int64_t stale_seconds, int limit);

}  // namespace chatd::store
