"""The foundation through nginx: health, readiness, problem+json everywhere, request ids in logs,
configuration errors, migrations, and /ready following PostgreSQL down and up again."""

import os
import subprocess
import unittest

from harness import BUILD, SOURCE, Postgres, Stack, create_user, wait_until

PROBLEM_KEYS = {"type", "title", "status", "code", "detail", "request_id"}
DEFAULT_ASSISTANT = "00000000-0000-0000-0000-000000000001"


class FoundationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def assertProblem(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.content_type.startswith("application/problem+json"), r.headers)
        body = r.json()
        self.assertTrue(PROBLEM_KEYS <= body.keys(), body)
        self.assertEqual(body["status"], status)
        self.assertEqual(body["code"], code)
        self.assertEqual(body["request_id"], r.headers["x-request-id"])
        return body

    def test_health(self):
        r = self.stack.get("/api/v1/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ok"})
        self.assertRegex(r.headers["x-request-id"], r"^[0-9a-f]{32}$")

    def test_ready(self):
        r = self.stack.get("/api/v1/ready")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "ok")
        self.assertEqual(r.json()["checks"]["database"], "ok")
        self.assertEqual(r.json()["checks"]["migrations"], "ok")
        self.assertIn(r.json()["checks"]["llm"], ("configured", "missing"))

    def test_unknown_api_path_is_problem_404_with_request_id_in_log(self):
        r = self.stack.get("/api/v1/nope")
        body = self.assertProblem(r, 404, "NOT_FOUND")
        rid = body["request_id"]
        line = wait_until(lambda: next((l for l in self.stack.worker_log_lines() if l.get("request_id") == rid), None),
                          what="the request's log line")
        self.assertEqual(line["status"], 404)
        self.assertEqual(line["method"], "GET")
        self.assertIn("duration_ms", line)
        self.assertIn("route", line)

    def test_wrong_method_is_405_with_allow(self):
        r = self.stack.request("DELETE", "/api/v1/health")
        self.assertProblem(r, 405, "METHOD_NOT_ALLOWED")
        self.assertIn("GET", r.headers.get("allow", ""))

    def test_nginx_own_errors_are_problem_json(self):
        self.assertProblem(self.stack.get("/assets/missing.js"), 404, "NOT_FOUND")
        self.assertProblem(self.stack.request("POST", "/index.html", raw=b"x"), 405, "METHOD_NOT_ALLOWED")
        big = b"{" + b" " * (100 * 1024) + b"}"
        self.assertProblem(self.stack.request("POST", "/api/v1/health", raw=big,
                                              headers={"Content-Type": "application/json"}),
                           413, "PAYLOAD_TOO_LARGE")
        # Headers beyond large_client_header_buffers (nginx's 494) are a malformed request.
        self.assertProblem(self.stack.get("/api/v1/health", headers={"X-Big": "b" * 40000}), 400,
                           "VALIDATION_ERROR")

    def test_status_and_metrics_are_served_on_loopback(self):
        status = self.stack.status(full=True)
        self.assertEqual(status["total_processes"], 2)
        self.assertEqual(len(status["processes"]), 2)
        metrics = self.stack.get("/metrics")
        self.assertEqual(metrics.status, 200)
        self.assertIn(b"chatd_pool_processes 2", metrics.body)
        self.assertIn(b'chatd_http_requests_total{route="GET /api/v1/health",status="200"}', metrics.body)

    def test_cors_allowlist(self):
        allowed = f"http://127.0.0.1:{self.stack.port}"
        r = self.stack.get("/api/v1/health", headers={"Origin": allowed})
        self.assertEqual(r.headers.get("access-control-allow-origin"), allowed)
        r = self.stack.get("/api/v1/health", headers={"Origin": "https://evil.example"})
        self.assertNotIn("access-control-allow-origin", r.headers)
        r = self.stack.request("OPTIONS", "/api/v1/health", headers={
            "Origin": allowed, "Access-Control-Request-Method": "POST"})
        self.assertEqual(r.status, 204)
        self.assertIn("POST", r.headers.get("access-control-allow-methods", ""))

    # Every location that carries CORS: /api/, /api/v1/auth/, /api/v1/auth/me, document uploads.
    CORS_PATHS = [("GET", "/api/v1/health"), ("GET", "/api/v1/info"), ("POST", "/api/v1/auth/login"),
                  ("GET", "/api/v1/auth/me"), ("POST", f"/api/v1/assistants/{DEFAULT_ASSISTANT}/documents")]

    def test_cors_headers_only_for_an_allowed_origin_at_every_location(self):
        port = self.stack.port
        allowed = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        refused = ["null", "https://evil.example", f"https://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}",
                   "http://127.0.0.1", f"http://127.0.0.1:{port}.evil.example", f"http://127.0.0.1.evil.example:{port}",
                   f"http://evil127.0.0.1:{port}", f"http://localhost:{port}/", f"http://localhost:{port}@evil.example",
                   f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port},https://evil.example", ""]
        body = b'{"username": "nobody", "password": "not-a-real-password"}'
        for method, path in self.CORS_PATHS:
            for origin in allowed + refused + [None]:
                what = f"{method} {path} from {origin!r}"
                headers = {"Content-Type": "application/json"} if method == "POST" else {}
                if origin is not None:
                    headers["Origin"] = origin
                r = self.stack.request(method, path, headers=headers, raw=body if method == "POST" else None)
                self.assertNotEqual(r.status, 500, what)
                self.assertEqual(r.headers.get("vary"), "Origin", what)
                self.assertIn("x-request-id", r.headers, what)
                cors = {k: v for k, v in r.headers.items() if k.startswith("access-control-")}
                if origin in allowed:
                    self.assertEqual(cors, {"access-control-allow-origin": origin,
                                            "access-control-allow-credentials": "true",
                                            "access-control-expose-headers": "X-Request-ID, Retry-After, "
                                            "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"}, what)
                else:
                    self.assertEqual(cors, {}, what)
                # The preflight of the same request.
                pre = {"Access-Control-Request-Method": method,
                       "Access-Control-Request-Headers": "authorization, content-type"}
                if origin is not None:
                    pre["Origin"] = origin
                r = self.stack.request("OPTIONS", path, headers=pre)
                self.assertEqual(r.status, 204, f"preflight {what}: {r}")
                self.assertEqual(r.headers.get("vary"), "Origin", what)
                self.assertIn("x-request-id", r.headers, what)
                self.assertEqual(r.headers.get("x-content-type-options"), "nosniff", what)
                cors = {k: v for k, v in r.headers.items() if k.startswith("access-control-")}
                if origin in allowed:
                    self.assertEqual(cors, {"access-control-allow-origin": origin,
                                            "access-control-allow-credentials": "true",
                                            "access-control-allow-methods": "GET, POST, PATCH, DELETE, OPTIONS",
                                            "access-control-allow-headers":
                                                "Authorization, Content-Type, Accept, X-Request-ID",
                                            "access-control-max-age": "600"}, f"preflight {what}")
                else:
                    self.assertEqual(cors, {}, f"preflight {what}")


class InfoTest(unittest.TestCase):
    """GET /api/v1/info: public, the limits that validation really enforces, the LLM's state."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(env={"MAX_MESSAGE_CHARS": "300", "LLM_MODEL": "demo-model-1"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def info(self):
        r = self.stack.get("/api/v1/info")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith("application/json"), r.headers)
        self.assertEqual(r.headers.get("cache-control"), "no-cache")
        return r.json()

    def test_shape_without_authentication(self):
        body = self.info()
        self.assertEqual(set(body), {"version", "limits", "llm"})
        self.assertRegex(body["version"], r"^\d+\.\d+\.\d+$")
        with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
            self.assertIn(f"project(chatd VERSION {body['version']} ", f.read())
        self.assertEqual(body["limits"], {"max_message_chars": 300, "max_document_bytes": 1048576,
                                          "max_group_members": 100, "max_title_chars": 200,
                                          "max_system_prompt_chars": 32000})
        self.assertEqual(body["llm"], {"configured": False, "demo": False, "model": "demo-model-1"})
        # It is an API route like any other: CORS by allowlist, the request id, the API's rate zone.
        origin = f"http://127.0.0.1:{self.stack.port}"
        r = self.stack.get("/api/v1/info", headers={"Origin": origin})
        self.assertEqual(r.headers.get("access-control-allow-origin"), origin)
        self.assertRegex(r.headers["x-request-id"], r"^[0-9a-f]{32}$")
        line = wait_until(lambda: next((l for l in self.stack.worker_log_lines()
                                        if l.get("request_id") == r.headers["x-request-id"]), None),
                          what="the request's log line")
        self.assertEqual(line["route"], "GET /api/v1/info")

    def test_limits_are_the_enforced_ones(self):
        limits = self.info()["limits"]
        u = create_user(self.stack)
        owner = u.token

        def field_errors(r):
            self.assertEqual(r.status, 400, r)
            return {e["field"] for e in r.json().get("errors", [])}

        # Conversation titles.
        n = limits["max_title_chars"]
        r = self.stack.post("/api/v1/conversations", {"kind": "assistant", "title": "t" * (n + 1)}, token=owner)
        self.assertIn("title", field_errors(r))
        r = self.stack.post("/api/v1/conversations", {"kind": "assistant", "title": "t" * n}, token=owner)
        self.assertEqual(r.status, 201, r)
        conversation = r.json()["id"]
        # Messages (MAX_MESSAGE_CHARS, here 300), in characters, not bytes.
        n = limits["max_message_chars"]
        r = self.stack.post(f"/api/v1/conversations/{conversation}/messages", {"content": "é" * (n + 1)},
                            token=owner)
        self.assertIn("content", field_errors(r))
        r = self.stack.post(f"/api/v1/conversations/{conversation}/messages", {"content": "é" * n},
                            token=owner)
        self.assertEqual(r.status, 201, r)
        # System prompts.
        n = limits["max_system_prompt_chars"]
        r = self.stack.post("/api/v1/assistants", {"name": "a", "system_prompt": "s" * (n + 1)}, token=owner)
        self.assertIn("system_prompt", field_errors(r))
        r = self.stack.post("/api/v1/assistants", {"name": "a", "system_prompt": "s" * n}, token=owner)
        self.assertEqual(r.status, 201, r)
        assistant = r.json()["id"]
        # Documents, in bytes of UTF-8.
        n = limits["max_document_bytes"]
        path = f"/api/v1/assistants/{assistant}/documents"
        r = self.stack.post(path, {"filename": "big.txt", "content": "word " * (n // 5) + "x" * (n % 5 + 1)},
                            token=owner)
        self.assertIn("content", field_errors(r))
        r = self.stack.post(path, {"filename": "big.txt", "content": "word " * (n // 5) + "x" * (n % 5)},
                            token=owner)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["bytes"], n)
        # Group members, the owner included.
        n = limits["max_group_members"]
        others = self.stack.pg.psql(
            f"INSERT INTO users (username, display_name, password_hash, is_guest, role) SELECT 'm' || i "
            f"|| substr(md5(random()::text), 1, 8), 'member', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$"
            f"aGFzaGhhc2g', false, 'user' FROM generate_series(1, {n}) i "
            f"RETURNING id", db=self.stack.database).split()
        self.assertEqual(len(others), n)
        r = self.stack.post("/api/v1/conversations", {"kind": "group", "title": "g", "member_ids": others},
                            token=owner)
        self.assertIn("member_ids", field_errors(r))
        r = self.stack.post("/api/v1/conversations", {"kind": "group", "title": "g", "member_ids": others[1:]},
                            token=owner)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(len(r.json()["members"]), n)

    def test_demo_and_configured_follow_the_configuration(self):
        stack = Stack(env={"LLM_DEMO": "1", "LLM_BASE_URL": "http://127.0.0.1:9/v1"}).start()
        try:
            body = stack.get("/api/v1/info").json()
            self.assertEqual(body["llm"], {"configured": True, "demo": True, "model": "gpt-4o-mini"})
            self.assertEqual(body["limits"]["max_message_chars"], 5000)
        finally:
            stack.close()


class WorkersDownTest(unittest.TestCase):
    def test_502_is_problem_json_when_the_pool_is_down(self):
        stack = Stack().start()
        try:
            self.assertEqual(stack.stop_workers(), 0)
            r = stack.get("/api/v1/health")
            self.assertEqual(r.status, 502, r)
            self.assertTrue(r.content_type.startswith("application/problem+json"))
            self.assertEqual(r.json()["request_id"], r.headers["x-request-id"])
            self.assertIn("retry-after", r.headers)
        finally:
            stack.close()


class ConfigurationTest(unittest.TestCase):
    def run_bin(self, argv, **env):
        full = {"PATH": os.environ["PATH"], "JWT_SECRET": "k" * 40, "LISTEN": "/nonexistent/x.sock"}
        full.update(env)
        return subprocess.run(argv, env=full, capture_output=True, text=True, timeout=30)

    def test_short_jwt_secret_stops_workers_with_one_clear_line(self):
        r = self.run_bin([os.path.join(BUILD, "chatd-workers")], JWT_SECRET="short")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("JWT_SECRET", r.stderr)
        self.assertIn("32 bytes", r.stderr)

    def test_check_config_names_each_bad_variable(self):
        r = self.run_bin([os.path.join(BUILD, "chatctl"), "check-config"], WORKERS="zero",
                         LLM_API_KEY="your-api-key-here", LOG_FORMAT="xml")
        self.assertNotEqual(r.returncode, 0)
        for name in ("WORKERS", "LLM_API_KEY", "LOG_FORMAT"):
            self.assertIn(name, r.stderr)
        ok = self.run_bin([os.path.join(BUILD, "chatctl"), "check-config"])
        self.assertEqual(ok.returncode, 0, ok.stderr)

    def test_llm_demo_must_be_a_switch(self):
        r = self.run_bin([os.path.join(BUILD, "chatctl"), "check-config"], LLM_DEMO="yes")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LLM_DEMO", r.stderr)
        self.assertIn("1|0|true|false", r.stderr)
        ok = self.run_bin([os.path.join(BUILD, "chatctl"), "check-config"], LLM_DEMO="true")
        self.assertEqual(ok.returncode, 0, ok.stderr)

    def test_missing_jwt_secret(self):
        env = {"PATH": os.environ["PATH"]}
        r = subprocess.run([os.path.join(BUILD, "chatctl"), "check-config"], env=env, capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("JWT_SECRET", r.stderr)


class MigrationTest(unittest.TestCase):
    def test_migrate_is_idempotent_and_reports_status(self):
        pg = Postgres()
        try:
            pg.psql("CREATE DATABASE m")
            env = dict(os.environ, DATABASE_URL=pg.url("m"), MIGRATIONS_DIR=os.path.join(SOURCE, "sql"))
            chatctl = os.path.join(BUILD, "chatctl")
            status = subprocess.run([chatctl, "migrate", "--status"], env=env, capture_output=True, text=True)
            self.assertEqual(status.returncode, 0, status.stderr)
            self.assertIn("pending", status.stdout)
            first = subprocess.run([chatctl, "migrate"], env=env, capture_output=True, text=True)
            self.assertEqual(first.returncode, 0, first.stderr)
            self.assertIn("applied 0001_init.sql", first.stdout)
            tables = pg.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema='public'", db="m")
            second = subprocess.run([chatctl, "migrate"], env=env, capture_output=True, text=True)
            self.assertEqual(second.returncode, 0)
            self.assertIn("up to date", second.stdout)
            self.assertEqual(tables, pg.psql(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema='public'", db="m"))
            status = subprocess.run([chatctl, "migrate", "--status"], env=env, capture_output=True, text=True)
            self.assertIn("0 pending", status.stdout)
        finally:
            pg.close()


class DatabaseOutageTest(unittest.TestCase):
    def test_ready_follows_postgres_down_and_up_without_restarting_workers(self):
        pg = Postgres()
        stack = Stack(pg=pg).start()
        try:
            self.assertEqual(stack.get("/api/v1/ready").status, 200)
            pids = sorted(stack.worker_pids())
            pg.stop()
            r = stack.get("/api/v1/ready")
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.json()["checks"]["database"], "error")
            self.assertEqual(r.json()["status"], "degraded")
            self.assertEqual(stack.get("/api/v1/health").status, 200)
            pg.start()
            wait_until(lambda: stack.get("/api/v1/ready").status == 200, what="/ready back to 200")
            # Every session of every worker recovers: many requests in a row all succeed.
            for _ in range(20):
                self.assertEqual(stack.get("/api/v1/ready").status, 200)
            self.assertEqual(sorted(stack.worker_pids()), pids)
        finally:
            stack.close()
            pg.close()


if __name__ == "__main__":
    unittest.main()
