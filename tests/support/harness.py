"""Test harness: real PostgreSQL, chatd-workers, chatd-push and nginx, on free loopback ports.

Every integration test talks to the system the way a client does: HTTP through nginx. Nothing is
mocked. A Postgres (one private cluster per test process, fsync off for speed) hands each Stack a
fresh database cloned from a migrated template, and a Stack runs the worker pool, the push daemon
and nginx for that database. Everything started here is torn down at exit, whether tests pass,
fail or crash (servers run in their own sessions and are killed by process group).

Waiting is done on events (a socket appears, an endpoint answers, a process exits), polled with a
short interval and bounded by a deadline; no test sleeps for a fixed time to let something happen.
"""

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

SOURCE = os.environ.get("CHATD_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CHATD_BUILD_DIR") or os.path.join(SOURCE, "build")
SCRIPTS = os.path.join(SOURCE, "scripts")
TEST_JWT_SECRET = "test-secret-" + "x" * 40

_cleanups = []


def _run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception:  # noqa: BLE001 - teardown must go on
            pass


atexit.register(_run_cleanups)
for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, lambda s, f: (_run_cleanups(), os._exit(128 + s)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.05, what="condition"):
    """Polls predicate() until it returns a truthy value; returns that value or raises."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last_error = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


def make_tempdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)  # nginx's workers (nobody) and postgres must traverse it
    return d


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


class Postgres:
    """A private PostgreSQL cluster (scripts/pg-cluster) with a migrated template database."""

    def __init__(self, options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"):
        self.dir = make_tempdir("chatd-pg-")
        self.cluster = os.path.join(self.dir, "pg")
        self.options = options
        self._template = False
        subprocess.run([os.path.join(SCRIPTS, "pg-cluster"), "init", self.cluster], check=True)
        self.start()
        _cleanups.append(self.close)

    def start(self):
        subprocess.run([os.path.join(SCRIPTS, "pg-cluster"), "start", self.cluster, "-o", self.options],
                       check=True)

    def stop(self):
        subprocess.run([os.path.join(SCRIPTS, "pg-cluster"), "stop", self.cluster], check=True)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db="chatd"):
        return subprocess.run([os.path.join(SCRIPTS, "pg-cluster"), "url", self.cluster, db],
                              check=True, capture_output=True, text=True).stdout.strip()

    def psql(self, sql, db="postgres"):
        r = subprocess.run([os.path.join(SCRIPTS, "pg-cluster"), "psql", self.cluster, "-d", db, "-tA", "-c", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}\n  sql: {sql[:500]}")
        return r.stdout

    def migrate(self, db):
        env = dict(os.environ, DATABASE_URL=self.url(db), MIGRATIONS_DIR=os.path.join(SOURCE, "sql"))
        return subprocess.run([os.path.join(BUILD, "chatctl"), "migrate"], env=env, check=True,
                              capture_output=True, text=True)

    def create_database(self):
        """A fresh, migrated database; returns its name."""
        if not self._template:
            self.psql("CREATE DATABASE chatd_template")
            self.migrate("chatd_template")
            self._template = True
        name = "t_" + uuid.uuid4().hex[:12]
        self.psql(f"CREATE DATABASE {name} TEMPLATE chatd_template")
        return name


_shared_pg = None


def shared_postgres():
    """The cluster shared by all tests of this process (started on first use)."""
    global _shared_pg
    if _shared_pg is None:
        _shared_pg = Postgres()
    return _shared_pg


class Stack:
    """chatd-workers + chatd-push + nginx for one database."""

    def __init__(self, pg=None, env=None, database=None):
        self.pg = pg or shared_postgres()
        self.database = database or self.pg.create_database()
        self.dir = make_tempdir("chatd-stack-")
        self.port = free_port()
        self.push_port = free_port()
        self.socket = os.path.join(self.dir, "workers.sock")
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": self.pg.url(self.database),
            "JWT_SECRET": TEST_JWT_SECRET,
            "LISTEN": self.socket,
            "LISTEN_MODE": "0666",
            "WORKERS": "2",
            "THREADS_PER_WORKER": "8",
            "PUSH_LISTEN": f"127.0.0.1:{self.push_port}",
            "MIGRATIONS_DIR": os.path.join(SOURCE, "sql"),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "info",
            "CORS_ALLOWED_ORIGINS": f"http://127.0.0.1:{self.port},http://localhost:{self.port}",
            "SHUTDOWN_TIMEOUT": "20",
            "AUTH_RATE_PER_MIN": "6000000",
            # High enough that a fast test client never meets nginx's zones (limit_req counts in
            # milliseconds: at low rates, a burst of quick requests overflows burst=N); tests of the
            # limits set their own rates.
            "API_RATE_PER_SEC": "100000",
        })
        self.env.update(env or {})
        self.workers = self.push = self.nginx = None
        _cleanups.append(self.close)

    # -- lifecycle -------------------------------------------------------------------------------

    def _spawn(self, argv, log_name, env=None):
        with open(os.path.join(self.dir, log_name), "ab") as log:
            return subprocess.Popen(argv, env=env or self.env, stdout=log, stderr=log,
                                    stdin=subprocess.DEVNULL, start_new_session=True)

    def start(self):
        self.start_workers()
        self.push = self._spawn([os.path.join(BUILD, "chatd-push")], "chatd-push.log")
        self.start_nginx()
        wait_until(lambda: self.get("/api/v1/health").status == 200, what="the stack to answer /health")
        return self

    def start_workers(self):
        self.workers = self._spawn([os.path.join(BUILD, "chatd-workers")], "chatd-workers.log")
        wait_until(lambda: os.path.exists(self.socket) or self.workers.poll() is not None,
                   what="the worker socket")
        if self.workers.poll() is not None:
            raise RuntimeError("chatd-workers exited at start:\n" + self.worker_log())
        wait_until(lambda: len(self.worker_pids()) >= int(self.env["WORKERS"]), what="the workers")

    def start_nginx(self):
        prefix = os.path.join(self.dir, "nginx")
        env = dict(self.env, CHATD_PORT=str(self.port), CHATD_BIND="127.0.0.1",
                   FCGI_ADDR="unix:" + self.socket, PUSH_ADDR=f"127.0.0.1:{self.push_port}",
                   ACCESS_LOG=os.path.join(self.dir, "nginx-access.log"))
        subprocess.run([os.path.join(SCRIPTS, "render-nginx-conf"), prefix], env=env, check=True)
        self.nginx = self._spawn(["nginx", "-p", prefix, "-c", os.path.join(prefix, "nginx.conf"),
                                  "-e", os.path.join(self.dir, "nginx-error.log")], "nginx.log")

    def stop_workers(self, sig=signal.SIGTERM, timeout=60):
        if self.workers and self.workers.poll() is None:
            self.workers.send_signal(sig)
            try:
                self.workers.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.workers.pid, signal.SIGKILL)
                self.workers.wait()
        return self.workers.returncode if self.workers else None

    def close(self):
        for proc in (self.nginx, self.push):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if proc is self.nginx else signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
            if proc:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.stop_workers()
        if self.workers:
            try:
                os.killpg(self.workers.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if os.environ.get("CHATD_KEEP_TEST_DIRS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- introspection ---------------------------------------------------------------------------

    def worker_log(self):
        with open(os.path.join(self.dir, "chatd-workers.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def worker_log_lines(self):
        out = []
        for line in self.worker_log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def master_pid(self):
        return self.workers.pid

    def worker_pids(self):
        """Live worker processes of the master (its direct children)."""
        try:
            with open(f"/proc/{self.workers.pid}/task/{self.workers.pid}/children") as f:
                return [int(p) for p in f.read().split()]
        except FileNotFoundError:
            return []

    def status(self, full=False):
        return self.get("/api/v1/status" + ("?full" if full else "")).json()

    # -- HTTP ------------------------------------------------------------------------------------

    def url(self, path):
        """The address of `path` on this stack's nginx (for tools such as wrk)."""
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method, path, body=None, headers=None, token=None, timeout=60, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Accept": "application/json"}
        if body is not None:
            raw = json.dumps(body).encode("utf-8")
            h["Content-Type"] = "application/json; charset=utf-8"
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        try:
            conn.request(method, path, body=raw, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)


# -- Users without the auth endpoints ---------------------------------------------------------------
# Tests of other resources create users directly in the database and mint their access tokens with
# the stack's JWT secret, so that they depend only on what they test.

import base64 as _b64
import hashlib as _hashlib
import hmac as _hmac


class ReplicatedPostgres:
    """A primary (a Postgres with a migrated database) and a synchronous streaming replica of it
    (scripts/pg-cluster replica), for failover tests and benchmarks. `url` names both hosts with
    target_session_attrs=read-write, as an operator's DATABASE_URL does. kill_primary() is a crash
    (-9), promote() what Patroni or an operator does next."""

    # synchronous_standby_names is set once the replica streams (before that, every commit would
    # wait for a standby that does not exist yet).
    OPTIONS = "-c fsync=off -c full_page_writes=off -c synchronous_commit=on -c wal_level=replica"

    def __init__(self):
        self.primary = Postgres(options=self.OPTIONS)
        self.database = self.primary.create_database()
        self.replica = os.path.join(make_tempdir("chatd-pg-replica-"), "pg")
        self._cluster("replica", self.replica, self.primary.cluster)
        self._cluster("start", self.replica, "-o", self.OPTIONS)
        _cleanups.append(self.close)
        self.primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        self.primary.psql("SELECT pg_reload_conf()")
        wait_until(lambda: self.primary.psql("SELECT sync_state FROM pg_stat_replication").strip() == "sync",
                   what="the synchronous replica")
        hosts = f"{self._socket_dir(self.primary.cluster)},{self._socket_dir(self.replica)}"
        self.url = (f"postgresql:///{self.database}?host={hosts}&user=postgres"
                    "&target_session_attrs=read-write&connect_timeout=2")

    @staticmethod
    def _cluster(*args):
        return subprocess.run([os.path.join(SCRIPTS, "pg-cluster"), *args], check=True,
                              capture_output=True, text=True).stdout.strip()

    def _socket_dir(self, cluster):
        url = self._cluster("url", cluster)
        return _urlparse.parse_qs(_urlparse.urlparse(url).query)["host"][0]

    def kill_primary(self):
        self._cluster("kill", self.primary.cluster)

    def promote(self):
        self._cluster("promote", self.replica)

    def replica_sql(self, query):
        return self._cluster("psql", self.replica, "-d", self.database, "-tA", "-c", query)

    def close(self):
        subprocess.run([os.path.join(SCRIPTS, "pg-cluster"), "stop", self.replica], capture_output=True)


class Front:
    """A load balancer in front of several stacks, as a cloud one would be: an nginx on its own port
    that round-robins every request and every WebSocket across the stacks' nginx, with no session
    affinity. Stacks that sit behind it must allow its origin (Front.reserve_port() first, then
    CORS_ALLOWED_ORIGINS with that port)."""

    @staticmethod
    def reserve_port():
        return free_port()

    def __init__(self, stacks, port=None):
        self.port = port or free_port()
        self.dir = make_tempdir("chatd-front-")
        backends = "\n".join(f"        server 127.0.0.1:{s.port};" for s in stacks)
        conf = f"""worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream stacks {{
{backends}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size 4m;
        location / {{
            proxy_pass http://stacks;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            proxy_read_timeout 300s;
            proxy_next_upstream off;
        }}
    }}
}}
"""
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        _cleanups.append(self.close)
        wait_until(lambda: self._health(), what="the front nginx")

    def _health(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/api/v1/health")
            return conn.getresponse().status == 200
        except OSError:
            return False

    # The stack interface the tests and WsClient use (port, request helpers).
    request = Stack.request
    get = Stack.get
    post = Stack.post

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _b64url(data):
    return _b64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(user_id, role="user", guest=False, ttl=900, now=None, secret=TEST_JWT_SECRET,
               iss="chatd", aud="chatd", header=None):
    """An HS256 access token as chatd-workers issues them (claims sub, iat, exp, iss, aud, role, guest)."""
    now = int(time.time()) if now is None else now
    head = header or {"alg": "HS256", "typ": "JWT"}
    payload = {"sub": user_id, "iat": now, "exp": now + ttl, "iss": iss, "aud": aud, "role": role,
               "guest": guest}
    signing_input = _b64url(json.dumps(head, separators=(",", ":")).encode()) + "." + \
        _b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = _hmac.new(secret.encode(), signing_input.encode(), _hashlib.sha256).digest()
    return signing_input + "." + _b64url(sig)


class TestUser:
    def __init__(self, user_id, username, token, display_name):
        self.id = user_id
        self.username = username
        self.token = token
        self.display_name = display_name


def create_user(stack, username=None, role="user", guest=False, display_name=None):
    """Inserts a user straight into the stack's database and returns it with a valid token."""
    if guest:
        username = "guest-" + uuid.uuid4().hex[:16]
    username = (username or "u" + uuid.uuid4().hex[:10]).lower()
    display_name = display_name or ("Guest" if guest else username)
    password_hash = "NULL" if guest else "'$argon2id$v=19$m=19456,t=2,p=1$dGVzdHRlc3R0ZXN0dGVzdA$" \
        "dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q'"
    sql = (f"INSERT INTO users (username, display_name, password_hash, is_guest, role) VALUES "
           f"('{username}', '{display_name}', {password_hash}, {str(guest).lower()}, '{role}') RETURNING id")
    user_id = stack.pg.psql(sql, db=stack.database).strip().splitlines()[0]
    return TestUser(user_id, username, mint_token(user_id, role=role, guest=guest), display_name)


# -- WebSocket ---------------------------------------------------------------------------------------

import select as _select
import urllib.parse as _urlparse


class WsClient:
    """A WebSocket connection through nginx's /ws, driven via the ws-client tool (Boost.Beast)."""

    def __init__(self, stack, token=None, cursor=None, origin="default", path="/ws"):
        query = {}
        if token:
            query["token"] = token
        if cursor is not None:
            query["cursor"] = str(cursor)
        target = path + ("?" + _urlparse.urlencode(query) if query else "")
        if origin == "default":
            origin = f"http://127.0.0.1:{stack.port}"
        argv = [os.path.join(BUILD, "tests", "ws-client"), "127.0.0.1", str(stack.port), target]
        if origin:
            argv.append(origin)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self._buf = b""
        self.closed = None
        _cleanups.append(self.kill)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def send(self, obj):
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())

    def recv(self, timeout=15):
        """The next frame as a dict; raises TimeoutError when none arrives in time."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no WebSocket frame within %ss" % timeout)
            ready, _, _ = _select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError("ws-client exited")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        frame = json.loads(line)
        if frame.get("type") == "__close":
            self.closed = frame
        return frame

    def recv_until(self, predicate, timeout=15):
        """Skips frames until one satisfies predicate; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.01, deadline - time.monotonic()))
            if predicate(frame):
                return frame

    def expect_open(self):
        frame = self.recv()
        if frame.get("type") != "__open":
            raise AssertionError(f"WebSocket did not open: {frame}")
        return self

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc.stdout.close()  # a long-running client (the soak) would run out of fds
        if self.kill in _cleanups:
            _cleanups.remove(self.kill)


# -- The fake LLM upstream -------------------------------------------------------------------------

import re as _re


class FakeLlm:
    """build/fake-llm on a free port (tests/support/fake_llm/fake_llm.cc documents its controls).

    `base_url` is what a Stack's LLM_BASE_URL takes (…/v1). requests() returns what it recorded,
    reset() forgets it, configure("tokens=5,interval_ms=20") sets runtime defaults."""

    def __init__(self, *flags):
        argv = [os.path.join(BUILD, "fake-llm"), "--host", "127.0.0.1", "--port", "0", *flags]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        _cleanups.append(self.close)
        ready, _, _ = _select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline().decode("utf-8", "replace") if ready else ""
        m = _re.search(r"listening on (http://[0-9.]+:(\d+))", line)
        if not m:
            self.close()
            raise RuntimeError(f"fake-llm did not start (first line: {line!r})")
        self.url = m.group(1)
        self.port = int(m.group(2))
        self.base_url = self.url + "/v1"

    def _call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def requests(self, since=0, limit=1000):
        status, body = self._call("GET", f"/_fake/requests?limit={limit}&since={since}")
        assert status == 200, body
        return json.loads(body)["requests"]

    def reset(self):
        self._call("POST", "/_fake/reset", b"")

    def configure(self, behaviour=""):
        self._call("POST", "/_fake/config", behaviour.encode())

    def health(self):
        return json.loads(self._call("GET", "/_fake/health")[1])

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- A stack for other test runners ------------------------------------------------------------------
# `python3 harness.py serve '{"env": {...}, "fake_flags": [...]}'` starts PostgreSQL, the fake LLM and
# one Stack (nginx serving the built web UI from CHATD_BUILD_DIR/web), prints one JSON line with
# their addresses, and tears everything down when stdin closes or on SIGTERM. The browser tests
# (tests/e2e/, node --test) and the UI benchmark drive the real system through it, so the stack
# is started by this one harness whatever the language of the test.

def _serve(argv):
    opts = json.loads(argv[0]) if argv else {}
    fake = FakeLlm(*opts.get("fake_flags", []))
    env = {"LLM_BASE_URL": fake.base_url, "LLM_PROVIDER": "openai", "LLM_MODEL": "demo", "LLM_DEMO": "1"}
    env.update(opts.get("env", {}))
    stack = Stack(env=env).start()
    print(json.dumps({
        "url": f"http://127.0.0.1:{stack.port}",
        "port": stack.port,
        "push_port": stack.push_port,
        "fake_url": fake.url,
        "database": stack.database,
        "dir": stack.dir,
    }), flush=True)
    try:
        while os.read(0, 4096):
            pass
    finally:
        _run_cleanups()


if __name__ == "__main__":
    import sys as _sys
    if len(_sys.argv) >= 2 and _sys.argv[1] == "serve":
        _serve(_sys.argv[2:])
    else:
        print("usage: harness.py serve [JSON options]", file=_sys.stderr)
        _sys.exit(2)


# -- A base test case for API tests ----------------------------------------------------------------

import unittest as _unittest


class ApiTestCase(_unittest.TestCase):
    """What API tests share: problem+json assertions and the usual fixtures through the API.
    Subclasses set `stack` (a started Stack) in setUpClass."""

    stack = None

    def assertProblem(self, r, status, code, field=None):
        """`r` is problem+json with this status and code (and, given `field`, an error on it)."""
        self.assertEqual(r.status, status, r)
        body = r.json()
        self.assertEqual(body["code"], code, body)
        if field is not None:
            self.assertIn(field, [e["field"] for e in body.get("errors", [])], body)
        return body

    def group(self, owner, members, title="Chat"):
        """A group owned by `owner` with `members` (TestUsers); its id."""
        r = self.stack.post("/api/v1/conversations", {"kind": "group", "title": title,
                                                      "member_ids": [m.id for m in members]}, token=owner.token)
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def send(self, user, cid, content):
        """A message from `user` into `cid`, as stored."""
        r = self.stack.post(f"/api/v1/conversations/{cid}/messages", {"content": content}, token=user.token)
        self.assertEqual(r.status, 201, r)
        return r.json()["message"]
