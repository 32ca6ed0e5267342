"""The event log on durable commits (issue 12): sends per second into 1, 8 and 64 conversations,
and send → WebSocket frame latency, for the event path before sql/0008 and after it, with and
without a simulated slow WAL flush.

**Durable commits:** this section runs its own PostgreSQL cluster with fsync, synchronous_commit
and full_page_writes on (the rest of the bench turns them off). This VM's fsync takes about
0.16 ms; a cloud or replicated disk's takes milliseconds, so the "slow flush" rows set
commit_delay = 4000 and commit_siblings = 0 (each WAL flush waits 4 ms first, and the commits that
arrive meanwhile share it, as on a slow disk). Both are reloadable settings (ALTER SYSTEM).

**Old and new path in one build:** the new path is the tree's (sql/0008: no lock, no NOTIFY in the
writing transaction). The old one is a bench-only switch at the database: the section installs the
pre-0008 `emit_event` (one global advisory lock held to COMMIT, then `pg_notify` with the id inside
the transaction) and its GIN index on recipients in the bench's database, and puts the tree's back
afterwards. The workers' payload-free wake-up after COMMIT stays in both (its cost is in both).

Load: wrk, BENCH_CONNECTIONS (64) connections, POST /conversations/{id}/messages (no assistant)
by one member of every conversation, the requests spread round-robin over the conversations.
Latency: meanwhile, a probe posts into a conversation of its own every 50 ms and a WebSocket of
the other member there records when each message's frame arrives; the latency is from the start
of the probe's request (so it includes the request's own queueing and commit) to the frame.

Target: at 64 conversations, the new path's sends/s with the 4 ms flush ≥ 0.8 of the same without
it. One conversation is bounded by its own row lock (every send waits for the previous one's
commit), on either path."""

import json
import os
import threading
import time

import harness
from harness import Postgres, WsClient, create_user

from bench import percentile

PROGRAMS = ("ws-client",)
TITLE = "Event log on durable commits: sends/s into 1/8/64 conversations, old vs new path, 4 ms flush"

DURABLE = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"

OLD_EMIT_EVENT = """
CREATE OR REPLACE FUNCTION emit_event(p_conversation_id uuid, p_kind text, p_payload jsonb,
                                      p_recipients uuid[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(1667785076);
    INSERT INTO events (conversation_id, kind, payload, recipients)
    VALUES (p_conversation_id, p_kind, p_payload, p_recipients) RETURNING id INTO v_id;
    PERFORM pg_notify('chatd_events', v_id::text);
    RETURN v_id;
END $$;
CREATE INDEX IF NOT EXISTS events_recipients_idx ON events USING gin (recipients);
"""

NEW_EMIT_EVENT = """
CREATE OR REPLACE FUNCTION emit_event(p_conversation_id uuid, p_kind text, p_payload jsonb,
                                      p_recipients uuid[])
RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO events (conversation_id, kind, payload, recipients)
    VALUES (p_conversation_id, p_kind, p_payload, p_recipients) RETURNING id
$$;
DROP INDEX IF EXISTS events_recipients_idx;
"""


def _rotating_sends(bench, name, token, paths):
    """A wrk script: POST a fixed message to `paths` in turn (each thread from its own place)."""
    path = os.path.join(bench.dir, name + ".lua")
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        f.write('wrk.body = \'{"content": "a durable message"}\'\n')
        f.write("local paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n")
        f.write("local started = 0\n")
        f.write("setup = function(thread) thread:set('first', started); started = started + 1 end\n")
        f.write("local i = nil\n")
        f.write("request = function()\n"
                "  if i == nil then i = ((first or 0) * 7) % #paths end\n"
                "  i = i % #paths + 1\n"
                "  return wrk.format(nil, paths[i])\n"
                "end\n")
        f.write(f"dofile('{os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'report.lua')}')\n")
    return path


class Probe:
    """Posts into its own conversation every 50 ms while running; a WebSocket of the other member
    records each frame's arrival. latencies(): request start → frame, in ms."""

    def __init__(self, stack, sender, watcher, cid):
        self.stack, self.sender, self.cid = stack, sender, cid
        self.ws = WsClient(stack, token=watcher.token).expect_open()
        self.ws.recv()  # ready
        self.sent = {}
        self.arrived = {}
        self.stop = threading.Event()
        self.threads = []

    def start(self):
        self.stop.clear()
        self.sent.clear()
        self.arrived.clear()
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._receive, daemon=True)]
        for t in self.threads:
            t.start()

    def _send(self):
        n = 0
        while not self.stop.is_set():
            tag = f"probe-{n}"
            self.sent[tag] = time.monotonic()
            self.stack.post(f"/api/v1/conversations/{self.cid}/messages", {"content": tag},
                            token=self.sender.token)
            n += 1
            self.stop.wait(0.05)

    def _receive(self):
        while not self.stop.is_set():
            try:
                f = self.ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            content = (f.get("message") or {}).get("content", "")
            if f.get("type") == "message.created" and content.startswith("probe-"):
                self.arrived[content] = time.monotonic()

    def finish(self):
        time.sleep(0.5)  # the last frames
        self.stop.set()
        for t in self.threads:
            t.join(5)
        return [(self.arrived[k] - self.sent[k]) * 1000 for k in self.arrived if k in self.sent]


def run(bench):
    pg = Postgres(options=DURABLE)
    harness._cleanups.append(pg.close)
    stack = bench.stack(pg=pg, LOG_LEVEL="warn")
    sql = lambda q: pg.psql(q, db=stack.database)

    sender, member = create_user(stack), create_user(stack)
    convs = []
    for i in range(64):
        r = stack.post("/api/v1/conversations", {"kind": "group", "title": f"durable {i}",
                                                  "member_ids": [member.id]}, token=sender.token)
        convs.append(r.json()["id"])
    probe_sender, probe_watcher = create_user(stack), create_user(stack)
    probe_cid = stack.post("/api/v1/conversations", {"kind": "group", "title": "probe",
                                                     "member_ids": [probe_watcher.id]},
                           token=probe_sender.token).json()["id"]
    probe = Probe(stack, probe_sender, probe_watcher, probe_cid)

    scripts = {n: _rotating_sends(bench, f"durable_{n}", sender.token,
                                  [f"/api/v1/conversations/{c}/messages" for c in convs[:n]])
               for n in (1, 8, 64)}
    rates = {}
    for flush in ("fast", "slow"):
        delay = 4000 if flush == "slow" else 0
        pg.psql(f"ALTER SYSTEM SET commit_delay = {delay}")
        pg.psql("ALTER SYSTEM SET commit_siblings = 0")
        pg.psql("SELECT pg_reload_conf()")
        for n in (1, 8, 64):
            for path in ("old", "new"):
                sql(OLD_EMIT_EVENT if path == "old" else NEW_EMIT_EVENT)
                probe.start()
                r = bench.wrk(stack.url("/"), script=scripts[n])
                lat = probe.finish()
                rates[(flush, n, path)] = r.rps
                note = (f"send → frame p50 {percentile(lat, 50):.1f} ms, p99 {percentile(lat, 99):.1f} ms "
                        f"({len(lat)} probes)")
                label = "4 ms flush" if flush == "slow" else "own fsync"
                bench.row(f"{path} path, {n} conversation{'s' if n > 1 else ''}, {label}", r,
                          unit="sends/s", note=note)
    sql(NEW_EMIT_EVENT)
    pg.psql("ALTER SYSTEM RESET commit_delay")
    pg.psql("ALTER SYSTEM RESET commit_siblings")
    pg.psql("SELECT pg_reload_conf()")
    for path in ("old", "new"):
        bench.ratio(f"{path} path, 64 conversations: 4 ms flush / own fsync",
                    rates[("slow", 64, path)], rates[("fast", 64, path)],
                    target=0.8 if path == "new" else None)
    bench.ratio("4 ms flush, 64 conversations: new / old path", rates[("slow", 64, "new")],
                rates[("slow", 64, "old")])
    bench.ratio("own fsync, 64 conversations: new / old path", rates[("fast", 64, "new")],
                rates[("fast", 64, "old")])
