"""The worker pool against its floor: nginx serving a small static file (no FastCGI at all), and
the least a libfcgi program can do (tests/bench/minimal_responder.cc) with the pool's shape behind
an nginx rendered from the same template. GET /api/v1/health goes through the same location, the
same limits and the same logging in both cases; only the program answering it differs. The pool
is measured with LOG_LEVEL=info (one access line per request, the default) and LOG_LEVEL=warn."""

import os

from harness import BUILD, wait_until

TITLE = "GET /api/v1/health: the pool vs a minimal libfcgi responder vs a static file"


def run(bench):
    stack = bench.stack()
    static = bench.wrk(stack.url("/assets/health.json"))
    bench.row("nginx: static file (15 bytes)", static)

    pool = bench.wrk(stack.url("/api/v1/health"))
    bench.row("pool: GET /api/v1/health (LOG_LEVEL=info)", pool)

    stack = bench.stack(LOG_LEVEL="warn")
    pool_quiet = bench.wrk(stack.url("/api/v1/health"))
    bench.row("pool: GET /api/v1/health (LOG_LEVEL=warn)", pool_quiet)

    sock = os.path.join(bench.dir, "minimal.sock")
    bench.spawn([os.path.join(BUILD, "bench-minimal-responder"), sock, str(bench.workers),
                 str(bench.threads_per_worker)], "minimal-responder")
    wait_until(lambda: os.path.exists(sock), what="the minimal responder's socket")
    url = bench.nginx_for("unix:" + sock, "nginx-minimal")
    minimal = bench.wrk(url + "/api/v1/health")
    bench.row("minimal libfcgi responder: GET /api/v1/health", minimal)

    bench.ratio("pool / minimal responder (LOG_LEVEL=info)", pool, minimal, target=0.8)
    bench.ratio("pool / minimal responder (LOG_LEVEL=warn)", pool_quiet, minimal, target=0.8)
    bench.ratio("minimal responder / static file", minimal, static)
