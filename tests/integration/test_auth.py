"""Accounts and sessions through nginx (API.md "Auth" and "Users"): the life of an account, refresh
rotation and reuse detection, logout, password change, guests and their upgrade, user search,
per-username login throttling and nginx's per-address limit, hostile input, and tokens that must no
longer work."""

import base64
import json
import re
import time
import unittest
import uuid

from harness import TEST_JWT_SECRET, Stack, create_user, mint_token

PROBLEM_KEYS = {"type", "title", "status", "code", "detail", "request_id"}
USER_KEYS = {"id", "username", "display_name", "email", "is_guest", "role", "created_at"}
AUTH_RESULT_KEYS = {"user", "access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def unique_name(prefix="u"):
    return prefix + uuid.uuid4().hex[:12]


def strong_password():
    return "pw-" + uuid.uuid4().hex  # 35 characters, never on a deny list


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class AuthTestCase(unittest.TestCase):
    """Shared assertions and helpers; each subclass starts its own stack."""

    stack = None

    def assertProblem(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.content_type.startswith("application/problem+json"), r.headers)
        body = r.json()
        self.assertTrue(PROBLEM_KEYS <= body.keys(), body)
        self.assertEqual(body["status"], status)
        self.assertEqual(body["code"], code, body)
        if field is not None:
            self.assertIn(field, [e["field"] for e in body.get("errors", [])], body)
        return body

    def assertAuthResult(self, r, status):
        self.assertEqual(r.status, status, r)
        body = r.json()
        self.assertEqual(set(body), AUTH_RESULT_KEYS, body)
        self.assertEqual(set(body["user"]), USER_KEYS, body)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertRegex(body["user"]["id"], UUID)
        self.assertRegex(body["user"]["created_at"], TIMESTAMP)
        self.assertRegex(body["refresh_token"], r"^[A-Za-z0-9_-]{43}$")
        self.assertIn("no-store", r.headers.get("cache-control", ""))
        return body

    def signup(self, username=None, password=None, **extra):
        username = username or unique_name()
        password = password or strong_password()
        r = self.stack.post("/api/v1/auth/signup", {"username": username, "password": password, **extra})
        body = self.assertAuthResult(r, 201)
        body["password"] = password
        return body

    def login(self, username, password):
        return self.stack.post("/api/v1/auth/login", {"username": username, "password": password})

    def refresh(self, refresh_token):
        return self.stack.post("/api/v1/auth/refresh", {"refresh_token": refresh_token})

    def sql(self, statement):
        return self.stack.pg.psql(statement, db=self.stack.database).strip()


class AuthTest(AuthTestCase):
    @classmethod
    def setUpClass(cls):
        # nginx's per-address auth limit is tested on its own stack (NginxAuthLimitTest); here it
        # must not interfere with the many quick requests the tests make.
        cls.stack = Stack(env={"AUTH_RATE_PER_MIN": "6000000"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    # -- the whole life of an account ------------------------------------------------------------

    def test_account_lifecycle(self):
        name = unique_name("Life")
        password = strong_password()
        r = self.stack.post("/api/v1/auth/signup", {"username": name, "password": password,
                                                    "display_name": "Life Cycle", "email": "life@example.com"})
        signed_up = self.assertAuthResult(r, 201)
        user = signed_up["user"]
        self.assertEqual(user["username"], name.lower())
        self.assertEqual(user["display_name"], "Life Cycle")
        self.assertEqual(user["email"], "life@example.com")
        self.assertFalse(user["is_guest"])
        self.assertEqual(user["role"], "user")
        self.assertEqual(signed_up["expires_in"], 900)
        self.assertEqual(signed_up["refresh_expires_in"], 30 * 24 * 3600)
        claims = jwt_claims(signed_up["access_token"])
        self.assertEqual(claims["sub"], user["id"])
        self.assertEqual((claims["iss"], claims["aud"]), ("chatd", "chatd"))
        self.assertEqual(claims["exp"] - claims["iat"], 900)
        self.assertEqual(claims["role"], "user")
        self.assertFalse(claims["guest"])
        # Nothing but the hash of the password and of the refresh token is stored.
        stored = self.sql(f"SELECT password_hash FROM users WHERE id = '{user['id']}'")
        self.assertTrue(stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), stored)
        self.assertNotIn(password, stored)
        self.assertEqual(self.sql(f"SELECT count(*) FROM refresh_tokens WHERE user_id = '{user['id']}' "
                                  f"AND token_hash = sha256(convert_to('{signed_up['refresh_token']}', 'UTF8'))"), "1")

        token = signed_up["access_token"]
        me = self.stack.get("/api/v1/auth/me", token=token)
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json(), user)

        r = self.stack.request("PATCH", "/api/v1/auth/me", {"display_name": "  Renamed  "}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["display_name"], "Renamed")
        self.assertEqual(r.json()["email"], "life@example.com")
        r = self.stack.request("PATCH", "/api/v1/auth/me", {"email": None}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json()["email"])
        self.assertEqual(r.json()["display_name"], "Renamed")
        r = self.stack.request("PATCH", "/api/v1/auth/me", {}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=token).json()["display_name"], "Renamed")

        # Case-insensitive login; a second session.
        r = self.login(name.upper(), password)
        logged_in = self.assertAuthResult(r, 200)
        self.assertEqual(logged_in["user"]["id"], user["id"])
        self.assertNotEqual(logged_in["refresh_token"], signed_up["refresh_token"])

        new_password = strong_password()
        r = self.stack.post("/api/v1/auth/password", {"current_password": password, "new_password": new_password},
                            token=token)
        self.assertEqual(r.status, 204, r)
        self.assertProblem(self.login(name, password), 401, "INVALID_CREDENTIALS")
        again = self.assertAuthResult(self.login(name, new_password), 200)

        r = self.stack.post("/api/v1/auth/logout", {"refresh_token": again["refresh_token"]})
        self.assertEqual(r.status, 204, r)
        self.assertProblem(self.refresh(again["refresh_token"]), 401, "UNAUTHENTICATED")

    def test_signup_username_rules(self):
        name = unique_name("Case")
        self.signup(name)
        for taken in (name, name.lower(), name.upper()):
            r = self.stack.post("/api/v1/auth/signup", {"username": taken, "password": strong_password()})
            self.assertProblem(r, 409, "USERNAME_TAKEN")
        for bad in ("ab", "x" * 33, "has space", "semi;colon", "quote'name", "pct%name", "ünïcode",
                    "guest-0123456789abcdef", "Guest-someone", "", "new\nline"):
            r = self.stack.post("/api/v1/auth/signup", {"username": bad, "password": strong_password()})
            self.assertProblem(r, 400, "VALIDATION_ERROR", field="username")
        for ok in ("a.b" + uuid.uuid4().hex[:6], "A_B-c.9" + uuid.uuid4().hex[:6], ("Z" + uuid.uuid4().hex)[:32]):
            body = self.signup(ok)
            self.assertEqual(body["user"]["username"], ok.lower())
        self.assertEqual(self.sql("SELECT count(*) FROM users WHERE username <> lower(username)"), "0")

    def test_signup_password_and_profile_rules(self):
        name = unique_name()
        cases = [
            ({"password": "short-pw"}, "password"),
            ({"password": "x" * 129}, "password"),
            ({"password": "é" * 129}, "password"),
            ({"password": name.upper()}, "password"),  # the username, in another case
            ({"password": "password1234"}, "password"),
            ({"password": "PassWord1234"}, "password"),
            ({"display_name": "x" * 65}, "display_name"),
            ({"display_name": "   "}, "display_name"),
            ({"display_name": None}, "display_name"),
            ({"email": "not-an-address"}, "email"),
            ({"email": "two@@example.com"}, "email"),
            ({"email": "sp ace@example.com"}, "email"),
            ({"email": ("x" * 250) + "@b.cd"}, "email"),
            ({"email": 42}, "email"),
        ]
        for extra, field in cases:
            body = {"username": name, "password": strong_password()}
            body.update(extra)
            r = self.stack.post("/api/v1/auth/signup", body)
            self.assertProblem(r, 400, "VALIDATION_ERROR", field=field)
        # 12 and 128 characters are fine; nothing was created by the failures above.
        self.assertEqual(self.sql(f"SELECT count(*) FROM users WHERE username = '{name}'"), "0")
        self.signup(password="a" * 11 + "b")
        self.signup(password="é" * 128)
        # Every bad field is reported at once.
        r = self.stack.post("/api/v1/auth/signup", {"username": "x", "password": "y", "email": "z"})
        body = self.assertProblem(r, 400, "VALIDATION_ERROR")
        self.assertEqual({e["field"] for e in body["errors"]}, {"username", "password", "email"})
        # An email is optional; null means none.
        self.assertIsNone(self.signup(email=None)["user"]["email"])

    # -- no enumeration, expired and orphaned tokens ---------------------------------------------

    def test_unknown_user_and_wrong_password_are_indistinguishable(self):
        account = self.signup()
        wrong = self.login(account["user"]["username"], strong_password())
        unknown = self.login(unique_name("nobody"), strong_password())
        guest = self.stack.post("/api/v1/auth/guest", {}).json()["user"]["username"]
        as_guest = self.login(guest, strong_password())
        bodies = []
        for r in (wrong, unknown, as_guest):
            body = self.assertProblem(r, 401, "INVALID_CREDENTIALS")
            del body["request_id"]
            bodies.append(body)
            self.assertNotIn("retry-after", r.headers)
        self.assertEqual(bodies[0], bodies[1])
        self.assertEqual(bodies[0], bodies[2])
        self.assertEqual(set(wrong.headers) - {"date", "x-request-id"}, set(unknown.headers) - {"date", "x-request-id"})

    def test_expired_and_forged_tokens(self):
        account = self.signup()
        uid = account["user"]["id"]
        now = int(time.time())
        expired = mint_token(uid, now=now - 3600, ttl=600)
        self.assertProblem(self.stack.get("/api/v1/auth/me", token=expired), 401, "TOKEN_EXPIRED")
        wrong_secret = mint_token(uid, secret=TEST_JWT_SECRET + "x")
        self.assertProblem(self.stack.get("/api/v1/auth/me", token=wrong_secret), 401, "UNAUTHENTICATED")
        wrong_aud = mint_token(uid, aud="other")
        self.assertProblem(self.stack.get("/api/v1/auth/me", token=wrong_aud), 401, "UNAUTHENTICATED")
        none_alg = mint_token(uid, header={"alg": "none", "typ": "JWT"})
        self.assertProblem(self.stack.get("/api/v1/auth/me", token=none_alg), 401, "UNAUTHENTICATED")
        self.assertProblem(self.stack.get("/api/v1/auth/me"), 401, "UNAUTHENTICATED")
        self.assertProblem(self.stack.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"}), 401,
                           "UNAUTHENTICATED")
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=mint_token(uid)).status, 200)

    def test_deleted_users_valid_token_is_refused(self):
        account = self.signup()
        token = account["access_token"]
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=token).status, 200)
        self.sql(f"DELETE FROM users WHERE id = '{account['user']['id']}'")
        for r in (self.stack.get("/api/v1/auth/me", token=token),
                  self.stack.request("PATCH", "/api/v1/auth/me", {"display_name": "ghost"}, token=token),
                  self.stack.get("/api/v1/users", token=token),
                  self.stack.post("/api/v1/auth/logout-all", token=token),
                  self.stack.post("/api/v1/auth/password", {"current_password": account["password"],
                                                            "new_password": strong_password()}, token=token)):
            self.assertProblem(r, 401, "UNAUTHENTICATED")
        self.assertProblem(self.refresh(account["refresh_token"]), 401, "UNAUTHENTICATED")

    # -- refresh rotation and reuse detection ----------------------------------------------------

    def test_refresh_rotates_single_use_tokens(self):
        account = self.signup()
        r1 = self.assertAuthResult(self.refresh(account["refresh_token"]), 200)
        self.assertNotEqual(r1["refresh_token"], account["refresh_token"])
        self.assertEqual(r1["user"], account["user"])
        self.assertEqual(jwt_claims(r1["access_token"])["sub"], account["user"]["id"])
        r2 = self.assertAuthResult(self.refresh(r1["refresh_token"]), 200)
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=r2["access_token"]).status, 200)
        uid = account["user"]["id"]
        # One family: three tokens, two spent, each spent one linked to its successor.
        self.assertEqual(self.sql(f"SELECT count(DISTINCT family_id) || ':' || count(*) || ':' || count(used_at) "
                                  f"|| ':' || count(replaced_by) FROM refresh_tokens WHERE user_id = '{uid}'"),
                         "1:3:2:2")

    def test_reuse_by_a_thief_after_the_victim_refreshed(self):
        account = self.signup()
        other = self.assertAuthResult(self.login(account["user"]["username"], account["password"]), 200)
        stolen = account["refresh_token"]
        victim = self.assertAuthResult(self.refresh(stolen), 200)   # the victim rotates
        self.assertProblem(self.refresh(stolen), 401, "TOKEN_REUSED")  # the thief replays
        # The whole family is dead: the victim's current token fails too...
        self.assertProblem(self.refresh(victim["refresh_token"]), 401, "UNAUTHENTICATED")
        # ...and replaying the stolen token again still says reuse.
        self.assertProblem(self.refresh(stolen), 401, "TOKEN_REUSED")
        # Another sign-in (another family) is untouched.
        self.assertAuthResult(self.refresh(other["refresh_token"]), 200)

    def test_reuse_by_the_victim_after_the_thief_refreshed(self):
        account = self.signup()
        stolen = account["refresh_token"]
        thief = self.assertAuthResult(self.refresh(stolen), 200)     # the thief rotates first
        self.assertProblem(self.refresh(stolen), 401, "TOKEN_REUSED")  # the victim's next refresh
        self.assertProblem(self.refresh(thief["refresh_token"]), 401, "UNAUTHENTICATED")  # the thief's next
        uid = account["user"]["id"]
        self.assertEqual(self.sql(f"SELECT count(*) FROM refresh_tokens WHERE user_id = '{uid}' AND revoked_at IS NULL"),
                         "0")

    def test_refresh_token_input(self):
        self.assertProblem(self.refresh("A" * 43), 401, "UNAUTHENTICATED")
        self.assertProblem(self.refresh("' OR '1'='1"), 401, "UNAUTHENTICATED")
        self.assertProblem(self.refresh("x" * 10000), 400, "VALIDATION_ERROR", field="refresh_token")
        self.assertProblem(self.refresh(""), 400, "VALIDATION_ERROR", field="refresh_token")
        self.assertProblem(self.stack.post("/api/v1/auth/refresh", {}), 400, "VALIDATION_ERROR", field="refresh_token")
        self.assertProblem(self.stack.post("/api/v1/auth/refresh", {"refresh_token": 1}), 400, "VALIDATION_ERROR",
                           field="refresh_token")
        self.assertProblem(self.stack.post("/api/v1/auth/logout", {"refresh_token": "x" * 10000}), 400,
                           "VALIDATION_ERROR", field="refresh_token")

    def test_expired_refresh_token_is_refused(self):
        account = self.signup()
        self.sql(f"UPDATE refresh_tokens SET created_at = now() - interval '2 days', "
                 f"expires_at = now() - interval '1 second' WHERE user_id = '{account['user']['id']}'")
        self.assertProblem(self.refresh(account["refresh_token"]), 401, "UNAUTHENTICATED")

    # -- logout, logout-all, password change -----------------------------------------------------

    def test_logout_revokes_only_its_family_and_is_idempotent(self):
        account = self.signup()
        second = self.assertAuthResult(self.login(account["user"]["username"], account["password"]), 200)
        rotated = self.assertAuthResult(self.refresh(account["refresh_token"]), 200)
        # Logging out with the current token of the first sign-in ends that sign-in only.
        self.assertEqual(self.stack.post("/api/v1/auth/logout", {"refresh_token": rotated["refresh_token"]}).status, 204)
        self.assertProblem(self.refresh(rotated["refresh_token"]), 401, "UNAUTHENTICATED")
        self.assertAuthResult(self.refresh(second["refresh_token"]), 200)
        # Again, and with a token that never existed: still 204.
        self.assertEqual(self.stack.post("/api/v1/auth/logout", {"refresh_token": rotated["refresh_token"]}).status, 204)
        self.assertEqual(self.stack.post("/api/v1/auth/logout", {"refresh_token": "B" * 43}).status, 204)

    def test_logout_all_revokes_every_session(self):
        account = self.signup()
        sessions = [account] + [self.assertAuthResult(self.login(account["user"]["username"], account["password"]), 200)
                                for _ in range(2)]
        self.assertProblem(self.stack.post("/api/v1/auth/logout-all"), 401, "UNAUTHENTICATED")
        r = self.stack.post("/api/v1/auth/logout-all", token=sessions[1]["access_token"])
        self.assertEqual(r.status, 204, r)
        for s in sessions:
            self.assertProblem(self.refresh(s["refresh_token"]), 401, "UNAUTHENTICATED")
        # Signing in again works.
        self.assertAuthResult(self.login(account["user"]["username"], account["password"]), 200)

    def test_password_change(self):
        account = self.signup()
        name, password, token = account["user"]["username"], account["password"], account["access_token"]
        other = self.assertAuthResult(self.login(name, password), 200)

        r = self.stack.post("/api/v1/auth/password", {"current_password": "wrong-" + password,
                                                      "new_password": strong_password()}, token=token)
        self.assertProblem(r, 400, "VALIDATION_ERROR", field="current_password")
        for bad in ("short", "x" * 129, name, "password1234"):
            r = self.stack.post("/api/v1/auth/password", {"current_password": password, "new_password": bad},
                                token=token)
            self.assertProblem(r, 400, "VALIDATION_ERROR", field="new_password")
        self.assertProblem(self.stack.post("/api/v1/auth/password", {"current_password": password}, token=token),
                           400, "VALIDATION_ERROR", field="new_password")
        self.assertProblem(self.stack.post("/api/v1/auth/password", {"current_password": password,
                                                                     "new_password": strong_password()}),
                           401, "UNAUTHENTICATED")
        # Nothing changed so far.
        self.assertAuthResult(self.refresh(other["refresh_token"]), 200)
        other = None

        new_password = strong_password()
        r = self.stack.post("/api/v1/auth/password", {"current_password": password, "new_password": new_password},
                            token=token)
        self.assertEqual(r.status, 204, r)
        uid = account["user"]["id"]
        self.assertEqual(self.sql(f"SELECT count(*) FROM refresh_tokens WHERE user_id = '{uid}' AND revoked_at IS NULL"),
                         "0")
        self.assertProblem(self.refresh(account["refresh_token"]), 401, "UNAUTHENTICATED")
        self.assertProblem(self.login(name, password), 401, "INVALID_CREDENTIALS")
        self.assertAuthResult(self.login(name, new_password), 200)

    # -- guests ------------------------------------------------------------------------------------

    def test_guest_and_upgrade_keep_the_same_account_and_data(self):
        r = self.stack.post("/api/v1/auth/guest", {})
        guest = self.assertAuthResult(r, 201)
        user = guest["user"]
        self.assertTrue(user["is_guest"])
        self.assertRegex(user["username"], r"^guest-[0-9a-f]{16}$")
        self.assertEqual(user["display_name"], "Guest")
        self.assertIsNone(user["email"])
        self.assertTrue(jwt_claims(guest["access_token"])["guest"])
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=guest["access_token"]).json(), user)
        # Guests have no password.
        r = self.stack.post("/api/v1/auth/password", {"current_password": "x" * 12, "new_password": strong_password()},
                            token=guest["access_token"])
        self.assertProblem(r, 409, "CONFLICT")

        # A conversation of the guest (written straight to the database: the conversation endpoints
        # are another issue's).
        conv = self.sql(f"INSERT INTO conversations (kind, title, assistant_id, owner_id) VALUES "
                        f"('assistant', 'kept', '00000000-0000-0000-0000-000000000001', '{user['id']}') RETURNING id"
                        ).splitlines()[0]
        self.sql(f"INSERT INTO conversation_members (conversation_id, user_id, role) VALUES "
                 f"('{conv}', '{user['id']}', 'owner')")

        taken = self.signup()["user"]["username"]
        r = self.stack.post("/api/v1/auth/upgrade", {"username": taken.upper(), "password": strong_password()},
                            token=guest["access_token"])
        self.assertProblem(r, 409, "USERNAME_TAKEN")
        r = self.stack.post("/api/v1/auth/upgrade", {"username": "guest-mine", "password": strong_password()},
                            token=guest["access_token"])
        self.assertProblem(r, 400, "VALIDATION_ERROR", field="username")
        r = self.stack.post("/api/v1/auth/upgrade", {"username": unique_name(), "password": "short"},
                            token=guest["access_token"])
        self.assertProblem(r, 400, "VALIDATION_ERROR", field="password")
        r = self.stack.post("/api/v1/auth/upgrade", {"username": unique_name(), "password": strong_password(),
                                                     "email": "a@b.c"}, token=guest["access_token"])
        self.assertProblem(r, 400, "VALIDATION_ERROR", field="email")
        self.assertProblem(self.stack.post("/api/v1/auth/upgrade", {"username": unique_name(),
                                                                    "password": strong_password()}),
                           401, "UNAUTHENTICATED")

        name, password = unique_name("Upg"), strong_password()
        r = self.stack.post("/api/v1/auth/upgrade", {"username": name, "password": password},
                            token=guest["access_token"])
        upgraded = self.assertAuthResult(r, 200)
        self.assertEqual(upgraded["user"]["id"], user["id"])
        self.assertEqual(upgraded["user"]["username"], name.lower())
        self.assertEqual(upgraded["user"]["display_name"], name.lower())  # 'Guest' gives way
        self.assertFalse(upgraded["user"]["is_guest"])
        self.assertEqual(upgraded["user"]["created_at"], user["created_at"])
        self.assertFalse(jwt_claims(upgraded["access_token"])["guest"])
        self.assertEqual(self.sql(f"SELECT owner_id FROM conversations WHERE id = '{conv}'"), user["id"])
        self.assertEqual(self.sql(f"SELECT user_id FROM conversation_members WHERE conversation_id = '{conv}'"),
                         user["id"])
        # The guest's own session ended; the new one works; so does a password login.
        self.assertProblem(self.refresh(guest["refresh_token"]), 401, "UNAUTHENTICATED")
        self.assertAuthResult(self.refresh(upgraded["refresh_token"]), 200)
        self.assertEqual(self.assertAuthResult(self.login(name, password), 200)["user"]["id"], user["id"])
        # The old guest access token now speaks for a registered user; upgrading twice is a conflict.
        r = self.stack.post("/api/v1/auth/upgrade", {"username": unique_name(), "password": strong_password()},
                            token=guest["access_token"])
        self.assertProblem(r, 409, "CONFLICT")

    def test_upgrade_keeps_a_chosen_display_name(self):
        guest = self.assertAuthResult(self.stack.post("/api/v1/auth/guest", {}), 201)
        r = self.stack.request("PATCH", "/api/v1/auth/me", {"display_name": "Picked"}, token=guest["access_token"])
        self.assertEqual(r.status, 200, r)
        r = self.stack.post("/api/v1/auth/upgrade", {"username": unique_name(), "password": strong_password()},
                            token=guest["access_token"])
        self.assertEqual(self.assertAuthResult(r, 200)["user"]["display_name"], "Picked")
        guest = self.assertAuthResult(self.stack.post("/api/v1/auth/guest", {}), 201)
        r = self.stack.post("/api/v1/auth/upgrade", {"username": unique_name(), "password": strong_password(),
                                                     "display_name": "Given"}, token=guest["access_token"])
        self.assertEqual(self.assertAuthResult(r, 200)["user"]["display_name"], "Given")

    def test_upgrade_by_a_registered_user_is_a_conflict(self):
        account = self.signup()
        r = self.stack.post("/api/v1/auth/upgrade", {"username": unique_name(), "password": strong_password()},
                            token=account["access_token"])
        self.assertProblem(r, 409, "CONFLICT")

    def test_guest_body(self):
        self.assertAuthResult(self.stack.post("/api/v1/auth/guest", raw=b""), 201)
        self.assertProblem(self.stack.post("/api/v1/auth/guest", {"username": "me"}), 400, "VALIDATION_ERROR",
                           field="username")
        self.assertProblem(self.stack.post("/api/v1/auth/guest", raw=b"[]", headers={"Content-Type": "application/json"}),
                           400, "VALIDATION_ERROR")
        self.assertProblem(self.stack.post("/api/v1/auth/guest", raw=b"{}", headers={"Content-Type": "text/plain"}),
                           415, "UNSUPPORTED_MEDIA_TYPE")

    # -- /users ------------------------------------------------------------------------------------

    def test_users_lists_registered_users_by_prefix_and_hides_guests(self):
        tag = "srch" + uuid.uuid4().hex[:6]
        names = sorted(f"{tag}{i}" for i in range(5))
        made = {n: self.signup(n, display_name=f"Searcher {n}") for n in names}
        also = self.signup(unique_name("zz"), display_name=f"{tag.upper()} by display name")
        guest = self.assertAuthResult(self.stack.post("/api/v1/auth/guest", {}), 201)
        self.stack.request("PATCH", "/api/v1/auth/me", {"display_name": tag + " guest"}, token=guest["access_token"])
        token = guest["access_token"]  # guests may search, but are never found

        r = self.stack.get(f"/api/v1/users?q={tag.upper()}", token=token)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(set(body), {"items", "next_cursor"})
        self.assertIsNone(body["next_cursor"])
        self.assertEqual([u["username"] for u in body["items"]], names + [also["user"]["username"]])
        for u in body["items"]:
            self.assertEqual(set(u), {"id", "username", "display_name"})
        self.assertEqual(body["items"][0], {"id": made[names[0]]["user"]["id"], "username": names[0],
                                            "display_name": f"Searcher {names[0]}"})

        # Pages of two, following next_cursor to the end.
        seen, cursor, pages = [], None, 0
        while True:
            path = f"/api/v1/users?q={tag}&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = self.stack.get(path, token=token).json()
            pages += 1
            self.assertLessEqual(len(page["items"]), 2)
            seen += [u["username"] for u in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, names + [also["user"]["username"]])
        self.assertEqual(pages, 3)

        # No guest is ever listed, with or without q.
        guest_names = set(self.sql("SELECT username FROM users WHERE is_guest").split())
        self.assertTrue(guest_names)
        everyone, cursor = [], None
        while True:
            page = self.stack.get("/api/v1/users?limit=100" + (f"&cursor={cursor}" if cursor else ""), token=token).json()
            everyone += [u["username"] for u in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertFalse(guest_names & set(everyone))
        self.assertEqual(everyone, sorted(everyone))
        self.assertEqual(len(everyone), int(self.sql("SELECT count(*) FROM users WHERE NOT is_guest")))
        self.assertEqual(self.stack.get("/api/v1/users?q=guest-", token=token).json()["items"], [])

    def test_users_query_is_literal_and_parameters_are_checked(self):
        token = self.signup()["access_token"]
        special = self.signup(display_name="%_\\ special")
        r = self.stack.get("/api/v1/users?q=%25", token=token)  # q = "%"
        self.assertEqual(r.status, 200, r)
        self.assertEqual([u["id"] for u in r.json()["items"]], [special["user"]["id"]])
        r = self.stack.get("/api/v1/users?q=%25_%5C", token=token)  # q = "%_\"
        self.assertEqual([u["id"] for u in r.json()["items"]], [special["user"]["id"]])
        self.assertEqual(self.stack.get("/api/v1/users?q=_", token=token).json()["items"], [])
        r = self.stack.get("/api/v1/users?q=%27%20OR%201%3D1%20--", token=token)
        self.assertEqual((r.status, r.json()["items"]), (200, []))
        for bad in ("limit=0", "limit=101", "limit=abc", "limit=-1", "limit=", "limit=1.5", "cursor=zz",
                    "cursor=%27", "q=" + "a" * 65, "q=" + "%C3%A9" * 65, "q=%FF", "q=%00", "cursor=" + "61" * 40):
            self.assertProblem(self.stack.get("/api/v1/users?" + bad, token=token), 400, "VALIDATION_ERROR")
        self.assertEqual(self.stack.get("/api/v1/users?limit=100", token=token).status, 200)
        self.assertEqual(self.stack.get("/api/v1/users?q=" + "%C3%A9" * 64, token=token).status, 200)
        self.assertEqual(self.stack.get("/api/v1/users?limit=1", token=token).status, 200)
        self.assertProblem(self.stack.get("/api/v1/users"), 401, "UNAUTHENTICATED")

    # -- hostile and malformed input ------------------------------------------------------------

    def test_sql_metacharacters_and_huge_values_never_cause_a_500(self):
        sqlish = "Robert'); DROP TABLE users;-- \\ % _ \" ;"
        huge = "x" * 10000
        # Stored verbatim where the rules allow them.
        stored = self.signup(display_name=sqlish, email="o'brien+%_;--@example.com")
        self.assertEqual(stored["user"]["display_name"], sqlish)
        self.assertEqual(stored["user"]["email"], "o'brien+%_;--@example.com")
        token = stored["access_token"]
        r = self.stack.request("PATCH", "/api/v1/auth/me", {"display_name": "'; --", "email": "a'b@c;d"}, token=token)
        self.assertEqual((r.status, r.json()["display_name"], r.json()["email"]), (200, "'; --", "a'b@c;d"))
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=token).json()["display_name"], "'; --")

        # Everything else gets a 4xx, never a 500.
        attempts = [
            ("POST", "/api/v1/auth/signup", {"username": sqlish, "password": strong_password()}, 400),
            ("POST", "/api/v1/auth/signup", {"username": huge, "password": strong_password()}, 400),
            ("POST", "/api/v1/auth/signup", {"username": unique_name(), "password": huge}, 400),
            ("POST", "/api/v1/auth/signup", {"username": unique_name(), "password": strong_password(),
                                             "display_name": huge}, 400),
            ("POST", "/api/v1/auth/signup", {"username": unique_name(), "password": strong_password(),
                                             "email": huge + "@x.y"}, 400),
            ("POST", "/api/v1/auth/login", {"username": huge, "password": strong_password()}, 400),
            ("POST", "/api/v1/auth/login", {"username": unique_name(), "password": huge}, 400),
            ("POST", "/api/v1/auth/login", {"username": sqlish, "password": sqlish}, 401),
            ("POST", "/api/v1/auth/refresh", {"refresh_token": huge}, 400),
            ("POST", "/api/v1/auth/refresh", {"refresh_token": sqlish}, 401),
            ("POST", "/api/v1/auth/logout", {"refresh_token": huge}, 400),
            ("POST", "/api/v1/auth/logout", {"refresh_token": sqlish}, 204),
            ("PATCH", "/api/v1/auth/me", {"display_name": huge}, 400),
            ("PATCH", "/api/v1/auth/me", {"email": huge}, 400),
            ("POST", "/api/v1/auth/password", {"current_password": huge, "new_password": strong_password()}, 400),
            ("POST", "/api/v1/auth/password", {"current_password": stored["password"], "new_password": huge}, 400),
            ("POST", "/api/v1/auth/password", {"current_password": sqlish, "new_password": strong_password()}, 400),
            ("GET", "/api/v1/users?q=" + "x" * 2000, None, 400),
        ]
        for method, path, body, status in attempts:
            r = self.stack.request(method, path, body, token=token)
            self.assertEqual(r.status, status, (method, path, str(body)[:80], r))
        # A 10,000-character query string is refused by nginx itself (414), before any worker.
        r = self.stack.get("/api/v1/users?q=" + huge, token=token)
        self.assertIn(r.status, (400, 414), r.status)
        guest = self.assertAuthResult(self.stack.post("/api/v1/auth/guest", {}), 201)
        for body in ({"username": sqlish, "password": strong_password()},
                     {"username": huge, "password": strong_password()},
                     {"username": unique_name(), "password": huge},
                     {"username": unique_name(), "password": strong_password(), "display_name": huge}):
            r = self.stack.post("/api/v1/auth/upgrade", body, token=guest["access_token"])
            self.assertProblem(r, 400, "VALIDATION_ERROR")
        # The user's row is what the successful PATCH left, and the table is intact.
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=token).json()["email"], "a'b@c;d")
        self.assertEqual([l for l in self.stack.worker_log_lines() if l.get("status", 0) >= 500], [])

    def test_malformed_requests(self):
        json_type = {"Content-Type": "application/json"}
        for path in ("/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"):
            self.assertProblem(self.stack.post(path, raw=b'{"username": ', headers=json_type), 400, "VALIDATION_ERROR")
            self.assertProblem(self.stack.post(path, raw=b'"just a string"', headers=json_type), 400,
                               "VALIDATION_ERROR")
            self.assertProblem(self.stack.post(path, raw=b'{"a":1,"a":2}', headers=json_type), 400, "VALIDATION_ERROR")
            self.assertProblem(self.stack.post(path, raw=b'{"username":"\xff\xfe"}', headers=json_type), 400,
                               "VALIDATION_ERROR")
            self.assertProblem(self.stack.post(path, raw=b"username=a&password=b",
                                               headers={"Content-Type": "application/x-www-form-urlencoded"}),
                               415, "UNSUPPORTED_MEDIA_TYPE")
            self.assertProblem(self.stack.post(path, raw=b"{}", headers={"Content-Type": "application/json; charset=latin1"}),
                               415, "UNSUPPORTED_MEDIA_TYPE")
        r = self.stack.post("/api/v1/auth/signup", {"username": unique_name(), "password": strong_password(),
                                                    "role": "admin"})
        self.assertProblem(r, 400, "VALIDATION_ERROR", field="role")
        r = self.stack.post("/api/v1/auth/login", {"username": "x", "password": "y", "remember": True})
        self.assertProblem(r, 400, "VALIDATION_ERROR", field="remember")
        r = self.stack.post("/api/v1/auth/login", {"username": "x"})
        self.assertProblem(r, 400, "VALIDATION_ERROR", field="password")
        r = self.stack.post("/api/v1/auth/login", {"username": 7, "password": ["x"]})
        body = self.assertProblem(r, 400, "VALIDATION_ERROR")
        self.assertEqual({e["field"] for e in body["errors"]}, {"username", "password"})
        token = self.signup()["access_token"]
        r = self.stack.request("PATCH", "/api/v1/auth/me", {"is_guest": True}, token=token)
        self.assertProblem(r, 400, "VALIDATION_ERROR", field="is_guest")
        r = self.stack.request("PATCH", "/api/v1/auth/me", {"role": "admin"}, token=token)
        self.assertProblem(r, 400, "VALIDATION_ERROR", field="role")
        r = self.stack.request("PATCH", "/api/v1/auth/me", raw=b"{}", headers={"Content-Type": "text/plain"},
                               token=token)
        self.assertProblem(r, 415, "UNSUPPORTED_MEDIA_TYPE")
        self.assertProblem(self.stack.request("DELETE", "/api/v1/auth/me", token=token), 405, "METHOD_NOT_ALLOWED")
        self.assertProblem(self.stack.get("/api/v1/auth/login"), 405, "METHOD_NOT_ALLOWED")

    # -- per-username login throttling -------------------------------------------------------------

    def test_login_failures_lock_a_username_from_any_address(self):
        account = self.signup()
        name, password = account["user"]["username"], account["password"]
        # Four failures, then a success: the count starts again.
        for _ in range(4):
            self.assertProblem(self.login(name, "wrong-" + password), 401, "INVALID_CREDENTIALS")
        self.assertAuthResult(self.login(name.upper(), password), 200)
        self.assertEqual(self.sql(f"SELECT count(*) FROM login_failures WHERE username = '{name}'"), "0")
        # Five failures (typed in any case) lock the name; the fifth is still answered as a wrong password.
        for i in range(5):
            self.assertProblem(self.login(name if i % 2 else name.upper(), "wrong-" + password), 401,
                               "INVALID_CREDENTIALS")
        # Now even the right password is refused, without being checked.
        r = self.login(name, password)
        body = self.assertProblem(r, 429, "RATE_LIMITED")
        retry = int(r.headers["retry-after"])
        self.assertTrue(1 <= retry <= 60, retry)
        self.assertNotIn("access_token", body)
        self.assertProblem(self.login(name, "wrong-" + password), 429, "RATE_LIMITED")
        self.assertEqual(self.sql(f"SELECT failures FROM login_failures WHERE username = '{name}'"), "5")
        # Another name is unaffected.
        other = self.signup()
        self.assertAuthResult(self.login(other["user"]["username"], other["password"]), 200)
        # When the lockout has passed, the right password works again and resets the count.
        self.sql(f"UPDATE login_failures SET locked_until = now() - interval '1 second' WHERE username = '{name}'")
        self.assertAuthResult(self.login(name, password), 200)
        self.assertEqual(self.sql(f"SELECT count(*) FROM login_failures WHERE username = '{name}'"), "0")

    def test_lockout_grows_and_unknown_names_are_throttled_alike(self):
        unknown = unique_name("ghost")
        for _ in range(5):
            self.assertProblem(self.login(unknown, strong_password()), 401, "INVALID_CREDENTIALS")
        r = self.login(unknown.upper(), strong_password())
        self.assertProblem(r, 429, "RATE_LIMITED")
        first = int(r.headers["retry-after"])
        self.assertTrue(1 <= first <= 60, first)
        # After the first lockout the next failure locks for twice as long.
        self.sql(f"UPDATE login_failures SET locked_until = now() - interval '1 second' WHERE username = '{unknown}'")
        self.assertProblem(self.login(unknown, strong_password()), 401, "INVALID_CREDENTIALS")
        r = self.login(unknown, strong_password())
        self.assertProblem(r, 429, "RATE_LIMITED")
        self.assertTrue(60 < int(r.headers["retry-after"]) <= 120, r.headers["retry-after"])
        # A 429 for an unknown name looks like one for a real account.
        account = self.signup()
        for _ in range(5):
            self.login(account["user"]["username"], strong_password())
        real = self.login(account["user"]["username"], strong_password())
        a, b = self.assertProblem(real, 429, "RATE_LIMITED"), self.assertProblem(r, 429, "RATE_LIMITED")
        del a["request_id"], b["request_id"]
        self.assertEqual(a, b)

    def test_wrong_current_password_counts_against_the_username(self):
        account = self.signup()
        token, name = account["access_token"], account["user"]["username"]
        for _ in range(5):
            r = self.stack.post("/api/v1/auth/password", {"current_password": "wrong-password-x",
                                                          "new_password": strong_password()}, token=token)
            self.assertProblem(r, 400, "VALIDATION_ERROR", field="current_password")
        r = self.stack.post("/api/v1/auth/password", {"current_password": account["password"],
                                                      "new_password": strong_password()}, token=token)
        self.assertProblem(r, 429, "RATE_LIMITED")
        self.assertIn("retry-after", r.headers)
        self.assertProblem(self.login(name, account["password"]), 429, "RATE_LIMITED")


class RehashTest(AuthTestCase):
    """A login with outdated Argon2 parameters stores a fresh hash made with the current ones."""

    def test_login_rehashes_a_hash_with_old_parameters(self):
        first = Stack(env={"AUTH_RATE_PER_MIN": "6000000"}).start()
        try:
            self.stack = first
            account = self.signup()
            uid = account["user"]["id"]
            self.assertIn("$m=19456,t=2,p=1$", self.sql(f"SELECT password_hash FROM users WHERE id = '{uid}'"))
            first.close()
            # The same database, served with stronger parameters.
            self.stack = Stack(pg=first.pg, database=first.database,
                               env={"AUTH_RATE_PER_MIN": "6000000", "ARGON2_ITERATIONS": "3"}).start()
            self.assertAuthResult(self.login(account["user"]["username"], account["password"]), 200)
            stored = self.sql(f"SELECT password_hash FROM users WHERE id = '{uid}'")
            self.assertIn("$m=19456,t=3,p=1$", stored)
            # The new hash verifies, and is not replaced again.
            self.assertAuthResult(self.login(account["user"]["username"], account["password"]), 200)
            self.assertEqual(self.sql(f"SELECT password_hash FROM users WHERE id = '{uid}'"), stored)
        finally:
            first.close()
            if self.stack is not first:
                self.stack.close()


class NginxAuthLimitTest(AuthTestCase):
    """nginx limits /api/v1/auth/ per client address (AUTH_RATE_PER_MIN, burst 10) before any worker."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(env={"AUTH_RATE_PER_MIN": "5"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def test_auth_rate_limit_answers_problem_json_429_with_retry_after(self):
        # 5 per minute with a burst of 10: somewhere within the first dozen quick requests the
        # limit must answer (cheap requests: malformed bodies that never reach a hash).
        statuses, limited = [], None
        for _ in range(30):
            r = self.stack.post("/api/v1/auth/login", {"username": "x"})
            statuses.append(r.status)
            if r.status == 429:
                limited = r
                break
        self.assertIsNotNone(limited, statuses)
        self.assertLessEqual(len(statuses), 13, statuses)
        self.assertTrue(all(s == 400 for s in statuses[:-1]), statuses)
        body = self.assertProblem(limited, 429, "RATE_LIMITED")
        self.assertEqual(body["request_id"], limited.headers["x-request-id"])
        self.assertGreaterEqual(int(limited.headers["retry-after"]), 1)
        # Other auth endpoints share the address's budget; the rest of the API does not.
        self.assertProblem(self.stack.post("/api/v1/auth/guest", {}), 429, "RATE_LIMITED")
        self.assertEqual(self.stack.get("/api/v1/health").status, 200)
        self.assertProblem(self.stack.get("/api/v1/users"), 401, "UNAUTHENTICATED")
        # /auth/me is an authenticated read made on every page load, not a credential check: it
        # is under the API's rate, not the exhausted auth budget.
        user = create_user(self.stack)
        me = self.stack.get("/api/v1/auth/me", token=user.token)
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json()["id"], user.id)
        self.assertProblem(self.stack.get("/api/v1/auth/me"), 401, "UNAUTHENTICATED")


if __name__ == "__main__":
    unittest.main()
