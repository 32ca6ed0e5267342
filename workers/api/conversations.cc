// Conversations (API.md "Conversations"): create (assistant, direct, group), list, get, rename or
// archive, delete-or-leave, add and remove members.
//
// Rules decided here, beyond API.md's words (docs/openapi.yaml carries them too):
//   * Anything about a conversation the caller is not a member of is 404 (a path id that is not
//     a UUID too). An action a member may not take is 403 FORBIDDEN.
//   * kind "assistant": `assistant_id` defaults to the built-in assistant and must be usable by
//     the caller (the default, its own, or any for an admin), else 404. The same for a group's
//     optional `assistant_id`.
//   * kind "direct": `user_id` is any existing user but the caller (400 for oneself, 404 for an
//     unknown id). One conversation per pair: a second create answers 200 with the first, and puts
//     back whichever of the two had left it (both sides race safely through direct_key).
//   * kind "group": `title` required, `member_ids` optional; at most 100 members with the owner;
//     an unknown member id is a 400 on `member_ids` (the request names users that do not exist).
//   * GET /conversations: `archived` (true|false, default false) selects on the caller's own flag;
//     `q` is a case-insensitive substring of the title (conversations without a title never
//     match); most recently active first (last message, or creation), then by id; the cursor is
//     opaque.
//   * PATCH: `archived` is the caller's own flag (any member). `title`: a group's owner only
//     (403 for other members), either participant of a direct chat; null clears it except for a
//     group.
//   * DELETE /conversations/{id}: the owner of an assistant chat or a group deletes it for
//   everyone;
//     any other member leaves. A direct chat has no owner in this sense: either participant leaves
//     it, and it is deleted when both have left.
//   * Members: only a group's owner adds (201 with the Conversation; 409 when the user is already a
//     member or the group is full) and removes others; any member removes itself (leaves), except
//     a group's owner, who deletes the group instead (403).
//   * Every change ends with its event in the same transaction (store::EmitEvent*), for the push
//     daemon (docs/websocket.md).

#include <soci/soci.h>

#include <algorithm>
#include <unordered_map>

#include "api/common.h"
#include "api/conversation_events.h"
#include "api/handlers.h"
#include "api/page_cache.h"
#include "api/principal.h"
#include "api/render.h"
#include "core/text.h"
#include "store/assistants_repo.h"
#include "store/conversations_repo.h"

namespace chatd::api {
namespace {

using store::LockedConversation;

Status ConversationNotFound() {
  return Status::NotFound("This conversation does not exist.");
}
Status UserNotFound() {
  return Status::NotFound("This user does not exist.");
}
Status AssistantNotFound() {
  return Status::NotFound("This assistant does not exist.");
}
Status Forbidden(std::string detail) {
  return Status(ErrorCode::kForbidden, std::move(detail));
}

json::StringRule TitleRule(bool allow_null) {
  json::StringRule rule;
  rule.min_chars = 1;
  rule.max_chars = store::kMaxConversationTitleChars;
  rule.allow_null = allow_null;
  return rule;
}

// A path id: a UUID (lowercased), or nothing, which the caller answers with 404.
std::optional<std::string> PathId(const http::Request& r, std::string_view name) {
  std::string_view raw = r.PathParam(name);
  if (!json::IsUuid(raw)) return std::nullopt;
  return AsciiLower(raw);
}

http::Response ConversationResponse(int status, const store::ConversationRecord& c) {
  return http::Response::Json(status, ConversationJson(c));
}

// Reads the conversation back for the caller after a committed change (a new statement on the
// same session, outside the transaction).
Result<store::ConversationRecord> Reload(soci::session& s, const std::string& id,
                                         const std::string& user_id) {
  auto found = store::FindConversation(s, id, user_id);
  if (!found) return ConversationNotFound();  // changed again in between: as good as gone
  return std::move(*found);
}

// The conversation as an event describes it (read inside the writing transaction).
Result<store::ConversationRecord> Snapshot(soci::session& s, const std::string& id) {
  auto snapshot = store::LoadConversationSnapshot(s, id);
  if (!snapshot) return ConversationNotFound();
  return std::move(*snapshot);
}

std::vector<std::string> MemberIdsOf(const store::ConversationRecord& c) {
  std::vector<std::string> ids;
  for (const auto& m : c.members) ids.push_back(m.user.id);
  return ids;
}

// The caller leaves `c` (locked, caller a member): member.removed to the rest and to the caller.
// A direct chat that nobody is left in is deleted. The caller commits.
Status Leave(soci::session& s, const LockedConversation& c, const std::string& user_id) {
  if (c.kind == "direct" && store::CountMembers(s, c.id) == 1) {
    auto snapshot = Snapshot(s, c.id);  // before it goes
    if (!snapshot.ok()) return snapshot.status();
    store::DeleteConversation(s, c.id);
    EmitConversationEvent(s, *snapshot, "conversation.deleted", {user_id, std::nullopt, {}},
                          {user_id});
    return Status::Ok();
  }
  store::RemoveMember(s, c.id, user_id);
  store::TouchConversation(s, c.id);
  auto snapshot = Snapshot(s, c.id);
  if (!snapshot.ok()) return snapshot.status();
  std::vector<std::string> recipients = MemberIdsOf(*snapshot);
  recipients.push_back(user_id);
  EmitConversationEvent(s, *snapshot, "member.removed", {user_id, user_id, {}}, recipients);
  return Status::Ok();
}

// Emits conversation.created to every member of the new conversation `id`.
Status EmitCreated(soci::session& s, const std::string& id, const std::string& actor_id) {
  auto snapshot = Snapshot(s, id);
  if (!snapshot.ok()) return snapshot.status();
  EmitConversationEvent(s, *snapshot, "conversation.created", {actor_id, std::nullopt, {}},
                        MemberIdsOf(*snapshot));
  return Status::Ok();
}

// ---- POST /conversations ------------------------------------------------------------------------

Result<http::Response> CreateAssistantChat(Services& services, const Principal& me,
                                           const std::optional<std::string>& assistant_id,
                                           const std::optional<std::string>& title) {
  const std::string assistant = assistant_id.value_or(std::string(store::kDefaultAssistantId));
  std::optional<store::ConversationRecord> created;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    if (!store::FindUsableAssistant(s, assistant, me.user_id, me.is_admin()))
      return AssistantNotFound();
    std::string id = store::InsertConversation(s, {"assistant", title, assistant, me.user_id});
    if (Status e = EmitCreated(s, id, me.user_id); !e.ok()) return e;
    tx.commit();
    auto c = Reload(s, id, me.user_id);
    if (!c.ok()) return c.status();
    created = std::move(*c);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return ConversationResponse(201, *created);
}

Result<http::Response> CreateDirectChat(Services& services, const Principal& me,
                                        const std::string& other) {
  if (other == me.user_id) return Status::Invalid("user_id", "must be another user");
  const std::string key = store::DirectKey(me.user_id, other);
  std::optional<std::string> id;
  bool created = false;
  std::optional<store::ConversationRecord> result;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    // A second round only when the pair's conversation vanished between our failed insert and
    // our read (its last member left at that moment).
    for (int attempt = 0; attempt < 3 && !id; ++attempt) {
      soci::transaction tx(s);
      if (!store::UserExists(s, other)) return UserNotFound();
      if (auto inserted = store::InsertDirectConversation(s, me.user_id, key)) {
        store::AddMembers(s, *inserted, {me.user_id}, "owner");
        store::AddMembers(s, *inserted, {other}, "member");
        if (Status e = EmitCreated(s, *inserted, me.user_id); !e.ok()) return e;
        tx.commit();
        id = inserted;
        created = true;
        break;
      }
      // Someone (maybe the other side, right now) created it first; READ COMMITTED lets this
      // statement see that commit.
      auto existing = store::FindDirectConversation(s, key);
      if (!existing) continue;
      auto locked = store::LockConversation(s, *existing, me.user_id);
      if (!locked) continue;
      // Whoever of the pair had left comes back: the pair "creating" it again restores it.
      std::vector<std::string> members = store::MemberIds(s, *existing);
      std::vector<std::string> returning;
      for (const std::string& user : {me.user_id, other}) {
        if (std::find(members.begin(), members.end(), user) != members.end()) continue;
        store::AddMembers(s, *existing, {user}, user == locked->owner_id ? "owner" : "member");
        returning.push_back(user);
      }
      if (!returning.empty()) {
        store::TouchConversation(s, *existing);
        auto snapshot = Snapshot(s, *existing);
        if (!snapshot.ok()) return snapshot.status();
        for (const std::string& user : returning) {
          EmitConversationEvent(s, *snapshot, "member.added", {me.user_id, user, {}},
                                MemberIdsOf(*snapshot));
        }
      }
      tx.commit();
      id = existing;
    }
    if (!id) return Status::Unavailable("The service is busy. Please try again in a moment.");
    auto c = Reload(s, *id, me.user_id);
    if (!c.ok()) return c.status();
    result = std::move(*c);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return ConversationResponse(created ? 201 : 200, *result);
}

Result<http::Response> CreateGroup(Services& services, const Principal& me,
                                   const std::string& title,
                                   const std::vector<std::string>& member_ids,
                                   const std::optional<std::string>& assistant_id) {
  std::vector<std::string> others;
  for (const std::string& id : member_ids) {
    if (id != me.user_id) others.push_back(id);  // already de-duplicated by the reader
  }
  if (others.size() + 1 > store::kMaxGroupMembers) {
    return Status::Invalid("member_ids", "a group has at most " +
                                             std::to_string(store::kMaxGroupMembers) +
                                             " members, its owner included");
  }
  std::optional<store::ConversationRecord> created;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    if (assistant_id && !store::FindUsableAssistant(s, *assistant_id, me.user_id, me.is_admin())) {
      return AssistantNotFound();
    }
    if (store::CountExistingUsers(s, others) != static_cast<int64_t>(others.size())) {
      return Status::Invalid("member_ids", "contains a user that does not exist");
    }
    std::string id = store::InsertConversation(s, {"group", title, assistant_id, me.user_id});
    store::AddMembers(s, id, others, "member");
    if (Status e = EmitCreated(s, id, me.user_id); !e.ok()) return e;
    tx.commit();
    auto c = Reload(s, id, me.user_id);
    if (!c.ok()) return c.status();
    created = std::move(*c);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return ConversationResponse(201, *created);
}

Result<http::Response> CreateConversation(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader reader(body->root());
  json::StringRule kind_rule;
  kind_rule.min_chars = 1;
  kind_rule.max_chars = 16;
  kind_rule.sanitize = false;
  auto kind = reader.String("kind", kind_rule, /*required=*/true);
  auto kind_error = [&reader]() {
    // The other fields depend on the kind: without one, report the kind alone.
    for (const char* key : {"assistant_id", "title", "user_id", "member_ids"}) reader.Raw(key);
    return reader.Finish();
  };
  if (!kind.value) return kind_error();
  if (*kind.value == "assistant") {
    auto assistant_id = reader.Uuid("assistant_id", false, /*allow_null=*/true);
    auto title = reader.String("title", TitleRule(/*allow_null=*/true));
    Status valid = reader.Finish();
    if (!valid.ok()) return valid;
    return CreateAssistantChat(services, *me, assistant_id.value, title.value);
  }
  if (*kind.value == "direct") {
    auto user_id = reader.Uuid("user_id", /*required=*/true);
    Status valid = reader.Finish();
    if (!valid.ok()) return valid;
    return CreateDirectChat(services, *me, *user_id.value);
  }
  if (*kind.value == "group") {
    auto title = reader.String("title", TitleRule(/*allow_null=*/false), /*required=*/true);
    auto member_ids = reader.UuidArray("member_ids", store::kMaxGroupMembers);
    auto assistant_id = reader.Uuid("assistant_id", false, /*allow_null=*/true);
    Status valid = reader.Finish();
    if (!valid.ok()) return valid;
    return CreateGroup(services, *me, *title.value,
                       member_ids.value.value_or(std::vector<std::string>{}), assistant_id.value);
  }
  reader.AddError("kind", "must be one of assistant, direct, group");
  return kind_error();
}

// ---- GET /conversations -------------------------------------------------------------------------

// The page's keys and versions first, then only the conversations whose rendering at that version
// is not in the page cache (api/page_cache.h; all of them when PAGE_CACHE_MB=0), rendered and
// kept (unless the last message is still streaming: its text grows without a version change). A
// page thus costs its index range and primary-key reads, plus the full read of what changed.
Result<http::Response> ListConversationsPage(Services& services, const Principal& me,
                                             const store::ConversationFilter& filter) {
  PageCache* cache = services.message_pages.get();
  auto key_of = [](const std::string& id, bool archived) {
    return "c/" + id + (archived ? "/a" : "/n");
  };
  store::ConversationKeyPage keys;
  std::vector<std::shared_ptr<const std::string>> bodies;
  Status st = services.db->Run(
      [&](soci::session& s) {
        keys = store::ListConversationKeys(s, me.user_id, filter);
        bodies.assign(keys.items.size(), nullptr);
        std::vector<std::string> missing;
        std::unordered_map<std::string, size_t> slot;
        for (size_t i = 0; i < keys.items.size(); ++i) {
          const store::ConversationKey& k = keys.items[i];
          if (cache) bodies[i] = cache->Find(key_of(k.id, k.archived), k.version.Tag());
          if (!bodies[i]) {
            missing.push_back(k.id);
            slot[k.id] = i;
          }
        }
        for (auto& [record, version] : store::LoadConversationsForList(s, me.user_id, missing)) {
          json::Writer item;
          WriteConversation(item, record);
          auto body = std::make_shared<const std::string>(item.Take());
          const bool streaming = record.last_message && record.last_message->status == "streaming";
          if (cache && !streaming) {
            cache->Store(key_of(record.id, record.archived), version.Tag(), *body);
          }
          bodies[slot[record.id]] = std::move(body);
        }
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  json::Writer w;
  w.StartObject().Key("items").StartArray();
  // A conversation left or deleted between the two reads is skipped.
  for (const auto& body : bodies) {
    if (body) w.Raw(*body);
  }
  w.EndArray().Key("next_cursor");
  if (keys.next) {
    w.String(store::EncodeConversationCursor(*keys.next));
  } else {
    w.Null();
  }
  w.EndObject();
  return http::Response::Json(200, w.Take());
}

Result<http::Response> ListConversations(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  store::ConversationFilter filter;
  std::vector<FieldError> errors;
  auto limit = LimitQueryParam(r);
  if (limit.ok()) {
    filter.limit = *limit;
  } else {
    errors.push_back(limit.status().field_errors().front());
  }
  if (auto archived = r.QueryParam("archived")) {
    if (*archived == "true" || *archived == "1") {
      filter.archived = true;
    } else if (*archived != "false" && *archived != "0") {
      errors.push_back({"archived", "must be true or false"});
    }
  }
  if (auto q = r.QueryParam("q")) {
    SanitizedText clean = SanitizeUserText(*q);
    if (clean.problem != TextProblem::kNone) {
      errors.push_back({"q", "must be valid UTF-8 text without NUL characters"});
    } else if (CountChars(clean.text) > store::kMaxConversationTitleChars) {
      errors.push_back({"q", "must be at most 200 characters"});
    } else {
      filter.title_query = std::move(clean.text);
    }
  }
  if (auto cursor = r.QueryParam("cursor"); cursor && !cursor->empty()) {
    filter.after = store::DecodeConversationCursor(*cursor);
    if (!filter.after) errors.push_back({"cursor", "is not a cursor of this list"});
  }
  if (!errors.empty()) return Status::Invalid(std::move(errors));

  return ListConversationsPage(services, *me, filter);
}

// ---- /conversations/{id} ------------------------------------------------------------------------

Result<http::Response> GetConversation(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto id = PathId(r, "id");
  if (!id) return ConversationNotFound();
  std::optional<store::ConversationRecord> found;
  Status st = services.db->Run(
      [&](soci::session& s) {
        found = store::FindConversation(s, *id, me->user_id);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  if (!found) return ConversationNotFound();
  return ConversationResponse(200, *found);
}

Result<http::Response> UpdateConversation(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader reader(body->root());
  auto title = reader.String("title", TitleRule(/*allow_null=*/true));
  auto archived = reader.Bool("archived");
  Status valid = reader.Finish();
  if (!valid.ok()) return valid;
  auto id = PathId(r, "id");
  if (!id) return ConversationNotFound();

  std::optional<store::ConversationRecord> result;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    auto c = store::LockConversation(s, *id, me->user_id);
    if (!c || !c->is_member()) return ConversationNotFound();
    bool title_changed = false;
    if (title.present) {
      if (c->kind == "group" && !c->caller_is_owner()) {
        return Forbidden("Only the group's owner can rename it.");
      }
      if (c->kind == "group" && !title.value)
        return Status::Invalid("title", "is required for a group");
      if (title.value != c->title) {
        store::SetTitle(s, *id, title.value);
        title_changed = true;
      }
    }
    bool archived_changed = archived.value && *archived.value != c->caller_archived;
    if (archived_changed) store::SetArchived(s, *id, me->user_id, *archived.value);
    // Events last: the title is everybody's, the archived flag only the caller's (its devices).
    if (title_changed || archived_changed) {
      auto snapshot = Snapshot(s, *id);
      if (!snapshot.ok()) return snapshot.status();
      if (title_changed) {
        EmitConversationEvent(s, *snapshot, "conversation.updated",
                              {me->user_id, std::nullopt, {"title"}}, MemberIdsOf(*snapshot));
      }
      if (archived_changed) {
        EmitConversationEvent(s, *snapshot, "conversation.updated",
                              {me->user_id, std::nullopt, {"archived"}}, {me->user_id});
      }
    }
    tx.commit();
    auto reloaded = Reload(s, *id, me->user_id);
    if (!reloaded.ok()) return reloaded.status();
    result = std::move(*reloaded);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return ConversationResponse(200, *result);
}

Result<http::Response> DeleteConversation(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto id = PathId(r, "id");
  if (!id) return ConversationNotFound();
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    auto c = store::LockConversation(s, *id, me->user_id);
    if (!c || !c->is_member()) return ConversationNotFound();
    if (c->kind != "direct" && c->caller_is_owner()) {
      // Everyone who was a member learns of it, with the conversation as it was.
      auto snapshot = Snapshot(s, *id);
      if (!snapshot.ok()) return snapshot.status();
      store::DeleteConversation(s, *id);
      EmitConversationEvent(s, *snapshot, "conversation.deleted", {me->user_id, std::nullopt, {}},
                            MemberIdsOf(*snapshot));
    } else if (Status left = Leave(s, *c, me->user_id); !left.ok()) {
      return left;
    }
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return http::Response::NoContent();
}

// ---- /conversations/{id}/members ----------------------------------------------------------------

Result<http::Response> AddMember(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader reader(body->root());
  auto user_id = reader.Uuid("user_id", /*required=*/true);
  Status valid = reader.Finish();
  if (!valid.ok()) return valid;
  auto id = PathId(r, "id");
  if (!id) return ConversationNotFound();
  const std::string& target = *user_id.value;

  std::optional<store::ConversationRecord> result;
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    auto c = store::LockConversation(s, *id, me->user_id);
    if (!c || !c->is_member()) return ConversationNotFound();
    if (c->kind != "group") return Forbidden("Members can only be added to group conversations.");
    if (!c->caller_is_owner()) return Forbidden("Only the group's owner can add members.");
    if (!store::UserExists(s, target)) return UserNotFound();
    std::vector<std::string> members = store::MemberIds(s, *id);
    if (std::find(members.begin(), members.end(), target) != members.end()) {
      return Status(ErrorCode::kConflict, "This user is already a member of the conversation.");
    }
    if (members.size() >= store::kMaxGroupMembers) {
      return Status(ErrorCode::kConflict,
                    "This group already has the most members a group can have.");
    }
    store::AddMembers(s, *id, {target}, "member");
    store::TouchConversation(s, *id);
    auto snapshot = Snapshot(s, *id);
    if (!snapshot.ok()) return snapshot.status();
    EmitConversationEvent(s, *snapshot, "member.added", {me->user_id, target, {}},
                          MemberIdsOf(*snapshot));
    tx.commit();
    auto reloaded = Reload(s, *id, me->user_id);
    if (!reloaded.ok()) return reloaded.status();
    result = std::move(*reloaded);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return ConversationResponse(201, *result);
}

Result<http::Response> RemoveMember(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto id = PathId(r, "id");
  if (!id) return ConversationNotFound();
  auto target = PathId(r, "user_id");
  Status st = services.db->Run([&](soci::session& s) -> Status {
    soci::transaction tx(s);
    auto c = store::LockConversation(s, *id, me->user_id);
    if (!c || !c->is_member()) return ConversationNotFound();
    if (target && *target == me->user_id) {
      if (c->kind != "direct" && c->caller_is_owner()) {
        return Forbidden("The owner cannot leave this conversation; delete it instead.");
      }
      if (Status left = Leave(s, *c, me->user_id); !left.ok()) return left;
      tx.commit();
      return Status::Ok();
    }
    if (c->kind != "group" || !c->caller_is_owner()) {
      return Forbidden("Only the group's owner can remove other members.");
    }
    if (!target || !store::RemoveMember(s, *id, *target)) {
      return Status::NotFound("This user is not a member of the conversation.");
    }
    store::TouchConversation(s, *id);
    auto snapshot = Snapshot(s, *id);
    if (!snapshot.ok()) return snapshot.status();
    std::vector<std::string> recipients = MemberIdsOf(*snapshot);
    recipients.push_back(*target);
    EmitConversationEvent(s, *snapshot, "member.removed", {me->user_id, *target, {}}, recipients);
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return http::Response::NoContent();
}

}  // namespace

void RegisterConversationRoutes(http::Router& router, Services* services) {
  auto bind = [services](Result<http::Response> (*fn)(Services&, const http::Request&)) {
    return JsonHandler([services, fn](const http::Request& r) { return fn(*services, r); });
  };
  router.Add("POST", "/api/v1/conversations", bind(CreateConversation));
  router.Add("GET", "/api/v1/conversations", bind(ListConversations));
  router.Add("GET", "/api/v1/conversations/{id}", bind(GetConversation));
  router.Add("PATCH", "/api/v1/conversations/{id}", bind(UpdateConversation));
  router.Add("DELETE", "/api/v1/conversations/{id}", bind(DeleteConversation));
  router.Add("POST", "/api/v1/conversations/{id}/members", bind(AddMember));
  router.Add("DELETE", "/api/v1/conversations/{id}/members/{user_id}", bind(RemoveMember));
}

}  // namespace chatd::api
