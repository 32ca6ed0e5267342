"""The event log without a global lock (sql/0008), on durable commits (fsync and synchronous_commit
on, a private cluster): concurrent senders each get every event once and in seq order per
conversation, resumes replay exactly what followed a cursor, a transaction that commits late is
delivered rather than skipped, a long-open write transaction delays delivery but loses nothing,
and every writer takes its conversation's lock before its first write."""

import collections
import json
import threading
import unittest

import psycopg2

from harness import ApiTestCase, FakeLlm, Postgres, Stack, WsClient, create_user

API = "/api/v1"
DURABLE = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"


class EventLogTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres(options=DURABLE)
        cls.fake = FakeLlm()
        cls.stack = Stack(pg=cls.pg, env={"WS_MAX_PER_USER": "10", "LLM_BASE_URL": cls.fake.base_url,
                                          "LLM_MODEL": "demo"}).start()
        cls.dsn = cls.pg.url(cls.stack.database)

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()
        cls.fake.close()
        cls.pg.close()

    def connect(self, user, **kw):
        ws = WsClient(self.stack, token=user.token, **kw).expect_open()
        self.addCleanup(ws.close)
        ready = ws.recv()
        self.assertEqual(ready["type"], "ready", ready)
        return ws, ready

    @staticmethod
    def collect(ws, count, kinds=("message.created",), timeout=60):
        """The next `count` frames of these kinds (others skipped), in arrival order."""
        frames = []
        while len(frames) < count:
            f = ws.recv_until(lambda f: f.get("type") in kinds, timeout=timeout)
            frames.append(f)
        return frames

    def test_concurrent_senders_get_every_event_once_in_seq_order_and_resume_exactly(self):
        senders = [create_user(self.stack) for _ in range(64)]
        watcher = create_user(self.stack)
        conversations = [self.group(s, [watcher]) for s in senders]
        per_sender = 6
        watch, ready = self.connect(watcher)
        own = [self.connect(s)[0] for s in senders[:8]]  # a few senders' own devices too

        barrier = threading.Barrier(len(senders))
        failures = []

        def run(i):
            try:
                barrier.wait()
                for n in range(per_sender):
                    self.send(senders[i], conversations[i], f"{i}:{n}")
            except Exception as e:  # reported below, with the thread's name
                failures.append((i, repr(e)))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(senders))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])

        total = len(senders) * per_sender
        frames = self.collect(watch, total)
        by_conversation = collections.defaultdict(list)
        for f in frames:
            by_conversation[f["conversation_id"]].append(f["message"]["seq"])
        self.assertEqual(set(by_conversation), set(conversations))
        for cid, seqs in by_conversation.items():
            self.assertEqual(seqs, list(range(1, per_sender + 1)), cid)  # once each, in seq order
        self.assertEqual(len({f["message"]["id"] for f in frames}), total)
        for i, ws in enumerate(own):
            mine = self.collect(ws, per_sender)
            self.assertEqual([f["message"]["content"] for f in mine], [f"{i}:{n}" for n in range(per_sender)])

        # A resume from any cursor replays exactly what followed it, in the same order.
        cursors = [ready["cursor"]] + [frames[k]["cursor"] for k in (0, 1, total // 3, total // 2, total - 2)]
        later = []  # the live messages sent after each resume, which later resumes replay too
        for k, cursor in enumerate(cursors):
            with self.subTest(cursor=cursor):
                again, r = self.connect(watcher, cursor=cursor)
                self.assertEqual(r["cursor"], cursor)
                start = 0 if k == 0 else [f["cursor"] for f in frames].index(cursor) + 1
                expected = [f["message"]["id"] for f in frames[start:]] + later
                replayed = self.collect(again, len(expected), timeout=30)
                self.assertEqual([f["message"]["id"] for f in replayed], expected)
                # Then live, with nothing repeated: the next frame is the new event.
                live = self.send(senders[0], conversations[0], f"after resume {k}")
                self.assertEqual(self.collect(again, 1)[0]["message"]["id"], live["id"])
                later.append(live["id"])
                again.close()

    def test_a_late_commit_is_delivered_and_a_long_open_writer_loses_nothing(self):
        alice, bob = create_user(self.stack), create_user(self.stack)
        slow_cid, busy_cid = self.group(alice, [bob], "slow"), self.group(alice, [bob], "busy")
        ws, ready = self.connect(bob)

        # A transaction that takes an xid, writes an event for bob and stays open while later ones
        # commit: the horizon stands at its xid until it ends.
        late = psycopg2.connect(self.dsn)
        self.addCleanup(late.close)
        with late.cursor() as cur:
            cur.execute("SELECT id FROM conversations WHERE id = %s FOR NO KEY UPDATE", (slow_cid,))
            cur.execute("SELECT emit_event(%s, 'conversation.updated', %s::jsonb, ARRAY[%s]::uuid[])",
                        (slow_cid, json.dumps({"conversation_id": slow_cid, "late": True}), bob.id))
        sent = [self.send(alice, busy_cid, f"while held {n}")["id"] for n in range(5)]

        # Delayed, not lost: the daemon delivers what committed ahead of the stalled horizon.
        got = self.collect(ws, 5, timeout=30)
        self.assertEqual([f["message"]["id"] for f in got], sent)
        late.commit()
        with late.cursor() as cur:
            cur.execute("NOTIFY chatd_events")
        late.commit()
        frame = ws.recv_until(lambda f: f.get("type") == "conversation.updated" and f.get("late"), timeout=30)
        self.assertEqual(frame["conversation_id"], slow_cid)

        # Once the horizon has passed them, nothing is sent twice and a resume is exact: the
        # late event first (its transaction is older), then the five.
        after = self.send(alice, busy_cid, "after")["id"]
        nxt = self.collect(ws, 1, kinds=("message.created", "conversation.updated"))[0]
        self.assertEqual(nxt.get("message", {}).get("id"), after)
        again, _ = self.connect(bob, cursor=ready["cursor"])
        replayed = self.collect(again, 7, kinds=("message.created", "conversation.updated"))
        self.assertTrue(replayed[0].get("late"), replayed[0])
        self.assertEqual([f["message"]["id"] for f in replayed[1:]], sent + [after])
        metrics = self.push_metrics()
        self.assertGreaterEqual(metrics["chatd_push_events_delivered_ahead_total"], 5)
        self.assertEqual(metrics["chatd_push_event_horizon_stalled_ms"], 0)

    def test_writers_lock_their_conversation_before_their_first_write(self):
        alice, bob, carol = create_user(self.stack), create_user(self.stack), create_user(self.stack)
        cid = self.group(alice, [bob], "order")
        self.send(alice, cid, "hello")
        self.assertEqual(self.stack.request("PATCH", f"{API}/conversations/{cid}", {"title": "renamed"},
                                            token=alice.token).status, 200)
        self.assertEqual(self.stack.post(f"{API}/conversations/{cid}/members", {"user_id": carol.id},
                                         token=alice.token).status, 201)
        self.assertEqual(self.stack.request("DELETE", f"{API}/conversations/{cid}/members/{carol.id}",
                                            token=alice.token).status, 204)
        chat = self.stack.post(f"{API}/chat", {"message": "hi there [[fake:tokens=3]]"}, token=alice.token)
        self.assertEqual(chat.status, 201, chat)
        self.assertEqual(chat.json()["reply"]["status"], "complete")
        chat_id, mid = chat.json()["conversation_id"], chat.json()["message"]["id"]
        again = self.stack.post(f"{API}/conversations/{chat_id}/messages/{mid}/regenerate", token=alice.token)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.json()["reply"]["status"], "complete")
        self.assertEqual(self.stack.post(f"{API}/conversations/{chat_id}/stop", token=alice.token).status, 202)
        self.assertEqual(self.stack.request("DELETE", f"{API}/conversations/{cid}", token=alice.token).status, 204)
        self.assertNotIn("conversation locked after a write", self.stack.worker_log())

    def push_metrics(self):
        import urllib.request
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.stack.push_port}/metrics", timeout=10).read()
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.split()
                out[name] = int(value)
        return out


if __name__ == "__main__":
    unittest.main()
