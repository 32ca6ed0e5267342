"""chatctl's account commands and gc against a running stack: what an operator does shows through
the API at once (a created user can sign in, a new admin's login says so, a deleted user's token
stops working), and gc deletes exactly what is dead."""

import json
import os
import pty
import select
import subprocess
import time
import tempfile
import unittest
import uuid

from harness import BUILD, Stack, create_user


def unique_name(prefix="op"):
    return prefix + uuid.uuid4().hex[:12]


class ChatctlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(env={"AUTH_RATE_PER_MIN": "6000000"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def chatctl(self, *args, env=None, stdin=None):
        e = dict(self.stack.env)
        e.update(env or {})
        # No terminal: a prompt for a password must fail rather than hang.
        return subprocess.run([os.path.join(BUILD, "chatctl"), *args], env=e, input=stdin, capture_output=True,
                              text=True, timeout=60, start_new_session=True)

    def password_file(self, password):
        f = tempfile.NamedTemporaryFile("w", delete=False, prefix="chatctl-pw-")
        f.write(password + "\n")
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def sql(self, statement):
        return self.stack.pg.psql(statement, db=self.stack.database).strip()

    def login(self, username, password):
        return self.stack.post("/api/v1/auth/login", {"username": username, "password": password})

    def test_check_config_checks_the_connection_budget_of_n_vms(self):
        ok = self.chatctl("check-config", "--vms", "2")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("connections: 2 VMs x", ok.stdout)
        # The test cluster allows 300 connections: 100 VMs of 2 workers with 4 sessions do not fit.
        over = self.chatctl("check-config", "--vms", "100")
        self.assertEqual(over.returncode, 1, over.stdout)
        self.assertIn("max_connections", over.stderr)
        self.assertNotEqual(self.chatctl("check-config", "--vms", "0").returncode, 0)

    def test_user_create_list_set_role_delete(self):
        name, password = unique_name("Op"), "pw-" + uuid.uuid4().hex
        r = self.chatctl("user", "create", name, "--display-name", "Operator Made",
                         "--password-file", self.password_file(password))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(name.lower(), r.stdout)
        self.assertNotIn(password, r.stdout + r.stderr)

        login = self.login(name, password)
        self.assertEqual(login.status, 200, login)
        user = login.json()["user"]
        self.assertEqual((user["username"], user["display_name"], user["role"]), (name.lower(), "Operator Made", "user"))

        # Taken names, bad names and bad passwords are refused with a message and a failing status.
        for args in (("user", "create", name.upper(), "--password-file", self.password_file("pw-" + uuid.uuid4().hex)),
                     ("user", "create", "guest-abc", "--password-file", self.password_file("pw-" + uuid.uuid4().hex)),
                     ("user", "create", "x", "--password-file", self.password_file("pw-" + uuid.uuid4().hex)),
                     ("user", "create", unique_name(), "--password-file", self.password_file("short")),
                     ("user", "create", unique_name(), "--password-file", self.password_file("password1234")),
                     ("user", "create", unique_name(), "--password-file", "/nonexistent/file"),
                     ("user", "set-role", name, "root"),
                     ("user", "set-role", unique_name("nobody"), "admin"),
                     ("user", "delete", unique_name("nobody"))):
            r = self.chatctl(*args)
            self.assertNotEqual(r.returncode, 0, (args, r.stdout))
            self.assertTrue(r.stderr.strip(), args)
        # Without a file and without a terminal, create refuses instead of waiting.
        r = self.chatctl("user", "create", unique_name())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("password-file", r.stderr)
        # The password may come from standard input.
        piped, piped_pw = unique_name("pipe"), "pw-" + uuid.uuid4().hex
        r = self.chatctl("user", "create", piped, "--password-file", "-", stdin=piped_pw + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.login(piped, piped_pw).status, 200)

        guest = self.stack.post("/api/v1/auth/guest", {}).json()["user"]["username"]
        listed = self.chatctl("user", "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(name.lower(), listed.stdout)
        self.assertNotIn(guest, listed.stdout)
        self.assertIn(guest, self.chatctl("user", "list", "--all").stdout)

        r = self.chatctl("user", "set-role", name, "admin")
        self.assertEqual(r.returncode, 0, r.stderr)
        admin = self.login(name, password).json()
        self.assertEqual(admin["user"]["role"], "admin")
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=admin["access_token"]).json()["role"], "admin")
        # A guest cannot be made an admin.
        self.assertNotEqual(self.chatctl("user", "set-role", guest, "admin").returncode, 0)
        r = self.chatctl("user", "set-role", name.upper(), "user")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.login(name, password).json()["user"]["role"], "user")

        # Delete: cascades, and the still-valid access token stops working at once.
        conv = self.sql(f"INSERT INTO conversations (kind, title, owner_id) VALUES ('group', 'doomed', "
                        f"'{user['id']}') RETURNING id").splitlines()[0]
        r = self.chatctl("user", "delete", name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=admin["access_token"]).status, 401)
        self.assertEqual(self.login(name, password).status, 401)
        self.assertEqual(self.sql(f"SELECT count(*) FROM conversations WHERE id = '{conv}'"), "0")
        self.assertEqual(self.sql(f"SELECT count(*) FROM refresh_tokens WHERE user_id = '{user['id']}'"), "0")
        self.assertNotIn(name.lower(), self.chatctl("user", "list").stdout)

    def test_user_create_asks_on_the_terminal_without_echo(self):
        name, password = unique_name("tty"), "pw-" + uuid.uuid4().hex
        chatctl = os.path.join(BUILD, "chatctl")
        pid, fd = pty.fork()
        if pid == 0:  # the child: a new session whose controlling terminal is the pty
            try:
                os.execve(chatctl, [chatctl, "user", "create", name], dict(self.stack.env))
            finally:
                os._exit(127)
        output = b""

        def read_until(marker, timeout=30):
            nonlocal output
            deadline = time.monotonic() + timeout
            while marker not in output:
                ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    raise TimeoutError(f"no {marker!r} in {output!r}")
                try:
                    chunk = os.read(fd, 1024)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    return False
                output += chunk
            return True

        try:
            self.assertTrue(read_until(b"Password: "), output)
            os.write(fd, password.encode() + b"\n")
            self.assertTrue(read_until(b"Password (again): "), output)
            os.write(fd, password.encode() + b"\n")
            read_until(b"\0")  # to the end of the output
        finally:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, output)
        self.assertIn(b"created user " + name.lower().encode(), output)
        self.assertNotIn(password.encode(), output)  # never echoed
        self.assertEqual(self.login(name, password).status, 200)

    def test_gc_deletes_idle_guests_and_dead_tokens(self):
        idle = self.stack.post("/api/v1/auth/guest", {}).json()
        fresh = self.stack.post("/api/v1/auth/guest", {}).json()
        idle_id, fresh_id = idle["user"]["id"], fresh["user"]["id"]
        conv = self.sql(f"INSERT INTO conversations (kind, title, owner_id) VALUES ('group', 'idle guest', "
                        f"'{idle_id}') RETURNING id").splitlines()[0]
        friend = create_user(self.stack)
        self.sql(f"INSERT INTO conversation_members (conversation_id, user_id, role) VALUES "
                 f"('{conv}', '{idle_id}', 'owner'), ('{conv}', '{friend.id}', 'member')")
        self.sql(f"UPDATE users SET last_active_at = now() - interval '25 hours' WHERE id = '{idle_id}'")

        # A registered user with one live, one revoked, one expired and one spent token.
        name, password = unique_name("keep"), "pw-" + uuid.uuid4().hex
        signup = self.stack.post("/api/v1/auth/signup", {"username": name, "password": password}).json()
        uid = signup["user"]["id"]
        spent = signup["refresh_token"]
        live = self.stack.post("/api/v1/auth/refresh", {"refresh_token": spent}).json()["refresh_token"]
        revoked = self.login(name, password).json()["refresh_token"]
        self.assertEqual(self.stack.post("/api/v1/auth/logout", {"refresh_token": revoked}).status, 204)
        expired = self.login(name, password).json()["refresh_token"]
        self.sql(f"UPDATE refresh_tokens SET created_at = now() - interval '40 days', expires_at = now() - interval "
                 f"'1 second' WHERE token_hash = sha256(convert_to('{expired}', 'UTF8'))")
        self.sql("INSERT INTO login_failures (username, failures, first_failed_at, last_failed_at) "
                 "VALUES ('stale-name', 3, now() - interval '2 days', now() - interval '2 days')")
        # (The idle guest's own tokens go with it, by cascade, and are not counted as tokens.)
        before = int(self.sql(f"SELECT count(*) FROM refresh_tokens WHERE user_id <> '{idle_id}'"))

        # JWT_SECRET is not needed by gc.
        env = {k: v for k, v in self.stack.env.items() if k != "JWT_SECRET"}
        r = subprocess.run([os.path.join(BUILD, "chatctl"), "gc"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("deleted 1 idle guest,", r.stdout)
        self.assertIn("1 login-failure record", r.stdout)

        self.assertEqual(self.sql(f"SELECT count(*) FROM users WHERE id = '{idle_id}'"), "0")
        self.assertEqual(self.sql(f"SELECT count(*) FROM conversations WHERE id = '{conv}'"), "0")
        # Its member was told, in the same transaction as the deletion.
        self.assertEqual(self.sql(f"SELECT kind || ' ' || recipients::text FROM events "
                                  f"WHERE conversation_id = '{conv}'"), "conversation.deleted {" + friend.id + "}")
        # Its member was told, in the same transaction as the deletion.
        self.assertEqual(self.sql(f"SELECT kind || ' ' || recipients::text FROM events "
                                  f"WHERE conversation_id = '{conv}'"), "conversation.deleted {" + friend.id + "}")
        self.assertEqual(self.sql(f"SELECT count(*) FROM refresh_tokens WHERE user_id = '{idle_id}'"), "0")
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=idle["access_token"]).status, 401)
        self.assertEqual(self.stack.get("/api/v1/auth/me", token=fresh["access_token"]).status, 200)
        # The revoked and the expired token are gone; the live one works; the spent one is kept so
        # that replaying it is still detected as reuse.
        def exists(token):
            return self.sql(f"SELECT count(*) FROM refresh_tokens WHERE token_hash = sha256(convert_to('{token}', 'UTF8'))")
        self.assertEqual((exists(revoked), exists(expired), exists(spent), exists(live)), ("0", "0", "1", "1"))
        deleted = before - int(self.sql("SELECT count(*) FROM refresh_tokens"))
        self.assertIn(f", {deleted} refresh token", r.stdout)
        self.assertEqual(self.stack.post("/api/v1/auth/refresh", {"refresh_token": spent}).json()["code"], "TOKEN_REUSED")
        self.assertEqual(self.sql(f"SELECT count(*) FROM refresh_tokens WHERE user_id = '{uid}' AND revoked_at IS NULL"),
                         "0")
        # Running it again finds nothing more of the guests.
        r = self.chatctl("gc")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("deleted 0 idle guests", r.stdout)

    def test_deleting_a_user_tells_the_other_members(self):
        alice, bob, carol = (create_user(self.stack) for _ in range(3))

        def group(owner, title, members):
            r = self.stack.post("/api/v1/conversations", {"kind": "group", "title": title,
                                                          "member_ids": [m.id for m in members]},
                                token=owner.token)
            self.assertEqual(r.status, 201, r)
            return r.json()["id"]

        owned = group(alice, "alice's", [bob, carol])
        joined = group(bob, "bob's", [alice, carol])
        untouched = group(bob, "no alice", [carol])
        mark = self.sql("SELECT coalesce(max(id), 0) FROM events")

        r = self.chatctl("user", "delete", alice.username)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = self.sql(f"SELECT kind || '|' || conversation_id || '|' || recipients::text || '|' || payload::text "
                        f"FROM events WHERE id > {mark} ORDER BY id").splitlines()
        events = {}
        for row in rows:
            kind, cid, recipients, payload = row.split("|", 3)
            events[cid] = (kind, sorted(recipients.strip("{}").split(",")), json.loads(payload))
        self.assertEqual(set(events), {owned, joined})
        kind, recipients, payload = events[owned]
        self.assertEqual((kind, recipients), ("conversation.deleted", sorted([bob.id, carol.id])))
        self.assertEqual(payload["conversation"]["id"], owned)
        kind, recipients, payload = events[joined]
        self.assertEqual((kind, recipients), ("member.removed", sorted([bob.id, carol.id])))
        self.assertEqual(payload["user_id"], alice.id)
        self.assertEqual(sorted(m["id"] for m in payload["conversation"]["members"]), sorted([bob.id, carol.id]))
        # The deletion itself happened, as before.
        self.assertEqual(self.sql(f"SELECT count(*) FROM conversations WHERE id = '{owned}'"), "0")
        self.assertEqual(self.sql(f"SELECT count(*) FROM conversation_members WHERE conversation_id = '{joined}'"),
                         "2")
        self.assertEqual(self.stack.get(f"/api/v1/conversations/{untouched}", token=carol.token).status, 200)

    def test_gc_finishes_replies_orphaned_by_a_dead_worker(self):
        owner = self.stack.post("/api/v1/auth/guest", {}).json()
        uid = owner["user"]["id"]
        conv = self.stack.post("/api/v1/conversations", {"kind": "assistant", "title": "orphans"},
                               token=owner["access_token"]).json()["id"]

        def streaming_reply(seq, heartbeat_age):
            mid = self.sql(f"INSERT INTO messages (conversation_id, seq, role, content, status, model) "
                           f"VALUES ('{conv}', {seq}, 'assistant', 'half a sent', 'streaming', 'demo') "
                           f"RETURNING id").splitlines()[0]
            self.sql(f"INSERT INTO generations (message_id, conversation_id, user_id, worker, heartbeat_at) "
                     f"VALUES ('{mid}', '{conv}', '{uid}', 'deadhost:1', now() - interval '{heartbeat_age}')")
            return mid

        self.sql(f"UPDATE conversations SET last_seq = 2 WHERE id = '{conv}'")
        orphan = streaming_reply(1, "5 minutes")
        alive = streaming_reply(2, "1 second")  # its worker is still heartbeating: left alone
        r = self.chatctl("gc")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("finished 1 orphaned reply", r.stdout)
        self.assertEqual(self.sql(f"SELECT status || ':' || content FROM messages WHERE id = '{orphan}'"),
                         "interrupted:half a sent")
        self.assertEqual(self.sql(f"SELECT count(*) FROM generations WHERE message_id = '{orphan}'"), "0")
        self.assertEqual(self.sql(f"SELECT status FROM messages WHERE id = '{alive}'"), "streaming")
        self.assertEqual(self.sql(f"SELECT count(*) FROM generations WHERE message_id = '{alive}'"), "1")
        # The members' devices are told, with the API's own Message shape.
        payload = json.loads(self.sql(
            f"SELECT payload FROM events WHERE kind = 'message.updated' AND conversation_id = '{conv}' "
            f"ORDER BY id DESC LIMIT 1"))
        self.assertEqual((payload["message"]["id"], payload["message"]["status"]), (orphan, "interrupted"))
        self.assertEqual(payload["message"]["content"], "half a sent")
        self.assertEqual(self.sql(f"SELECT recipients::text FROM events WHERE kind = 'message.updated' "
                                  f"AND conversation_id = '{conv}'"), "{" + uid + "}")
        # Nothing left to finish on a second run.
        self.assertIn("finished 0 orphaned replies", self.chatctl("gc").stdout)


if __name__ == "__main__":
    unittest.main()
