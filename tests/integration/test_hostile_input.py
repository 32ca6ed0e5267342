"""Hostile bytes in the URL through nginx: every path parameter of every route and every query
parameter of every list, with NUL, invalid and overlong UTF-8, surrogates, huge values and
non-UUIDs. Nothing is ever a 500, every answer is problem+json with the request id, an id that
cannot exist is 404 NOT_FOUND (API.md), and a request nginx refuses before routing (a NUL or a
malformed escape in the path) is nginx's 400 VALIDATION_ERROR, in the same shape.

The route table is read from the sources (workers/api/*.cc), so a new route with a path parameter
fails this test until it is listed here with a body."""

import glob
import os
import re
import socket
import unittest
import uuid

from harness import SOURCE, Stack, create_user

PROBLEM_KEYS = {"type", "title", "status", "code", "detail", "request_id"}

# Path segments that can never be an id. nginx decodes the escapes before it passes the path on
# (so "%2e" is a "." segment, which it resolves: a different path, not a bad id).
BAD_IDS = [
    "%00", "abc%00", "%00abc", "%ff", "%fe%ff", "%C0%AF", "%ED%A0%80", "%F4%90%80%80",
    "%E2%80%8B", "x" * 3000, "null", "-1", "0", "%20", "%09", "%25", "%27%3B--",
    "00000000-0000-0000-0000-00000000000g", "00000000-0000-0000-0000-0000000000001",
    "{00000000-0000-0000-0000-000000000001}", "00000000000000000000000000000001",
]

# Query values: each must get 200 (ignored or accepted) or 400, never anything else.
BAD_QUERY_VALUES = [
    "%00", "1%00", "%ff", "%C0%AF", "%ED%A0%80", "x" * 3000, "-1", "1e3", "0x10", "99999999999999999999",
    "", "%20", "+1", "1.5", "true", "%", "%zz", "null",
]

# Every route with a path parameter: method, pattern, body.
PATH_ROUTES = [
    ("GET", "/api/v1/assistants/{id}", None),
    ("PATCH", "/api/v1/assistants/{id}", {"name": "n"}),
    ("DELETE", "/api/v1/assistants/{id}", None),
    ("GET", "/api/v1/assistants/{id}/prompts", None),
    ("POST", "/api/v1/assistants/{id}/prompts", {"title": "t", "content": "c"}),
    ("PATCH", "/api/v1/assistants/{id}/prompts/{pid}", {"title": "t"}),
    ("DELETE", "/api/v1/assistants/{id}/prompts/{pid}", None),
    ("GET", "/api/v1/assistants/{id}/documents", None),
    ("POST", "/api/v1/assistants/{id}/documents", {"filename": "a.txt", "content": "x"}),
    ("DELETE", "/api/v1/assistants/{id}/documents/{did}", None),
    ("GET", "/api/v1/conversations/{id}", None),
    ("PATCH", "/api/v1/conversations/{id}", {"title": "t"}),
    ("DELETE", "/api/v1/conversations/{id}", None),
    ("POST", "/api/v1/conversations/{id}/members", None),  # body filled in with a real user
    ("DELETE", "/api/v1/conversations/{id}/members/{user_id}", None),
    ("GET", "/api/v1/conversations/{id}/messages", None),
    ("POST", "/api/v1/conversations/{id}/messages", {"content": "hi"}),
    ("POST", "/api/v1/conversations/{id}/messages/{mid}/regenerate", None),
    ("PATCH", "/api/v1/conversations/{id}/messages/{mid}", {"content": "edited"}),
    ("POST", "/api/v1/conversations/{id}/stop", None),
    ("DELETE", "/api/v1/keys/{id}", None),
    ("GET", "/api/v1/conversations/{id}/export", None),
    ("POST", "/api/v1/conversations/{id}/shares", None),
    ("GET", "/api/v1/conversations/{id}/shares", None),
    ("DELETE", "/api/v1/shares/{id}", None),
    ("GET", "/api/v1/shared/{token}", None),
]


def routes_in_sources():
    """Every (method, pattern) registered by workers/api/*.cc."""
    found = set()
    for path in glob.glob(os.path.join(SOURCE, "workers", "api", "*.cc")):
        with open(path) as f:
            for method, pattern in re.findall(r'"(GET|POST|PATCH|PUT|DELETE)",\s*"(/api/v1/[^"]*)"', f.read()):
                found.add((method, pattern))
    return found


class HostileInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()
        cls.alice = create_user(cls.stack)
        cls.bob = create_user(cls.stack)
        s, token = cls.stack, cls.alice.token
        a = s.post("/api/v1/assistants", {"name": "A"}, token=token).json()
        p = s.post(f"/api/v1/assistants/{a['id']}/prompts", {"title": "t", "content": "c"}, token=token).json()
        d = s.post(f"/api/v1/assistants/{a['id']}/documents", {"filename": "d.txt", "content": "doc"},
                   token=token).json()
        g = s.post("/api/v1/conversations", {"kind": "group", "title": "G", "member_ids": [cls.bob.id]},
                   token=token).json()
        m = s.post(f"/api/v1/conversations/{g['id']}/messages", {"content": "hello"}, token=token).json()
        cls.real = {"id": None, "pid": p["id"], "did": d["id"], "user_id": cls.bob.id, "mid": m["message"]["id"]}
        cls.assistant_id, cls.conversation_id = a["id"], g["id"]

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def assertProblem(self, r, what):
        self.assertNotEqual(r.status, 500, what)
        self.assertTrue(r.content_type.startswith("application/problem+json"), f"{what}: {r} {r.headers}")
        body = r.json()
        self.assertTrue(PROBLEM_KEYS <= body.keys(), f"{what}: {body}")
        self.assertEqual(body["status"], r.status, what)
        self.assertEqual(body["request_id"], r.headers["x-request-id"], what)
        return body

    def fill(self, pattern, bad_name, bad_value):
        out = pattern
        for name in re.findall(r"\{(\w+)\}", pattern):
            if name == bad_name:
                value = bad_value
            elif name == "id":
                value = self.assistant_id if pattern.startswith("/api/v1/assistants") else self.conversation_id
            else:
                value = self.real[name]
            out = out.replace("{" + name + "}", value)
        return out

    def test_every_route_with_a_path_parameter_is_covered(self):
        with_params = {(m, p) for m, p in routes_in_sources() if "{" in p}
        self.assertEqual(with_params, {(m, p) for m, p, _ in PATH_ROUTES})

    def test_nul_in_a_path_is_a_problem_400_from_nginx(self):
        # The black-box finding: GET /api/v1/conversations/%00 was nginx's HTML 500.
        for path in ("/api/v1/conversations/%00", "/api/v1/assistants/%00", "/api/v1/conversations/%00/messages",
                     "/api/v1/assistants/%00/prompts", "/api/v1/assistants/%00/documents", "/api/v1/%00",
                     "/%00", "/assets/%00.js", "/api/v1/conversations/%zz", "/api/../../etc/passwd"):
            r = self.stack.get(path, token=self.alice.token)
            self.assertEqual(r.status, 400, path)
            self.assertEqual(self.assertProblem(r, path)["code"], "VALIDATION_ERROR", path)

    def test_a_request_line_too_long_is_a_problem_414_from_nginx(self):
        # Past large_client_header_buffers nginx answers itself; it was its HTML page.
        for path in ("/api/v1/conversations?q=" + "a" * 40000, "/" + "b" * 40000):
            r = self.stack.get(path, token=self.alice.token)
            self.assertEqual(r.status, 414, path[:40])
            self.assertEqual(self.assertProblem(r, path[:40])["code"], "VALIDATION_ERROR")

    def test_raw_bytes_in_the_request_line(self):
        # Bytes a client library would escape, sent as they are.
        for raw in (b"/api/v1/conversations/\xff\xfe", b"/api/v1/conversations/\xc0\xaf",
                    b"/api/v1/assistants/\x01", b"/api/v1/conversations/\x7f"):
            with socket.create_connection(("127.0.0.1", self.stack.port), timeout=10) as c:
                c.sendall(b"GET " + raw + b" HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
                          self.alice.token.encode() + b"\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := c.recv(65536):
                    data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            self.assertIn(status, (400, 404), raw)
            self.assertIn(b"application/problem+json", head, raw)
            self.assertIn(b'"request_id"', body, raw)

    def test_every_path_parameter_with_hostile_values(self):
        token = self.alice.token
        for method, pattern, body in PATH_ROUTES:
            if pattern.endswith("/members") and method == "POST":
                body = {"user_id": self.bob.id}
            for name in re.findall(r"\{(\w+)\}", pattern):
                for bad in BAD_IDS + [str(uuid.uuid4()), str(uuid.uuid4()).upper()]:
                    path = self.fill(pattern, name, bad)
                    what = f"{method} {pattern} with {name}={bad[:40]!r}"
                    r = self.stack.request(method, path, body=body, token=token)
                    problem = self.assertProblem(r, what)
                    if "%00" in bad:
                        self.assertEqual((r.status, problem["code"]), (400, "VALIDATION_ERROR"), what)
                    else:
                        self.assertEqual((r.status, problem["code"]), (404, "NOT_FOUND"), what)

    def test_every_query_parameter_with_hostile_values(self):
        token = self.alice.token
        a, c = self.assistant_id, self.conversation_id
        lists = [
            ("/api/v1/conversations", ["archived", "q", "limit", "cursor"]),
            (f"/api/v1/conversations/{c}/messages", ["before_seq", "after_seq", "limit", "cursor"]),
            ("/api/v1/users", ["q", "limit", "cursor"]),
            ("/api/v1/assistants", ["limit", "cursor"]),
            (f"/api/v1/assistants/{a}/prompts", ["limit", "cursor"]),
            (f"/api/v1/assistants/{a}/documents", ["limit", "cursor"]),
            ("/api/v1/usage", ["days"]),
            ("/api/v1/health", ["x"]),
            ("/api/v1/info", ["x"]),
            (f"/api/v1/conversations/{c}", ["x"]),
        ]
        for path, params in lists:
            for name in params:
                for value in BAD_QUERY_VALUES:
                    for query in (f"{name}={value}", f"{name}={value}&{name}=1", f"{value}={value}"):
                        what = f"GET {path}?{query[:60]}"
                        r = self.stack.get(f"{path}?{query}", token=token)
                        self.assertIn(r.status, (200, 400), f"{what}: {r}")
                        if r.status == 400:
                            self.assertEqual(self.assertProblem(r, what)["code"], "VALIDATION_ERROR", what)
                        else:
                            self.assertTrue(r.content_type.startswith("application/json"), what)
                            r.json()


if __name__ == "__main__":
    unittest.main()
