"""Sessions (issue 4): logins per second against the Argon2id hash they are made of, and the cost of
an authenticated request.

A login is one Argon2id verification (tens of milliseconds of CPU by design) plus a few small
queries (throttle check, user by name, then one transaction: throttle reset, activity, a new
refresh-token family) and a JWT. Its ceiling on this machine is therefore the number of Argon2id
hashes per second the same cores can do, with the same parameters: tests/bench/argon2_rate.cc
measures that with libargon2 alone, in the same run, with as many threads as the pool has
concurrency, capped at the cores. The parameters are read back from a stored hash, so they are the
server's, whatever its configuration says. Target: logins at >= 90% of the raw hash rate (overhead
< 10%). The cases alternate for BENCH_ROUNDS rounds and each row keeps its median run, so that a
neighbour's load on a shared machine hits every case alike.

The raw rate is measured twice: with as many threads as cores (the ceiling), and with as many
threads as the workers have hashing slots (WORKERS x MAX_CONCURRENT_HASHES: by default the cores,
rounded up to a multiple of WORKERS; when set higher, memory-hard hashes share the caches). Both use glibc's default allocation, under which
Argon2's 19 MiB come back from the heap hash after hash; the workers get the same effect from
PasswordHasher's kept buffers (workers/auth/password.cc), without keeping heap memory for good.
The overhead target is against the first; the second tells how much of any gap is the
oversubscription rather than the handling of the request.

The logins use several accounts created through POST /auth/signup, each logged into with its
correct password (so the per-username failure throttle never engages), by fewer wrk connections
than the other measurements: twice as many as the server has hashing slots, so that a slot
never waits while a login's queries run, without queueing requests into wrk's 2-second timeout. nginx's per-address limit on /auth/ cannot be lifted far enough through the
stack's settings (chatd-workers accepts AUTH_RATE_PER_MIN up to 100,000, and its burst of 10 is
exceeded by a dozen concurrent requests), so /auth/ is measured through a second nginx rendered
from the same template in front of the same workers, with that limit out of reach
(Bench.nginx_unlimited).

GET /auth/me is the cheapest authenticated request: the JWT's HMAC verified, then the user read by
primary key (Authenticate) and again for the reply. Ceiling: section 30's one-PK-SELECT responder.
"""

import json
import os
import re
import statistics
import subprocess
import uuid

from bench import median
from harness import BUILD

# What scripts/bench builds for this section, beyond the stack (bench.py: PROGRAMS).
PROGRAMS = ("bench-argon2-rate",)
TITLE = "Auth: logins/s vs raw Argon2id hashes/s; GET /auth/me"

PASSWORD = "bench-correct-horse-battery-42"
ACCOUNTS = 16
# The workers' hashing slots per process: their default (the usable CPUs shared out among the
# workers, rounded up; workers/core/config.cc) unless BENCH_HASH_SLOTS sets it, to compare.
HASH_SLOTS_OVERRIDE = os.environ.get("BENCH_HASH_SLOTS", "")


def _hash_slots_per_worker(workers):
    if HASH_SLOTS_OVERRIDE:
        return int(HASH_SLOTS_OVERRIDE)
    cpus = len(os.sched_getaffinity(0)) or 1
    return max(1, -(-cpus // max(1, workers)))


def _signup(stack, username):
    r = stack.post("/api/v1/auth/signup", {"username": username, "password": PASSWORD})
    if r.status != 201:
        raise RuntimeError(f"signup of {username} failed: {r}")
    return r.json()


def _stored_params(stack, user_id):
    """(m, t, p) of the user's stored PHC string: the parameters the server hashes with."""
    encoded = stack.pg.psql(f"SELECT password_hash FROM users WHERE id = '{user_id}'",
                            db=stack.database).strip()
    m = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", encoded)
    if not m:
        raise RuntimeError(f"not an argon2id hash: {encoded[:40]}...")
    return tuple(int(x) for x in m.groups())


def _argon2_rate(bench, threads, params, mmap=False):
    argv = [os.path.join(BUILD, "bench-argon2-rate"), *(["--mmap"] if mmap else []), str(threads),
            str(bench.duration), *(str(x) for x in params)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True,
                         timeout=bench.duration + 120).stdout
    line = next(l for l in out.splitlines() if l.startswith("ARGON2_RESULT "))
    return float(dict(kv.split("=") for kv in line.split()[1:])["rate"])


def run(bench):
    slots = _hash_slots_per_worker(bench.workers)
    stack = bench.stack(**({"MAX_CONCURRENT_HASHES": slots} if HASH_SLOTS_OVERRIDE else {}))
    # The stack's nginx limits /auth/ to 1,666/s per address with a burst of 10, which wrk's
    # connections exceed whenever a dozen requests arrive together (429s): measure through an
    # nginx of the same template in front of the same workers, with that limit out of reach.
    auth_url = bench.nginx_unlimited("unix:" + stack.socket, "nginx-auth") + "/api/v1/auth"
    tag = uuid.uuid4().hex[:6]
    accounts = [_signup(stack, f"bench{tag}{i:02d}") for i in range(ACCOUNTS)]
    params = _stored_params(stack, accounts[0]["user"]["id"])

    # The server hashes with at most this many threads at once; the raw rate gets the same
    # concurrency, capped at the cores (more threads than cores only share them).
    server_hash_concurrency = min(bench.workers * bench.threads_per_worker,
                                  bench.workers * slots)
    hash_threads = min(bench.workers * bench.threads_per_worker, os.cpu_count() or 1)
    login_connections = 2 * max(server_hash_concurrency, hash_threads)

    login_script = bench.request_script(
        "auth-login", method="POST", headers={"Content-Type": "application/json"},
        bodies=[json.dumps({"username": a["user"]["username"], "password": PASSWORD})
                for a in accounts])
    me_script = bench.request_script(
        "auth-me", headers={"Authorization": "Bearer " + accounts[0]["access_token"]})

    runs = {"raw": [], "raw_server": [], "login": [], "me": []}
    for _ in range(max(1, bench.rounds)):
        runs["raw"].append(_argon2_rate(bench, hash_threads, params))
        runs["login"].append(bench.wrk(auth_url + "/login", connections=login_connections,
                                       script=login_script))
        runs["me"].append(bench.wrk(auth_url + "/me", script=me_script))
        runs["raw_server"].append(_argon2_rate(bench, server_hash_concurrency, params))
    raw, raw_server = (statistics.median(runs[k]) for k in ("raw", "raw_server"))
    logins, me = median(runs["login"]), median(runs["me"])

    def spread(rates):
        return "runs " + ", ".join(f"{r:,.1f}" for r in rates)

    m, t, p = params
    bench.row(f"raw Argon2id hashes (m={m} KiB, t={t}, p={p}; {hash_threads} threads)", rate=raw,
              unit="hashes/s", note=spread(runs["raw"]))
    bench.row(f"raw with the workers' concurrency ({server_hash_concurrency} threads = their slots)",
              rate=raw_server, unit="hashes/s", note=spread(runs["raw_server"]))
    bench.row(f"POST /api/v1/auth/login ({ACCOUNTS} accounts, wrk -c{login_connections})", logins,
              unit="logins/s", note=spread(r.rps for r in runs["login"]))
    bench.row("GET /api/v1/auth/me (JWT verify + PK reads)", me)
    bench.auth_me_result = me  # section 30 compares it with its PK-select ceiling

    bench.ratio("logins / raw Argon2id hashes (overhead < 10%)", logins, raw, target=0.9)
    bench.ratio("raw with the workers' concurrency / raw (oversubscribed slots)", raw_server, raw)
    bench.ratio("logins / raw with the workers' concurrency", logins, raw_server)
