"""chatd-push killed with SIGKILL while clients are connected and messages keep coming.

What must hold: writes go on meanwhile (they do not depend on the push daemon), the clients see
their connection close, reconnect with the last cursor they received once a new daemon runs, and
then get every message committed in the meantime, in seq order, none twice and none missing; a
client that was connected through the whole fault ends up with exactly the stored messages.
"""

import http.client
import os
import signal
import unittest

from faults import API, Writer, seq_gaps, sql
from harness import BUILD, Stack, WsClient, create_user, wait_until


class PushDaemonFaultTest(unittest.TestCase):
    def test_kill_9_of_chatd_push_then_clients_resume_by_cursor(self):
        stack = Stack().start()
        self.addCleanup(stack.close)
        alice, bob = create_user(stack), create_user(stack)
        r = stack.post(f"{API}/conversations", {"kind": "direct", "user_id": bob.id}, token=alice.token)
        self.assertEqual(r.status, 201, r)
        cid = r.json()["id"]

        # Bob on two devices; each remembers the last cursor and the seqs it saw.
        devices = {}
        for name in ("phone", "laptop"):
            ws = WsClient(stack, token=bob.token).expect_open()
            self.addCleanup(ws.close)
            ready = ws.recv()
            self.assertEqual(ready["type"], "ready")
            devices[name] = {"ws": ws, "cursor": ready["cursor"], "seqs": []}

        def drain(dev, until_closed=False, until_seqs=None):
            while True:
                if until_seqs is not None and len(dev["seqs"]) >= until_seqs:
                    return
                try:
                    f = dev["ws"].recv(timeout=30)
                except EOFError:
                    return
                if f.get("type") == "__close":
                    return
                if f.get("type") == "message.created" and f["message"]["conversation_id"] == cid:
                    dev["seqs"].append(f["message"]["seq"])
                if "cursor" in f:
                    dev["cursor"] = f["cursor"]

        writer = Writer(stack, cid, alice.token).start()
        for dev in devices.values():
            drain(dev, until_seqs=10)

        push_pid = stack.push.pid
        os.kill(push_pid, signal.SIGKILL)
        stack.push.wait(30)
        # Both devices see their connection end (nginx closes it); writes still succeed.
        for dev in devices.values():
            drain(dev, until_closed=True)
        written = len(writer.results)
        wait_until(lambda: sum(1 for r in writer.results[written:] if r[1] == 201) >= 10,
                   what="writes while the push daemon is down")

        # A new daemon; the clients reconnect with their cursors (retrying until it accepts).
        stack.push = stack._spawn([os.path.join(BUILD, "chatd-push")], "chatd-push.log")

        def reconnect(dev):
            def attempt():
                ws = WsClient(stack, token=bob.token, cursor=dev["cursor"])
                first = ws.recv(timeout=10)
                if first.get("type") != "__open":
                    ws.kill()
                    return None
                return ws
            dev["ws"] = wait_until(attempt, timeout=30, interval=0.2, what="the push daemon to accept")
            self.addCleanup(dev["ws"].close)
            self.assertEqual(dev["ws"].recv()["type"], "ready")

        for dev in devices.values():
            reconnect(dev)
        wait_until(lambda: sum(1 for r in writer.results[written:] if r[1] == 201) >= 30, what="more writes")
        writer.stop()

        stored = int(sql(stack, f"SELECT count(*) FROM messages WHERE conversation_id = '{cid}'"))
        acked = sum(1 for r in writer.results if r[1] == 201)
        self.assertEqual(stored, acked)
        self.assertEqual([r for r in writer.results if r[1] != 201], [])
        for name, dev in devices.items():
            drain(dev, until_seqs=stored)
            self.assertEqual(dev["seqs"], list(range(1, stored + 1)), name)
        self.assertEqual(seq_gaps(stack), "")
        # The new daemon counts what it replayed (its own port, not through nginx).
        conn = http.client.HTTPConnection("127.0.0.1", stack.push_port, timeout=10)
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
        conn.close()
        replayed = [l for l in metrics.splitlines() if l.startswith("chatd_push_replayed_events_total")]
        self.assertTrue(replayed and float(replayed[0].split()[-1]) > 0, metrics)


if __name__ == "__main__":
    unittest.main()
