"""Streaming replies (issue 6): many concurrent SSE replies through nginx and the pool, the fake
upstream streaming 50 tokens 20 ms apart (one stream lasts about a second), against the same
streams taken straight from the fake. The load client is tests/bench/stream_client.cc
(bench-stream-client: one thread on libcurl's multi interface), so the client takes little of the
two cores it shares with what it measures.

Steady state (the headline): for a level N, streams start at an even rate of N per second for
BENCH_STREAM_SECONDS (4) seconds, so about N are in flight at once; the figures are over the
streams started after the first second (the ramp). Per level: p50/p99 time to the first delta
through chatd and from the fake alone on the same schedule, their difference (what chatd adds),
errors, and the resident memory of the whole pool (master and workers) at the peak. The highest
level with no error is "the most concurrent streams the pool sustains".

Burst (BENCH_STREAM_BURST=1, off by default): all N streams start at the same instant. That
measures how fast the pool clears a queue of N turns on two cores, not what a stream costs; its
p99 grows with N by construction.

The pool has its default shape unless BENCH_STREAM_THREADS (threads per worker) says otherwise.

BENCH_STREAM_LEVELS: comma-separated concurrency levels (default 100,200,300,400,500)."""

import os
import subprocess
import threading
import time

import harness
from harness import FakeLlm, make_tempdir, mint_token

# What scripts/bench builds for this section, beyond the stack (bench.py: PROGRAMS).
PROGRAMS = ("bench-stream-client", "fake-llm")
TITLE = "Streaming replies: concurrent SSE streams through the pool vs the fake upstream alone"

STREAM_SECONDS = 1.0  # 50 tokens, 20 ms apart (the first goes out with the headers)


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


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


def create_users(stack, n):
    """n users in one statement (the harness's create_user costs a psql process each)."""
    sql = ("INSERT INTO users (username, display_name, password_hash, is_guest, role) "
           f"SELECT 'bs' || substr(md5(random()::text || g), 1, 24), 'bench', "
           "'$argon2id$v=19$m=19456,t=2,p=1$dGVzdHRlc3R0ZXN0dGVzdA$dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q', "
           "false, 'user' "
           f"FROM generate_series(1, {n}) AS g RETURNING id")
    ids = [line.strip() for line in stack.pg.psql(sql, db=stack.database).splitlines()
           if len(line.strip()) == 36]
    return [(user_id, mint_token(user_id, ttl=7200)) for user_id in ids]


def run_client(port, requests_file, streams, rate, marker):
    """Runs bench-stream-client; returns [(start_ms, ttfd_ms or None, ok, late_ms)]."""
    argv = [os.path.join(harness.BUILD, "bench-stream-client"), "--port", str(port),
            "--requests", requests_file, "--streams", str(streams), "--rate", str(rate),
            "--marker", marker]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        _, start, ttfd, _, _, ok, late = line.split()
        rows.append((float(start), float(ttfd) if float(ttfd) >= 0 else None, ok == "1", float(late)))
    return rows


def summarize(rows, after_ms):
    measured = [r for r in rows if r[0] >= after_ms]
    ttfd = [r[1] for r in measured if r[2] and r[1] is not None]
    errors = sum(1 for r in rows if not r[2])
    late = max((r[3] for r in rows), default=0.0)
    return percentile(ttfd, 50), percentile(ttfd, 99), errors, late


class PeakRss:
    def __init__(self, stack):
        self.stack, self.peak, self.running = stack, 0, True
        self.thread = threading.Thread(target=self._sample)
        self.thread.start()

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, rss_kib([self.stack.master_pid()] + self.stack.worker_pids()))
            time.sleep(0.2)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak / 1024.0


def run(bench):
    levels = [int(x) for x in os.environ.get("BENCH_STREAM_LEVELS", "100,200,300,400,500").split(",")]
    seconds = float(os.environ.get("BENCH_STREAM_SECONDS", "4"))
    burst = os.environ.get("BENCH_STREAM_BURST", "0") == "1"
    env = dict(LLM_MODEL="demo", LLM_RATE_PER_MIN="100000", DAILY_TOKEN_QUOTA="1000000000",
               MAX_INFLIGHT_PER_USER="1000", MAX_INFLIGHT_TOTAL="100000", LOG_LEVEL="warn")
    # The default pool (workers/core/config.h), whatever the bench's own shape for other sections.
    env["WORKERS"] = "2"
    env["THREADS_PER_WORKER"] = os.environ.get("BENCH_STREAM_THREADS", "256")
    fake = FakeLlm("--tokens", "50", "--interval-ms", "20")
    stack = bench.stack(LLM_BASE_URL=fake.base_url, **env)
    tmp = make_tempdir("bench-streams")

    # Two conversations per stream in flight, each of its own user: consecutive streams of one
    # conversation are two seconds apart, and no two turns share a user's locks.
    conversations = []
    for user_id, token in create_users(stack, 2 * max(levels)):
        r = stack.post("/api/v1/conversations", {"kind": "assistant"}, token=token)
        conversations.append((r.json()["id"], token))
    chatd_file = os.path.join(tmp, "chatd.tsv")
    with open(chatd_file, "w") as f:
        for i, (cid, token) in enumerate(conversations):
            f.write(f'/api/v1/conversations/{cid}/messages\t{{"content": "hello {i}"}}\t'
                    f"Authorization: Bearer {token}\n")
    fake_file = os.path.join(tmp, "fake.tsv")
    with open(fake_file, "w") as f:
        f.write('/v1/chat/completions\t{"model": "demo", "stream": true, '
                '"messages": [{"role": "user", "content": "hello"}]}\n')

    sustained = 0
    for n in levels:
        streams = int(n * seconds)
        rate = n / STREAM_SECONDS
        after_ms = STREAM_SECONDS * 1000.0
        direct = summarize(run_client(fake.port, fake_file, streams, rate, "openai"), after_ms)
        sampler = PeakRss(stack)
        through_rows = run_client(stack.port, chatd_file, streams, rate, "delta")
        rss = sampler.stop()
        through = summarize(through_rows, after_ms)
        errors = through[2]
        bench.row(f"{n} streams steady ({rate:.0f}/s): p99 first delta, fake alone", rate=direct[1],
                  unit="ms", note=f"p50 {direct[0]:.1f} ms; client late up to {direct[3]:.0f} ms")
        bench.row(f"{n} streams steady: p99 first delta, through chatd", rate=through[1], unit="ms",
                  note=f"p50 {through[0]:.1f} ms; {errors} errors of {streams}; pool RSS peak "
                       f"{rss:.0f} MiB; client late up to {through[3]:.0f} ms")
        bench.row(f"{n} streams steady: added p99 time to first delta", rate=through[1] - direct[1],
                  unit="ms", note=f"added p50 {through[0] - direct[0]:.1f} ms")
        if errors == 0:
            sustained = n
        if burst:
            b_direct = summarize(run_client(fake.port, fake_file, n, 0, "openai"), 0)
            b_through = summarize(run_client(stack.port, chatd_file, n, 0, "delta"), 0)
            bench.row(f"{n} streams burst (all at once): added p99 time to first delta",
                      rate=b_through[1] - b_direct[1], unit="ms",
                      note=f"fake alone p99 {b_direct[1]:.0f} ms, through chatd p99 "
                           f"{b_through[1]:.0f} ms; {b_through[2]} errors")
    bench.row("most concurrent streams sustained with no error (steady)", rate=sustained,
              unit="streams")
    fake.close()
