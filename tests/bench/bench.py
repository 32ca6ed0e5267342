"""scripts/bench's driver: runs the benchmark sections and prints one table.

A section is a file tests/bench/sections/NN_name.py (run in NN order) with:

    TITLE = "what it compares"
    def run(bench):            # bench: the Bench below
        stack = bench.stack()  # chatd (workers + push + nginx) on loopback, real PostgreSQL
        r = bench.wrk(stack.url("/api/v1/health"))
        bench.row("GET /api/v1/health via the pool", r)
        bench.ratio("pool / baseline", r, other, target=0.8)

Adding a section is adding such a file; it may start its own baseline programs (bench.spawn), an
nginx in front of any FastCGI socket (bench.nginx_for), or measure something that is not HTTP at
all and report it with bench.row(name, rate=..., unit=...). A section names the programs it runs
beyond the stack (CMake targets, each built to the top of the build tree) in

    PROGRAMS = ("bench-stream-client", "fake-llm")

and `bench.py --build` (what scripts/bench runs) builds exactly the stack's programs and those of
the selected sections, so `scripts/bench -s 40_streams` works on a fresh clone; without --build, a
missing program stops the run with one line naming it and the command that builds it, before any
section starts. The CMake target bench-programs builds every section's (tests/bench/CMakeLists.txt).

Everything runs on loopback with the harness of the integration tests (tests/support/harness.py):
a private PostgreSQL cluster, the worker pool, the push daemon and nginx rendered from the dev
template, torn down at exit. Load comes from wrk with a fixed duration; its latency comes from
tests/bench/report.lua. Nothing here asserts speed: the table is for people (docs/performance.md).

Settings (environment): BENCH_DURATION seconds per measurement (10), BENCH_WARMUP seconds (2),
BENCH_CONNECTIONS (64), BENCH_WRK_THREADS (2), BENCH_WORKERS (2) and BENCH_THREADS_PER_WORKER (16)
for the pool and the baselines that mimic it, BENCH_ROUNDS (3) for sections that alternate their
cases and keep the median, BENCH_SECTIONS (a regex on section file names).
"""

import argparse
import glob
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import time

import harness
from harness import BUILD, SCRIPTS, Stack, free_port, make_tempdir, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SECTIONS_DIR = os.path.join(HERE, "sections")
REPORT_LUA = os.path.join(HERE, "report.lua")
REQUEST_LUA = os.path.join(HERE, "request.lua")  # Bench.request_script
HEALTH_BODY = '{"status":"ok"}'


def env_int(name, default):
    return int(os.environ.get(name, default))


def cpu_seconds(pids):
    """CPU time (user + system) used so far by these processes, all their threads included."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (threads included)
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values, p):
    """The p-th percentile of `values` (nearest rank); NaN for none."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def median(results):
    """The run with the median rate among several of the same measurement (BENCH_ROUNDS): on a
    shared machine, one run can be unlucky; alternating cases round by round and keeping the
    median of each makes comparisons fairer."""
    ranked = sorted(results, key=lambda r: r.rps)
    return ranked[len(ranked) // 2]


class Result:
    """One wrk run: totals and latency percentiles."""

    def __init__(self, fields):
        self.requests = fields["requests"]
        self.seconds = fields["duration_us"] / 1e6
        self.rps = self.requests / self.seconds if self.seconds else 0.0
        self.p50_ms = fields["p50_us"] / 1000.0
        self.p90_ms = fields["p90_us"] / 1000.0
        self.p99_ms = fields["p99_us"] / 1000.0
        self.max_ms = fields["max_us"] / 1000.0
        self.errors = sum(fields[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
        self.non_2xx = fields["status_errors"]
        self.cpu_us = None  # server CPU per request, when Bench.wrk was given the server's pids

    def __repr__(self):
        return f"<{self.rps:.0f} req/s p99 {self.p99_ms:.2f} ms>"


class Bench:
    """What sections get: stacks, wrk, baseline processes, and the table they fill."""

    def __init__(self, duration, warmup, connections, wrk_threads, workers, threads_per_worker):
        self.duration = duration
        self.warmup = warmup
        self.connections = connections
        self.wrk_threads = wrk_threads
        self.workers = workers
        self.threads_per_worker = threads_per_worker
        self.rounds = env_int("BENCH_ROUNDS", 3)  # for sections that alternate cases (see median)
        self.dir = make_tempdir("chatd-bench-")
        harness._cleanups.append(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        self.web_root = self._make_web_root()
        self.rows = []     # (section, name, rate, unit, p50, p99, note)
        self.ratios = []   # (name, value, target)
        self.section = ""
        self._stack = None
        self._stack_key = None

    # -- what sections use -----------------------------------------------------------------------

    def stack(self, pg=None, **env):
        """A running chatd stack with these settings on top of the bench's (the pool's shape, no
        rate limits, the bench's static files), on the shared PostgreSQL cluster of the run (fsync
        off) or on `pg` (a harness.Postgres, e.g. one with durable commits). One at a time: asking
        for other settings stops the previous stack."""
        settings = {
            "WORKERS": str(self.workers),
            "THREADS_PER_WORKER": str(self.threads_per_worker),
            "API_RATE_PER_SEC": "1000000",
            "AUTH_RATE_PER_MIN": "100000",
            "WEB_ROOT": self.web_root,
            "LOG_LEVEL": "info",
        }
        settings.update({k: str(v) for k, v in env.items()})
        key = (id(pg),) + tuple(sorted(settings.items()))
        if self._stack is not None and self._stack_key == key:
            return self._stack
        if self._stack is not None:
            self._stack.close()
        self._stack = Stack(pg=pg, env=settings).start()
        self._stack_key = key
        return self._stack

    def spawn(self, argv, name, env=None):
        """Starts a program for the rest of the run (killed at exit); its output goes to a log."""
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        proc = subprocess.Popen(argv, env=env or os.environ, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)

        def stop():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            log.close()

        harness._cleanups.append(stop)
        return proc

    def nginx_for(self, fcgi_addr, name):
        """An nginx rendered from the same template as chatd's (scripts/render-nginx-conf), in
        front of another FastCGI server; returns its base URL. Same locations, same limits, same
        logging: only the upstream differs."""
        prefix = os.path.join(self.dir, name)
        port = free_port()
        env = dict(os.environ, CHATD_PORT=str(port), CHATD_BIND="127.0.0.1", FCGI_ADDR=fcgi_addr,
                   PUSH_ADDR=f"127.0.0.1:{free_port()}", WEB_ROOT=self.web_root,
                   API_RATE_PER_SEC="1000000", AUTH_RATE_PER_MIN="100000",
                   ACCESS_LOG=os.path.join(prefix, "access.log"))
        subprocess.run([os.path.join(SCRIPTS, "render-nginx-conf"), prefix], env=env, check=True)
        self.spawn(["nginx", "-p", prefix, "-c", os.path.join(prefix, "nginx.conf"),
                    "-e", os.path.join(prefix, "error.log")], name, env=env)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _http_status(url + "/") is not None, what=f"{name} to answer")
        return url

    def nginx_unlimited(self, fcgi_addr, name):
        """nginx_for() with the per-address limit of /api/v1/auth/ out of reach, to measure those
        endpoints: nginx_unlimited("unix:" + stack.socket, name). A stack's own nginx limits them
        to AUTH_RATE_PER_MIN (at most 100,000/min, what chatd-workers' config accepts) with a
        burst of 10, and nginx counts a burst in milliseconds of its cached clock: whatever the
        rate, more than 10 requests from one address handled in the same millisecond get 429,
        which one wrk with a dozen connections does all the time. Here the rate is 60,000,000/min
        and the auth location's burst 100,000 (in a copy of nginx/snippets); everything else is
        the template's."""
        prefix = os.path.join(self.dir, name)
        port = free_port()
        env = dict(os.environ, CHATD_PORT=str(port), CHATD_BIND="127.0.0.1", FCGI_ADDR=fcgi_addr,
                   PUSH_ADDR=f"127.0.0.1:{free_port()}", WEB_ROOT=self.web_root,
                   API_RATE_PER_SEC="1000000", AUTH_RATE_PER_MIN="60000000",
                   ACCESS_LOG=os.path.join(prefix, "access.log"))
        subprocess.run([os.path.join(SCRIPTS, "render-nginx-conf"), prefix], env=env, check=True)
        snippets = os.path.join(prefix, "snippets")
        source = os.path.realpath(snippets)
        os.unlink(snippets)
        shutil.copytree(source, snippets)
        locations = os.path.join(snippets, "chatd-locations.conf")
        with open(locations) as f:
            text = f.read()
        auth_limit = re.compile(r"(limit_req zone=chatd_auth burst=)\d+")
        if len(auth_limit.findall(text)) != 1:
            raise RuntimeError(f"{locations}: expected one 'limit_req zone=chatd_auth burst=N'")
        with open(locations, "w") as f:
            f.write(auth_limit.sub(r"\g<1>100000", text))
        self.spawn(["nginx", "-p", prefix, "-c", os.path.join(prefix, "nginx.conf"),
                    "-e", os.path.join(prefix, "error.log")], name, env=env)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _http_status(url + "/") is not None, what=f"{name} to answer")
        return url

    def wrk(self, url, connections=None, duration=None, script=None, pids=None):
        """Measures `url` with wrk (after a warm-up run) and returns a Result. With `pids` (the
        server's processes), Result.cpu_us is the CPU time they spent per request (user + system,
        all threads): unlike the rate, it barely moves when neighbours load the machine."""
        c = connections or self.connections
        if self.warmup > 0:
            self._run_wrk(url, c, self.warmup, script)
        before = cpu_seconds(pids) if pids else 0.0
        r = self._run_wrk(url, c, duration or self.duration, script)
        if pids and r.requests:
            r.cpu_us = (cpu_seconds(pids) - before) * 1e6 / r.requests
        return r

    def request_script(self, name, method="GET", headers=None, bodies=()):
        """A wrk script (for wrk(..., script=)) that sends `method` with `headers` (a dict, e.g.
        Authorization, Content-Type) and `bodies` (strings; one is sent with every request, several
        in turn, none: no body), reporting like report.lua. Written to the bench's directory as
        NAME.lua; the logic is tests/bench/request.lua."""

        def lua_string(text):
            level = 0
            while f"]{'=' * level}]" in text:
                level += 1
            return f"[{'=' * level}[{text}]{'=' * level}]"

        path = os.path.join(self.dir, name + ".lua")
        with open(path, "w") as f:
            f.write(f"BENCH_METHOD = {lua_string(method)}\n")
            f.write("BENCH_HEADERS = {\n" + "".join(f"  [ {lua_string(k)} ] = {lua_string(v)},\n"
                                                  for k, v in (headers or {}).items()) + "}\n")
            f.write("BENCH_BODIES = {\n" + "".join(f"  {lua_string(b)},\n" for b in bodies) + "}\n")
            f.write(f"dofile({lua_string(REPORT_LUA)})\n")
            f.write(f"dofile({lua_string(REQUEST_LUA)})\n")
        return path

    def row(self, name, result=None, rate=None, unit="req/s", note=""):
        """Adds a line to the table: a wrk Result, or a rate measured some other way."""
        if result is not None:
            rate = result.rps
            if result.errors or result.non_2xx:
                note = (note + "; " if note else "") + f"{result.errors} errors, {result.non_2xx} non-2xx"
        self.rows.append((self.section, name, rate, unit,
                          result.p50_ms if result else None, result.p99_ms if result else None, note))
        print(f"  {name}: {rate:,.0f} {unit}" + (f", p99 {result.p99_ms:.2f} ms" if result else ""),
              file=sys.stderr, flush=True)

    def ratio(self, name, a, b, target=None):
        """Adds a ratio line (a / b, each a Result or a number) under the table."""
        va = a.rps if isinstance(a, Result) else a
        vb = b.rps if isinstance(b, Result) else b
        self.ratios.append((name, va / vb if vb else float("nan"), target))

    # -- internals -------------------------------------------------------------------------------

    def _make_web_root(self):
        root = os.path.join(self.dir, "web")
        os.makedirs(os.path.join(root, "assets"))
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<!doctype html><title>bench</title>\n")
        # The same bytes as /api/v1/health's body, so that static and dynamic replies compare.
        with open(os.path.join(root, "assets", "health.json"), "w") as f:
            f.write(HEALTH_BODY)
        os.chmod(self.dir, 0o755)
        return root

    def _run_wrk(self, url, connections, duration, script):
        threads = min(self.wrk_threads, connections)
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
                "-s", script or REPORT_LUA, url]
        out = subprocess.run(argv, capture_output=True, text=True, check=True,
                             timeout=duration + 60).stdout
        line = next((l for l in out.splitlines() if l.startswith("BENCH_RESULT ")), None)
        if line is None:
            raise RuntimeError("wrk printed no BENCH_RESULT line:\n" + out)
        return Result({k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])})


def _http_status(url):
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except Exception as e:  # noqa: BLE001 - an HTTP error status is an answer too
        return getattr(e, "code", None)


# What every section runs: the stack (tests/support/harness.py: the pool, the push daemon, and
# chatctl for the migrations).
STACK_PROGRAMS = ("chatd-workers", "chatd-push", "chatctl")


def programs_for(sections):
    """The CMake targets the given sections run, the stack's first, each once, in order."""
    out = list(STACK_PROGRAMS)
    for _, module in sections:
        for program in getattr(module, "PROGRAMS", ()):
            if program not in out:
                out.append(program)
    return out


def build_programs(programs):
    """Builds just these targets in BUILD (configured by scripts/bench)."""
    print(f"== bench: building {' '.join(programs)}", file=sys.stderr, flush=True)
    r = subprocess.run(["cmake", "--build", BUILD, "-j", str(os.cpu_count() or 2), "--target", *programs],
                       stdout=sys.stderr)
    if r.returncode != 0:
        print(f"bench: building {' '.join(programs)} in {BUILD} failed", file=sys.stderr)
        return False
    return True


def missing_programs(sections):
    """(section, program) pairs whose program is not in BUILD."""
    missing = []
    for name, module in [("stack", None)] + list(sections):
        programs = STACK_PROGRAMS if module is None else getattr(module, "PROGRAMS", ())
        for program in programs:
            # The tests' own tools live under tests/ in the build tree (the harness's ws-client).
            if not any(os.access(os.path.join(BUILD, where, program), os.X_OK) for where in ("", "tests")):
                missing.append((name, program))
    return missing


def load_sections(pattern):
    sections = []
    for path in sorted(glob.glob(os.path.join(SECTIONS_DIR, "[0-9]*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if pattern and not re.search(pattern, name):
            continue
        spec = importlib.util.spec_from_file_location(f"bench_section_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sections.append((name, module))
    return sections


def machine_description():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    return (f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}; "
            f"{nginx_version.replace('nginx version: ', '')}; {wrk_version.split(' [')[0]}")


def print_table(bench, settings):
    headers = ("section", "measurement", "rate", "p50 ms", "p99 ms", "notes")
    lines = []
    for section, name, rate, unit, p50, p99, note in bench.rows:
        lines.append((section, name, f"{rate:,.0f} {unit}",
                      "" if p50 is None else f"{p50:.2f}", "" if p99 is None else f"{p99:.2f}", note))
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(headers)]

    def fmt(cells):
        return "| " + " | ".join(c.ljust(w) if i < 2 or i == 5 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    print(f"chatd benchmark, {time.strftime('%Y-%m-%d %H:%M')}: {machine_description()}")
    print(settings)
    print()
    print(fmt(headers))
    print("|" + "|".join(("-" * (w + 1) + ":") if 1 < i < 5 else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|")
    for l in lines:
        print(fmt(l))
    if bench.ratios:
        print()
        for name, value, target in bench.ratios:
            verdict = ""
            if target is not None:
                verdict = f" (target >= {target:.2f}: {'met' if value >= target else 'NOT met'})"
            print(f"- {name}: {value:.2f}{verdict}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-s", "--sections", default=os.environ.get("BENCH_SECTIONS", ""),
                        help="regex on section file names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    parser.add_argument("--build", action="store_true",
                        help="build the programs the selected sections run first (scripts/bench does)")
    args = parser.parse_args()
    sections = load_sections(args.sections)
    if args.list:
        for name, module in sections:
            print(f"{name}: {getattr(module, 'TITLE', '')}")
        return 0
    if not sections:
        print("bench: no section matches", file=sys.stderr)
        return 2
    if args.build and not build_programs(programs_for(sections)):
        return 1
    missing = missing_programs(sections)
    for section, program in missing:
        print(f"bench: {section} needs {os.path.join(BUILD, program)}, which is not built "
              f"(cmake --build {BUILD} --target {program}, or run scripts/bench)", file=sys.stderr)
    if missing:
        return 2
    bench = Bench(duration=env_int("BENCH_DURATION", 10), warmup=env_int("BENCH_WARMUP", 2),
                  connections=env_int("BENCH_CONNECTIONS", 64), wrk_threads=env_int("BENCH_WRK_THREADS", 2),
                  workers=env_int("BENCH_WORKERS", 2), threads_per_worker=env_int("BENCH_THREADS_PER_WORKER", 16))
    settings = (f"wrk -t{bench.wrk_threads} -c{bench.connections} -d{bench.duration}s (after a {bench.warmup}s "
                f"warm-up); pool and baselines: {bench.workers} processes x {bench.threads_per_worker} threads; "
                f"build: {BUILD}")
    for name, module in sections:
        bench.section = name.split("_", 1)[-1]
        print(f"bench: {name}: {getattr(module, 'TITLE', '')}", file=sys.stderr, flush=True)
        module.run(bench)
    print_table(bench, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
