"""Shared helpers of the fault tests (tests/fault/test_*.py): a bounded client load that records how
every request ended, streamed replies read on their own threads, a raw PostgreSQL connection that
only holds a slot, and the checks every fault test ends with (nothing idle in a transaction, no
gap in any conversation's seq).

The fault tests disturb real processes on purpose (kill -9, restarts, full disks); these helpers
let each test say what was in flight at the moment of the fault and what survived it, waiting on
events (harness.wait_until), never on fixed sleeps.
"""

import http.client
import json
import os
import socket
import struct
import threading
import time

from harness import wait_until

API = "/api/v1"
HEALTH = "/api/v1/health"


def pid_alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def sql(stack, query):
    return stack.pg.psql(query, db=stack.database).strip()


def idle_in_transaction(stack):
    """Sessions of the stack's database left inside a transaction with nothing running."""
    return int(stack.pg.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%'", db=stack.database).strip())


def seq_gaps(stack):
    """Conversations whose messages' seq is not exactly 1..last_seq (should be none)."""
    return sql(stack, "SELECT c.id FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id "
                      "GROUP BY c.id, c.last_seq HAVING count(m.id) <> c.last_seq "
                      "OR coalesce(max(m.seq), 0) <> c.last_seq OR count(DISTINCT m.seq) <> count(m.id)")


def new_chat(stack, user):
    r = stack.post(f"{API}/conversations", {"kind": "assistant"}, token=user.token)
    assert r.status == 201, r
    return r.json()["id"]


class Load:
    """Client threads sending GET requests through nginx, each on a keep-alive connection
    (reopened after an error), until stop() (or `max_requests`). Every request is recorded as
    (start, end, status or error text, path), times from time.monotonic().

    Like browsers and HTTP libraries (RFC 9112, 9.3.1), a GET on a reused keep-alive connection
    that the server closed before sending anything is retried once on a new connection: nginx
    closes idle kept-alive connections when its old workers leave at a reload, and that race is
    not a failed request. `retried` counts those retries."""

    def __init__(self, stack, paths, threads=3, token=None, max_requests=20000):
        self.stack = stack
        self.paths = paths
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = "Bearer " + token
        self.max_requests = max_requests
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0
        self.results = []
        self.retried = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def completed(self):
        with self.lock:
            return len(self.results)

    def wait_completed(self, n, timeout=120):
        wait_until(lambda: self.completed() >= n, timeout=timeout, what=f"{n} requests to complete")

    def stop(self, timeout=120):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout)
        if any(t.is_alive() for t in self.threads):
            raise TimeoutError("the load did not stop")
        return self

    def failures(self, ok=(200,)):
        return [r for r in self.results if r[2] not in ok]

    def _next(self):
        with self.lock:
            if self.stopping.is_set() or self.sent >= self.max_requests:
                return None
            self.sent += 1
            return self.paths[self.sent % len(self.paths)]

    def _run(self):
        conn = None
        while (path := self._next()) is not None:
            reused = conn is not None
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=60)
            start = time.monotonic()
            try:
                try:
                    conn.request("GET", path, headers=self.headers)
                    r = conn.getresponse()
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    if not reused:
                        raise
                    conn.close()
                    with self.lock:
                        self.retried += 1
                    conn.request("GET", path, headers=self.headers)
                    r = conn.getresponse()
                r.read()
                outcome = r.status
                if r.status >= 500:
                    outcome = (r.status, r.getheader("retry-after"))
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                outcome = f"{type(e).__name__}: {e}"
                conn.close()
                conn = None
            with self.lock:
                self.results.append((start, time.monotonic(), outcome, path))
        if conn is not None:
            conn.close()


class Writer:
    """One client sending messages into a direct conversation, each with a client_message_id,
    recording (client_message_id, status or error text, Retry-After)."""

    def __init__(self, stack, cid, token):
        self.stack, self.cid, self.token = stack, cid, token
        self.results = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join(120)
        assert not self.thread.is_alive()
        return self

    def _run(self):
        i = 0
        while not self.stopping.is_set():
            i += 1
            cmid = f"w{i}"
            conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=60)
            try:
                conn.request("POST", f"{API}/conversations/{self.cid}/messages",
                             body=json.dumps({"content": f"note {i}", "client_message_id": cmid}).encode(),
                             headers={"Content-Type": "application/json", "Accept": "application/json",
                                      "Authorization": "Bearer " + self.token})
                r = conn.getresponse()
                r.read()
                self.results.append((cmid, r.status, r.getheader("retry-after")))
            except (OSError, http.client.HTTPException) as e:
                self.results.append((cmid, f"{type(e).__name__}: {e}", None))
            finally:
                conn.close()


class Stream:
    """A message sent with Accept: text/event-stream, read on its own thread. `events` fills as they
    come: (name, data); `ended` is set when the stream ends, cleanly or not (`error` says how)."""

    def __init__(self, stack, cid, content, token, timeout=120):
        self.events = []
        self.error = None
        self.status = None
        self.ended = threading.Event()
        self._args = (stack, cid, content, token, timeout)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def names(self):
        return [e[0] for e in list(self.events)]

    def text(self):
        return "".join(d["content"] for n, d in list(self.events) if n == "delta")

    def reply_id(self):
        for n, d in list(self.events):
            if n == "delta":
                return d["message_id"]
        return None

    def done(self):
        return next((d for n, d in list(self.events) if n == "done"), None)

    def wait_deltas(self, n=1, timeout=30):
        wait_until(lambda: self.names().count("delta") >= n or self.ended.is_set(), timeout=timeout,
                   what=f"{n} deltas")
        assert self.names().count("delta") >= n, (self.status, self.events, self.error)

    def _run(self):
        stack, cid, content, token, timeout = self._args
        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=timeout)
        try:
            conn.request("POST", f"{API}/conversations/{cid}/messages",
                         body=json.dumps({"content": content}).encode(),
                         headers={"Content-Type": "application/json", "Accept": "text/event-stream",
                                  "Authorization": "Bearer " + token})
            r = conn.getresponse()
            self.status = r.status
            name, data = None, []
            while True:
                line = r.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if name or data:
                        self.events.append((name, json.loads("\n".join(data))))
                    name, data = None, []
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        except (OSError, http.client.HTTPException, ValueError) as e:
            self.error = f"{type(e).__name__}: {e}"
        finally:
            conn.close()
            self.ended.set()


class RawPgConnection:
    """A bare PostgreSQL protocol connection over the cluster's unix socket (trust auth): it holds
    one of max_connections and does nothing else. `refused` is the SQLSTATE when the server said no."""

    def __init__(self, pg, db="postgres"):
        path = os.path.join(os.path.realpath(os.path.join(pg.cluster, "run")), ".s.PGSQL.5432")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        params = b"user\0postgres\0database\0" + db.encode() + b"\0\0"
        self.sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        self.refused = None
        buf = b""
        while True:
            while len(buf) < 5 or len(buf) < 1 + struct.unpack("!i", buf[1:5])[0]:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.refused = self.refused or "EOF"
                    return
                buf += chunk
            kind, length = buf[0:1], struct.unpack("!i", buf[1:5])[0]
            body, buf = buf[5:1 + length], buf[1 + length:]
            if kind == b"E":
                fields = dict((f[:1], f[1:]) for f in body.split(b"\0") if f)
                self.refused = fields.get(b"C", b"?").decode()
                self.sock.close()
                return
            if kind == b"Z":
                return

    def close(self):
        try:
            self.sock.sendall(b"X\0\0\0\4")
        except OSError:
            pass
        self.sock.close()
