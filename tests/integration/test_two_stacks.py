"""Two complete stacks (each its own nginx, worker pool and chatd-push) on one PostgreSQL, behind a
front nginx that round-robins every request and every WebSocket with no session affinity, as a
cloud load balancer would (DESIGN.md "Growing past one machine"). Everything a user does works
with every request landing anywhere: tokens, refresh rotation and reuse detection, messages
reaching sockets on the other stack, a reply streamed by one stack followed live (deltas) and
stopped through the other, the per-minute reply rate, and WS_MAX_PER_USER counted across both
daemons; the page caches of both stacks never serve a stale page."""

import threading
import unittest
import uuid

from harness import FakeLlm, Front, Stack, WsClient, create_user, shared_postgres, wait_until

API = "/api/v1"
PASSWORD = "correct-horse-battery-staple-9"


class TwoStacksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeLlm()
        front_port = Front.reserve_port()
        pg = shared_postgres()
        database = pg.create_database()
        env = {
            "LLM_BASE_URL": cls.fake.base_url,
            "LLM_MODEL": "demo",
            "LLM_RATE_PER_MIN": "5",
            "WS_MAX_PER_USER": "3",
            "CORS_ALLOWED_ORIGINS": f"http://127.0.0.1:{front_port}",
            "THREADS_PER_WORKER": "8",
        }
        cls.a = Stack(pg=pg, database=database, env=env).start()
        cls.b = Stack(pg=pg, database=database, env=env).start()
        cls.front = Front([cls.a, cls.b], port=front_port)

    @classmethod
    def tearDownClass(cls):
        cls.front.close()
        cls.b.close()
        cls.a.close()
        cls.fake.close()

    def sql(self, query):
        return self.a.pg.psql(query, db=self.a.database).strip()

    def ws(self, user, stack):
        """A socket of `user` on one given stack (its origin is the front's, as a browser's)."""
        client = WsClient(stack, token=user.token, origin=f"http://127.0.0.1:{self.front.port}")
        client.expect_open()
        ready = client.recv()
        self.assertEqual(ready["type"], "ready", ready)
        return client

    def test_a_token_from_one_stack_works_on_the_other_and_rotation_holds_across(self):
        r = self.a.post(f"{API}/auth/signup", {"username": "u" + uuid.uuid4().hex[:10], "password": PASSWORD})
        self.assertEqual(r.status, 201, r)
        auth = r.json()
        self.assertEqual(self.b.get(f"{API}/auth/me", token=auth["access_token"]).status, 200)
        # Rotate on B, then present the spent token on A: reuse detection revokes the family.
        rotated = self.b.post(f"{API}/auth/refresh", {"refresh_token": auth["refresh_token"]})
        self.assertEqual(rotated.status, 200, rotated)
        again = self.a.post(f"{API}/auth/refresh", {"refresh_token": auth["refresh_token"]})
        self.assertEqual((again.status, again.json()["code"]), (401, "TOKEN_REUSED"))
        dead = self.b.post(f"{API}/auth/refresh", {"refresh_token": rotated.json()["refresh_token"]})
        self.assertEqual(dead.status, 401, dead)

    def test_login_throttling_counts_failures_on_both_stacks(self):
        name = "u" + uuid.uuid4().hex[:10]
        self.assertEqual(self.a.post(f"{API}/auth/signup", {"username": name, "password": PASSWORD}).status, 201)
        for i in range(5):  # five failures, alternating stacks, lock the name everywhere
            s = self.a if i % 2 == 0 else self.b
            r = s.post(f"{API}/auth/login", {"username": name, "password": "wrong-" + PASSWORD})
            self.assertEqual(r.status, 401, r)
        for s in (self.a, self.b):
            r = s.post(f"{API}/auth/login", {"username": name, "password": PASSWORD})
            self.assertEqual((r.status, r.json()["code"]), (429, "RATE_LIMITED"))

    def test_a_message_through_one_stack_reaches_sockets_on_both_and_pages_stay_fresh(self):
        alice, bob = create_user(self.a), create_user(self.a)
        conv = self.front.post(f"{API}/conversations", {"kind": "direct", "user_id": bob.id}, token=alice.token).json()
        bob_on_a, bob_on_b = self.ws(bob, self.a), self.ws(bob, self.b)
        # Warm both stacks' page caches, then write through A and read through B.
        for s in (self.a, self.b):
            self.assertEqual(s.get(f"{API}/conversations/{conv['id']}/messages", token=bob.token).json()["items"], [])
            s.get(f"{API}/conversations", token=bob.token)
        sent = self.a.post(f"{API}/conversations/{conv['id']}/messages", {"content": "across"}, token=alice.token)
        self.assertEqual(sent.status, 201, sent)
        mid = sent.json()["message"]["id"]
        for sock in (bob_on_a, bob_on_b):
            frame = sock.recv_until(lambda f: f.get("type") == "message.created")
            self.assertEqual(frame["message"]["id"], mid)
        self.assertEqual([m["id"] for m in self.b.get(f"{API}/conversations/{conv['id']}/messages",
                                                      token=bob.token).json()["items"]], [mid])
        self.assertEqual(self.b.get(f"{API}/conversations", token=bob.token).json()["items"][0]["last_message"]["id"], mid)
        bob_on_a.close()
        bob_on_b.close()

    def test_a_reply_streamed_on_one_stack_is_followed_and_stopped_through_the_other(self):
        u = create_user(self.a)
        cid = self.a.post(f"{API}/conversations", {"kind": "assistant"}, token=u.token).json()["id"]
        other_device = self.ws(u, self.b)
        result = {}

        def send():
            result["r"] = self.a.post(f"{API}/conversations/{cid}/messages",
                                      {"content": "long one [[fake:tokens=500,interval_ms=20]]"}, token=u.token)

        t = threading.Thread(target=send)
        t.start()
        delta = other_device.recv_until(lambda f: f.get("type") == "message.delta", timeout=20)
        self.assertEqual(delta["conversation_id"], cid)
        stop = self.b.post(f"{API}/conversations/{cid}/stop", {}, token=u.token)
        self.assertEqual(stop.status, 202, stop)
        updated = other_device.recv_until(
            lambda f: f.get("type") == "message.updated" and f["message"]["status"] != "streaming", timeout=20)
        self.assertEqual(updated["message"]["status"], "interrupted")
        t.join(30)
        self.assertEqual(result["r"].json()["reply"]["status"], "interrupted")
        self.assertLess(len(updated["message"]["content"].split()), 500)
        other_device.close()

    def test_the_reply_rate_holds_for_the_user_across_stacks(self):
        u = create_user(self.a)
        cid = self.a.post(f"{API}/conversations", {"kind": "assistant"}, token=u.token).json()["id"]
        statuses = []
        for i in range(6):  # LLM_RATE_PER_MIN=5, alternating stacks
            s = self.a if i % 2 == 0 else self.b
            statuses.append(s.post(f"{API}/conversations/{cid}/messages",
                                   {"content": f"hi {i} [[fake:tokens=2]]"}, token=u.token).status)
        self.assertEqual(statuses, [201] * 5 + [429])

    def test_ws_max_per_user_counts_both_daemons(self):
        u = create_user(self.a)
        sockets = [self.ws(u, self.a), self.ws(u, self.b), self.ws(u, self.a)]  # WS_MAX_PER_USER=3
        extra = WsClient(self.b, token=u.token, origin=f"http://127.0.0.1:{self.front.port}")
        extra.expect_open()
        closed = extra.recv_until(lambda f: f.get("type") == "__close")
        self.assertEqual(closed["code"], 4429, closed)
        # Closing one (on A) makes room on B.
        sockets.pop(0).close()
        wait_until(lambda: self.sql(f"SELECT count(*) FROM ws_sessions WHERE user_id = '{u.id}'") == "2",
                   what="the closed socket to be forgotten")
        sockets.append(self.ws(u, self.b))
        for s in sockets:
            s.close()

    def test_everything_through_the_front_with_no_affinity(self):
        # The same user's requests and sockets land on either stack, in turn.
        alice, bob = create_user(self.a), create_user(self.a)
        g = self.front.post(f"{API}/conversations", {"kind": "group", "title": "Front", "member_ids": [bob.id]},
                            token=alice.token)
        self.assertEqual(g.status, 201, g)
        gid = g.json()["id"]
        socks = [self.ws(bob, self.front) for _ in range(2)]
        ids = []
        for i in range(4):
            r = self.front.post(f"{API}/conversations/{gid}/messages", {"content": f"m{i}"}, token=alice.token)
            self.assertEqual(r.status, 201, r)
            ids.append(r.json()["message"]["id"])
        for sock in socks:
            got = []
            while len(got) < 4:
                f = sock.recv_until(lambda f: f.get("type") == "message.created")
                got.append(f["message"]["id"])
            self.assertEqual(got, ids)
            sock.close()
        for _ in range(4):
            page = self.front.get(f"{API}/conversations/{gid}/messages", token=bob.token).json()["items"]
            self.assertEqual([m["id"] for m in page], ids)


if __name__ == "__main__":
    unittest.main()
