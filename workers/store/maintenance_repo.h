// What `chatctl gc` reads to finish replies orphaned by a worker that died mid-reply.
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

// Up to `limit` replies whose generation's heartbeat is older than `stale_seconds`, locked.
std::vector<OrphanedReply> LockOrphanedReplies(soci::session& s, int64_t stale_seconds, int limit);

}  // namespace chatd::store
