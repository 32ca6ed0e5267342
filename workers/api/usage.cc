// GET /usage?days=30 (API.md "Usage and administration"): the caller's reply counters per UTC day
// and where it stands against today's token quota.
//
// `days` is 1..365 (default 30) and counts today: days=1 is today only. `items` lists, oldest
// first, only the days on which the caller had replies (a day without any is simply absent).
// `quota.daily_tokens` is the quota that applies to the caller (GUEST_DAILY_TOKEN_QUOTA for a
// guest, DAILY_TOKEN_QUOTA otherwise) and `quota.used_today` the prompt + completion tokens
// counted today; a reply is refused (429 QUOTA_EXCEEDED) once used_today reaches daily_tokens.
// `keys` says which of the caller's API keys spent what over the same days (completions through
// /v1, which also count in `items` and against the quota): one entry per key with usage in the
// period, revoked keys included (`revoked`), in the order the keys were created.

#include <soci/soci.h>

#include "api/common.h"
#include "api/handlers.h"
#include "api/principal.h"
#include "api/render.h"
#include "auth/api_key.h"
#include "store/api_keys_repo.h"
#include "store/limits_repo.h"

namespace chatd::api {
namespace {

constexpr int kDefaultDays = 30;
constexpr int kMaxDays = 365;

Result<http::Response> GetUsage(Services& services, const http::Request& r) {
  auto me = Authenticate(r, services);
  if (!me.ok()) return me.status();
  auto days = IntQueryParam(r, "days", 1, kMaxDays);
  if (!days.ok()) return days.status();
  const int span = static_cast<int>(days->value_or(kDefaultDays));
  const int64_t quota =
      me->is_guest ? services.config->guest_daily_token_quota : services.config->daily_token_quota;

  std::vector<store::UsageDay> items;
  std::vector<store::ApiKeyUsage> keys;
  store::QuotaState state;
  Status st = services.db->Run(
      [&](soci::session& s) -> Status {
        items = store::ListUsage(s, me->user_id, span);
        state = store::LoadQuota(s, me->user_id, quota);
        keys = store::ListApiKeyUsage(s, me->user_id, span);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;

  json::Writer w;
  w.StartObject().Key("items").StartArray();
  for (const auto& d : items) WriteUsageDay(w, d);
  w.EndArray();
  w.Key("keys").StartArray();
  for (const auto& k : keys) {
    w.StartObject()
        .Field("key_id", k.key_id)
        .Field("name", k.name)
        .Field("prefix", auth::ApiKeyPrefix(k.lookup))
        .Field("revoked", k.revoked)
        .Field("requests", k.requests)
        .Field("prompt_tokens", k.prompt_tokens)
        .Field("completion_tokens", k.completion_tokens)
        .EndObject();
  }
  w.EndArray();
  w.Key("quota")
      .StartObject()
      .Field("daily_tokens", state.daily_tokens)
      .Field("used_today", state.used_today)
      .EndObject();
  w.EndObject();
  http::Response response = http::Response::Json(200, w.Take());
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

}  // namespace

void RegisterUsageRoutes(http::Router& router, Services* services) {
  router.Add("GET", "/api/v1/usage",
             JsonHandler([services](const http::Request& r) { return GetUsage(*services, r); }));
}

}  // namespace chatd::api
