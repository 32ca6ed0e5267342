"""Faults of the worker pool with real chat traffic: a worker killed with SIGKILL while it streams
replies and serves reads, the master killed with SIGKILL, a graceful stop (SIGTERM) while replies
stream and a request ignores it, and a handler hung past REQUEST_TERMINATE_TIMEOUT.

tests/integration/test_pool.py proves the pool's mechanics with test routes; these tests ask what
survives each fault: which requests failed (only those the dead process held), the messages rows
and their final states, the event log, and PostgreSQL's sessions (none left idle in a
transaction). Every wait is on an event (a pid gone, a row changed, a stream ended).
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from faults import (API, HEALTH, Load, Stream, idle_in_transaction, new_chat, pid_alive, seq_gaps,
                    sql)
from harness import BUILD, FakeLlm, Stack, create_user, wait_until


def generation_workers(stack):
    """{reply message id: worker pid} of the replies in flight (generations.worker is host:pid)."""
    out = {}
    for line in sql(stack, "SELECT message_id, worker FROM generations").splitlines():
        mid, worker = line.split("|", 1)
        out[mid] = int(worker.rsplit(":", 1)[1])
    return out


def reply_row(stack, mid):
    status, content = sql(stack, f"SELECT status, content FROM messages WHERE id = '{mid}'").split("|", 1)
    return status, content


def socket_holders(path):
    """Pids of the processes holding an fd on the unix socket bound at `path`."""
    inodes = set()
    with open("/proc/net/unix") as f:
        for line in f.read().splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 8 and parts[7] == path:
                inodes.add(parts[6])
    holders = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    holders.add(int(pid))
        except OSError:
            continue
    return holders


class WorkerFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeLlm()

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()

    def start_stack(self, **env):
        base = {"LLM_BASE_URL": self.fake.base_url, "LLM_MODEL": "demo", "WORKERS": "2",
                "THREADS_PER_WORKER": "8", "CHATD_TEST_ROUTES": "1"}
        stack = Stack(env=dict(base, **{k: str(v) for k, v in env.items()}))
        self.addCleanup(stack.close)
        return stack.start()

    def wait_for_pool(self, stack, n, exclude=()):
        def settled():
            pids = [p for p in stack.worker_pids() if pid_alive(p)]
            if len(pids) != n or set(pids) & set(exclude):
                return None
            s = stack.status(full=True)
            if s["state"] != "running" or sorted(p["pid"] for p in s["processes"]
                                                 if p["state"] == "running") != sorted(pids):
                return None
            return sorted(pids)
        return wait_until(settled, timeout=60, what=f"the pool to settle at {n} workers")

    def assertNothingIdleInTransaction(self, stack):
        wait_until(lambda: idle_in_transaction(stack) == 0, timeout=30, what="no session idle in transaction")

    # -- a handler that crashes on every request ----------------------------------------------------

    def test_a_crash_loop_makes_the_master_back_off_and_say_so(self):
        stack = self.start_stack(EMERGENCY_RESTART_THRESHOLD=3, EMERGENCY_RESTART_INTERVAL=60)
        self.wait_for_pool(stack, 2)
        # Every request to this handler kills its worker (nginx answers 502 problem+json); keep
        # sending until the master has braked.
        def braked():
            r = stack.get(f"{API}/_test/crash")
            self.assertIn(r.status, (502, 503), r)
            self.assertTrue(r.content_type.startswith("application/problem+json"), r)
            return stack.status()["emergency_backoffs"] >= 1
        wait_until(braked, timeout=60, interval=0.2, what="the emergency brake")
        lines = [json.loads(l) for l in stack.worker_log().splitlines()
                 if "emergency restart threshold reached" in l]
        self.assertTrue(lines)
        self.assertEqual(lines[0]["threshold"], 3)
        self.assertGreaterEqual(stack.status()["abnormal_exits"], 3)
        # Once the crashing requests stop, the pool comes back whole and serves.
        self.wait_for_pool(stack, 2)
        self.assertEqual(stack.get(HEALTH).status, 200)

    # -- kill -9 of a worker -----------------------------------------------------------------------

    def test_kill_9_of_a_worker_loses_only_what_it_held(self):
        threads = 8
        stack = self.start_stack(THREADS_PER_WORKER=threads)
        before = self.wait_for_pool(stack, 2)
        users = [create_user(stack) for _ in range(4)]
        chats = [new_chat(stack, u) for u in users]
        streams = []
        for u, cid in zip(users, chats):
            streams.append(Stream(stack, cid, "Tell me a long story [[fake:tokens=120,interval_ms=40]]", u.token))
        for s in streams:
            s.wait_deltas(2)
        holders = wait_until(lambda: (g := generation_workers(stack)) and len(g) == 4 and g,
                             what="four replies in flight")
        victim = holders[streams[0].reply_id()]
        self.assertIn(victim, before)
        # Reads of the history and /health go on meanwhile, on both workers.
        load = Load(stack, [HEALTH, f"{API}/conversations/{chats[0]}/messages", f"{API}/conversations"],
                    threads=3, token=users[0].token).start()
        load.wait_completed(300)

        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: not pid_alive(victim), what="the victim to die")
        dead_at = time.monotonic()
        after = self.wait_for_pool(stack, 2, exclude=[victim])
        load.wait_completed(load.completed() + 300)
        load.stop()
        for s in streams:
            self.assertTrue(s.ended.wait(60), "a stream did not end")

        # Requests: only those the victim held failed, never more than its threads.
        failures = load.failures()
        self.assertLessEqual(len(failures), threads, failures)
        for start, end, outcome, path in failures:
            self.assertTrue(start < dead_at and end > killed_at, (start, end, outcome, path))
        self.assertEqual(len(set(after) - set(before)), 1)
        s = stack.status()
        self.assertEqual((s["abnormal_exits"], s["respawns"]), (1, 1))

        # Replies: those of the surviving worker completed, stored as streamed; the victim's ended
        # without `done` and are still `streaming`, with the text last written (the partial text is
        # written with the heartbeat, so it may lag behind what the client saw).
        orphans = []
        for st in streams:
            mid = st.reply_id()
            status, content = reply_row(stack, mid)
            if holders[mid] == victim:
                self.assertIsNone(st.done(), st.events[-2:])
                self.assertEqual(status, "streaming")
                self.assertTrue(content and st.text().startswith(content), (content, st.text()))
                orphans.append((mid, content))
            else:
                self.assertEqual(st.done()["status"], "complete", st.events[-2:])
                self.assertEqual((status, content), ("complete", st.text()))
        self.assertTrue(orphans)
        self.assertNothingIdleInTransaction(stack)

        # chatctl gc finishes the orphans once their heartbeat is stale (here: made stale).
        sql(stack, "UPDATE generations SET heartbeat_at = now() - interval '1 hour'")
        gc = subprocess.run([os.path.join(BUILD, "chatctl"), "gc"], env=stack.env, capture_output=True,
                            text=True, timeout=60)
        self.assertEqual(gc.returncode, 0, gc.stderr)
        self.assertIn(f"finished {len(orphans)} orphaned repl", gc.stdout)
        for mid, content in orphans:
            self.assertEqual(reply_row(stack, mid), ("interrupted", content))
            self.assertEqual(sql(stack, f"SELECT count(*) FROM events WHERE kind = 'message.updated' "
                                        f"AND payload->'message'->>'id' = '{mid}' "
                                        f"AND payload->'message'->>'status' = 'interrupted'"), "1")
        self.assertEqual(sql(stack, "SELECT count(*) FROM generations"), "0")
        self.assertEqual(seq_gaps(stack), "")
        # And the victim's users chat on.
        r = stack.post(f"{API}/conversations/{chats[0]}/messages", {"content": "Again [[fake:tokens=3]]"},
                       token=users[0].token)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["reply"]["status"], "complete")

    # -- kill -9 of the master ---------------------------------------------------------------------

    def test_kill_9_of_the_master_leaves_no_worker_and_a_new_start_works_at_once(self):
        stack = self.start_stack()
        workers = self.wait_for_pool(stack, 2)
        u = create_user(stack)
        cid = new_chat(stack, u)
        stream = Stream(stack, cid, "Keep talking [[fake:tokens=1000,interval_ms=50]]", u.token)
        stream.wait_deltas(2)
        master = stack.master_pid()

        os.kill(master, signal.SIGKILL)
        stack.workers.wait(30)
        # The orphaned workers notice that their parent is gone, cut the reply as a shutdown does,
        # and exit; nothing holds the listening socket afterwards.
        wait_until(lambda: not any(pid_alive(p) for p in workers), timeout=30, what="the orphaned workers to exit")
        self.assertTrue(stream.ended.wait(30))
        self.assertEqual(socket_holders(stack.socket), set())
        with socket.socket(socket.AF_UNIX) as probe:
            with self.assertRaises(ConnectionRefusedError):
                probe.connect(stack.socket)
        done = stream.done()
        self.assertIsNotNone(done, stream.events[-2:])
        self.assertEqual(done["status"], "interrupted")
        self.assertEqual(reply_row(stack, done["id"]), ("interrupted", stream.text()))
        self.assertEqual(sql(stack, "SELECT count(*) FROM generations"), "0")
        self.assertEqual(stack.get(HEALTH).status, 502)  # nginx: nobody serves

        # A new master starts at once on the same socket path (the stale file is replaced).
        stack.start_workers()
        self.wait_for_pool(stack, 2)
        self.assertEqual(stack.get(HEALTH).status, 200)
        r = stack.post(f"{API}/conversations/{cid}/messages", {"content": "Still there? [[fake:tokens=3]]"},
                       token=u.token)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["reply"]["status"], "complete")
        self.assertEqual([m["seq"] for m in stack.get(f"{API}/conversations/{cid}/messages", token=u.token).json()["items"]],
                         [1, 2, 3, 4])
        self.assertNothingIdleInTransaction(stack)

    # -- graceful stop while replies stream --------------------------------------------------------

    def test_sigterm_interrupts_streaming_replies_and_kills_a_straggler(self):
        stack = self.start_stack(SHUTDOWN_TIMEOUT=3)
        workers = self.wait_for_pool(stack, 2)
        users = [create_user(stack) for _ in range(3)]
        chats = [new_chat(stack, u) for u in users]
        streams = [Stream(stack, cid, "Endless [[fake:tokens=1000,interval_ms=40]]", u.token)
                   for u, cid in zip(users, chats)]
        for s in streams:
            s.wait_deltas(2)
        # A request that does not end when asked to (a handler sleeping for a minute).
        straggler = {}
        t = threading.Thread(target=lambda: straggler.update(r=stack.get("/api/v1/_test/sleep?ms=60000", timeout=120)))
        t.start()

        def sleeping():
            s = stack.status(full=True)
            return any("/_test/sleep" in b["request"] for p in s["processes"] for b in p["busy_requests"])

        wait_until(sleeping, what="the straggler in flight")

        os.kill(stack.master_pid(), signal.SIGTERM)
        for s in streams:
            self.assertTrue(s.ended.wait(30))
        t.join(60)
        self.assertEqual(stack.workers.wait(60), 0, stack.worker_log()[-2000:])
        for pid in workers:
            self.assertFalse(pid_alive(pid))

        # Every reply ended `interrupted` with the text it had streamed, and was stored so.
        for s in streams:
            done = s.done()
            self.assertIsNotNone(done, s.events[-2:])
            self.assertEqual(done["status"], "interrupted")
            self.assertTrue(done["content"].startswith("You said"))
            self.assertEqual(done["content"], s.text())
            self.assertEqual(reply_row(stack, done["id"]), ("interrupted", done["content"]))
        self.assertEqual(sql(stack, "SELECT count(*) FROM generations"), "0")
        self.assertEqual(sql(stack, "SELECT count(*) FROM messages WHERE status = 'streaming'"), "0")
        # The straggler was cut once SHUTDOWN_TIMEOUT had passed: nginx answers 502 for it.
        self.assertEqual(straggler["r"].status, 502, straggler["r"])
        self.assertTrue([l for l in stack.worker_log_lines()
                         if l.get("msg") == "worker stop timed out; cutting requests in flight"])
        self.assertEqual(seq_gaps(stack), "")
        self.assertNothingIdleInTransaction(stack)

    # -- a handler hung past its deadline ----------------------------------------------------------

    def test_hung_handler_is_logged_then_its_worker_replaced_and_streams_are_exempt(self):
        stack = self.start_stack(REQUEST_SLOWLOG_TIMEOUT=1, REQUEST_TERMINATE_TIMEOUT=2)
        before = self.wait_for_pool(stack, 2)
        u = create_user(stack)
        cid = new_chat(stack, u)
        # A streamed reply longer than the terminate timeout is not terminated.
        stream = Stream(stack, cid, "Slowly [[fake:tokens=60,interval_ms=60]]", u.token)
        self.assertTrue(stream.ended.wait(60))
        self.assertEqual(stream.done()["status"], "complete")
        self.assertEqual(stack.status()["terminated_requests"], 0)
        self.assertEqual(self.wait_for_pool(stack, 2), before)

        load = Load(stack, [HEALTH], threads=2).start()
        load.wait_completed(100)
        hung = stack.get("/api/v1/_test/sleep?ms=60000", timeout=120)
        self.assertEqual(hung.status, 502, hung)
        after = self.wait_for_pool(stack, 2)
        load.wait_completed(load.completed() + 100)
        load.stop()
        self.assertEqual(len(set(before) - set(after)), 1)
        s = stack.status()
        self.assertEqual((s["terminated_requests"], s["abnormal_exits"], s["respawns"]), (1, 1, 1))
        # Both were slow (the stream too: the slowlog is only a log); only the handler was cut.
        slow = [l["request"] for l in stack.worker_log_lines() if l.get("msg") == "slow request"]
        self.assertEqual(sorted(slow), ["GET /api/v1/_test/sleep", f"POST /api/v1/conversations/{cid}/messages"])
        self.assertTrue([l for l in stack.worker_log_lines()
                         if l.get("msg") == "request exceeded REQUEST_TERMINATE_TIMEOUT: replacing its worker"])
        # /health requests that the replaced worker held may fail; at most its threads' worth.
        self.assertLessEqual(len(load.failures()), 8, load.failures())
        self.assertEqual(stack.get(HEALTH).status, 200)
        self.assertEqual(reply_row(stack, stream.done()["id"]), ("complete", stream.text()))
        self.assertNothingIdleInTransaction(stack)


if __name__ == "__main__":
    unittest.main()
