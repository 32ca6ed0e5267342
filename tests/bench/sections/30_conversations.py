"""Conversations and messages (issue 5) against the architecture's own ceiling for a database read.

The ceiling is tests/bench/pk_select_responder.cc: the pool's shape (same processes x threads)
behind an nginx rendered from the same template, doing one prepared primary-key SELECT through
libpq per request and answering a tiny JSON. No chatd endpoint that reads the database can beat
it; the list endpoints should reach at least half of it. The ceiling and chatd's endpoints
alternate for BENCH_ROUNDS rounds and each row keeps its median run, so that a neighbour's load on
a shared machine hits every case alike. Beside the rates, each row notes the CPU time per request
of the processes serving it (FastCGI processes plus their PostgreSQL backends), which moves much
less with the neighbours' load than the rate does.

Measured through chatd (one stack, default settings of the bench):
  * GET /conversations?limit=50 for a user with 100 conversations and for one with 1,000 (each a
    group of three with one message, so every item has members and a last_message). Listing must
    not slow down as conversations grow: list@1000 / list@100 should be about 1.
  * GET /conversations/{id}/messages?limit=50: the latest 50 of a 10,000-message conversation.
  * POST /conversations/{id}/messages into one conversation without an assistant, always the same
    body and no client_message_id: every send locks that conversation's row for its seq, so this is
    the single busiest conversation's rate, not the system's.
The data is inserted by SQL (what the API would write, including 0002's activity copy, which its
triggers fill), then ANALYZEd. pgbench -S (select-only, same cluster, a pgbench-initialised
database, -c = the wrk client count, -j 2) is printed for context: PostgreSQL alone, no HTTP.

If section 20 ran before, GET /auth/me (JWT + PK reads) is compared with the ceiling too.
"""

import json
import os
import re
import statistics
import subprocess
import urllib.request
import uuid

from bench import median
from harness import BUILD, create_user, wait_until

# What scripts/bench builds for this section, beyond the stack (bench.py: PROGRAMS).
PROGRAMS = ("bench-pk-select-responder",)
TITLE = "Conversations and messages vs one PK SELECT per request (libfcgi + libpq); pgbench -S"

BIG_CONVERSATION_MESSAGES = 10_000
CEILING_APPLICATION = "bench-pk-select"  # the responder's application_name in pg_stat_activity


def _sql(stack, sql):
    return stack.pg.psql(sql, db=stack.database)


def _seed_conversations(stack, owner, partners, count):
    """`count` groups owned by `owner` with `partners` as members, each with one message from the
    owner, active one minute apart (the newest first in the listing)."""
    members = " UNION ALL ".join(
        [f"SELECT id, '{owner.id}'::uuid, 'owner', at - interval '1 day' FROM bench_c"] +
        [f"SELECT id, '{p.id}'::uuid, 'member', at - interval '1 day' FROM bench_c" for p in partners])
    _sql(stack, f"""
        BEGIN;
        CREATE TEMP TABLE bench_c ON COMMIT DROP AS
          SELECT gen_random_uuid() AS id, g, now() - g * interval '1 minute' AS at
            FROM generate_series(1, {count}) g;
        INSERT INTO conversations (id, kind, title, owner_id, created_at, updated_at,
                                   last_activity_at, last_seq)
          SELECT id, 'group', 'Bench group ' || g, '{owner.id}', at - interval '1 day', at, at, 1
            FROM bench_c;
        INSERT INTO conversation_members (conversation_id, user_id, role, joined_at) {members};
        INSERT INTO messages (conversation_id, seq, role, sender_id, content, created_at, updated_at)
          SELECT id, 1, 'user', '{owner.id}',
                 'Message in group ' || g || ': ' || repeat('see you at the standup. ', 3), at, at
            FROM bench_c;
        COMMIT;""")


def _seed_group(stack, owner, partners, title, messages=0):
    """One group with `messages` messages (seq 1..n, senders alternating between the owner and the
    first partner, a second apart, last_seq consistent); returns its id."""
    cid = str(uuid.uuid4())
    members = ", ".join([f"('{cid}', '{owner.id}', 'owner')"] +
                        [f"('{cid}', '{p.id}', 'member')" for p in partners])
    _sql(stack, f"""
        BEGIN;
        INSERT INTO conversations (id, kind, title, owner_id, created_at, last_activity_at, last_seq)
          VALUES ('{cid}', 'group', '{title}', '{owner.id}', now() - interval '1 day', now(),
                  {messages});
        INSERT INTO conversation_members (conversation_id, user_id, role) VALUES {members};
        INSERT INTO messages (conversation_id, seq, role, sender_id, content, created_at, updated_at)
          SELECT '{cid}', g, 'user',
                 CASE WHEN g % 2 = 0 THEN '{owner.id}'::uuid ELSE '{partners[0].id}'::uuid END,
                 'Message ' || g || ': ' || repeat('The quick brown fox jumps over the lazy dog. ',
                                                  1 + g % 5),
                 now() - ({messages} + 1 - g) * interval '1 second',
                 now() - ({messages} + 1 - g) * interval '1 second'
            FROM generate_series(1, {messages}) g;
        COMMIT;""")
    return cid


def _backends(stack, ceiling):
    """PIDs of the PostgreSQL backends serving the ceiling's responder (ceiling=True) or chatd
    (the pool's sessions and the push daemon's), for CPU accounting."""
    op = "=" if ceiling else "<>"
    out = _sql(stack, f"""
        SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND backend_type = 'client backend'
           AND pid <> pg_backend_pid() AND application_name {op} '{CEILING_APPLICATION}'""")
    return [int(p) for p in out.split()]


def _check(stack, path, token, what):
    """Fails the section early (with the reply) when an endpoint does not answer as measured."""
    r = stack.get(path, token=token)
    if r.status != 200:
        raise RuntimeError(f"{what}: {path} answered {r}")
    return r.json()


def _http_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def _pgbench(bench, stack):
    """pgbench -S against a pgbench-initialised database in the stack's cluster: (tps, note)."""
    db = "bench_pgbench_" + uuid.uuid4().hex[:8]
    stack.pg.psql(f"CREATE DATABASE {db}")
    url = stack.pg.url(db)
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", url], check=True, capture_output=True,
                   timeout=600)
    clients = bench.connections
    out = subprocess.run(["pgbench", "-S", "-n", "-c", str(clients), "-j", "2", "-T",
                          str(bench.duration), url], check=True, capture_output=True, text=True,
                         timeout=bench.duration + 120).stdout
    tps = float(re.search(r"^tps = ([0-9.]+)", out, re.M).group(1))
    latency = re.search(r"^latency average = ([0-9.]+) ms", out, re.M)
    note = f"-c{clients} -j2 -T{bench.duration}, scale 1"
    if latency:
        note += f", latency avg {float(latency.group(1)):.2f} ms"
    return tps, note


def run(bench):
    stack = bench.stack()

    # -- data ----------------------------------------------------------------------------------
    partners = [create_user(stack, display_name="Bench partner") for _ in range(2)]
    lister_100 = create_user(stack, display_name="Has 100 conversations")
    lister_1000 = create_user(stack, display_name="Has 1000 conversations")
    reader = create_user(stack, display_name="Reads and sends")
    _seed_conversations(stack, lister_100, partners, 100)
    _seed_conversations(stack, lister_1000, partners, 1000)
    big = _seed_group(stack, reader, partners, "Ten thousand messages", BIG_CONVERSATION_MESSAGES)
    quiet = _seed_group(stack, reader, partners, "Bench sends here")
    _sql(stack, "ANALYZE")

    list_path = "/api/v1/conversations?limit=50"
    for user in (lister_100, lister_1000):
        page = _check(stack, list_path, user.token, "listing")
        if len(page["items"]) != 50 or any(c["last_message"] is None for c in page["items"]):
            raise RuntimeError(f"listing: expected 50 conversations with a last message: {page}")
    messages_path = f"/api/v1/conversations/{big}/messages?limit=50"
    seqs = [m["seq"] for m in _check(stack, messages_path, reader.token, "messages")["items"]]
    if seqs != list(range(BIG_CONVERSATION_MESSAGES - 49, BIG_CONVERSATION_MESSAGES + 1)):
        raise RuntimeError(f"messages: expected the latest 50 seqs, got {seqs[:3]}...{seqs[-3:]}")

    # -- the ceiling: one PK SELECT per request, same shape, same nginx template ---------------
    sock = os.path.join(bench.dir, "pk-select.sock")
    responder = bench.spawn(
        [os.path.join(BUILD, "bench-pk-select-responder"), sock, str(bench.workers),
         str(bench.threads_per_worker),
         stack.pg.url(stack.database) + "&application_name=" + CEILING_APPLICATION],
        "pk-select-responder")
    wait_until(lambda: os.path.exists(sock), what="the PK-select responder's socket")
    ceiling_url = bench.nginx_for("unix:" + sock, "nginx-pk-select") + f"/api/v1/pk?id={reader.id}"
    if _http_json(ceiling_url).get("id") != reader.id:
        raise RuntimeError("the PK-select responder does not answer as expected")

    # -- chatd ---------------------------------------------------------------------------------
    def get_script(name, user):
        return bench.request_script(name, headers={"Authorization": "Bearer " + user.token})

    send_script = bench.request_script(
        "messages-send", method="POST",
        headers={"Authorization": "Bearer " + reader.token,
                 "Content-Type": "application/json; charset=utf-8"},
        bodies=[json.dumps({"content": "Hello from the benchmark. Lunch at noon?"})])
    cases = {
        "ceiling": (ceiling_url, None),
        "list_100": (stack.url(list_path), get_script("list-100", lister_100)),
        "list_1000": (stack.url(list_path), get_script("list-1000", lister_1000)),
        "latest": (stack.url(messages_path), get_script("messages-latest", reader)),
        "send": (stack.url(f"/api/v1/conversations/{quiet}/messages"), send_script),
    }
    # The pool's database sessions open lazily: one untimed run first, so that all of them exist
    # when the processes whose CPU time is counted are listed.
    for url, script in cases.values():
        bench.wrk(url, script=script, duration=2)
    with open(f"/proc/{responder.pid}/task/{responder.pid}/children") as f:
        ceiling_pids = [int(p) for p in f.read().split()] + _backends(stack, ceiling=True)
    chatd_pids = stack.worker_pids() + _backends(stack, ceiling=False)

    runs = {name: [] for name in cases}
    for _ in range(max(1, bench.rounds)):
        for name, (url, script) in cases.items():
            pids = ceiling_pids if name == "ceiling" else chatd_pids
            runs[name].append(bench.wrk(url, script=script, pids=pids))
    ceiling, list_100, list_1000, latest, send = (median(runs[name]) for name in cases)
    # CPU per request: the median over the rounds, on its own (it is steadier than the rate).
    cpu = {name: statistics.median(r.cpu_us for r in runs[name]) for name in cases}

    def note(name):
        return f"{cpu[name]:,.0f} us CPU/request (FastCGI + PostgreSQL)"

    bench.row("ceiling: libfcgi + libpq, one PK SELECT per request", ceiling, note=note("ceiling"))
    bench.row("GET /conversations?limit=50 (user with 100)", list_100, note=note("list_100"))
    bench.row("GET /conversations?limit=50 (user with 1,000)", list_1000, note=note("list_1000"))
    bench.row(f"GET .../messages?limit=50 (latest of {BIG_CONVERSATION_MESSAGES:,})", latest,
              note=note("latest"))
    bench.row("POST .../messages (one conversation, no assistant)", send, note=note("send"))

    tps, note = _pgbench(bench, stack)
    bench.row("pgbench -S (PostgreSQL alone, for context)", rate=tps, unit="tx/s", note=note)

    bench.ratio("list@100 / PK-select ceiling", list_100, ceiling, target=0.5)
    bench.ratio("list@1000 / PK-select ceiling", list_1000, ceiling, target=0.5)
    bench.ratio("list@1000 / list@100 (target about 1.0)", list_1000, list_100, target=0.9)
    bench.ratio("messages latest 50 / PK-select ceiling", latest, ceiling, target=0.5)
    bench.ratio("send / PK-select ceiling", send, ceiling)
    for name, what in (("list_100", "list@100"), ("list_1000", "list@1000"),
                       ("latest", "messages latest 50"), ("send", "send")):
        bench.ratio(f"{what} / PK-select ceiling, CPU per request (FastCGI + PostgreSQL)",
                    cpu[name], cpu["ceiling"])
    auth_me = getattr(bench, "auth_me_result", None)  # left by section 20 when it ran
    if auth_me is not None:
        bench.ratio("GET /auth/me (section 20) / PK-select ceiling", auth_me, ceiling)
