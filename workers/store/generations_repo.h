// The generations table: assistant replies in flight, one row per `streaming` assistant message,
// across every worker process and machine. The row is inserted with the streaming message (in the
// sending transaction) and deleted in the transaction that stores the reply's final status.
//
// Caps: a reply starts only while the user has fewer than MAX_INFLIGHT_PER_USER replies in flight
// and the whole deployment fewer than MAX_INFLIGHT_TOTAL. Both counts and the insert happen under
// one transaction-scoped advisory lock (two-int form, class 'gn'), held to commit, so concurrent
// starts cannot both squeeze under a cap. Rows whose heartbeat is older than kStaleAfterSeconds
// (a crashed worker; `chatctl gc` finishes them later) do not count.
//
// Stop: RequestStop sets stop_requested on every generation of a conversation and, in the same
// transaction, NOTIFYs channel kStopChannel with {"conversation_id", "message_ids": [...]} (split
// into several notifications if it would not fit PostgreSQL's 8,000 bytes). Each worker process
// LISTENs there (api/reply_bus.h) and aborts the upstream call of the ids it runs. The worker
// refreshes heartbeat_at while streaming (kHeartbeatSql) and learns a stop it missed from its
// result.
//
// Transactions belong to the caller; database exceptions propagate to Database::Run. Threads:
// plain functions over the session they are given.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace soci {
class session;
}

namespace chatd::store {

inline constexpr const char* kStopChannel = "chatd_stop";
inline constexpr int kStaleAfterSeconds = 60;
inline constexpr int kInflightRetryAfterSeconds = 5;

struct NewGeneration {
  std::string message_id;  // the streaming assistant message
  std::string conversation_id;
  std::string user_id;  // who asked (the per-user cap)
  std::string worker;   // "host:pid", for operators and gc
};

struct InflightCaps {
  int per_user = 3;
  int total = 1000;
};

// Checks both caps and inserts the row; RATE_LIMITED with Retry-After when a cap is reached (the
// caller rolls back). Run it late in the sending transaction: the lock it takes is held to commit.
Status StartGeneration(soci::session& s, const NewGeneration& generation, const InflightCaps& caps);

// Deletes the row (the reply is being stored with its final status in the same transaction).
void FinishGeneration(soci::session& s, const std::string& message_id);

// A /v1 completion in flight (sql/0006 completions_inflight): it stores no message, but counts
// against the same caps as replies, under the same lock.
struct NewCompletion {
  std::string user_id;
  std::optional<std::string> key_id;  // the API key that asked
  std::string worker;
};
// Checks both caps and inserts the row (RATE_LIMITED with Retry-After at a cap); returns its id
// (a fresh UUID, also the completion's). In a transaction of its own: the lock it takes is held
// to commit.
Result<std::string> StartCompletion(soci::session& s, const NewCompletion& completion,
                                    const InflightCaps& caps);
void FinishCompletion(soci::session& s, const std::string& id);
// Keeps a long completion counted (rows with a stale heartbeat stop counting).
void HeartbeatCompletion(soci::session& s, const std::string& id);
// chatctl gc: deletes completion rows whose worker died (heartbeat older than kStaleAfterSeconds);
// returns how many.
int64_t DeleteStaleCompletions(soci::session& s);

// Marks every generation of the conversation stopped and NOTIFYs kStopChannel with their ids (on
// commit). Returns the ids (possibly none).
std::vector<std::string> RequestStop(soci::session& s, const std::string& conversation_id);

// Replies in flight now, across the deployment (stale rows excluded).
int64_t CountInflight(soci::session& s);

// For a worker's dedicated connection (libpq, not SOCI): $1 is a JSON array of message ids; it
// refreshes their heartbeat and returns the ids (text) whose stop was requested.
inline constexpr const char* kHeartbeatSql =
    "UPDATE generations SET heartbeat_at = now() "
    "WHERE message_id IN (SELECT CAST(jsonb_array_elements_text(CAST($1 AS jsonb)) AS uuid)) "
    "RETURNING message_id::text, stop_requested";

// The same question without touching the rows (after a reconnect of that connection).
inline constexpr const char* kStopRequestedSql =
    "SELECT message_id::text FROM generations WHERE stop_requested "
    "AND message_id IN (SELECT CAST(jsonb_array_elements_text(CAST($1 AS jsonb)) AS uuid))";

}  // namespace chatd::store
