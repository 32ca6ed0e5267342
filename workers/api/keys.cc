// API keys (API.md "API keys and the OpenAI-compatible surface"): POST /keys, GET /keys,
// DELETE /keys/{id}. A key authenticates the /v1 surface (api/openai_compat.cc) as its user.
//
// Rules:
//   * only a signed-in, non-guest user manages keys (a guest gets 403 FORBIDDEN: a key would
//     outlive the guest's session and its GUEST_TTL);
//   * name: 1..100 characters of user text (sanitized, trimmed); expires_at: optional RFC 3339
//     timestamp with an explicit offset ("Z" or ±hh:mm), in the future and at most ten years
//     ahead; null or absent: the key does not expire;
//   * the secret appears once, in the 201 answer (`key`), and is never stored: only its hash is
//     (auth/api_key.h); lists show `prefix` ("chatd_" + 16 hex digits), created_at, expires_at and
//     last_used_at;
//   * DELETE revokes at once (the next /v1 request with the key is 401); another user's key, or a
//     revoked one, is 404;
//   * a user has at most store::kMaxApiKeysPerUser active keys (409 CONFLICT past it), so the list
//     is one page: {"items": [...], "next_cursor": null}.

#include <soci/soci.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/principal.h"
#include "api/render.h"
#include "auth/api_key.h"
#include "core/log.h"
#include "core/text.h"
#include "json/json.h"
#include "store/api_keys_repo.h"

namespace chatd::api {
namespace {

constexpr int kMaxExpiryDays = 3650;

bool Digits(std::string_view s, size_t from, size_t n) {
  if (from + n > s.size()) return false;
  for (size_t i = from; i < from + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// RFC 3339 date-time with an explicit offset: YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM). Ranges
// of the fields are left to PostgreSQL's cast, which the caller runs before storing.
bool LooksLikeRfc3339(std::string_view s) {
  if (s.size() < 20 || s.size() > 40) return false;
  if (!Digits(s, 0, 4) || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' || !Digits(s, 8, 2) ||
      (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2) || s[13] != ':' || !Digits(s, 14, 2) ||
      s[16] != ':' || !Digits(s, 17, 2)) {
    return false;
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i - start > 6) return false;
  }
  std::string_view zone = s.substr(i);
  if (zone == "Z" || zone == "z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && Digits(zone, 1, 2) &&
         zone[3] == ':' && Digits(zone, 4, 2);
}

Result<Principal> KeyOwner(const http::Request& r, Services& services) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  if (me->is_guest) {
    return Status(ErrorCode::kForbidden,
                  "Guests cannot create API keys. Create an account to use the API.");
  }
  return me;
}

Result<http::Response> CreateKey(Services& services, const http::Request& r) {
  auto me = KeyOwner(r, services);
  if (!me.ok()) return me.status();
  auto body = ParseJsonBody(r);
  if (!body.ok()) return body.status();
  json::ObjectReader in(body->root());
  json::StringRule name_rule;
  name_rule.min_chars = 1;
  name_rule.max_chars = store::kMaxApiKeyNameChars;
  auto name = in.String("name", name_rule, /*required=*/true);
  json::StringRule expiry_rule;
  expiry_rule.sanitize = false;
  expiry_rule.max_chars = 40;
  expiry_rule.allow_null = true;
  auto expires_at = in.String("expires_at", expiry_rule);
  if (expires_at.value && !LooksLikeRfc3339(*expires_at.value)) {
    in.AddError("expires_at",
                "must be an RFC 3339 timestamp with a time zone, e.g. "
                "2027-01-31T00:00:00Z");
  }
  Status st = in.Finish();
  if (!st.ok()) return st;

  const auth::NewApiKey fresh = auth::GenerateApiKey();
  std::optional<store::ApiKeyRecord> created;
  st = services.db->Run([&](soci::session& s) -> Status {
    if (expires_at.value) {
      // PostgreSQL's own timestamp parser has the last word on the fields' ranges.
      int64_t ok = 0;
      try {
        ok = store::CheckApiKeyExpiry(s, *expires_at.value, kMaxExpiryDays);
      } catch (const soci::soci_error&) {
        return Status::Invalid("expires_at", "is not a valid date and time");
      }
      if (ok == 1) return Status::Invalid("expires_at", "must be in the future");
      if (ok == 2) return Status::Invalid("expires_at", "must be at most ten years ahead");
    }
    soci::transaction tx(s);
    auto row = store::CreateApiKey(
        s, {me->user_id, *name.value, fresh.lookup, fresh.hash_hex, expires_at.value});
    if (!row.ok()) return row.status();
    tx.commit();
    created = std::move(row).value();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  LogInfo("api key created")
      .Str("request_id", r.request_id)
      .Str("user_id", me->user_id)
      .Str("key_id", created->id)
      .Str("prefix", fresh.prefix);
  json::Writer w;
  WriteApiKey(w, *created, &fresh.key);
  http::Response response = http::Response::Json(201, w.Take());
  response.headers.emplace_back("Location", "/api/v1/keys/" + created->id);
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Result<http::Response> ListKeys(Services& services, const http::Request& r) {
  auto me = KeyOwner(r, services);
  if (!me.ok()) return me.status();
  std::vector<store::ApiKeyRecord> keys;
  Status st = services.db->Run(
      [&](soci::session& s) {
        keys = store::ListApiKeys(s, me->user_id);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  json::Writer w;
  w.StartObject().Key("items").StartArray();
  for (const auto& k : keys) WriteApiKey(w, k);
  w.EndArray().Key("next_cursor").Null().EndObject();
  http::Response response = http::Response::Json(200, w.Take());
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

Result<http::Response> RevokeKey(Services& services, const http::Request& r) {
  auto me = KeyOwner(r, services);
  if (!me.ok()) return me.status();
  std::string_view raw = r.PathParam("id");
  if (!json::IsUuid(raw)) return Status::NotFound("This API key does not exist.");
  const std::string id = AsciiLower(raw);
  bool revoked = false;
  Status st = services.db->Run([&](soci::session& s) {
    revoked = store::RevokeApiKey(s, me->user_id, id);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (!revoked) return Status::NotFound("This API key does not exist.");
  LogInfo("api key revoked").Str("request_id", r.request_id).Str("key_id", id);
  return http::Response::NoContent();
}

}  // namespace

void RegisterKeyRoutes(http::Router& router, Services* services) {
  router.Add("POST", "/api/v1/keys",
             JsonHandler([services](const http::Request& r) { return CreateKey(*services, r); }));
  router.Add("GET", "/api/v1/keys",
             JsonHandler([services](const http::Request& r) { return ListKeys(*services, r); }));
  router.Add("DELETE", "/api/v1/keys/{id}",
             JsonHandler([services](const http::Request& r) { return RevokeKey(*services, r); }));
}

}  // namespace chatd::api
