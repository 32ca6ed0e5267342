"""chatd-push through nginx's /ws: origin check, token auth (query or first frame), per-user
limit, ping, events to exactly the recipients, resume by cursor, typing, token expiry."""

import http.client
import json
import unittest

from harness import Stack, WsClient, create_user, mint_token


def emit(stack, kind, recipients, payload, conversation_id=None):
    conv = f"'{conversation_id}'::uuid" if conversation_id else "NULL"
    arr = "ARRAY[" + ",".join(f"'{r}'::uuid" for r in recipients) + "]::uuid[]"
    sql = (f"SELECT pg_current_xact_id()::text || '.' || "
           f"emit_event({conv}, '{kind}', '{json.dumps(payload)}'::jsonb, {arr})")
    cursor = stack.pg.psql(sql, db=stack.database).strip()
    stack.pg.psql("NOTIFY chatd_events", db=stack.database)  # as the workers do after COMMIT
    return cursor


class PushTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(env={"WS_MAX_PER_USER": "3"}).start()
        cls.alice = create_user(cls.stack)
        cls.bob = create_user(cls.stack)

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def connect(self, user, **kw):
        ws = WsClient(self.stack, token=user.token, **kw).expect_open()
        self.addCleanup(ws.close)
        return ws

    def test_foreign_origin_is_refused_with_403(self):
        ws = WsClient(self.stack, token=self.alice.token, origin="https://evil.example")
        self.assertEqual(ws.recv()["type"], "__http_error")
        upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "https://evil.example"}
        r = self.stack.get("/ws?token=" + self.alice.token, headers=upgrade)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["code"], "FORBIDDEN")

    def test_ready_then_ping_pong(self):
        ws = self.connect(self.alice)
        ready = ws.recv()
        self.assertEqual(ready["type"], "ready")
        self.assertEqual(ready["user_id"], self.alice.id)
        self.assertIn("cursor", ready)
        ws.send({"type": "ping"})
        self.assertEqual(ws.recv(), {"type": "pong"})

    def test_bad_token_closes_4001(self):
        ws = WsClient(self.stack, token="not-a-token").expect_open()
        self.assertEqual(ws.recv()["code"], 4001)
        forged = mint_token(self.alice.id, secret="another-secret-" + "y" * 40)
        ws = WsClient(self.stack, token=forged).expect_open()
        self.assertEqual(ws.recv()["code"], 4001)

    def test_first_frame_auth(self):
        ws = WsClient(self.stack).expect_open()
        self.addCleanup(ws.close)
        ws.send({"type": "auth", "token": self.alice.token})
        self.assertEqual(ws.recv()["type"], "ready")
        ws2 = WsClient(self.stack).expect_open()
        ws2.send({"type": "ping"})  # anything but auth first
        self.assertEqual(ws2.recv()["code"], 4001)

    def test_no_auth_within_5_seconds_closes_4001(self):
        ws = WsClient(self.stack).expect_open()
        frame = ws.recv(timeout=20)
        self.assertEqual(frame["type"], "__close")
        self.assertEqual(frame["code"], 4001)

    def test_per_user_connection_limit_closes_4429(self):
        carol = create_user(self.stack)
        for _ in range(3):
            self.assertEqual(self.connect(carol).recv()["type"], "ready")
        extra = WsClient(self.stack, token=carol.token).expect_open()
        self.assertEqual(extra.recv()["code"], 4429)

    def push_metrics(self):
        """The push daemon's /metrics, straight from its loopback port, as {name: value}."""
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.push_port, timeout=10)
        try:
            conn.request("GET", "/metrics")
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertTrue(r.getheader("Content-Type").startswith("text/plain"))
            text = r.read().decode()
        finally:
            conn.close()
        return {line.split()[0]: int(line.split()[1]) for line in text.splitlines()
                if line and not line.startswith("#")}

    def test_metrics_count_connections_and_refusals(self):
        before = self.push_metrics()
        dave = create_user(self.stack)
        conns = [self.connect(dave) for _ in range(3)]
        for ws in conns:
            self.assertEqual(ws.recv()["type"], "ready")
        extra = WsClient(self.stack, token=dave.token).expect_open()
        self.assertEqual(extra.recv()["code"], 4429)
        bad = WsClient(self.stack, token="not-a-token").expect_open()
        self.assertEqual(bad.recv()["code"], 4001)
        emit(self.stack, "conversation.updated", [dave.id], {"conversation": {"id": "m1"}})
        for ws in conns:
            self.assertEqual(ws.recv()["type"], "conversation.updated")
        after = self.push_metrics()
        self.assertGreaterEqual(after["chatd_push_connections"], 3)
        self.assertGreaterEqual(after["chatd_push_handshakes_total"] - before["chatd_push_handshakes_total"], 5)
        self.assertGreaterEqual(after["chatd_push_over_limit_total"] - before["chatd_push_over_limit_total"], 1)
        self.assertGreaterEqual(after["chatd_push_auth_failures_total"] - before["chatd_push_auth_failures_total"], 1)
        self.assertGreaterEqual(after["chatd_push_events_total"] - before["chatd_push_events_total"], 1)
        self.assertGreaterEqual(after["chatd_push_frames_sent_total"] - before["chatd_push_frames_sent_total"], 3)
        # Not through nginx: only /ws itself is proxied to the daemon.
        self.assertNotIn(b"chatd_push_", self.stack.get("/ws/metrics").body)

    def test_events_reach_exactly_their_recipients(self):
        a = self.connect(self.alice)
        b = self.connect(self.bob)
        a.recv(), b.recv()  # ready
        only_alice = emit(self.stack, "conversation.updated", [self.alice.id], {"conversation": {"id": "x1"}})
        both = emit(self.stack, "conversation.updated", [self.alice.id, self.bob.id], {"conversation": {"id": "x2"}})
        fa1, fa2 = a.recv(), a.recv()
        self.assertEqual((fa1["cursor"], fa2["cursor"]), (only_alice, both))
        self.assertEqual(fa1["conversation"], {"id": "x1"})
        self.assertEqual(fa1["type"], "conversation.updated")
        fb = b.recv()
        self.assertEqual(fb["cursor"], both)  # bob never saw alice's own event

    def test_resume_replays_missed_events_in_order_then_goes_live(self):
        a = self.connect(self.alice)
        cursor = a.recv()["cursor"]
        a.close()
        missed = [emit(self.stack, "conversation.updated", [self.alice.id], {"n": i}) for i in range(3)]
        emit(self.stack, "conversation.updated", [self.bob.id], {"n": "not for alice"})
        again = self.connect(self.alice, cursor=cursor)
        self.assertEqual(again.recv()["type"], "ready")
        replayed = [again.recv() for _ in range(3)]
        self.assertEqual([f["cursor"] for f in replayed], missed)
        self.assertEqual([f["n"] for f in replayed], [0, 1, 2])
        live = emit(self.stack, "conversation.updated", [self.alice.id], {"n": "live"})
        self.assertEqual(again.recv()["cursor"], live)

    def test_typing_reaches_the_other_members_only(self):
        conv = self.stack.pg.psql(
            f"WITH c AS (INSERT INTO conversations (kind, title, owner_id) VALUES ('group', 't', '{self.alice.id}') "
            f"RETURNING id) INSERT INTO conversation_members (conversation_id, user_id, role) "
            f"SELECT id, '{self.alice.id}'::uuid, 'owner' FROM c UNION ALL SELECT id, '{self.bob.id}'::uuid, 'member' FROM c "
            f"RETURNING conversation_id", db=self.stack.database).split()[0]
        a = self.connect(self.alice)
        b = self.connect(self.bob)
        a.recv(), b.recv()
        a.send({"type": "typing", "conversation_id": conv})
        self.assertEqual(b.recv(), {"type": "typing", "conversation_id": conv, "user_id": self.alice.id})
        a.send({"type": "ping"})
        self.assertEqual(a.recv(), {"type": "pong"})  # alice got no echo of her own typing
        outsider = create_user(self.stack)
        o = self.connect(outsider)
        o.recv()
        o.send({"type": "typing", "conversation_id": conv})
        self.assertEqual(o.recv()["code"], "NOT_FOUND")

    def test_expired_token_closes_4001(self):
        short = mint_token(self.alice.id, ttl=2)
        ws = WsClient(self.stack, token=short).expect_open()
        self.assertEqual(ws.recv()["type"], "ready")
        self.assertEqual(ws.recv_until(lambda f: f["type"] == "__close", timeout=30)["code"], 4001)


if __name__ == "__main__":
    unittest.main()
