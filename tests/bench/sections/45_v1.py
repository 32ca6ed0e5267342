"""The OpenAI-compatible surface (issue 15): a streamed completion through /v1/chat/completions
against the same streamed reply through POST /api/v1/conversations/{id}/messages, on one stack in
one run, the fake upstream streaming 50 tokens 20 ms apart to both.

A /v1 completion stores nothing (no messages, no events, no partial text for other devices): one
transaction for the limits and the in-flight row before the call, one for the usage after it. A
reply stores the user message and the reply-to-be with their events, the partial text while it
streams, and the final reply with its event. So /v1 should cost the pool less CPU per stream: the
headline is the ratio of the pool's CPU seconds (master and workers, from /proc) per stream,
/v1 over /api/v1, and the time to the first delta of each. The two cases alternate, BENCH_ROUNDS
times, each round BENCH_V1_STREAMS (300) streams started at BENCH_V1_RATE (100) per second; the
median round of each is kept (bench.py: median).

The load client is bench-stream-client (libcurl multi, one thread), as in 40_streams; both
surfaces' deltas are recognised by their JSON ("content")."""

import os
import subprocess

import harness
from harness import FakeLlm, make_tempdir, mint_token

from bench import cpu_seconds, percentile

PROGRAMS = ("bench-stream-client", "fake-llm")
TITLE = "OpenAI-compatible /v1 streamed completions vs streamed replies through /api/v1"

DEFAULT_MODEL = "00000000-0000-0000-0000-000000000001"




def run_client(port, requests_file, streams, rate, marker):
    argv = [os.path.join(harness.BUILD, "bench-stream-client"), "--port", str(port),
            "--requests", requests_file, "--streams", str(streams), "--rate", str(rate),
            "--marker", marker]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        _, start, ttfd, _, _, ok, _ = line.split()
        rows.append((float(ttfd) if float(ttfd) >= 0 else None, ok == "1"))
    return rows


def run(bench):
    streams = int(os.environ.get("BENCH_V1_STREAMS", "300"))
    rate = float(os.environ.get("BENCH_V1_RATE", "100"))
    env = dict(LLM_MODEL="demo", LLM_RATE_PER_MIN="100000", DAILY_TOKEN_QUOTA="1000000000",
               MAX_INFLIGHT_PER_USER="1000", MAX_INFLIGHT_TOTAL="100000", LOG_LEVEL="warn",
               WORKERS="2", THREADS_PER_WORKER="256", V1_RATE_PER_MIN="6000000")
    fake = FakeLlm("--tokens", "50", "--interval-ms", "20")
    stack = bench.stack(LLM_BASE_URL=fake.base_url, **env)
    tmp = make_tempdir("bench-v1")

    # One user per stream slot (no two turns share a user's locks), each with a conversation and
    # an API key.
    users = 200
    sql = ("INSERT INTO users (username, display_name, password_hash, is_guest, role) "
           "SELECT 'bv' || substr(md5(random()::text || g), 1, 24), 'bench', "
           "'$argon2id$v=19$m=19456,t=2,p=1$dGVzdHRlc3R0ZXN0dGVzdA$dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q', "
           f"false, 'user' FROM generate_series(1, {users}) AS g RETURNING id")
    ids = [line.strip() for line in stack.pg.psql(sql, db=stack.database).splitlines()
           if len(line.strip()) == 36]
    api_file, v1_file = os.path.join(tmp, "api.tsv"), os.path.join(tmp, "v1.tsv")
    with open(api_file, "w") as api, open(v1_file, "w") as v1:
        for i, user_id in enumerate(ids):
            token = mint_token(user_id, ttl=7200)
            cid = stack.post("/api/v1/conversations", {"kind": "assistant"}, token=token).json()["id"]
            key = stack.post("/api/v1/keys", {"name": "bench"}, token=token).json()["key"]
            api.write(f'/api/v1/conversations/{cid}/messages\t{{"content": "hello {i}"}}\t'
                      f"Authorization: Bearer {token}\n")
            v1.write(f'/v1/chat/completions\t{{"model": "{DEFAULT_MODEL}", "stream": true, '
                     f'"messages": [{{"role": "user", "content": "hello {i}"}}]}}\t'
                     f"Authorization: Bearer {key}\n")

    def measure(path, marker):
        pids = [stack.master_pid()] + stack.worker_pids()
        before = cpu_seconds(pids)
        rows = run_client(stack.port, path, streams, rate, marker)
        used = cpu_seconds(pids) - before
        ttfd = [t for t, ok in rows if ok and t is not None]
        errors = sum(1 for _, ok in rows if not ok)
        return {"cpu_us": 1e6 * used / max(1, streams), "p50": percentile(ttfd, 50),
                "p99": percentile(ttfd, 99), "errors": errors}

    api_runs, v1_runs = [], []
    for _ in range(bench.rounds):
        api_runs.append(measure(api_file, "delta"))
        v1_runs.append(measure(v1_file, "openai"))
    api = sorted(api_runs, key=lambda r: r["cpu_us"])[len(api_runs) // 2]
    v1 = sorted(v1_runs, key=lambda r: r["cpu_us"])[len(v1_runs) // 2]
    bench.row(f"/api/v1 streamed reply: pool CPU per stream ({streams} at {rate:.0f}/s)",
              rate=api["cpu_us"], unit="µs",
              note=f"first delta p50 {api['p50']:.1f} ms, p99 {api['p99']:.1f} ms; {api['errors']} errors")
    bench.row("/v1 streamed completion: pool CPU per stream", rate=v1["cpu_us"], unit="µs",
              note=f"first delta p50 {v1['p50']:.1f} ms, p99 {v1['p99']:.1f} ms; {v1['errors']} errors")
    bench.row("/v1 CPU per stream as a share of /api/v1's",
              rate=100.0 * v1["cpu_us"] / api["cpu_us"] if api["cpu_us"] else 0, unit="%",
              note="below 100 %: the stateless path costs less, as expected")
    fake.close()
