// The conversations aggregate: conversations, their members, the caller's view of them (API.md's
// Conversation, with the caller's own `archived` flag and the last message), and the event log
// entries that tell the members' devices about changes.
//
// Concurrency rules every writer follows (sql/0001_init.sql explains the why):
//   * A unit of work that changes a conversation, its members or its messages first locks the
//     conversation row with LockConversation (SELECT ... FOR NO KEY UPDATE), before any write of
//     its own, and only then reads the membership, so membership checks, seq numbers and event
//     recipients are all taken under the same lock and are consistent with each other. Locking
//     before the first write also gives the transaction its xid under the lock, which is what
//     keeps the event log in the conversation's order (sql/0008); a lock taken after a write is
//     logged ("conversation locked after a write").
//   * Its events (EmitEvent / EmitEventToMembers) are written in the same transaction, so an
//     event exists if and only if its change committed.
//   * Direct conversations are unique per pair through direct_key: InsertDirectConversation is an
//     INSERT ... ON CONFLICT DO NOTHING, and the loser of a race finds the winner's row with
//     FindDirectConversation (READ COMMITTED: the statement after the conflict sees the commit).
//
// Transactions belong to the caller (api/conversations.cc, api/messages.cc): no function here
// begins or commits one. Database exceptions propagate to Database::Run, which maps them once.
//
// Threads: plain functions over the session they are given; the session belongs to one thread.

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/messages_repo.h"
#include "store/users_repo.h"

namespace soci {
class session;
}

namespace chatd::store {

inline constexpr size_t kMaxConversationTitleChars = 200;
// API.md: a group has at most 100 members, its owner included.
inline constexpr size_t kMaxGroupMembers = 100;

struct MemberRecord {
  PublicUserRecord user;
  std::string role;       // "owner" | "member"
  bool archived = false;  // this member's own flag (not part of the API's member shape)
};

// Where a conversation stands in the caller's list: most recently active first, then by id.
struct ActivityPosition {
  int64_t activity_us = 0;  // last_activity_at, microseconds since the Unix epoch
  std::string id;
};

// The opaque cursor of GET /conversations ("<activity_us>_<id>") and its strict inverse (nullopt
// for anything Encode could not have produced).
std::string EncodeConversationCursor(const ActivityPosition& position);
std::optional<ActivityPosition> DecodeConversationCursor(std::string_view cursor);

// The assistant that answers in a conversation, as a Conversation shows it to every member
// (GET /assistants/{id} is the owner's only).
struct ConversationAssistant {
  std::string id;
  std::string name;
};

// API.md's Conversation as one member sees it.
struct ConversationRecord {
  std::string id;
  std::string kind;  // "assistant" | "direct" | "group"
  std::optional<std::string> title;
  std::optional<std::string> assistant_id;
  // The assistant that answers: assistant_id's, or for kind "assistant" without one (the
  // built-in default, or its assistant deleted) the built-in default (store::kDefaultAssistantId,
  // as messages.cc falls back to it). nullopt for direct chats and groups without an assistant.
  std::optional<ConversationAssistant> assistant;
  std::string owner_id;
  std::vector<MemberRecord> members;  // the owner first, then by joining time
  bool archived = false;              // the caller's own flag
  std::string created_at;
  std::string updated_at;
  std::optional<MessageRecord> last_message;
  ActivityPosition position;
};

// ---- Reading ------------------------------------------------------------------------------------

struct ConversationFilter {
  bool archived = false;                  // the caller's archived flag must equal this
  std::string title_query;                // case-insensitive substring of the title; empty: any
  std::optional<ActivityPosition> after;  // continue after this position
  int limit = 50;                         // 1..100
};

// The caller's conversations, most recently active first, in two steps for the page cache
// (api/page_cache.h). First the page's keys, in list order, each with the caller's own archived
// flag and the version its rendering depends on (sql/0003: the conversation's row, members, last
// message, and the assistant's row for its name; the profiles epoch for the names of users
// and, since sql/0005, of assistants): `limit` index entries and primary-key reads. Then, for
// the conversations not cached at that version, their records, each with the version it was read
// at. A conversation the caller left between the two reads is absent from the second.
struct ConversationKey {
  std::string id;
  bool archived = false;
  ActivityPosition position;
  PageVersion version;
};

struct ConversationKeyPage {
  std::vector<ConversationKey> items;
  std::optional<ActivityPosition> next;  // set when there are more
};

struct VersionedConversation {
  ConversationRecord record;
  PageVersion version;
};

ConversationKeyPage ListConversationKeys(soci::session& s, const std::string& user_id,
                                         const ConversationFilter& filter);
std::vector<VersionedConversation> LoadConversationsForList(soci::session& s,
                                                            const std::string& user_id,
                                                            const std::vector<std::string>& ids);

// The conversation as `user_id` sees it; nullopt when it does not exist or `user_id` is not a
// member.
std::optional<ConversationRecord> FindConversation(soci::session& s,
                                                   const std::string& conversation_id,
                                                   const std::string& user_id);

// The conversation as it stands, for an event about it: `archived` false, every member with its
// own flag. nullopt when it does not exist. Read inside the writing transaction, after the writes
// (or before a deletion), so the event describes exactly what commits.
std::optional<ConversationRecord> LoadConversationSnapshot(soci::session& s,
                                                           const std::string& conversation_id);

// The ids of every conversation `user_id` is a member of (archived ones included), without
// locking anything (the account export reads them in its snapshot).
std::vector<std::string> MemberConversationIds(soci::session& s, const std::string& user_id);

// ---- Locking and membership ---------------------------------------------------------------------

struct LockedConversation {
  std::string id;
  std::string kind;
  std::optional<std::string> title;
  std::optional<std::string> assistant_id;
  std::optional<std::string> assistant_name;  // when assistant_id is set
  std::string owner_id;
  std::optional<std::string> caller_role;  // nullopt: the caller is not a member
  bool caller_archived = false;
  PublicUserRecord caller;  // the caller's PublicUser (when a member)
  // The transaction had written something (had an xid) before it took this lock, and had not
  // created or changed this conversation itself: its events may be delivered out of the
  // conversation's order (sql/0008). Logged by LockConversation.
  bool locked_after_write = false;
  bool is_member() const { return caller_role.has_value(); }
  bool caller_is_owner() const { return caller_role && *caller_role == "owner"; }
};

// Locks the conversation row until the end of the caller's transaction (FOR NO KEY UPDATE: it does
// not block the foreign-key checks of inserted messages and members), then reads the caller's
// membership in a second statement, which under READ COMMITTED sees every change committed before
// the lock was granted. nullopt when the conversation does not exist.
std::optional<LockedConversation> LockConversation(soci::session& s,
                                                   const std::string& conversation_id,
                                                   const std::string& user_id);

// The name of an assistant that `user_id` may use in a conversation: the built-in default, its
// own, or any for an admin (the read rule of store/assistants_repo.h). nullopt otherwise.
std::optional<std::string> FindUsableAssistant(soci::session& s, const std::string& assistant_id,
                                               const std::string& user_id, bool is_admin);

bool UserExists(soci::session& s, const std::string& user_id);
// How many of `user_ids` (lowercase UUIDs) exist.
int64_t CountExistingUsers(soci::session& s, const std::vector<std::string>& user_ids);

std::vector<std::string> MemberIds(soci::session& s, const std::string& conversation_id);

// Locks (FOR NO KEY UPDATE, in id order) the conversations whose assistant_id is `assistant_id`
// and returns their ids: a rename or deletion of the assistant then announces itself to their
// members (api/conversation_events.h) with recipients taken under those locks. Call it after
// locking the assistant (store/assistants_repo.h's access check): assistant, then conversations,
// the order a deletion's ON DELETE SET NULL takes too.
std::vector<std::string> LockConversationsOfAssistant(soci::session& s,
                                                      const std::string& assistant_id);

// ---- Writing (inside the caller's transaction) --------------------------------------------------

struct NewConversation {
  std::string kind;  // "assistant" | "group" (direct: InsertDirectConversation)
  std::optional<std::string> title;
  std::optional<std::string> assistant_id;
  std::string owner_id;
};
// Inserts it with its owner as the one member; returns its id.
std::string InsertConversation(soci::session& s, const NewConversation& conversation);

// '<smaller uuid>:<larger uuid>' of two lowercase UUIDs.
std::string DirectKey(const std::string& a, const std::string& b);
// Inserts the direct conversation of `key` owned by `owner_id` (no members yet); nullopt when it
// already exists (a concurrent creator may have won: see FindDirectConversation).
std::optional<std::string> InsertDirectConversation(soci::session& s, const std::string& owner_id,
                                                    const std::string& key);
std::optional<std::string> FindDirectConversation(soci::session& s, const std::string& key);

// Adds the users (not yet members) with `role`; a user who is already a member is left as is.
// Returns how many were added.
int64_t AddMembers(soci::session& s, const std::string& conversation_id,
                   const std::vector<std::string>& user_ids, std::string_view role);
// false when the user was not a member.
bool RemoveMember(soci::session& s, const std::string& conversation_id, const std::string& user_id);
int64_t CountMembers(soci::session& s, const std::string& conversation_id);

// title nullopt clears it (not for groups: the schema refuses). Sets updated_at.
void SetTitle(soci::session& s, const std::string& conversation_id,
              const std::optional<std::string>& title);
// The member's own archived flag.
void SetArchived(soci::session& s, const std::string& conversation_id, const std::string& user_id,
                 bool archived);
// updated_at = now() (membership changes).
void TouchConversation(soci::session& s, const std::string& conversation_id);
// Deletes it with its members and messages (ON DELETE CASCADE).
void DeleteConversation(soci::session& s, const std::string& conversation_id);

// ---- Events ------------------------------------------------------------------------------------

// The event log's order rule (sql/0008, docs/websocket.md): a transaction that writes events of an
// existing conversation locks it (LockConversation) before its first write, so that it gets its
// xid only once it holds the lock; xid order then agrees with that conversation's commit order.
// The push daemons are woken after the commit (store/db.h, NoteEventsWritten).

// Appends an event for `recipients` (lowercase UUIDs); returns its id (with the transaction's
// xid, the event's position in the log). `kind` is one of the schema's event kinds and
// `payload_json` a JSON object: the frame's fields beside "type" and "cursor" (docs/websocket.md;
// api/render.h builds them).
int64_t EmitEvent(soci::session& s, const std::string& conversation_id, std::string_view kind,
                  const std::string& payload_json, const std::vector<std::string>& recipients);
// The same, for the conversation's current members plus `extra` (a removed member, say).
int64_t EmitEventToMembers(soci::session& s, const std::string& conversation_id,
                           std::string_view kind, const std::string& payload_json,
                           const std::vector<std::string>& extra = {});
// Several events of one kind for the current members, in order, in one statement (a send's
// user message and the reply-to-be: two message.created).
void EmitEventsToMembers(soci::session& s, const std::string& conversation_id,
                         std::string_view kind, const std::vector<std::string>& payloads_json);

}  // namespace chatd::store
