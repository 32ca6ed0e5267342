"""scripts/soak's driver: an hour (or as long as asked) of mixed traffic at a steady rate well below
saturation against one real stack (PostgreSQL, the worker pool, chatd-push, nginx, the fake LLM),
sampling every process's resources once a minute. It proves what an operator needs before running
chatd for weeks: memory, file descriptors, threads and database connections stay flat, workers are
recycled (MAX_REQUESTS) without a failed request, and nothing is answered with an error.

Traffic (SOAK_CLIENTS simulated users, each doing one action every SOAK_PAUSE_S seconds on
average, chosen at random by weight): log in; come in as a guest; list conversations; page back
through a conversation's history; send a message into a direct chat; ask an assistant for a
reply (JSON, or SSE read to the end); start a streamed reply and stop it from another request;
connect a WebSocket, send typing, and disconnect; fetch /usage. Every answer must be the one the
contract promises for that action (2xx, or the 429 of a deliberately exhausted limit: none is
exhausted at this rate); anything else is counted as an error with its status and path.

Samples (every SOAK_SAMPLE_S, 60): per process group (master, workers, push, nginx, PostgreSQL),
resident memory (VmRSS, KiB), open file descriptors, threads; and PostgreSQL's connections
(pg_stat_activity) and sessions idle in transaction. Output in SOAK_OUT (var/soak/<timestamp>/):
samples.csv, errors.log, summary.md (the bound each series stayed within, first and last hour
quarters compared) and soak.png (gnuplot, when installed).

Exit status: 0 when no error was answered and no series grew beyond its bound; 1 otherwise.
"""

import csv
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid

import harness
from harness import FakeLlm, Stack, WsClient, wait_until

PASSWORD = "correct-horse-battery-staple-9"


def env_float(name, default):
    return float(os.environ.get(name, default))


class Errors:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.count = 0
        self.by_kind = {}
        self.file = open(path, "w")

    def add(self, what, detail):
        with self.lock:
            self.count += 1
            self.by_kind[what] = self.by_kind.get(what, 0) + 1
            self.file.write(f"{time.strftime('%H:%M:%S')} {what}: {detail}\n")
            self.file.flush()


class Client(threading.Thread):
    """One simulated person: an account of its own, a direct chat with a peer, an assistant chat."""

    def __init__(self, stack, errors, stop, peer_id=None, seed=0):
        super().__init__(daemon=True)
        self.stack, self.errors, self.stop_event = stack, errors, stop
        self.rng = random.Random(seed)
        self.username = "soak" + uuid.uuid4().hex[:10]
        r = stack.post("/api/v1/auth/signup", {"username": self.username, "password": PASSWORD})
        assert r.status == 201, r
        self.auth = r.json()
        self.token = self.auth["access_token"]
        self.refreshed_at = time.time()
        self.user_id = self.auth["user"]["id"]
        self.assistant_chat = self.call("POST", "/api/v1/conversations", {"kind": "assistant"}, ok=(201,))["id"]
        self.direct = None
        self.actions = 0

    def call(self, method, path, body=None, ok=(200, 201, 204), token=None, headers=None):
        r = self.stack.request(method, path, body=body, token=token or self.token, headers=headers, timeout=60)
        if r.status == 401 and token is None:
            self.refresh()
            r = self.stack.request(method, path, body=body, token=self.token, headers=headers, timeout=60)
        if r.status not in ok:
            self.errors.add(f"{method} {path.split('?')[0][:40]} -> {r.status}", r.body[:200])
            return None
        return r.json() if r.body and r.status != 204 else {}

    def refresh_if_old(self):
        # Access tokens live ACCESS_TOKEN_TTL (900 s): refresh a while before, as the web UI does,
        # so a socket is not opened with a token about to expire.
        if time.time() - getattr(self, "refreshed_at", 0) > 600:
            self.refresh()

    def refresh(self):
        self.refreshed_at = time.time()
        r = self.stack.post("/api/v1/auth/refresh", {"refresh_token": self.auth["refresh_token"]})
        if r.status == 200:
            self.auth = r.json()
            self.token = self.auth["access_token"]
        else:
            self.errors.add(f"refresh -> {r.status}", r.body[:200])

    # -- actions ---------------------------------------------------------------------------------

    def login(self):
        r = self.stack.post("/api/v1/auth/login", {"username": self.username, "password": PASSWORD})
        if r.status != 200:
            self.errors.add(f"login -> {r.status}", r.body[:200])
            return
        # Log the extra session out again, so refresh families do not pile up.
        self.stack.post("/api/v1/auth/logout", {"refresh_token": r.json()["refresh_token"]})

    def guest(self):
        r = self.stack.post("/api/v1/auth/guest", {})
        if r.status != 201:
            self.errors.add(f"guest -> {r.status}", r.body[:200])

    def list_conversations(self):
        self.call("GET", "/api/v1/conversations?limit=20")

    def history(self):
        page = self.call("GET", f"/api/v1/conversations/{self.assistant_chat}/messages?limit=20")
        if page and page["items"]:
            first = page["items"][0]["seq"]
            if first > 1:
                self.call("GET", f"/api/v1/conversations/{self.assistant_chat}/messages?limit=20&before_seq={first}")

    def send_direct(self):
        if self.direct:
            self.call("POST", f"/api/v1/conversations/{self.direct}/messages",
                      {"content": f"hello {self.rng.random():.6f}", "client_message_id": uuid.uuid4().hex})

    def reply_json(self):
        self.call("POST", f"/api/v1/conversations/{self.assistant_chat}/messages",
                  {"content": "tell me something [[fake:tokens=20,interval_ms=5]]"})

    def reply_sse(self, stop=False, again=True):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=60)
        try:
            marker = "[[fake:tokens=200,interval_ms=20]]" if stop else "[[fake:tokens=30,interval_ms=10]]"
            conn.request("POST", f"/api/v1/conversations/{self.assistant_chat}/messages",
                         body=json.dumps({"content": "stream please " + marker}).encode(),
                         headers={"Content-Type": "application/json", "Accept": "text/event-stream",
                                  "Authorization": "Bearer " + self.token})
            r = conn.getresponse()
            if r.status == 401 and again:  # the access token expired: refresh, as a client does
                r.read()
                self.refresh()
                return self.reply_sse(stop, again=False)
            if r.status != 200:
                self.errors.add(f"sse -> {r.status}", r.read()[:200])
                return
            stopped = False
            while True:
                line = r.readline()
                if not line:
                    break
                if stop and not stopped and line.startswith(b"event: delta"):
                    stopped = True
                    self.call("POST", f"/api/v1/conversations/{self.assistant_chat}/stop", {}, ok=(202,))
                if line.startswith(b"event: error"):
                    self.errors.add("sse error event", r.readline()[:200])
        finally:
            conn.close()

    def websocket(self):
        if self.rng.random() < 0.5:
            self.refresh_if_old()
        ws = WsClient(self.stack, token=self.token)
        try:
            ws.expect_open()
            ready = ws.recv(timeout=15)
            if ready.get("type") != "ready":
                self.errors.add("ws ready", str(ready)[:200])
                return
            ws.send({"type": "typing", "conversation_id": self.assistant_chat})
            ws.send({"type": "ping"})
            ws.recv_until(lambda f: f.get("type") == "pong", timeout=15)
        except Exception as e:  # noqa: BLE001 - any failure of the socket is an error of the run
            self.errors.add("ws", repr(e)[:200])
        finally:
            ws.close()

    def usage(self):
        self.call("GET", "/api/v1/usage?days=7")

    def run(self):
        weighted = [(self.login, 1), (self.guest, 1), (self.list_conversations, 6), (self.history, 4),
                    (self.send_direct, 6), (self.reply_json, 2), (lambda: self.reply_sse(False), 2),
                    (lambda: self.reply_sse(True), 1), (self.websocket, 2), (self.usage, 1)]
        actions = [a for a, w in weighted for _ in range(w)]
        pause = env_float("SOAK_PAUSE_S", 1.0)
        while not self.stop_event.is_set():
            try:
                self.rng.choice(actions)()
            except Exception as e:  # noqa: BLE001
                self.errors.add("client exception", repr(e)[:200])
            self.actions += 1
            self.stop_event.wait(self.rng.uniform(0.5 * pause, 1.5 * pause))


# -- sampling --------------------------------------------------------------------------------------

def proc_stats(pid):
    rss = threads = fds = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return rss, fds, threads


def children(pid):
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]
    except OSError:
        return []


def groups(stack):
    pg_pid = None
    try:
        with open(os.path.join(stack.pg.cluster, "data", "postmaster.pid")) as f:
            pg_pid = int(f.readline())
    except (OSError, AttributeError, ValueError):
        pass
    return {
        "master": [stack.master_pid()],
        "workers": stack.worker_pids(),
        "push": [stack.push.pid],
        "nginx": [stack.nginx.pid] + children(stack.nginx.pid),
        # Every backend maps the same shared buffers: its RSS counts them again, so PostgreSQL's
        # total is an upper bound whose trend, not level, matters.
        "postgres": ([pg_pid] + children(pg_pid)) if pg_pid else [],
    }


def sample(stack):
    row = {"t": time.time()}
    for name, pids in groups(stack).items():
        rss = fds = threads = 0
        for pid in pids:
            r, f, t = proc_stats(pid)
            rss, fds, threads = rss + r, fds + f, threads + t
        row[f"{name}_rss_kib"], row[f"{name}_fds"], row[f"{name}_threads"] = rss, fds, threads
        row[f"{name}_procs"] = len(pids)
    conns = stack.pg.psql(
        f"SELECT count(*), count(*) FILTER (WHERE state = 'idle in transaction') FROM pg_stat_activity "
        f"WHERE datname = '{stack.database}'", db=stack.database).strip().split("|")
    row["pg_connections"], row["pg_idle_in_tx"] = int(conns[0]), int(conns[1])
    status = stack.status()
    row["pool_requests"] = status.get("accepted_conn", status.get("requests", 0)) if isinstance(status, dict) else 0
    return row


def main():
    minutes = env_float("SOAK_MINUTES", 60)
    out = os.environ.get("SOAK_OUT") or os.path.join(harness.SOURCE, "var", "soak", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out, exist_ok=True)
    sample_s = env_float("SOAK_SAMPLE_S", 60)
    clients = int(os.environ.get("SOAK_CLIENTS", "8"))
    fake = FakeLlm()
    stack = Stack(env={"LLM_BASE_URL": fake.base_url, "LLM_MODEL": "demo", "LLM_RATE_PER_MIN": "100000",
                       "DAILY_TOKEN_QUOTA": "1000000000", "GUEST_DAILY_TOKEN_QUOTA": "1000000",
                       "MAX_REQUESTS": os.environ.get("SOAK_MAX_REQUESTS", "2000"), "LOG_LEVEL": "warn",
                       "ACCESS_TOKEN_TTL": "900"}).start()
    errors = Errors(os.path.join(out, "errors.log"))
    stop = threading.Event()
    people = [Client(stack, errors, stop, seed=i) for i in range(clients)]
    # Direct chats between neighbours, so sends reach another member's sockets and lists.
    for a, b in zip(people, people[1:] + people[:1]):
        conv = a.call("POST", "/api/v1/conversations", {"kind": "direct", "user_id": b.user_id}, ok=(200, 201))
        a.direct = conv["id"]
    started = time.time()
    worker_pids_seen = set(stack.worker_pids())
    rows = [sample(stack)]
    for p in people:
        p.start()
    print(f"soak: {clients} clients for {minutes:g} min; samples every {sample_s:g} s into {out}", flush=True)
    try:
        while time.time() - started < minutes * 60:
            time.sleep(min(sample_s, max(0.1, minutes * 60 - (time.time() - started))))
            worker_pids_seen.update(stack.worker_pids())
            rows.append(sample(stack))
            last = rows[-1]
            print(f"soak: {(time.time() - started) / 60:5.1f} min, {sum(p.actions for p in people)} actions, "
                  f"{errors.count} errors, workers RSS {last['workers_rss_kib'] // 1024} MiB, "
                  f"push RSS {last['push_rss_kib'] // 1024} MiB, pg conns {last['pg_connections']}", flush=True)
    finally:
        stop.set()
        for p in people:
            p.join(90)
    rows.append(sample(stack))
    actions = sum(p.actions for p in people)
    recycled = len(worker_pids_seen) - len(stack.worker_pids())
    stack.close()
    fake.close()

    keys = list(rows[0].keys())
    with open(os.path.join(out, "samples.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow(r)

    # Flatness: compare the first and the last quarter of the run (after the first sample, which
    # is before any traffic). A series "grew" when its last-quarter mean exceeds the first-quarter
    # mean by more than its bound: 20 % + 8 MiB for memory, 20 % + 16 for fds and threads.
    body = rows[1:] or rows
    q = max(1, len(body) // 4)
    first, lastq = body[:q], body[-q:]
    lines, grew = [], []
    for key in keys:
        if key == "t" or key.endswith("_procs") or key == "pool_requests":
            continue
        a = sum(r[key] for r in first) / len(first)
        b = sum(r[key] for r in lastq) / len(lastq)
        hi = max(r[key] for r in body)
        slack = 8192 if key.endswith("rss_kib") else 16
        bound = a * 1.2 + slack
        # PostgreSQL's RSS counts each backend's touched pages of the shared buffer cache, which
        # fills as the database is used (bounded by shared_buffers per backend): reported, not
        # judged. Its connections and fds are judged.
        ok = b <= bound or key == "postgres_rss_kib"
        if not ok:
            grew.append(key)
        verdict = "shared buffers (not judged)" if key == "postgres_rss_kib" else ("ok" if ok else "GREW")
        lines.append(f"| {key} | {a:,.0f} | {b:,.0f} | {hi:,.0f} | {bound:,.0f} | {verdict} |")
    summary = [f"# Soak {time.strftime('%Y-%m-%d %H:%M', time.localtime(started))}", "",
               f"{clients} clients, {minutes:g} min, {actions} actions, {errors.count} errors "
               f"({', '.join(f'{k}: {v}' for k, v in errors.by_kind.items()) or 'none'}), "
               f"{recycled} workers recycled (MAX_REQUESTS {stack.env['MAX_REQUESTS']}).", "",
               "| series | first quarter mean | last quarter mean | max | bound | |",
               "|---|---:|---:|---:|---:|---|", *lines]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(summary) + "\n")
    print("\n".join(summary))

    if subprocess.run(["which", "gnuplot"], capture_output=True).returncode == 0:
        plot = os.path.join(out, "soak.gp")
        with open(plot, "w") as f:
            f.write(f"""set terminal pngcairo size 1100,700
set output '{os.path.join(out, "soak.png")}'
set datafile separator ','
set key autotitle columnhead outside right
set xlabel 'minutes'
set ylabel 'RSS (MiB)'
set multiplot layout 2,1 title 'chatd soak: {clients} clients, {minutes:g} min, {errors.count} errors'
t0 = {rows[0]['t']}
plot '{os.path.join(out, "samples.csv")}' using (($1-t0)/60):($2/1024) with lines title 'master RSS', \\
     '' using (($1-t0)/60):($6/1024) with lines title 'workers RSS', \\
     '' using (($1-t0)/60):($10/1024) with lines title 'push RSS', \\
     '' using (($1-t0)/60):($14/1024) with lines title 'nginx RSS', \\
     '' using (($1-t0)/60):($18/1024) with lines title 'postgres RSS'
set ylabel 'count'
plot '' using (($1-t0)/60):7 with lines title 'workers fds', \\
     '' using (($1-t0)/60):11 with lines title 'push fds', \\
     '' using (($1-t0)/60):8 with lines title 'workers threads', \\
     '' using (($1-t0)/60):22 with lines title 'pg connections'
unset multiplot
""")
        subprocess.run(["gnuplot", plot], check=False)
    return 0 if errors.count == 0 and not grew else 1


if __name__ == "__main__":
    sys.exit(main())
