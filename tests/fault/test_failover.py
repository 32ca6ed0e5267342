"""PostgreSQL failover under load, the way operators run it on VMs (issue 13): a primary and a
synchronous streaming replica (synchronous_standby_names = '*', synchronous_commit = on: a write
acknowledged to a client is on both), DATABASE_URL naming both hosts with
target_session_attrs=read-write. The primary is killed (-9) while messages are being sent and a
member's WebSocket is connected; the replica is promoted (pg_ctl promote: what Patroni does, see
docs/operations.md for the Patroni recipe). Then:

  * while there is no primary, requests are answered 503 with Retry-After (never a hang past the
    client's deadline, never a 500 or a crash of the pool);
  * the workers find the new primary by themselves and serve again;
  * no write that was answered 2xx is lost: every acknowledged message is on the new primary, with
    gapless seqs;
  * chatd-push reconnects to the new primary and the connected member receives every acknowledged
    message (live or through its resume)."""

import threading
import time
import unittest

from faults import API, HEALTH, pid_alive
from harness import FakeLlm, ReplicatedPostgres, Stack, WsClient, create_user, wait_until

class FailoverTest(unittest.TestCase):
    def setUp(self):
        self.pg = ReplicatedPostgres()
        self.addCleanup(self.pg.close)
        self.fake = FakeLlm()
        self.addCleanup(self.fake.close)
        self.stack = Stack(pg=self.pg.primary, database=self.pg.database,
                           env={"DATABASE_URL": self.pg.url, "WORKERS": "2", "THREADS_PER_WORKER": "8",
                                "DB_ACQUIRE_TIMEOUT_MS": "2000", "LLM_BASE_URL": self.fake.base_url,
                                "LLM_MODEL": "demo"}).start()
        self.addCleanup(self.stack.close)

    def replica_sql(self, query):
        return self.pg.replica_sql(query)

    def test_primary_killed_under_load_loses_no_acknowledged_write(self):
        alice, bob = create_user(self.stack), create_user(self.stack)
        conv = self.stack.post(f"{API}/conversations", {"kind": "direct", "user_id": bob.id}, token=alice.token)
        self.assertEqual(conv.status, 201, conv)
        cid = conv.json()["id"]
        bob_ws = WsClient(self.stack, token=bob.token)
        bob_ws.expect_open()
        self.assertEqual(bob_ws.recv()["type"], "ready")

        acked, statuses, stop = [], [], threading.Event()
        deadline_hits = []

        def writer():
            i = 0
            while not stop.is_set():
                i += 1
                started = time.monotonic()
                try:
                    r = self.stack.post(f"{API}/conversations/{cid}/messages",
                                        {"content": f"m{i}", "client_message_id": f"c{i}"},
                                        token=alice.token, timeout=20)
                except OSError as e:  # a hang past the client's deadline
                    deadline_hits.append(repr(e))
                    continue
                statuses.append(r.status)
                if r.status in (200, 201):
                    acked.append(r.json()["message"]["id"])
                elif r.status == 503:
                    self.assertIn("retry-after", r.headers)
                    time.sleep(0.05)
                if time.monotonic() - started > 15:
                    deadline_hits.append(f"slow answer {r.status}")

        # A reply streaming across the failover (about 6 s of tokens).
        chat = self.stack.post(f"{API}/conversations", {"kind": "assistant"}, token=alice.token).json()["id"]
        reply = {}

        def ask():
            reply["r"] = self.stack.post(f"{API}/conversations/{chat}/messages",
                                         {"content": "talk through it [[fake:tokens=300,interval_ms=20]]"},
                                         token=alice.token, timeout=90)

        asker = threading.Thread(target=ask)
        asker.start()
        t = threading.Thread(target=writer)
        t.start()
        wait_until(lambda: len(acked) >= 20, what="writes before the failover")
        master = self.stack.master_pid()
        self.pg.kill_primary()
        before_promote = len(statuses)
        wait_until(lambda: len(statuses) > before_promote + 3, timeout=30, what="answers without a primary")
        # The reply's stream ends while there is no primary: its final write has to wait for one.
        wait_until(lambda: any(r["outcome"] != "in_progress" and "talk through it" in (r.get("last_user") or "")
                               for r in self.fake.requests()), timeout=60, what="the reply to end upstream")
        self.pg.promote()
        promoted_at = len(acked)
        wait_until(lambda: len(acked) >= promoted_at + 20, timeout=60, what="writes on the new primary")
        stop.set()
        t.join(30)
        asker.join(90)

        self.assertEqual(deadline_hits, [])
        self.assertTrue(set(statuses) <= {200, 201, 503}, sorted(set(statuses)))
        self.assertIn(503, statuses)
        self.assertTrue(pid_alive(master))
        self.assertEqual(self.stack.get(HEALTH).status, 200)
        # Every acknowledged write is on the new primary, in one gapless sequence.
        stored = self.replica_sql(f"SELECT id::text FROM messages WHERE conversation_id = '{cid}' ORDER BY seq")
        stored_ids = stored.split()
        self.assertTrue(set(acked) <= set(stored_ids), set(acked) - set(stored_ids))
        seqs = self.replica_sql(f"SELECT seq FROM messages WHERE conversation_id = '{cid}' ORDER BY seq").split()
        self.assertEqual([int(s) for s in seqs], list(range(1, len(seqs) + 1)))
        # The reply that ended while there was no primary was stored with its final status once
        # there was one, not left `streaming` for gc.
        self.assertEqual(reply["r"].status, 201, reply["r"])
        final = reply["r"].json()["reply"]
        self.assertEqual(final["status"], "complete")
        self.assertEqual(self.replica_sql(f"SELECT status FROM messages WHERE id = '{final['id']}'"), "complete")
        self.assertEqual(self.replica_sql("SELECT count(*) FROM generations"), "0")
        # Bob's socket saw every acknowledged message (the daemon reconnected and caught up).
        seen, duplicated = set(), 0
        while not set(acked) <= seen:
            frame = bob_ws.recv(timeout=30)
            if frame.get("type") == "message.created":
                duplicated += frame["message"]["id"] in seen
                seen.add(frame["message"]["id"])
            if frame.get("type") == "__close":  # the daemon dropped it: resume like a client
                break
        if not set(acked) <= seen:
            self.fail(f"missed {len(set(acked) - seen)} messages")
        self.assertEqual(duplicated, 0)
        bob_ws.close()


if __name__ == "__main__":
    unittest.main()
