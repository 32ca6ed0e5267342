"""PostgreSQL faults under a bounded load: the server restarted while reads, writes and a WebSocket
client are running, and its connection slots exhausted by another client.

What must hold: every request is answered (200/201, or 503 SERVICE_UNAVAILABLE with Retry-After
while the database is away; never a 502, which would mean a crashed worker, and never a hang), the
pool is not restarted, service resumes by itself once PostgreSQL is back, every acknowledged write
is stored, each conversation's seq stays gapless, and the push daemon delivers every stored
message to the connected member across the restart.
"""

import unittest

from faults import API, HEALTH, Load, RawPgConnection, Writer, idle_in_transaction, seq_gaps, sql
from harness import Postgres, Stack, WsClient, create_user, wait_until


class DatabaseFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A private cluster (it is restarted and filled up), with few connection slots.
        cls.pg = Postgres(options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                                  "-c max_connections=20")

    @classmethod
    def tearDownClass(cls):
        cls.pg.close()

    def start_stack(self, **env):
        stack = Stack(pg=self.pg, env=dict({"WORKERS": "2", "DB_POOL_SIZE": "2"}, **env))
        self.addCleanup(stack.close)
        return stack.start()

    def test_postgres_restarted_under_load(self):
        stack = self.start_stack()
        alice, bob = create_user(stack), create_user(stack)
        r = stack.post(f"{API}/conversations", {"kind": "direct", "user_id": bob.id}, token=alice.token)
        self.assertEqual(r.status, 201, r)
        cid = r.json()["id"]
        ws = WsClient(stack, token=bob.token).expect_open()
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv()["type"], "ready")

        reads = Load(stack, [f"{API}/conversations/{cid}/messages?limit=20", f"{API}/conversations", HEALTH],
                     threads=2, token=alice.token).start()
        writer = Writer(stack, cid, alice.token).start()
        wait_until(lambda: len(writer.results) >= 20 and reads.completed() >= 100, what="the load to run")

        self.pg.stop()
        # While it is down: answered, 503 with Retry-After (the writer sees it too).
        wait_until(lambda: any(r[1] == 503 for r in writer.results[-3:]), what="a 503 to a write")
        down = stack.get(f"{API}/conversations", token=alice.token)
        self.assertEqual(down.status, 503, down)
        self.assertEqual(down.json()["code"], "SERVICE_UNAVAILABLE")
        self.assertGreaterEqual(int(down.headers["retry-after"]), 1)
        self.assertEqual(stack.get(HEALTH).status, 200)
        mark = len(writer.results)

        self.pg.start()
        # Serving again within 5 seconds of PostgreSQL accepting connections.
        wait_until(lambda: any(r[1] == 201 for r in writer.results[mark:]), timeout=5,
                   what="a write to succeed after the restart")
        wait_until(lambda: stack.get("/api/v1/ready").status == 200, timeout=5, what="/ready")
        after = len(writer.results)
        wait_until(lambda: len(writer.results) >= after + 20, what="more writes")
        writer.stop()
        reads.stop()

        # Every request was answered: success, or 503 with Retry-After; nothing else.
        for cmid, status, retry_after in writer.results:
            self.assertIn(status, (201, 503), (cmid, status))
            if status == 503:
                self.assertGreaterEqual(int(retry_after), 1)
        for start, end, outcome, path in reads.results:
            self.assertTrue(outcome == 200 or (outcome[0] == 503 and int(outcome[1]) >= 1), (outcome, path))
        self.assertTrue([r for r in reads.results if r[2] != 200], "the reads never met the outage")
        s = stack.status()
        self.assertEqual((s["abnormal_exits"], s["respawns"]), (0, 0))

        # Every acknowledged write is stored, once; nothing refused was stored (a 503 is returned
        # only when the transaction did not commit).
        acked = {cmid for cmid, status, _ in writer.results if status == 201}
        stored = set(sql(stack, f"SELECT client_message_id FROM messages WHERE conversation_id = '{cid}'").split())
        self.assertEqual(stored, acked)
        self.assertEqual(seq_gaps(stack), "")
        # Bob's WebSocket, connected throughout, got every stored message, in seq order.
        seen = []
        while len(seen) < len(stored):
            f = ws.recv(timeout=30)
            if f.get("type") == "message.created":
                seen.append((f["message"]["seq"], f["message"]["client_message_id"]))
        self.assertEqual([s for s, _ in seen], list(range(1, len(stored) + 1)))
        self.assertEqual({c for _, c in seen}, stored)
        wait_until(lambda: idle_in_transaction(stack) == 0, what="no session idle in transaction")

    def test_connection_slots_exhausted_by_another_client(self):
        stack = self.start_stack()
        u = create_user(stack)
        # Take every free slot (the stack's idle processes keep theirs; its pool sessions open lazily).
        holders = []
        self.addCleanup(lambda: [h.close() for h in holders])
        while True:
            h = RawPgConnection(self.pg)
            if h.refused:
                self.assertEqual(h.refused, "53300")  # too_many_connections
                break
            holders.append(h)
            self.assertLess(len(holders), 40)

        r = stack.get(f"{API}/conversations", token=u.token)
        self.assertEqual(r.status, 503, r)
        self.assertEqual(r.json()["code"], "SERVICE_UNAVAILABLE")
        self.assertGreaterEqual(int(r.headers["retry-after"]), 1)
        self.assertEqual(stack.get("/api/v1/ready").status, 503)
        self.assertEqual(stack.get(HEALTH).status, 200)
        # No write happens while refused.
        r = stack.post(f"{API}/conversations", {"kind": "assistant"}, token=u.token)
        self.assertEqual(r.status, 503, r)

        # The other client lets go: service resumes by itself.
        for h in holders:
            h.close()
        holders.clear()
        wait_until(lambda: stack.get(f"{API}/conversations", token=u.token).status == 200,
                   what="service to resume")
        load = Load(stack, [f"{API}/conversations", "/api/v1/ready"], threads=4, token=u.token).start()
        load.wait_completed(200)
        # With its sessions open, the pool keeps serving even when the slots fill up again.
        while not (h := RawPgConnection(self.pg)).refused:
            holders.append(h)
        mark = load.completed()
        load.wait_completed(mark + 100)
        load.stop()
        self.assertEqual([r for r in load.results[mark:] if r[3] != "/api/v1/ready" and r[2] != 200], [])
        self.assertEqual(stack.post(f"{API}/conversations", {"kind": "assistant"}, token=u.token).status, 201)
        for h in holders:
            h.close()
        holders.clear()
        self.assertEqual(sql(stack, "SELECT count(*) FROM conversations"), "1")
        s = stack.status()
        self.assertEqual((s["abnormal_exits"], s["respawns"]), (0, 0))


if __name__ == "__main__":
    unittest.main()
