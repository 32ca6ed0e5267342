"""More than one machine (issue 13): commit -> WebSocket frame for a frame that crosses stacks
against one that stays on its stack. Two complete stacks (each its own nginx, pool and chatd-push)
on one PostgreSQL; one member's socket on stack A and one on stack B; BENCH_CLUSTER_MESSAGES (200)
messages sent one after another through A's HTTP. For each, the time from the start of the send
(its commit included: a frame can arrive before the HTTP answer is read) to the frame on each
socket, stamped by a reader thread per socket; p50/p99 per socket. A frame to B's socket
crosses machines the way it would across VMs: B's daemon learns of the event from PostgreSQL, as
A's does, so the two should be alike; the difference is what crossing costs.

Both sockets are read through the harness's ws-client tool (one process each), so the pipe between
it and this script is part of both figures alike.

Failover (harness.ReplicatedPostgres: a primary and a synchronous streaming replica, DATABASE_URL
naming both with target_session_attrs=read-write): sends run back to back and a member's socket
is connected; the primary is killed (-9) and, once the first 503 has been answered, the replica
is promoted at once (what Patroni does after its leader key expires; its ttl is not part of this
figure). Reported: the time from the kill to the promotion, from the promotion to the first
successful send, and from the promotion until the socket has received every acknowledged
message; the 503s answered meanwhile, and writes lost (acknowledged but absent afterwards) and
events missed."""

import os
import threading
import time

from bench import percentile
from harness import ReplicatedPostgres, Stack, WsClient, create_user, wait_until

PROGRAMS = ("ws-client",)
TITLE = "Two stacks on one database: commit -> WebSocket frame on the same stack vs across stacks"




def run(bench):
    n = int(os.environ.get("BENCH_CLUSTER_MESSAGES", "200"))
    a = bench.stack(LOG_LEVEL="warn")
    b = Stack(pg=a.pg, database=a.database, env={k: a.env[k] for k in ("WORKERS", "THREADS_PER_WORKER",
                                                                        "API_RATE_PER_SEC", "LOG_LEVEL")}).start()
    try:
        alice, bob = create_user(a), create_user(a)
        cid = a.post("/api/v1/conversations", {"kind": "direct", "user_id": bob.id}, token=alice.token).json()["id"]
        on_a, on_b = WsClient(a, token=bob.token).expect_open(), WsClient(b, token=bob.token).expect_open()
        for s in (on_a, on_b):
            s.recv_until(lambda f: f.get("type") == "ready")
        # One reader thread per socket stamps each frame as it arrives.
        arrived = {"a": {}, "b": {}}

        def reader(sock, key):
            while len(arrived[key]) < n:
                try:
                    f = sock.recv(timeout=30)
                except (TimeoutError, EOFError):
                    return
                if f.get("type") == "message.created":
                    arrived[key][f["message"]["id"]] = time.monotonic()

        threads = [threading.Thread(target=reader, args=(on_a, "a")), threading.Thread(target=reader, args=(on_b, "b"))]
        for t in threads:
            t.start()
        sent = {}
        for i in range(n):
            t0 = time.monotonic()
            r = a.post(f"/api/v1/conversations/{cid}/messages", {"content": f"m{i}"}, token=alice.token)
            sent[r.json()["message"]["id"]] = t0
            while r.json()["message"]["id"] not in arrived["b"] or r.json()["message"]["id"] not in arrived["a"]:
                time.sleep(0.001)  # one message in flight at a time
        for t in threads:
            t.join(30)
        same = [(arrived["a"][m] - t0) * 1e6 for m, t0 in sent.items() if m in arrived["a"]]
        cross = [(arrived["b"][m] - t0) * 1e6 for m, t0 in sent.items() if m in arrived["b"]]
        on_a.close()
        on_b.close()
    finally:
        b.close()
    failover(bench)
    bench.row("send -> frame, same stack (socket on A, send through A): p50", rate=percentile(same, 50),
              unit="µs", note=f"p99 {percentile(same, 99) / 1000:.2f} ms over {n} messages")
    bench.row("send -> frame, across stacks (socket on B): p50", rate=percentile(cross, 50), unit="µs",
              note=f"p99 {percentile(cross, 99) / 1000:.2f} ms; {n - len(cross)} missing")


def failover(bench):
    pg = ReplicatedPostgres()
    stack = Stack(pg=pg.primary, database=pg.database,
                  env={"DATABASE_URL": pg.url, "LOG_LEVEL": "warn", "API_RATE_PER_SEC": "1000000"}).start()
    try:
        alice, bob = create_user(stack), create_user(stack)
        cid = stack.post("/api/v1/conversations", {"kind": "direct", "user_id": bob.id}, token=alice.token).json()["id"]
        sock = WsClient(stack, token=bob.token).expect_open()
        sock.recv_until(lambda f: f.get("type") == "ready")
        seen = {}

        def reader():
            while True:
                try:
                    f = sock.recv(timeout=60)
                except (TimeoutError, EOFError):
                    return
                if f.get("type") == "message.created":
                    seen[f["message"]["id"]] = time.monotonic()

        threading.Thread(target=reader, daemon=True).start()
        acked, refused, stop = {}, [], threading.Event()
        first_ok_after = {}

        def writer():
            i = 0
            while not stop.is_set():
                i += 1
                r = stack.post(f"/api/v1/conversations/{cid}/messages", {"content": f"f{i}"}, token=alice.token,
                               timeout=30)
                now = time.monotonic()
                if r.status == 201:
                    acked[r.json()["message"]["id"]] = now
                    if "promoted" in first_ok_after and "t" not in first_ok_after:
                        first_ok_after["t"] = now
                else:
                    refused.append(r.status)

        w = threading.Thread(target=writer)
        w.start()
        wait_until(lambda: len(acked) >= 50, what="writes before the failover")
        killed_at = time.monotonic()
        pg.kill_primary()
        wait_until(lambda: refused, timeout=30, what="the first 503")
        pg.promote()
        promoted_at = time.monotonic()
        first_ok_after["promoted"] = True
        wait_until(lambda: "t" in first_ok_after, timeout=60, what="a write on the new primary")
        wait_until(lambda: len(acked) >= 50 + 50, timeout=60, what="more writes")
        stop.set()
        w.join(30)
        wait_until(lambda: set(acked) <= set(seen), timeout=60, what="the socket to catch up")
        caught_up = max(seen[m] for m in acked)
        stored = set(pg.replica_sql(f"SELECT id::text FROM messages WHERE conversation_id = '{cid}'").split())
        lost = len(set(acked) - stored)
        sock.close()
    finally:
        stack.close()
        pg.close()
    bench.row("failover: kill of the primary -> promotion of the replica", rate=(promoted_at - killed_at) * 1000,
              unit="ms", note=f"{len(refused)} answers meanwhile, all {sorted(set(refused))}")
    bench.row("failover: promotion -> first successful send", rate=(first_ok_after["t"] - promoted_at) * 1000,
              unit="ms", note=f"writes lost: {lost} of {len(acked)} acknowledged")
    bench.row("failover: promotion -> the socket has every acknowledged message",
              rate=(caught_up - promoted_at) * 1000, unit="ms", note="events missed: 0")
