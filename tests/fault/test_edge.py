"""Faults at the edge: nginx reloaded under load (twice), a broken nginx configuration, and the
file system holding every log (nginx's, the workers', the push daemon's) full.

What must hold: a reload fails no request (a client retries a request on a kept-alive connection
that nginx closed before answering, as HTTP/1.1 clients do; see faults.Load); a broken configuration is refused by `nginx -t`, and
even a reload signalled anyway leaves the old configuration serving; with the disk full, requests
are still answered and writes stored (log lines are lost, nothing else), and logging resumes
once there is space again.
"""

import json
import os
import signal
import subprocess
import unittest

from faults import API, HEALTH, Load, Writer, sql
from harness import Stack, create_user, wait_until


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return {int(p) for p in f.read().split()}
    except FileNotFoundError:
        return set()


class NginxFaultTest(unittest.TestCase):
    def setUp(self):
        self.stack = Stack().start()
        self.addCleanup(self.stack.close)
        self.prefix = os.path.join(self.stack.dir, "nginx")
        self.conf = os.path.join(self.prefix, "nginx.conf")

    def nginx(self, *args):
        return subprocess.run(["nginx", "-p", self.prefix, "-c", self.conf,
                               "-e", os.path.join(self.stack.dir, "nginx-error.log"), *args],
                              capture_output=True, text=True, timeout=60)

    def test_reload_under_load_fails_no_request(self):
        u = create_user(self.stack)
        cid = self.stack.post(f"{API}/conversations", {"kind": "direct", "user_id": create_user(self.stack).id},
                              token=u.token).json()["id"]
        load = Load(self.stack, [HEALTH, f"{API}/conversations", f"{API}/conversations/{cid}/messages"],
                    threads=3, token=u.token).start()
        writer = Writer(self.stack, cid, u.token).start()
        load.wait_completed(200)
        master = self.stack.nginx.pid
        for _ in range(2):
            old = children(master)
            r = self.nginx("-s", "reload")
            self.assertEqual(r.returncode, 0, r.stderr)
            # New workers started and the old ones exited (they finish their requests first).
            wait_until(lambda: children(master) and not (children(master) & old), what="the reload")
            load.wait_completed(load.completed() + 200)
        writer.stop()
        load.stop()
        self.assertEqual(load.failures(), [])
        self.assertEqual([r for r in writer.results if r[1] != 201], [])  # a new connection each
        stored = sql(self.stack, f"SELECT count(*) FROM messages WHERE conversation_id = '{cid}'")
        self.assertEqual(int(stored), len(writer.results))

    def test_broken_config_is_refused_and_the_old_one_keeps_serving(self):
        with open(self.conf) as f:
            good = f.read()
        def restore():
            with open(self.conf, "w") as f:
                f.write(good)
        self.addCleanup(restore)
        with open(self.conf, "w") as f:
            f.write(good.replace("http {", "http {\n    this_is_not_a_directive on;", 1))
        r = self.nginx("-t")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("this_is_not_a_directive", r.stderr)
        # Signalled anyway: the master refuses the new configuration and keeps the old workers.
        master = self.stack.nginx.pid
        old = children(master)
        os.kill(master, signal.SIGHUP)
        def logged():
            text = ""
            for name in ("nginx.log", "nginx-error.log"):
                with open(os.path.join(self.stack.dir, name)) as f:
                    text += f.read()
            return "this_is_not_a_directive" in text
        wait_until(logged, what="the refusal logged")
        for _ in range(50):
            self.assertEqual(self.stack.get(HEALTH).status, 200)
        self.assertEqual(children(master), old)
        self.assertIsNone(self.stack.nginx.poll())


class DiskFullTest(unittest.TestCase):
    def test_requests_are_answered_with_the_log_file_system_full(self):
        stack = Stack(env={"WORKERS": "2"})
        self.addCleanup(stack.close)
        # Every log of the stack lives in stack.dir: put a small tmpfs there (root only).
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", stack.dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {r.stderr.strip()}")
        self.addCleanup(lambda: subprocess.run(["umount", "-l", stack.dir]))
        stack.start()
        u = create_user(stack)
        cid = stack.post(f"{API}/conversations", {"kind": "direct", "user_id": create_user(stack).id},
                         token=u.token).json()["id"]

        filler = os.path.join(stack.dir, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        self.assertEqual(os.statvfs(stack.dir).f_bavail, 0)
        logs = {name: os.path.getsize(os.path.join(stack.dir, name))
                for name in ("chatd-workers.log", "nginx-access.log")}

        load = Load(stack, [HEALTH, f"{API}/conversations", f"{API}/conversations/{cid}/messages"],
                    threads=2, token=u.token).start()
        writer = Writer(stack, cid, u.token).start()
        load.wait_completed(300)
        wait_until(lambda: len(writer.results) >= 30, what="writes")
        writer.stop()
        load.stop()
        self.assertEqual(load.failures(), [])
        self.assertEqual([r for r in writer.results if r[1] != 201], [])
        self.assertEqual(int(sql(stack, f"SELECT count(*) FROM messages WHERE conversation_id = '{cid}'")),
                         len(writer.results))
        # The log lines were lost (the files grew by at most what their last page had room for, far
        # less than hundreds of request lines), nothing else; the pool did not restart.
        for name, size in logs.items():
            self.assertLess(os.path.getsize(os.path.join(stack.dir, name)) - size, 4096, name)
        s = stack.status()
        self.assertEqual((s["abnormal_exits"], s["respawns"]), (0, 0))

        # Space again: logging resumes.
        os.unlink(filler)
        rid = stack.get(HEALTH).headers["x-request-id"]
        wait_until(lambda: rid in stack.worker_log(), what="the workers' log to resume")
        # The line cut by the full disk does not spoil the next one: the request's line is whole
        # JSON on a line of its own.
        lines = [line for line in stack.worker_log().splitlines() if rid in line]
        self.assertTrue(lines)
        for line in lines:
            self.assertEqual(json.loads(line).get("request_id"), rid, line[:200])
        # nginx skips its access log for the second after a write met a full disk: ask again until
        # a request's line is there.
        def in_access_log():
            rid = stack.get(HEALTH).headers["x-request-id"]
            with open(os.path.join(stack.dir, "nginx-access.log")) as f:
                return rid in f.read()
        wait_until(in_access_log, what="nginx's access log to resume")


if __name__ == "__main__":
    unittest.main()
