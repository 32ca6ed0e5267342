// User search (API.md "Users"): GET /users?q=&limit=&cursor= lists registered users as
// PublicUser, for finding someone to start a conversation with. Guests are never listed.
//
// Any signed-in caller (guests too) may search. `q` is a case-insensitive prefix of the username
// or the display name, taken literally (LIKE's metacharacters are escaped). Results are ordered by
// username; the cursor is the last username of the page (opaque to clients), so pages stay stable
// while users sign up. Bad parameters get 400 on the parameter's name.

#include <soci/soci.h>

#include <string>
#include <vector>

#include "api/common.h"
#include "api/handlers.h"
#include "api/principal.h"
#include "api/render.h"
#include "core/text.h"
#include "json/json.h"
#include "store/users_repo.h"

namespace chatd::api {
namespace {

// Longer than any username or display name: such a prefix can match nobody.
constexpr size_t kMaxQueryChars = 64;

Result<http::Response> SearchUsers(Services& s, const http::Request& request) {
  auto principal = Authenticate(request, s);
  if (!principal.ok()) return principal.status();

  std::vector<FieldError> errors;
  auto limit = LimitQueryParam(request);  // 1..100, default 50 (render.h: every list alike)
  if (!limit.ok()) {
    for (const auto& e : limit.status().field_errors()) errors.push_back(e);
  }
  std::string query = request.QueryParam("q").value_or("");
  if (!IsValidUtf8(query) || query.find('\0') != std::string::npos) {
    errors.push_back({"q", "must be valid UTF-8 text"});
  } else if (CountChars(query) > kMaxQueryChars) {
    errors.push_back({"q", "must be at most 64 characters"});
  }
  std::string after;
  if (auto cursor = request.QueryParam("cursor"); cursor && !cursor->empty()) {
    auto decoded = store::DecodeUsernameCursor(*cursor);
    if (decoded) {
      after = std::move(*decoded);
    } else {
      errors.push_back({"cursor", "is not a valid cursor"});
    }
  }
  if (!errors.empty()) return Status::Invalid(std::move(errors));

  // One row more than asked tells whether another page exists.
  std::vector<store::PublicUserRecord> rows;
  Status st = s.db->Run(
      [&](soci::session& session) {
        rows = store::UsersRepo(session).Search(query, after, limit.value() + 1);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  bool more = rows.size() > static_cast<size_t>(limit.value());
  if (more) rows.resize(static_cast<size_t>(limit.value()));

  json::Writer w;
  w.StartObject().Key("items").StartArray();
  for (const auto& u : rows) {
    WritePublicUser(w, u);
  }
  w.EndArray().Key("next_cursor");
  if (more) {
    w.String(store::EncodeUsernameCursor(rows.back().username));
  } else {
    w.Null();
  }
  w.EndObject();
  return http::Response::Json(200, w.Take());
}

}  // namespace

void RegisterUserRoutes(http::Router& router, Services* services) {
  router.Add("GET", "/api/v1/users",
             JsonHandler([services](const http::Request& r) { return SearchUsers(*services, r); }));
}

}  // namespace chatd::api
