"""The push daemon's own scale (issue 13): idle authenticated WebSockets one chatd-push holds, its
resident memory per idle connection, and one event fanned out to 1,000 and to 10,000 subscribed
sockets, first to last frame received.

The client is tests/bench/push_probe.mjs (Node, the `ws` library from tests/e2e/node_modules), one
process holding every socket, connected straight to chatd-push's port (nginx's worker_connections
would otherwise be what is measured). BENCH_PUSH_USERS (20) users with BENCH_PUSH_PER_USER (1000)
sockets each (WS_MAX_PER_USER is raised to match); the file-descriptor limits of the daemon and of
the probe are raised to 65536 first (as root; systemd gives chatd-push LimitNOFILE=65536). Memory:
the daemon's VmRSS before the first socket and with all of them open, divided by their number.
Fan-out: a group of one sender and 1 member (BENCH_PUSH_PER_USER sockets), and one of 10 members
(10 x BENCH_PUSH_PER_USER), BENCH_ROUNDS messages each, from the start of the send (its commit
included) to the first and the last socket receiving it; the median round is reported.

Targets: >= 20,000 idle sockets; <= 8 KiB per idle connection; fan-out to 1,000 < 20 ms and to
10,000 < 300 ms (first to last frame)."""

import json
import os
import resource
import subprocess
import time

import harness
from harness import mint_token

PROGRAMS = ()
TITLE = "chatd-push: idle WebSockets held, memory per connection, one event fanned out to 1,000 / 10,000 sockets"

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "..", "push_probe.mjs")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run(bench):
    users_n = int(os.environ.get("BENCH_PUSH_USERS", "20"))
    per_user = int(os.environ.get("BENCH_PUSH_PER_USER", "1000"))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    except (ValueError, OSError):
        pass  # not root: whatever the limit allows
    stack = bench.stack(WS_MAX_PER_USER=str(min(1000, per_user)), LOG_LEVEL="warn")
    sql = ("INSERT INTO users (username, display_name, password_hash, is_guest, role) "
           "SELECT 'bp' || substr(md5(random()::text || g), 1, 24), 'bench', "
           "'$argon2id$v=19$m=19456,t=2,p=1$dGVzdHRlc3R0ZXN0dGVzdA$dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q', false, 'user' "
           f"FROM generate_series(1, {users_n + 1}) AS g RETURNING id")
    ids = [line.strip() for line in stack.pg.psql(sql, db=stack.database).splitlines() if len(line.strip()) == 36]
    sender, members = ids[0], ids[1:]
    tokens = [mint_token(u, ttl=7200) for u in members]
    sender_token = mint_token(sender, ttl=7200)

    def group(title, member_ids):
        r = stack.post("/api/v1/conversations", {"kind": "group", "title": title, "member_ids": member_ids},
                       token=sender_token)
        return r.json()["id"]

    targets = [{"name": f"{per_user}", "conversation_id": group("one", members[:1]), "members": [0]}]
    if users_n >= 10:
        targets.append({"name": f"{10 * per_user}", "conversation_id": group("ten", members[:10]),
                        "members": list(range(10))})
    push_pid = stack.push.pid
    before = rss_kib(push_pid)
    opts = {"ws_url": f"ws://127.0.0.1:{stack.push_port}/ws", "origin": f"http://127.0.0.1:{stack.port}",
            "api_url": f"http://127.0.0.1:{stack.port}", "users": [{"token": t} for t in tokens],
            "per_user": per_user, "sender_token": sender_token, "targets": targets, "rounds": bench.rounds}
    probe = subprocess.Popen(["node", PROBE, json.dumps(opts)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    first = json.loads(probe.stdout.readline())
    time.sleep(2)  # let the daemon settle its buffers before the memory sample (not a sync point)
    after = rss_kib(push_pid)
    connected = first["connected"]
    bench.row("idle authenticated WebSockets held by one chatd-push", rate=connected, unit="sockets",
              note=f"{first['failed']} refused or failed; all open in {first['seconds']:.1f} s")
    bench.row("chatd-push resident memory per idle connection",
              rate=(after - before) / max(1, connected), unit="KiB",
              note=f"VmRSS {before / 1024:.0f} MiB before, {after / 1024:.0f} MiB with {connected} sockets")
    probe.stdin.write("go\n")
    probe.stdin.flush()
    results = {}
    for line in probe.stdout:
        r = json.loads(line)
        results.setdefault(r["target"], []).append(r)
    probe.wait(60)
    for name, rounds in results.items():
        rounds.sort(key=lambda r: r["last_ms"] if r["last_ms"] is not None else 1e9)
        m = rounds[len(rounds) // 2]
        bench.row(f"one event fanned out to {m['sockets']} sockets: last frame", rate=m["last_ms"], unit="ms",
                  note=f"first frame {m['first_ms']:.1f} ms after the send started; {m['missing']} missing")
