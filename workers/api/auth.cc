// Accounts and sessions (API.md "Auth"): signup, login, guests, upgrade, refresh-token rotation,
// logout, the caller's profile and password change.
//
// A session is a short-lived JWT access token (no database to verify) plus an opaque refresh
// token, stored hashed, single use, in a rotation family per sign-in (store/tokens_repo.h has the
// protocol; presenting a spent token revokes the family: 401 TOKEN_REUSED).
//
// Decisions worth knowing:
//   * Password hashing (tens of milliseconds, bounded by the hasher's semaphore) never runs while
//     a database session is borrowed: each handler reads, releases, hashes, then writes.
//   * No enumeration: an unknown username and a wrong password give the same 401 body after the
//     same work (a dummy Argon2 verification and one failure recorded for the typed name).
//   * Per-username throttling (store/login_throttle.h) is checked before the password is looked
//     at; a locked name gets 429 with Retry-After and no verification at all.
//   * Usernames starting with "guest-" are refused at signup and upgrade with 400 on "username":
//     the prefix is reserved for guests (sql/0001_init.sql ties it to is_guest).
//   * Logout needs no access token (it may have expired): the refresh token is the credential,
//     and an unknown or already revoked one still gets 204, so logout is idempotent.
//   * Password change keeps the caller's access token valid until it expires (JWTs are not looked
//     up), but every refresh token dies, so no other device can renew its session. Guests have no
//     password: 409 CONFLICT.
//   * Every write that must be atomic is one transaction: signup (user + token), upgrade (user +
//     revocation of the guest's tokens + new token), refresh (spend + issue), reuse (revoke
//     family), password change (hash + revocation).

#include <openssl/rand.h>
#include <soci/soci.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

#include "api/common.h"
#include "api/handlers.h"
#include "api/principal.h"
#include "auth/tokens.h"
#include "core/log.h"
#include "json/json.h"
#include "store/api_keys_repo.h"
#include "store/login_throttle.h"
#include "store/tokens_repo.h"
#include "store/users_repo.h"

namespace chatd::api {
namespace {

// Strings taken as typed (passwords, usernames, tokens): no sanitizing, length checked by the
// specific rules afterwards. The body cap (64 KiB) bounds them first.
constexpr json::StringRule kRawText{0, kMaxJsonBody, /*sanitize=*/false, /*allow_null=*/false};
constexpr json::StringRule kDisplayNameRule{1, store::kMaxDisplayNameChars, /*sanitize=*/true,
                                            /*allow_null=*/false};
constexpr json::StringRule kEmailRule{0, kMaxJsonBody, /*sanitize=*/false, /*allow_null=*/true};
// A refresh token is 43 characters; anything beyond this is not worth hashing.
constexpr json::StringRule kRefreshTokenRule{1, 512, /*sanitize=*/false, /*allow_null=*/false};
// Login looks up what was typed; the throttle's key may be at most 128 characters.
constexpr json::StringRule kLoginUsernameRule{1, store::kMaxLoginKeyChars, /*sanitize=*/false,
                                              /*allow_null=*/false};
constexpr json::StringRule kLoginPasswordRule{1, auth::kMaxPasswordChars, /*sanitize=*/false,
                                              /*allow_null=*/false};

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status InvalidCredentials() {
  return Status(ErrorCode::kInvalidCredentials, "The username or password is incorrect.");
}

Status SessionEnded() {
  return Status(ErrorCode::kUnauthenticated, "Your session has ended. Please sign in again.");
}

Status LoginLocked(int seconds) {
  return Status(ErrorCode::kRateLimited,
                "Too many failed sign-in attempts. Please wait a few minutes and try again.")
      .WithRetryAfter(seconds);
}

// Copies `status`'s field errors into `in`, so that a body's problems are reported together.
void AddFieldErrors(json::ObjectReader& in, const Status& status) {
  for (const auto& e : status.field_errors()) in.AddError(e.field, e.message);
}

void WriteUser(json::Writer& w, const store::UserRecord& u) {
  w.StartObject()
      .Field("id", u.id)
      .Field("username", u.username)
      .Field("display_name", u.display_name)
      .Field("email", u.email)
      .Field("is_guest", u.is_guest)
      .Field("role", u.role)
      .Field("created_at", u.created_at)
      .EndObject();
}

http::Response UserResponse(const store::UserRecord& u) {
  json::Writer w;
  WriteUser(w, u);
  http::Response r = http::Response::Json(200, w.Take());
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// API.md's AuthResult: the user, a fresh access token for it and the given refresh token.
http::Response AuthResult(int status, const Services& s, const store::UserRecord& u,
                          const std::string& refresh_token) {
  const Config& c = *s.config;
  auth::AccessClaims claims;
  claims.sub = u.id;
  claims.iat = NowSeconds();
  claims.exp = claims.iat + c.access_token_ttl.count();
  claims.role = u.role;
  claims.guest = u.is_guest;
  json::Writer w;
  w.StartObject().Key("user");
  WriteUser(w, u);
  w.Field("access_token", s.jwt->Sign(claims))
      .Field("token_type", "Bearer")
      .Field("expires_in", static_cast<int64_t>(c.access_token_ttl.count()))
      .Field("refresh_token", refresh_token)
      .Field("refresh_expires_in", static_cast<int64_t>(c.refresh_token_ttl.count()))
      .EndObject();
  http::Response r = http::Response::Json(status, w.Take());
  r.headers.emplace_back("Cache-Control", "no-store");  // tokens must not be cached anywhere
  return r;
}

// Stores the first refresh token of a new family for `user_id`; returns the token. Call inside
// the transaction that creates the session.
std::string StartRefreshFamily(soci::session& session, const Config& c,
                               const std::string& user_id) {
  std::string token = auth::NewRefreshToken();
  store::RefreshTokensRepo(session).InsertNewFamily(user_id, auth::HashRefreshToken(token),
                                                    c.refresh_token_ttl.count());
  return token;
}

// A new account and its first session, created in one transaction (signup, guest).
struct CreatedAccount {
  store::UserRecord user;
  std::string refresh_token;
};
Result<CreatedAccount> CreateAccount(Services& s, const store::NewUser& user) {
  std::optional<CreatedAccount> created;
  Status st = s.db->Run([&](soci::session& session) {
    soci::transaction tx(session);
    auto inserted = store::UsersRepo(session).Create(user);
    if (!inserted.ok()) return inserted.status();
    std::string token = StartRefreshFamily(session, *s.config, inserted->id);
    tx.commit();
    created = CreatedAccount{std::move(inserted.value()), std::move(token)};
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return std::move(*created);
}

// A guest's username: "guest-" and 16 lowercase hex digits from the CSPRNG.
std::string NewGuestUsername() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // never a guessable name
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name(store::kGuestUsernamePrefix);
  for (unsigned char b : bytes) {
    name += kHex[b >> 4];
    name += kHex[b & 0x0F];
  }
  return name;
}

// The fields of signup and upgrade, validated.
struct NewAccount {
  std::string username;  // normalized
  std::string password;
  std::optional<std::string> display_name;
  json::Field<std::string> email;
};

// Reads {username, password, display_name?[, email?]} with every rule of API.md; one error per
// bad field, unknown fields included.
Result<NewAccount> ReadNewAccount(const http::Request& request, const Services& s,
                                  bool with_email) {
  auto doc = ParseJsonBody(request);
  if (!doc.ok()) return doc.status();
  json::ObjectReader in(doc->root());
  auto username = in.String("username", kRawText, /*required=*/true);
  auto password = in.String("password", kRawText, /*required=*/true);
  auto display_name = in.String("display_name", kDisplayNameRule);
  json::Field<std::string> email;
  if (with_email) email = in.String("email", kEmailRule);
  NewAccount account;
  if (username.value) {
    auto normalized = store::NormalizeUsername(*username.value);
    if (normalized.ok()) {
      account.username = std::move(normalized.value());
    } else {
      AddFieldErrors(in, normalized.status());
    }
  }
  if (password.value) {
    // Before any hashing: an over-long password never reaches Argon2.
    Status policy =
        auth::CheckPasswordPolicy(*password.value, username.value.value_or(""), *s.denylist);
    if (policy.ok()) {
      account.password = std::move(*password.value);
    } else {
      AddFieldErrors(in, policy);
    }
  }
  if (email.value) {
    Status valid = store::ValidateEmail(*email.value);
    if (!valid.ok()) AddFieldErrors(in, valid);
  }
  Status finished = in.Finish();
  if (!finished.ok()) return finished;
  account.display_name = display_name.value;
  account.email = std::move(email);
  return account;
}

Status UsernameTaken() {
  return Status(ErrorCode::kUsernameTaken, "This username is already taken.")
      .AddFieldError("username", "is already taken");
}

// A cheap check before the expensive hash; the insert checks again (a concurrent signup).
Status CheckUsernameFree(Services& s, const std::string& username) {
  bool taken = false;
  Status st = s.db->Run(
      [&](soci::session& session) {
        taken = store::UsersRepo(session).UsernameExists(username);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  return taken ? UsernameTaken() : Status::Ok();
}

// ---- Handlers ----------------------------------------------------------------------------------

Result<http::Response> Signup(Services& s, const http::Request& request) {
  auto account = ReadNewAccount(request, s, /*with_email=*/true);
  if (!account.ok()) return account.status();
  Status free = CheckUsernameFree(s, account->username);
  if (!free.ok()) return free;
  auto hash = s.hasher->Hash(account->password);
  if (!hash.ok()) return hash.status();

  store::NewUser user;
  user.username = account->username;
  user.display_name = account->display_name.value_or(account->username);
  user.email = account->email.value;
  user.password_hash = std::move(hash.value());
  auto created = CreateAccount(s, user);
  if (!created.ok()) return created.status();
  LogInfo("account created").Str("user_id", created->user.id);
  return AuthResult(201, s, created->user, created->refresh_token);
}

Result<http::Response> Login(Services& s, const http::Request& request) {
  auto doc = ParseJsonBody(request);
  if (!doc.ok()) return doc.status();
  json::ObjectReader in(doc->root());
  auto username_f = in.String("username", kLoginUsernameRule, /*required=*/true);
  auto password_f = in.String("password", kLoginPasswordRule, /*required=*/true);
  Status finished = in.Finish();
  if (!finished.ok()) return finished;
  const std::string& username = *username_f.value;
  const std::string& password = *password_f.value;

  std::optional<int> locked_for;
  std::optional<store::UsersRepo::WithHash> found;
  Status st = s.db->Run(
      [&](soci::session& session) {
        locked_for = store::LoginThrottle(session).LockedFor(username);
        if (!locked_for) found = store::UsersRepo(session).FindForLogin(username);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  if (locked_for) return LoginLocked(*locked_for);

  // The same work whether or not the user exists.
  bool verified = false;
  if (found) {
    verified = s.hasher->Verify(found->password_hash, password);
  } else {
    s.hasher->VerifyDummy(password);
  }
  if (!verified) {
    st = s.db->Run([&](soci::session& session) {
      soci::transaction tx(session);
      store::LoginThrottle(session).RecordFailure(username);
      tx.commit();
      return Status::Ok();
    });
    if (!st.ok()) return st;
    LogInfo("login failed");  // the typed name is not logged: it is sometimes a password
    return InvalidCredentials();
  }

  // Parameters changed since this hash was made: store a fresh one (the password is at hand
  // only now). A failure here costs nothing but the upgrade.
  std::optional<std::string> rehashed;
  if (s.hasher->NeedsRehash(found->password_hash)) {
    auto fresh = s.hasher->Hash(password);
    if (fresh.ok()) rehashed = std::move(fresh.value());
  }
  const store::UserRecord& user = found->user;
  std::string refresh_token;
  st = s.db->Run([&](soci::session& session) {
    soci::transaction tx(session);
    store::LoginThrottle(session).Reset(username);
    store::UsersRepo users(session);
    if (rehashed) users.ReplacePasswordHash(user.id, found->password_hash, *rehashed);
    users.TouchActivity(user.id);
    refresh_token = StartRefreshFamily(session, *s.config, user.id);
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  LogInfo("login").Str("user_id", user.id).Bool("rehashed", rehashed.has_value());
  return AuthResult(200, s, user, refresh_token);
}

Result<http::Response> Guest(Services& s, const http::Request& request) {
  // The body is `{}`; an empty body is accepted too. Anything else is an unknown field.
  if (!request.body.empty()) {
    auto doc = ParseJsonBody(request);
    if (!doc.ok()) return doc.status();
    json::ObjectReader in(doc->root());
    Status finished = in.Finish();
    if (!finished.ok()) return finished;
  }
  // 64 random bits: a collision is next to impossible, but costs only another try.
  for (int attempt = 0; attempt < 3; ++attempt) {
    store::NewUser guest;
    guest.username = NewGuestUsername();
    guest.display_name = std::string(store::kGuestDisplayName);
    guest.is_guest = true;
    auto created = CreateAccount(s, guest);
    if (created.ok()) {
      LogInfo("guest created").Str("user_id", created->user.id);
      return AuthResult(201, s, created->user, created->refresh_token);
    }
    if (created.status().code() != ErrorCode::kUsernameTaken) return created.status();
  }
  return Status::Internal();
}

Result<http::Response> Upgrade(Services& s, const http::Request& request) {
  auto principal = Authenticate(request, s);
  if (!principal.ok()) return principal.status();
  if (!principal->is_guest) {
    return Status(ErrorCode::kConflict, "This account is already registered.");
  }
  auto account = ReadNewAccount(request, s, /*with_email=*/false);
  if (!account.ok()) return account.status();
  Status free = CheckUsernameFree(s, account->username);
  if (!free.ok()) return free;
  auto hash = s.hasher->Hash(account->password);
  if (!hash.ok()) return hash.status();

  std::optional<store::UserRecord> upgraded;
  std::string refresh_token;
  Status st = s.db->Run([&](soci::session& session) {
    soci::transaction tx(session);
    auto updated = store::UsersRepo(session).UpgradeGuest(principal->user_id, account->username,
                                                          hash.value(), account->display_name);
    if (!updated.ok()) return updated.status();
    // The guest's sessions were never protected by a password: they end here, and the caller
    // continues with the session returned below.
    store::RefreshTokensRepo(session).RevokeAllOfUser(principal->user_id);
    refresh_token = StartRefreshFamily(session, *s.config, updated->id);
    tx.commit();
    upgraded = std::move(updated.value());
    return Status::Ok();
  });
  if (!st.ok()) return st;
  LogInfo("guest upgraded").Str("user_id", upgraded->id);
  return AuthResult(200, s, *upgraded, refresh_token);
}

// {refresh_token}: the token, or a 400 for a body without a plausible one.
Result<std::string> ReadRefreshToken(const http::Request& request) {
  auto doc = ParseJsonBody(request);
  if (!doc.ok()) return doc.status();
  json::ObjectReader in(doc->root());
  auto token = in.String("refresh_token", kRefreshTokenRule, /*required=*/true);
  Status finished = in.Finish();
  if (!finished.ok()) return finished;
  return std::move(*token.value);
}

Result<http::Response> Refresh(Services& s, const http::Request& request) {
  auto token = ReadRefreshToken(request);
  if (!token.ok()) return token.status();
  const std::string presented_hash = auth::HashRefreshToken(token.value());

  std::optional<store::UserRecord> user;
  std::string next_token;
  std::string reused_family, reused_user;
  Status st = s.db->Run([&](soci::session& session) {
    soci::transaction tx(session);
    store::RefreshTokensRepo tokens(session);
    auto state = tokens.FindForUpdate(presented_hash);
    if (!state) return SessionEnded();
    if (state->spent) {
      // Someone holds a copy of a token that was already rotated away: the legitimate client or
      // a thief, and we cannot tell which. End the whole sign-in for both.
      tokens.RevokeFamily(state->family_id);
      tx.commit();
      reused_family = state->family_id;
      reused_user = state->user_id;
      return Status(ErrorCode::kTokenReused,
                    "For your security, this session was ended. Please sign in again.");
    }
    if (state->revoked || state->expired) return SessionEnded();
    store::UsersRepo users(session);
    user = users.FindById(state->user_id);
    if (!user) return SessionEnded();
    next_token = auth::NewRefreshToken();
    std::string next_id =
        tokens.InsertInFamily(state->user_id, state->family_id, auth::HashRefreshToken(next_token),
                              s.config->refresh_token_ttl.count());
    tokens.MarkSpent(state->id, next_id);
    users.TouchActivity(state->user_id);
    tx.commit();
    return Status::Ok();
  });
  if (st.code() == ErrorCode::kTokenReused) {
    LogWarn("refresh token reuse: family revoked")
        .Str("user_id", reused_user)
        .Str("family_id", reused_family);
  }
  if (!st.ok()) return st;
  return AuthResult(200, s, *user, next_token);
}

Result<http::Response> Logout(Services& s, const http::Request& request) {
  auto token = ReadRefreshToken(request);
  if (!token.ok()) return token.status();
  const std::string hash = auth::HashRefreshToken(token.value());
  Status st = s.db->Run([&](soci::session& session) {
    store::RefreshTokensRepo(session).RevokeFamilyOf(hash);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return http::Response::NoContent();
}

Result<http::Response> LogoutAll(Services& s, const http::Request& request) {
  auto principal = Authenticate(request, s);
  if (!principal.ok()) return principal.status();
  int64_t revoked = 0;
  Status st = s.db->Run([&](soci::session& session) {
    revoked = store::RefreshTokensRepo(session).RevokeAllOfUser(principal->user_id);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  LogInfo("logout everywhere").Str("user_id", principal->user_id).Int("revoked", revoked);
  return http::Response::NoContent();
}

Result<http::Response> GetMe(Services& s, const http::Request& request) {
  // Authenticate reads the whole User in its one primary-key read.
  store::UserRecord user;
  auto principal = Authenticate(request, s, &user);
  if (!principal.ok()) return principal.status();
  return UserResponse(user);
}

Result<http::Response> PatchMe(Services& s, const http::Request& request) {
  auto principal = Authenticate(request, s);
  if (!principal.ok()) return principal.status();
  auto doc = ParseJsonBody(request);
  if (!doc.ok()) return doc.status();
  json::ObjectReader in(doc->root());
  auto display_name = in.String("display_name", kDisplayNameRule);
  auto email = in.String("email", kEmailRule);  // null removes the address
  if (email.value) {
    Status valid = store::ValidateEmail(*email.value);
    if (!valid.ok()) AddFieldErrors(in, valid);
  }
  Status finished = in.Finish();
  if (!finished.ok()) return finished;

  store::OptionalUpdate email_update{email.present, email.value};
  std::optional<store::UserRecord> user;
  Status st = s.db->Run([&](soci::session& session) {
    user = store::UsersRepo(session).UpdateProfile(principal->user_id, display_name.value,
                                                   email_update);
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (!user) return Status(ErrorCode::kUnauthenticated, "Please sign in to continue.");
  return UserResponse(*user);
}

Result<http::Response> ChangePassword(Services& s, const http::Request& request) {
  auto principal = Authenticate(request, s);
  if (!principal.ok()) return principal.status();
  auto doc = ParseJsonBody(request);
  if (!doc.ok()) return doc.status();
  json::ObjectReader in(doc->root());
  auto current = in.String("current_password", kLoginPasswordRule, /*required=*/true);
  auto next = in.String("new_password", kRawText, /*required=*/true);
  if (next.value && next.value->size() > auth::kMaxPasswordBytes) {
    in.AddError("new_password", "must be at most 128 characters");  // before anything else
  }
  Status finished = in.Finish();
  if (!finished.ok()) return finished;

  std::optional<store::UsersRepo::WithHash> account;
  std::optional<int> locked_for;
  Status st = s.db->Run(
      [&](soci::session& session) {
        account = store::UsersRepo(session).FindWithHashById(principal->user_id);
        if (account) locked_for = store::LoginThrottle(session).LockedFor(account->user.username);
        return Status::Ok();
      },
      /*idempotent=*/true);
  if (!st.ok()) return st;
  if (!account) return Status(ErrorCode::kUnauthenticated, "Please sign in to continue.");
  if (account->user.is_guest) {
    return Status(ErrorCode::kConflict,
                  "Guest accounts have no password. Create an account to set one.");
  }
  // Guessing the current password with a stolen access token counts against the same
  // per-username budget as guessing it at login.
  if (locked_for) return LoginLocked(*locked_for);
  const std::string& username = account->user.username;
  Status policy = auth::CheckPasswordPolicy(*next.value, username, *s.denylist);
  if (!policy.ok()) {
    std::vector<FieldError> errors;
    for (const auto& e : policy.field_errors()) {
      errors.push_back({e.field == "password" ? "new_password" : e.field, e.message});
    }
    return Status::Invalid(std::move(errors));
  }
  if (!s.hasher->Verify(account->password_hash, *current.value)) {
    st = s.db->Run([&](soci::session& session) {
      soci::transaction tx(session);
      store::LoginThrottle(session).RecordFailure(username);
      tx.commit();
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return Status::Invalid("current_password", "is incorrect");
  }
  auto hash = s.hasher->Hash(*next.value);
  if (!hash.ok()) return hash.status();
  bool replaced = false;
  int64_t revoked = 0, keys_revoked = 0;
  st = s.db->Run([&](soci::session& session) {
    soci::transaction tx(session);
    replaced = store::UsersRepo(session).ReplacePasswordHash(principal->user_id,
                                                             account->password_hash, hash.value());
    if (!replaced) return Status::Ok();  // changed meanwhile by another request: it wins
    revoked = store::RefreshTokensRepo(session).RevokeAllOfUser(principal->user_id);
    // A new password signs out everywhere: the API keys made under the old one end too.
    keys_revoked = store::RevokeAllApiKeys(session, principal->user_id);
    store::LoginThrottle(session).Reset(username);
    tx.commit();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (!replaced) {
    return Status(ErrorCode::kConflict, "Your password was changed meanwhile. Please try again.");
  }
  LogInfo("password changed")
      .Str("user_id", principal->user_id)
      .Int("revoked", revoked)
      .Int("api_keys_revoked", keys_revoked);
  return http::Response::NoContent();
}

}  // namespace

void RegisterAuthRoutes(http::Router& router, Services* services) {
  auto route = [&](const char* method, const char* path,
                   Result<http::Response> (*fn)(Services&, const http::Request&)) {
    router.Add(method, path,
               JsonHandler([services, fn](const http::Request& r) { return fn(*services, r); }));
  };
  route("POST", "/api/v1/auth/signup", Signup);
  route("POST", "/api/v1/auth/login", Login);
  route("POST", "/api/v1/auth/guest", Guest);
  route("POST", "/api/v1/auth/upgrade", Upgrade);
  route("POST", "/api/v1/auth/refresh", Refresh);
  route("POST", "/api/v1/auth/logout", Logout);
  route("POST", "/api/v1/auth/logout-all", LogoutAll);
  route("GET", "/api/v1/auth/me", GetMe);
  route("PATCH", "/api/v1/auth/me", PatchMe);
  route("POST", "/api/v1/auth/password", ChangePassword);
}

}  // namespace chatd::api
