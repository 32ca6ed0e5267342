"""The worker pool against its floor: nginx serving a small static file (no FastCGI at all), and
the least a libfcgi program can do (tests/bench/minimal_responder.cc) with the pool's shape behind
an nginx rendered from the same template. GET /api/v1/health goes through the same location, the
same limits and the same logging in both cases; only the program answering it differs.

The pool is measured with LOG_LEVEL=info (one access line per request, the default) and with
LOG_LEVEL=warn, switched by a graceful reload (SIGHUP with a CHATD_CONFIG overlay), so both run
the same processes' code on the same database. The four cases alternate for BENCH_ROUNDS rounds and
each row keeps its median run: background load on a shared machine then hits all cases alike."""

import os
import signal

from bench import median
from harness import BUILD, wait_until

# What scripts/bench builds for this section, beyond the stack (bench.py: PROGRAMS).
PROGRAMS = ("bench-minimal-responder",)
TITLE = "GET /api/v1/health: the pool vs a minimal libfcgi responder vs a static file"


def set_log_level(bench, stack, overlay, level):
    """Rewrites the overlay and reloads the pool; returns once only new workers serve."""
    with open(overlay, "w") as f:
        f.write(f"LOG_LEVEL={level}\n")
    generation = stack.status()["generation"]
    os.kill(stack.master_pid(), signal.SIGHUP)

    def reloaded():
        s = stack.status(full=True)
        return (s["generation"] == generation + 1 and s["state"] == "running" and
                [p["generation"] for p in s["processes"]] == [generation + 1] * bench.workers)

    wait_until(reloaded, timeout=60, what=f"the reload to LOG_LEVEL={level}")


def run(bench):
    overlay = os.path.join(bench.dir, "http_pool.env")
    with open(overlay, "w") as f:
        f.write("LOG_LEVEL=info\n")
    stack = bench.stack(CHATD_CONFIG=overlay)

    sock = os.path.join(bench.dir, "minimal.sock")
    responder = bench.spawn([os.path.join(BUILD, "bench-minimal-responder"), sock, str(bench.workers),
                             str(bench.threads_per_worker)], "minimal-responder")
    wait_until(lambda: os.path.exists(sock), what="the minimal responder's socket")
    minimal_url = bench.nginx_for("unix:" + sock, "nginx-minimal") + "/api/v1/health"

    def minimal_pids():
        with open(f"/proc/{responder.pid}/task/{responder.pid}/children") as f:
            return [int(p) for p in f.read().split()]

    runs = {"static": [], "info": [], "warn": [], "minimal": []}
    for _ in range(max(1, bench.rounds)):
        runs["static"].append(bench.wrk(stack.url("/assets/health.json")))
        runs["minimal"].append(bench.wrk(minimal_url, pids=minimal_pids()))
        set_log_level(bench, stack, overlay, "info")
        runs["info"].append(bench.wrk(stack.url("/api/v1/health"), pids=stack.worker_pids()))
        set_log_level(bench, stack, overlay, "warn")
        runs["warn"].append(bench.wrk(stack.url("/api/v1/health"), pids=stack.worker_pids()))
    static, minimal, info, warn = (median(runs[k]) for k in ("static", "minimal", "info", "warn"))
    # CPU per request: the median over the rounds, on its own (it is steadier than the rate).
    cpu = {k: sorted(r.cpu_us for r in runs[k])[len(runs[k]) // 2] for k in ("minimal", "info", "warn")}

    def note(k):
        return f"{cpu[k]:.1f} us CPU/request in the FastCGI processes"

    bench.row("nginx: static file (same 15 bytes)", static)
    bench.row("minimal libfcgi responder: GET /api/v1/health", minimal, note=note("minimal"))
    bench.row("pool: GET /api/v1/health, LOG_LEVEL=info", info, note=note("info"))
    bench.row("pool: GET /api/v1/health, LOG_LEVEL=warn", warn, note=note("warn"))
    bench.ratio("pool (LOG_LEVEL=info) / minimal responder, req/s", info, minimal, target=0.8)
    bench.ratio("pool (LOG_LEVEL=warn) / minimal responder, req/s", warn, minimal, target=0.8)
    bench.ratio("minimal responder / pool (LOG_LEVEL=info), CPU per request", cpu["minimal"], cpu["info"])
    bench.ratio("pool LOG_LEVEL=warn / LOG_LEVEL=info, CPU per request (the access line's share)",
                cpu["warn"], cpu["info"])
    bench.ratio("minimal responder / static file, req/s (the cost of FastCGI)", minimal, static)
