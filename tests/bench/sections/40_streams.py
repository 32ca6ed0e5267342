"""Streaming replies (issue 6): N concurrent SSE replies through nginx and the pool, the fake
upstream streaming 50 tokens 20 ms apart, against the same N streams taken straight from the fake.
Reports, per level, the p99 time to the first delta through chatd and from the fake alone (their
difference is what chatd adds), errors, and the resident memory of the whole pool (master and
workers) at the peak. The highest level with no error is "the most concurrent streams the pool
sustains". The pool runs with its default shape (WORKERS=2, THREADS_PER_WORKER=32) unless
BENCH_STREAM_THREADS says otherwise; a stream holds a request thread for its whole life.

BENCH_STREAM_LEVELS: comma-separated concurrency levels (default 50,100,200,500)."""

import http.client
import json
import os
import threading
import time

from harness import FakeLlm, create_user

TITLE = "Streaming replies: concurrent SSE streams through the pool vs the fake upstream alone"


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def stream_once(port, path, body, headers, delta_marker):
    """Sends one streaming request; returns (seconds to the first delta, ok)."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        r = conn.getresponse()
        if r.status != 200:
            r.read()
            return None, False
        first = None
        ok = False
        for raw in r:
            line = raw.decode("utf-8", "replace").strip()
            if first is None and delta_marker(line):
                first = time.monotonic() - start
            if line.startswith("event: done") or line == "data: [DONE]":
                ok = True
            if line.startswith("event: error"):
                return first, False
        return first, ok and first is not None
    except OSError:
        return None, False
    finally:
        conn.close()


def run_level(n, fn):
    results = [None] * n
    barrier = threading.Barrier(n)

    def worker(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def run(bench):
    levels = [int(x) for x in os.environ.get("BENCH_STREAM_LEVELS", "50,100,200,500").split(",")]
    threads = os.environ.get("BENCH_STREAM_THREADS", "32")
    fake = FakeLlm("--tokens", "50", "--interval-ms", "20")
    stack = bench.stack(WORKERS="2", THREADS_PER_WORKER=threads, LLM_BASE_URL=fake.base_url, LLM_MODEL="demo",
                        LLM_RATE_PER_MIN="100000", DAILY_TOKEN_QUOTA="1000000000",
                        MAX_INFLIGHT_PER_USER="1000", MAX_INFLIGHT_TOTAL="100000", LOG_LEVEL="warn")
    users = [create_user(stack) for _ in range(max(levels))]
    conversations = []
    for u in users:
        r = stack.post("/api/v1/conversations", {"kind": "assistant"}, token=u.token)
        conversations.append(r.json()["id"])

    sustained = 0
    for n in levels:
        direct = run_level(n, lambda i: stream_once(
            fake.port, "/v1/chat/completions",
            {"model": "demo", "stream": True, "messages": [{"role": "user", "content": "hello"}]},
            {"Content-Type": "application/json"},
            lambda line: line.startswith("data: {") and '"content"' in line))
        peak = [0]
        sampling = [True]

        def sample():
            while sampling[0]:
                peak[0] = max(peak[0], rss_kib([stack.master_pid()] + stack.worker_pids()))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        through = run_level(n, lambda i: stream_once(
            stack.port, f"/api/v1/conversations/{conversations[i]}/messages", {"content": f"hello {i}"},
            {"Content-Type": "application/json", "Accept": "text/event-stream",
             "Authorization": "Bearer " + users[i].token},
            lambda line: line.startswith("event: delta")))
        sampling[0] = False
        sampler.join()

        errors = sum(1 for _, ok in through if not ok)
        direct_ttfd = [t * 1000 for t, ok in direct if ok and t is not None]
        pool_ttfd = [t * 1000 for t, ok in through if ok and t is not None]
        p99_direct, p99_pool = percentile(direct_ttfd, 99), percentile(pool_ttfd, 99)
        bench.row(f"{n} streams: p99 time to first delta, fake alone", rate=p99_direct, unit="ms")
        bench.row(f"{n} streams: p99 time to first delta, through chatd", rate=p99_pool, unit="ms",
                  note=f"{errors} errors; pool RSS peak {peak[0] / 1024:.0f} MiB")
        bench.row(f"{n} streams: added p99 time to first delta", rate=p99_pool - p99_direct, unit="ms")
        if errors == 0:
            sustained = n
    bench.row("most concurrent streams sustained with no error", rate=sustained, unit="streams")
    fake.close()
