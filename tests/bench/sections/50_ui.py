"""The web UI in Chromium (issue 11), on the same kind of stack: the real UI (built from web/ by
scripts/build-web into the bench's directory) served by the stack's nginx, the fake LLM upstream.
The browser side is tests/bench/ui_probe.mjs (Debian's chromium driven by playwright-core from
tests/e2e/node_modules, with the e2e tests' helpers); see it for how each figure is taken.

- First render of a long conversation (BENCH_UI_MESSAGES, 2,000 messages seeded through the API):
  a cold load of /c/<id> in a new browser context (empty cache), from navigation start to the
  first frame after the newest message is in the DOM; and a switch to it from the sidebar of the
  running app. BENCH_UI_RUNS (5) of each after one warm-up; the median and the worst.
- The longest main-thread task (PerformanceObserver 'longtask', which reports tasks over 50 ms)
  while one reply of BENCH_UI_TOKENS (20000) tokens streams at BENCH_UI_TOKENS_PER_S (100)
  tokens/s, from the send until the reply is stored and rendered; the fake's reply is one long
  paragraph (its words joined by spaces), the worst case for re-parsing the unfinished block.
  The note says when the longest tasks ran (seconds after the send).

Targets: first render under 500 ms; no long task over 50 ms while streaming."""

import json
import os
import subprocess

import harness
from harness import FakeLlm

PROGRAMS = ("fake-llm",)
TITLE = "Web UI in Chromium: first render of a 2,000-message conversation, long tasks while a long reply streams"

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "..", "ui_probe.mjs")


def run(bench):
    messages = int(os.environ.get("BENCH_UI_MESSAGES", 2000))
    runs = int(os.environ.get("BENCH_UI_RUNS", 5))
    tokens = int(os.environ.get("BENCH_UI_TOKENS", 20000))
    rate = int(os.environ.get("BENCH_UI_TOKENS_PER_S", 100))
    web = os.path.join(bench.dir, "ui-web")
    subprocess.run([os.path.join(harness.SCRIPTS, "build-web"), web], check=True, stdout=subprocess.DEVNULL)
    os.chmod(bench.dir, 0o755)
    fake = FakeLlm()
    stream_s = tokens / rate
    stack = bench.stack(
        WEB_ROOT=web, LLM_BASE_URL=fake.base_url, LLM_MODEL="demo", LLM_DEMO="1",
        LLM_RATE_PER_MIN="100000", DAILY_TOKEN_QUOTA="1000000000", MAX_INFLIGHT_PER_USER="100",
        MAX_CONTEXT_TOKENS=str(max(8192, tokens * 2 + 4096)), MAX_RESPONSE_TOKENS=str(max(1024, tokens + 1024)),
        LLM_TIMEOUT_S=str(int(stream_s * 2 + 120)), WS_MAX_PER_USER="100")
    opts = {"url": stack.url("").rstrip("/"), "messages": messages, "runs": runs, "tokens": tokens, "tokens_per_s": rate}
    out = subprocess.run(["node", PROBE, json.dumps(opts)], check=True, capture_output=True, text=True,
                         timeout=messages / 10 + stream_s * 3 + 600)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    cold, switch, stream = r["cold_load_ms"], r["switch_ms"], r["stream"]
    bench.row(f"first render, cold load of a {messages:,}-message chat (median of {runs})", rate=cold["median"], unit="ms",
              note=f"worst {cold['max']:.0f} ms; app script done at {cold['script_ran_median']:.0f} ms, "
                   f"first page of messages in at {cold['messages_fetched_median']:.0f} ms; "
                   f"{r['dom_messages']} messages in the DOM")
    bench.row(f"first render, switching to it in the app (median of {runs})", rate=switch["median"], unit="ms",
              note=f"worst {switch['max']:.0f} ms")
    bench.row(f"longest main-thread task while {tokens:,} tokens stream at {rate}/s", rate=stream["longest_task_ms"], unit="ms",
              note=f"{stream['long_tasks']} tasks over 50 ms, {stream['long_tasks_over_100ms']} over 100 ms; "
                   f"reply {stream['status']} in {stream['seconds']:.0f} s, {stream['rendered_words']:,} words rendered"
                   + (f"; longest at {', '.join(f'{at} s ({ms} ms)' for at, ms in stream['longest_tasks_at_s'])}"
                      if stream.get("longest_tasks_at_s") else ""))
    bench.ratio("first render (cold) under 500 ms: 500 / median", 500.0, max(cold["median"], 1e-9), target=1.0)
    bench.ratio("no long task over 50 ms while streaming: 50 / longest", 50.0, max(stream["longest_task_ms"], 1e-9), target=1.0)
