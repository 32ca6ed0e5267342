// shares (sql/0009): read-only links to a snapshot of a conversation's messages.
//
// The repository stores what the API rendered (the snapshot's JSON) and finds it again by token;
// it never renders. A conversation has at most kMaxSharesPerConversation links (CreateShare
// answers CONFLICT past it, counted under the conversation's row lock, which the caller holds).
//
// Like every repository: exceptions propagate to Database::Run, transactions belong to the
// caller. Plain functions over the session they are given.

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

inline constexpr int kMaxSharesPerConversation = 20;

struct ShareRecord {
  std::string id;
  std::string conversation_id;
  std::string token;
  std::string title;
  int64_t message_count = 0;
  std::string created_at;
};

struct NewShareRow {
  std::string conversation_id;
  std::string owner_id;
  std::string token;  // 43 characters of base64url (auth::NewRefreshToken)
  std::string title;
  int64_t message_count = 0;
  std::string snapshot_json;  // a JSON object
};

// CONFLICT when the conversation already has kMaxSharesPerConversation links. Call it with the
// conversation's row locked (store::LockConversation).
Result<ShareRecord> CreateShare(soci::session& s, const NewShareRow& row);

// The links `owner_id` made of the conversation, newest first.
std::vector<ShareRecord> ListShares(soci::session& s, const std::string& conversation_id,
                                    const std::string& owner_id);

// Deletes one of `owner_id`'s links; false when there is none with that id (or another user's).
bool DeleteShare(soci::session& s, const std::string& owner_id, const std::string& share_id);

struct SharedSnapshot {
  std::string snapshot_json;
  std::string created_at;
};
// The snapshot behind a token; nullopt when no link has it.
std::optional<SharedSnapshot> FindShared(soci::session& s, const std::string& token);

}  // namespace chatd::store
