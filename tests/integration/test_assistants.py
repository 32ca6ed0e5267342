"""Assistants, prompts and knowledge documents through nginx (API.md "Assistants"): exact shapes,
validation per field, who may see and change what (404 for other users, 403 for the built-in
default, admins), prompt ordering and the assembled system context, document upload limits, and
full-text retrieval of a rare word from a 1 MiB document.

Users are created directly in the database (harness.create_user), so these tests do not depend on
the /auth endpoints. Retrieval and the system context are reached through the test-only routes
(CHATD_TEST_ROUTES=1) that call the same functions the reply path will call."""

import json
import random
import re
import unittest
import urllib.parse

from harness import Stack, create_user

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DEFAULT_ID = "00000000-0000-0000-0000-000000000001"
ASSISTANT_KEYS = {"id", "name", "description", "model", "temperature", "max_tokens", "system_prompt",
                  "owner_id", "created_at", "updated_at"}
PROMPT_KEYS = {"id", "assistant_id", "title", "content", "position", "enabled", "created_at", "updated_at"}
DOCUMENT_KEYS = {"id", "filename", "content_type", "bytes", "chunks", "created_at"}
MIB = 1024 * 1024


def filler(n_bytes, seed=7, avoid=()):
    """Deterministic English-like prose of exactly n_bytes ASCII bytes, in paragraphs."""
    rng = random.Random(seed)
    vocab = ["river", "mountain", "garden", "library", "engine", "harbor", "winter", "signal",
             "copper", "lantern", "meadow", "orchard", "compass", "kettle", "bridge", "canvas",
             "pepper", "timber", "velvet", "anchor", "basket", "candle", "feather", "marble",
             "the", "of", "and", "a", "to", "in", "is", "was", "for", "with", "on", "by"]
    vocab = [w for w in vocab if w not in avoid]
    parts, size = [], 0
    while size < n_bytes:
        sentence = " ".join(rng.choice(vocab) for _ in range(rng.randint(6, 16))).capitalize() + "."
        sep = "\n\n" if rng.random() < 0.15 else " "
        parts.append(sentence + sep)
        size += len(sentence) + len(sep)
    text = "".join(parts)[:n_bytes]
    return "X" + text[1:-1] + "X"  # no surrounding whitespace (content is trimmed)


class AssistantsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(env={"CHATD_TEST_ROUTES": "1"}).start()
        cls.alice = create_user(cls.stack)
        cls.bob = create_user(cls.stack)
        cls.admin = create_user(cls.stack, role="admin")

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    # -- helpers -----------------------------------------------------------------------------------

    def call(self, method, path, body=None, user=None, **kw):
        user = user or self.alice
        return self.stack.request(method, "/api/v1" + path, body=body, token=user.token, **kw)

    def ok(self, method, path, body=None, user=None, status=200):
        r = self.call(method, path, body, user)
        self.assertEqual(r.status, status, r)
        return r.json() if r.body else None

    def problem(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.content_type.startswith("application/problem+json"), r.headers)
        body = r.json()
        self.assertEqual(body["status"], status)
        self.assertEqual(body["code"], code)
        self.assertEqual(body["request_id"], r.headers["x-request-id"])
        return body

    def invalid(self, r, *fields):
        body = self.problem(r, 400, "VALIDATION_ERROR")
        got = {e["field"] for e in body.get("errors", [])}
        for f in fields:
            self.assertIn(f, got, body)
        return body

    def new_assistant(self, user=None, **fields):
        body = {"name": "Helper"}
        body.update(fields)
        return self.ok("POST", "/assistants", body, user, status=201)

    def new_prompt(self, aid, user=None, **fields):
        body = {"title": "T", "content": "C"}
        body.update(fields)
        return self.ok("POST", f"/assistants/{aid}/prompts", body, user, status=201)

    def upload(self, aid, content, filename="notes.txt", content_type=None, user=None):
        body = {"filename": filename, "content": content}
        if content_type:
            body["content_type"] = content_type
        # Raw UTF-8 (json.dumps would escape every non-ASCII character to six bytes).
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return self.call("POST", f"/assistants/{aid}/documents", user=user, raw=raw,
                         headers={"Content-Type": "application/json; charset=utf-8"})

    def retrieve(self, aid, q, k=4):
        qs = urllib.parse.urlencode({"assistant_id": aid, "q": q, "k": k})
        r = self.stack.get("/api/v1/_test/retrieve?" + qs)
        self.assertEqual(r.status, 200, r)
        return r.json()["items"]

    def context(self, aid):
        r = self.stack.get("/api/v1/_test/assistant-context?assistant_id=" + aid)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def psql(self, sql):
        return self.stack.pg.psql(sql, db=self.stack.database).strip()

    def walk(self, path, limit, user=None):
        items, cursor, pages = [], None, 0
        while True:
            sep = "&" if "?" in path else "?"
            url = f"{path}{sep}limit={limit}" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            page = self.ok("GET", url, user=user)
            self.assertEqual(set(page), {"items", "next_cursor"})
            self.assertLessEqual(len(page["items"]), limit)
            items += page["items"]
            pages += 1
            self.assertLess(pages, 100)
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    # -- assistants --------------------------------------------------------------------------------

    def test_create_get_and_list_have_exact_shapes(self):
        user = create_user(self.stack)
        r = self.call("POST", "/assistants", {"name": "  Tutor  ", "description": "Explains maths.",
                                               "model": "gpt-4o", "temperature": 0.7, "max_tokens": 512,
                                               "system_prompt": "Be patient."}, user)
        self.assertEqual(r.status, 201, r)
        a = r.json()
        self.assertEqual(set(a), ASSISTANT_KEYS)
        self.assertRegex(a["id"], UUID)
        self.assertEqual(r.headers.get("location"), "/api/v1/assistants/" + a["id"])
        self.assertEqual((a["name"], a["description"], a["model"], a["temperature"], a["max_tokens"],
                          a["system_prompt"], a["owner_id"]),
                         ("Tutor", "Explains maths.", "gpt-4o", 0.7, 512, "Be patient.", user.id))
        self.assertRegex(a["created_at"], TS)
        self.assertEqual(a["created_at"], a["updated_at"])
        self.assertEqual(self.ok("GET", "/assistants/" + a["id"], user=user), a)
        self.assertEqual(self.ok("GET", "/assistants/" + a["id"].upper(), user=user), a)
        listing = self.ok("GET", "/assistants", user=user)
        self.assertEqual(set(listing), {"items", "next_cursor"})
        self.assertIsNone(listing["next_cursor"])
        self.assertEqual([x["id"] for x in listing["items"]], [DEFAULT_ID, a["id"]])
        self.assertEqual(listing["items"][1], a)
        default = listing["items"][0]
        self.assertEqual(set(default), ASSISTANT_KEYS)
        self.assertIsNone(default["owner_id"])
        self.assertRegex(default["created_at"], TS)

    def test_defaults_of_optional_fields(self):
        a = self.new_assistant(name="Plain")
        self.assertEqual((a["description"], a["model"], a["temperature"], a["max_tokens"], a["system_prompt"]),
                         ("", None, None, None, ""))
        b = self.new_assistant(name="Nulls", model=None, temperature=None, max_tokens=None)
        self.assertEqual((b["model"], b["temperature"], b["max_tokens"]), (None, None, None))
        c = self.new_assistant(name="Edges", temperature=0, max_tokens=100000)
        self.assertEqual((c["temperature"], c["max_tokens"]), (0, 100000))
        d = self.new_assistant(name="Two", temperature=2)
        self.assertEqual(d["temperature"], 2)

    def test_patch_changes_only_what_is_sent_and_null_resets(self):
        a = self.new_assistant(name="Patchy", description="d", model="m1", temperature=1.0, max_tokens=10,
                               system_prompt="sp")
        p = self.ok("PATCH", "/assistants/" + a["id"], {"temperature": 1.5})
        self.assertEqual(p["temperature"], 1.5)
        for k in ("name", "description", "model", "max_tokens", "system_prompt", "owner_id", "created_at"):
            self.assertEqual(p[k], a[k], k)
        self.assertRegex(p["updated_at"], TS)
        self.assertGreaterEqual(p["updated_at"], a["updated_at"])
        p = self.ok("PATCH", "/assistants/" + a["id"], {"model": None, "temperature": None, "max_tokens": None})
        self.assertEqual((p["model"], p["temperature"], p["max_tokens"]), (None, None, None))
        p = self.ok("PATCH", "/assistants/" + a["id"], {"name": "Renamed", "description": "", "system_prompt": ""})
        self.assertEqual((p["name"], p["description"], p["system_prompt"]), ("Renamed", "", ""))
        self.assertEqual(self.ok("GET", "/assistants/" + a["id"]), p)
        # name, description and system_prompt have no default to reset to
        self.invalid(self.call("PATCH", "/assistants/" + a["id"], {"name": None}), "name")
        self.invalid(self.call("PATCH", "/assistants/" + a["id"], {"description": None}), "description")
        self.invalid(self.call("PATCH", "/assistants/" + a["id"], {"temperature": 3, "colour": "red"}),
                     "temperature", "colour")
        self.assertEqual(self.ok("GET", "/assistants/" + a["id"]), p)  # a rejected PATCH changes nothing

    def test_validation_errors_name_the_field(self):
        cases = [
            ({}, "name"),
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "n" * 101}, "name"),
            ({"name": 5}, "name"),
            ({"name": None}, "name"),
            ({"name": "ok", "description": "d" * 2001}, "description"),
            ({"name": "ok", "description": ["x"]}, "description"),
            ({"name": "ok", "model": ""}, "model"),
            ({"name": "ok", "model": "m" * 201}, "model"),
            ({"name": "ok", "model": 4}, "model"),
            ({"name": "ok", "temperature": -0.1}, "temperature"),
            ({"name": "ok", "temperature": 2.01}, "temperature"),
            ({"name": "ok", "temperature": "1"}, "temperature"),
            ({"name": "ok", "temperature": True}, "temperature"),
            ({"name": "ok", "max_tokens": 0}, "max_tokens"),
            ({"name": "ok", "max_tokens": 100001}, "max_tokens"),
            ({"name": "ok", "max_tokens": 1.5}, "max_tokens"),
            ({"name": "ok", "max_tokens": "5"}, "max_tokens"),
            ({"name": "ok", "system_prompt": "s" * 32001}, "system_prompt"),
            ({"name": "ok", "owner_id": self.bob.id}, "owner_id"),
            ({"name": "ok", "id": DEFAULT_ID}, "id"),
            ({"name": "ok", "unknown": 1}, "unknown"),
        ]
        before = self.psql("SELECT count(*) FROM assistants")
        for body, field in cases:
            with self.subTest(body=str(body)[:80]):
                self.invalid(self.call("POST", "/assistants", body), field)
        body = self.invalid(self.call("POST", "/assistants", {"name": "", "temperature": 9, "x": 1}),
                            "name", "temperature", "x")
        self.assertEqual(len(body["errors"]), 3)
        self.assertEqual(self.psql("SELECT count(*) FROM assistants"), before)
        # limits are in characters, not bytes
        a = self.new_assistant(name="é" * 100, description="日" * 2000)
        self.assertEqual(a["name"], "é" * 100)

    def test_non_json_malformed_and_non_object_bodies(self):
        r = self.call("POST", "/assistants", raw=b'{"name":"x"}', headers={"Content-Type": "text/plain"})
        self.problem(r, 415, "UNSUPPORTED_MEDIA_TYPE")
        r = self.call("PATCH", "/assistants/" + DEFAULT_ID, raw=b'{"name":"x"}',
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, user=self.admin)
        self.problem(r, 415, "UNSUPPORTED_MEDIA_TYPE")
        json_h = {"Content-Type": "application/json"}
        self.invalid(self.call("POST", "/assistants", raw=b'{"name": "x",', headers=json_h), "body")
        self.invalid(self.call("POST", "/assistants", raw=b'["name"]', headers=json_h), "body")
        self.invalid(self.call("POST", "/assistants", raw=b'{"name":"a","name":"b"}', headers=json_h), "body")
        self.invalid(self.call("POST", "/assistants", raw=b'{"name":"\xff"}', headers=json_h), "body")
        self.invalid(self.call("POST", "/assistants", {"name": "a\u0000b"}), "name")

    def test_unauthenticated_and_bad_ids(self):
        r = self.stack.get("/api/v1/assistants")
        self.problem(r, 401, "UNAUTHENTICATED")
        r = self.stack.post("/api/v1/assistants", {"name": "x"})
        self.problem(r, 401, "UNAUTHENTICATED")
        for path in ("/assistants/not-a-uuid", "/assistants/123/prompts", "/assistants/x/documents",
                     f"/assistants/{DEFAULT_ID}/prompts/zzz", "/assistants/00000000-0000-0000-0000-000000000009"):
            with self.subTest(path=path):
                self.problem(self.call("GET" if "prompts/" not in path else "DELETE", path), 404, "NOT_FOUND")

    def test_list_pagination_walks_every_assistant_once(self):
        user = create_user(self.stack)
        made = [self.new_assistant(user, name=f"A{i}")["id"] for i in range(7)]
        for limit in (1, 2, 3, 50):
            with self.subTest(limit=limit):
                ids = [a["id"] for a in self.walk("/assistants", limit, user)]
                self.assertEqual(ids, [DEFAULT_ID] + made)
        for bad in ("0", "101", "abc", "-1", "1.5", ""):
            with self.subTest(limit=bad):
                self.invalid(self.call("GET", "/assistants?limit=" + bad, user=user), "limit")
        for bad in ("zzz", "1_2", "12_" + made[0].upper(), "01_" + made[0], "_" + made[0]):
            with self.subTest(cursor=bad):
                self.invalid(self.call("GET", "/assistants?cursor=" + urllib.parse.quote(bad), user=user), "cursor")

    def test_another_user_gets_404_on_everything(self):
        a = self.new_assistant(name="Private")
        aid = a["id"]
        prompt = self.new_prompt(aid)
        doc = self.upload(aid, "Secret knowledge about zebras.")
        self.assertEqual(doc.status, 201, doc)
        did = doc.json()["id"]
        pid = prompt["id"]
        attempts = [
            ("GET", f"/assistants/{aid}", None),
            ("PATCH", f"/assistants/{aid}", {"name": "Mine now"}),
            ("DELETE", f"/assistants/{aid}", None),
            ("GET", f"/assistants/{aid}/prompts", None),
            ("POST", f"/assistants/{aid}/prompts", {"title": "t", "content": "c"}),
            ("PATCH", f"/assistants/{aid}/prompts/{pid}", {"enabled": False}),
            ("DELETE", f"/assistants/{aid}/prompts/{pid}", None),
            ("GET", f"/assistants/{aid}/documents", None),
            ("POST", f"/assistants/{aid}/documents", {"filename": "x.txt", "content": "x"}),
            ("DELETE", f"/assistants/{aid}/documents/{did}", None),
        ]
        for method, path, body in attempts:
            with self.subTest(method=method, path=path):
                self.problem(self.call(method, path, body, user=self.bob), 404, "NOT_FOUND")
        self.assertNotIn(aid, [x["id"] for x in self.ok("GET", "/assistants", user=self.bob)["items"]])
        # nothing changed
        self.assertEqual(self.ok("GET", f"/assistants/{aid}"), a)
        self.assertEqual(self.ok("GET", f"/assistants/{aid}/prompts")["items"], [prompt])
        self.assertEqual([d["id"] for d in self.ok("GET", f"/assistants/{aid}/documents")["items"]], [did])
        # a prompt or document addressed through another (own) assistant is not found either
        mine = self.new_assistant(user=self.bob)["id"]
        self.problem(self.call("PATCH", f"/assistants/{mine}/prompts/{pid}", {"enabled": False}, self.bob),
                     404, "NOT_FOUND")
        self.problem(self.call("DELETE", f"/assistants/{mine}/prompts/{pid}", user=self.bob), 404, "NOT_FOUND")
        self.problem(self.call("DELETE", f"/assistants/{mine}/documents/{did}", user=self.bob), 404, "NOT_FOUND")
        self.assertEqual(self.ok("GET", f"/assistants/{aid}/prompts")["items"], [prompt])

    def test_admin_sees_and_changes_other_users_assistants(self):
        a = self.new_assistant(name="Watched")
        self.assertEqual(self.ok("GET", "/assistants/" + a["id"], user=self.admin)["id"], a["id"])
        self.assertNotIn(a["id"], [x["id"] for x in self.ok("GET", "/assistants", user=self.admin)["items"]])
        p = self.ok("PATCH", "/assistants/" + a["id"], {"description": "moderated"}, user=self.admin)
        self.assertEqual((p["description"], p["owner_id"]), ("moderated", self.alice.id))
        self.ok("DELETE", "/assistants/" + a["id"], user=self.admin, status=204)
        self.problem(self.call("GET", "/assistants/" + a["id"]), 404, "NOT_FOUND")

    def test_default_assistant_is_visible_to_all_and_changed_only_by_admins(self):
        for user in (self.alice, self.bob, create_user(self.stack, guest=True)):
            d = self.ok("GET", "/assistants/" + DEFAULT_ID, user=user)
            self.assertEqual((d["id"], d["owner_id"], d["name"]), (DEFAULT_ID, None, "Assistant"))
            self.assertEqual(self.ok("GET", f"/assistants/{DEFAULT_ID}/prompts", user=user)["next_cursor"], None)
            self.ok("GET", f"/assistants/{DEFAULT_ID}/documents", user=user)
        before = self.ok("GET", "/assistants/" + DEFAULT_ID)
        self.problem(self.call("PATCH", "/assistants/" + DEFAULT_ID, {"name": "Mine"}), 403, "FORBIDDEN")
        self.problem(self.call("DELETE", "/assistants/" + DEFAULT_ID), 403, "FORBIDDEN")
        self.problem(self.call("POST", f"/assistants/{DEFAULT_ID}/prompts", {"title": "t", "content": "c"}),
                     403, "FORBIDDEN")
        self.problem(self.upload(DEFAULT_ID, "text"), 403, "FORBIDDEN")
        self.assertEqual(self.ok("GET", "/assistants/" + DEFAULT_ID), before)
        # admins may change it, but never delete it
        p = self.ok("PATCH", "/assistants/" + DEFAULT_ID, {"description": "Tuned by ops.", "temperature": 0.3},
                    user=self.admin)
        self.assertEqual((p["description"], p["temperature"], p["owner_id"]), ("Tuned by ops.", 0.3, None))
        self.problem(self.call("DELETE", "/assistants/" + DEFAULT_ID, user=self.admin), 409, "CONFLICT")
        restored = self.ok("PATCH", "/assistants/" + DEFAULT_ID,
                           {"description": before["description"], "temperature": before["temperature"]},
                           user=self.admin)
        self.assertEqual(restored["description"], before["description"])
        self.assertEqual(self.ok("GET", "/assistants/" + DEFAULT_ID, user=self.bob)["description"],
                         before["description"])

    def test_delete_cascades_and_keeps_conversations(self):
        a = self.new_assistant(name="Doomed")
        aid = a["id"]
        self.new_prompt(aid)
        self.assertEqual(self.upload(aid, "Alpha beta gamma.\n\nDelta epsilon.").status, 201)
        conv = self.psql(f"INSERT INTO conversations (kind, assistant_id, owner_id) VALUES "
                         f"('assistant', '{aid}', '{self.alice.id}') RETURNING id").splitlines()[0]
        self.ok("DELETE", "/assistants/" + aid, status=204)
        self.problem(self.call("GET", "/assistants/" + aid), 404, "NOT_FOUND")
        self.problem(self.call("DELETE", "/assistants/" + aid), 404, "NOT_FOUND")
        self.problem(self.call("GET", f"/assistants/{aid}/prompts"), 404, "NOT_FOUND")
        counts = self.psql(f"SELECT (SELECT count(*) FROM prompts WHERE assistant_id = '{aid}') || ',' || "
                           f"(SELECT count(*) FROM documents WHERE assistant_id = '{aid}') || ',' || "
                           f"(SELECT count(*) FROM document_chunks WHERE assistant_id = '{aid}')")
        self.assertEqual(counts, "0,0,0")
        self.assertEqual(self.psql(f"SELECT coalesce(assistant_id::text, 'null') FROM conversations "
                                   f"WHERE id = '{conv}'"), "null")

    # -- prompts -----------------------------------------------------------------------------------

    def test_prompts_crud_ordering_and_enable(self):
        aid = self.new_assistant(name="Prompted", system_prompt="You are terse.")["id"]
        p0 = self.new_prompt(aid, title="Tone", content="Be friendly.")
        self.assertEqual(set(p0), PROMPT_KEYS)
        self.assertEqual((p0["assistant_id"], p0["title"], p0["content"], p0["position"], p0["enabled"]),
                         (aid, "Tone", "Be friendly.", 0, True))
        self.assertRegex(p0["created_at"], TS)
        self.assertEqual(p0["created_at"], p0["updated_at"])
        p1 = self.new_prompt(aid, title="Format", content="Use lists.")
        self.assertEqual(p1["position"], 1)  # after the last
        p5 = self.new_prompt(aid, title="Late", content="Sign off.", position=5, enabled=False)
        self.assertEqual((p5["position"], p5["enabled"]), (5, False))
        p6 = self.new_prompt(aid, title="Next", content="Be brief.")
        self.assertEqual(p6["position"], 6)
        first = self.new_prompt(aid, title="First", content="Greet.", position=0)  # ties: by creation
        listed = self.ok("GET", f"/assistants/{aid}/prompts")
        self.assertIsNone(listed["next_cursor"])
        self.assertEqual([p["id"] for p in listed["items"]], [p0["id"], first["id"], p1["id"], p5["id"], p6["id"]])
        self.assertEqual(listed["items"][0], p0)
        self.assertEqual([p["id"] for p in self.walk(f"/assistants/{aid}/prompts", 2)],
                         [p["id"] for p in listed["items"]])

        self.assertEqual(self.context(aid)["system_context"],
                         "You are terse.\n\nBe friendly.\n\nGreet.\n\nUse lists.\n\nBe brief.")
        # move, disable and enable
        moved = self.ok("PATCH", f"/assistants/{aid}/prompts/{p0['id']}", {"position": 10})
        self.assertEqual((moved["position"], moved["title"], moved["content"], moved["enabled"]),
                         (10, "Tone", "Be friendly.", True))
        self.assertGreaterEqual(moved["updated_at"], p0["updated_at"])
        self.ok("PATCH", f"/assistants/{aid}/prompts/{p1['id']}", {"enabled": False})
        self.ok("PATCH", f"/assistants/{aid}/prompts/{p5['id']}", {"enabled": True, "title": "Later",
                                                                     "content": "Sign off politely."})
        self.assertEqual([p["title"] for p in self.ok("GET", f"/assistants/{aid}/prompts")["items"]],
                         ["First", "Format", "Later", "Next", "Tone"])
        self.assertEqual(self.context(aid)["system_context"],
                         "You are terse.\n\nGreet.\n\nSign off politely.\n\nBe brief.\n\nBe friendly.")
        self.ok("DELETE", f"/assistants/{aid}/prompts/{first['id']}", status=204)
        self.problem(self.call("DELETE", f"/assistants/{aid}/prompts/{first['id']}"), 404, "NOT_FOUND")
        self.problem(self.call("PATCH", f"/assistants/{aid}/prompts/{first['id']}", {"enabled": True}),
                     404, "NOT_FOUND")
        self.assertEqual(len(self.ok("GET", f"/assistants/{aid}/prompts")["items"]), 4)

    def test_prompt_validation(self):
        aid = self.new_assistant(name="Strict prompts")["id"]
        cases = [
            ({"content": "c"}, "title"),
            ({"title": "t"}, "content"),
            ({"title": "", "content": "c"}, "title"),
            ({"title": "t" * 201, "content": "c"}, "title"),
            ({"title": "t", "content": ""}, "content"),
            ({"title": "t", "content": "c" * 32001}, "content"),
            ({"title": "t", "content": "c", "position": -1}, "position"),
            ({"title": "t", "content": "c", "position": 1.5}, "position"),
            ({"title": "t", "content": "c", "position": "1"}, "position"),
            ({"title": "t", "content": "c", "enabled": "yes"}, "enabled"),
            ({"title": "t", "content": "c", "enabled": None}, "enabled"),
            ({"title": "t", "content": "c", "assistant_id": aid}, "assistant_id"),
        ]
        for body, field in cases:
            with self.subTest(body=str(body)[:80]):
                self.invalid(self.call("POST", f"/assistants/{aid}/prompts", body), field)
        # 32000 characters of 2 bytes each, as raw UTF-8 (64,000 bytes: within the 64 KiB body cap)
        raw = json.dumps({"title": "t" * 200, "content": "ü" * 32000}, ensure_ascii=False).encode("utf-8")
        r = self.call("POST", f"/assistants/{aid}/prompts", raw=raw, headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 201, r)
        p = r.json()
        self.assertEqual(p["content"], "ü" * 32000)
        raw = json.dumps({"title": "t", "content": "ü" * 32001}, ensure_ascii=False).encode("utf-8")
        self.invalid(self.call("POST", f"/assistants/{aid}/prompts", raw=raw,
                               headers={"Content-Type": "application/json"}), "content")
        self.invalid(self.call("PATCH", f"/assistants/{aid}/prompts/{p['id']}", {"title": None}), "title")
        self.invalid(self.call("PATCH", f"/assistants/{aid}/prompts/{p['id']}", {"position": -3}), "position")
        self.assertEqual(self.ok("GET", f"/assistants/{aid}/prompts")["items"], [p])

    def test_system_context_of_assistant_without_prompts_and_default(self):
        a = self.new_assistant(name="Ctx", model="m-x", temperature=0.2, max_tokens=77)
        c = self.context(a["id"])
        self.assertEqual(c, {"assistant_id": a["id"], "name": "Ctx", "model": "m-x", "temperature": 0.2,
                             "max_tokens": 77, "system_context": ""})
        b = self.new_assistant(name="Only prompts")
        self.new_prompt(b["id"], content="One.")
        self.new_prompt(b["id"], content="Off.", enabled=False)
        self.assertEqual(self.context(b["id"])["system_context"], "One.")
        d = self.context(DEFAULT_ID)
        self.assertTrue(d["system_context"].startswith("You are Assistant"))
        self.assertIsNone(d["model"])
        r = self.stack.get("/api/v1/_test/assistant-context?assistant_id=00000000-0000-0000-0000-0000000000ff")
        self.problem(r, 404, "NOT_FOUND")

    # -- documents ---------------------------------------------------------------------------------

    def test_document_upload_list_delete(self):
        aid = self.new_assistant(name="Librarian")["id"]
        text = "# Guide\n\nWelcome to the guide.\n\n## Setup\n\nInstall the thing. Naïve café ☕."
        r = self.upload(aid, text, filename="guide.md")
        self.assertEqual(r.status, 201, r)
        d = r.json()
        self.assertEqual(set(d), DOCUMENT_KEYS)
        self.assertEqual(r.headers.get("location"), f"/api/v1/assistants/{aid}/documents/{d['id']}")
        self.assertEqual((d["filename"], d["content_type"], d["bytes"], d["chunks"]),
                         ("guide.md", "text/markdown", len(text.encode("utf-8")), 2))
        self.assertRegex(d["created_at"], TS)
        r2 = self.upload(aid, "Plain words.", filename="README", content_type="text/plain")
        self.assertEqual(r2.status, 201, r2)
        r3 = self.upload(aid, "# Not a heading in plain text\n\nbody", filename="x.md", content_type="text/plain")
        self.assertEqual((r3.json()["content_type"], r3.json()["chunks"]), ("text/plain", 1))
        listing = self.ok("GET", f"/assistants/{aid}/documents")
        self.assertEqual([x["id"] for x in listing["items"]], [d["id"], r2.json()["id"], r3.json()["id"]])
        self.assertEqual(listing["items"][0], d)  # no content in the list
        self.assertEqual([x["id"] for x in self.walk(f"/assistants/{aid}/documents", 1)],
                         [x["id"] for x in listing["items"]])
        stored = self.psql(f"SELECT count(*) || ',' || min(chunk_index) || ',' || max(chunk_index) "
                           f"FROM document_chunks WHERE document_id = '{d['id']}'")
        self.assertEqual(stored, "2,0,1")
        self.ok("DELETE", f"/assistants/{aid}/documents/{d['id']}", status=204)
        self.problem(self.call("DELETE", f"/assistants/{aid}/documents/{d['id']}"), 404, "NOT_FOUND")
        self.assertEqual(len(self.ok("GET", f"/assistants/{aid}/documents")["items"]), 2)
        self.assertEqual(self.psql(f"SELECT count(*) FROM document_chunks WHERE document_id = '{d['id']}'"), "0")

    def test_layout_is_kept_byte_for_byte(self):
        # A document's and a prompt's layout is content: trailing newlines, an indented first
        # line and CRLF line endings are stored (and counted in `bytes`) exactly as sent.
        aid = self.new_assistant(name="Exact", system_prompt="  indented\r\nsecond line\n\n")["id"]
        self.assertEqual(self.ok("GET", f"/assistants/{aid}")["system_prompt"], "  indented\r\nsecond line\n\n")
        for text in ["# Title\n\nbody\n", "line one\r\nline two\r\n\r\n", "    code first\n", "x" * 68 + "\n"]:
            with self.subTest(text=text[:20]):
                r = self.upload(aid, text, filename="exact.md")
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.json()["bytes"], len(text.encode("utf-8")))
                stored = self.psql(f"SELECT octet_length(content) FROM documents WHERE id = '{r.json()['id']}'")
                self.assertEqual(stored, str(len(text.encode("utf-8"))))
        p = self.ok("POST", f"/assistants/{aid}/prompts", {"title": "T", "content": "keep\n\tthis\n"}, status=201)
        self.assertEqual(p["content"], "keep\n\tthis\n")
        # Control characters other than newline, tab and carriage return still go.
        r = self.upload(aid, "a\u0001b\u007f\n", filename="c.txt")
        self.assertEqual(r.json()["bytes"], 3)

    def test_document_validation(self):
        aid = self.new_assistant(name="Picky")["id"]
        path = f"/assistants/{aid}/documents"
        cases = [
            ({"content": "x"}, "filename"),
            ({"filename": "a.txt"}, "content"),
            ({"filename": "", "content": "x"}, "filename"),
            ({"filename": "f" * 256, "content": "x"}, "filename"),
            ({"filename": "dir/a.txt", "content": "x"}, "filename"),
            ({"filename": "..\\a.txt", "content": "x"}, "filename"),
            ({"filename": "a\u0001.txt", "content": "x"}, "filename"),
            ({"filename": "a\u0085.txt", "content": "x"}, "filename"),
            ({"filename": "..", "content": "x"}, "filename"),
            ({"filename": "a.txt", "content": ""}, "content"),
            ({"filename": "a.txt", "content": "  \n "}, "content"),
            ({"filename": "a.txt", "content": "a\u0000b"}, "content"),
            ({"filename": "a.txt", "content": 12}, "content"),
            ({"filename": "a.txt", "content": "x", "content_type": "text/html"}, "content_type"),
            ({"filename": "a.txt", "content": "x", "content_type": "application/pdf"}, "content_type"),
            ({"filename": "a.txt", "content": "x", "content_type": None}, "content_type"),
            ({"filename": "a.txt", "content": "x", "extra": True}, "extra"),
        ]
        for body, field in cases:
            with self.subTest(body=str(body)[:80]):
                self.invalid(self.call("POST", path, body), field)
        self.invalid(self.call("POST", path, raw=b'{"filename":"a.txt","content":"\xc3\x28"}',
                               headers={"Content-Type": "application/json"}), "body")
        self.problem(self.call("POST", path, raw=b'{"filename":"a.txt","content":"x"}',
                               headers={"Content-Type": "text/plain"}), 415, "UNSUPPORTED_MEDIA_TYPE")
        self.assertEqual(self.ok("GET", path)["items"], [])
        ok = self.upload(aid, "x", filename="名前 (v2).txt")
        self.assertEqual(ok.status, 201, ok)
        self.assertEqual(ok.json()["filename"], "名前 (v2).txt")

    def test_one_mib_document_accepted_and_larger_rejected(self):
        aid = self.new_assistant(name="Big")["id"]
        content = filler(MIB)
        r = self.upload(aid, content, filename="big.txt")
        self.assertEqual(r.status, 201, r)
        d = r.json()
        self.assertEqual(d["bytes"], MIB)
        self.assertGreater(d["chunks"], 800)
        self.assertEqual(self.psql(f"SELECT count(*) FROM document_chunks WHERE document_id = '{d['id']}'"),
                         str(d["chunks"]))
        self.assertEqual(self.psql(f"SELECT max(char_length(content)) <= 1200 FROM document_chunks "
                                   f"WHERE document_id = '{d['id']}'"), "t")
        # multi-byte: 1 MiB of bytes, fewer characters, still accepted
        wide = ("ü" * (MIB // 2))
        self.assertEqual(self.upload(aid, wide, filename="wide.txt").status, 201)
        # content over 1 MiB inside a body under 2 MiB: a validation error on the field
        r = self.upload(aid, filler(MIB + 1), filename="over.txt")
        self.invalid(r, "content")
        r = self.upload(aid, "ü" * (MIB // 2) + "x", filename="over.txt")
        self.invalid(r, "content")
        # a body over 2 MiB: 413
        r = self.upload(aid, filler(2 * MIB + 10), filename="huge.txt")
        self.problem(r, 413, "PAYLOAD_TOO_LARGE")
        self.assertEqual(len(self.ok("GET", f"/assistants/{aid}/documents")["items"]), 2)

    def test_retrieval_finds_a_rare_word_in_a_1_mib_document(self):
        aid = self.new_assistant(name="Searcher")["id"]
        base = filler(MIB - 400, seed=11)
        middle = base.find("\n\n", len(base) // 2) + 2
        secret = "The zanzibarian quokka keeps the lighthouse key under a blue stone.\n\n"
        content = base[:middle] + secret + base[middle:]
        content = content[:MIB]
        r = self.upload(aid, content, filename="haystack.txt")
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        other = self.new_assistant(name="Other", user=self.bob)["id"]
        self.assertEqual(self.upload(other, "A zanzibarian quokka lives here too.", user=self.bob).status, 201)

        hits = self.retrieve(aid, "Where does the zanzibarian quokka keep the key?")
        self.assertGreaterEqual(len(hits), 1)
        top = hits[0]
        self.assertEqual(set(top), {"document_id", "filename", "chunk_index", "rank", "excerpt", "content"})
        self.assertEqual((top["document_id"], top["filename"]), (doc["id"], "haystack.txt"))
        self.assertIn("zanzibarian quokka", top["content"])
        self.assertGreater(top["rank"], 0)
        self.assertLessEqual(len(hits), 4)
        # (the overlap may repeat the sentence at the start of the next chunk)
        holders = self.psql(f"SELECT chunk_index FROM document_chunks WHERE document_id = '{doc['id']}' "
                            f"AND content LIKE '%zanzibarian quokka%'").split()
        self.assertIn(str(top["chunk_index"]), holders)
        self.assertLessEqual(len(holders), 2)
        self.assertEqual({h["chunk_index"] for h in hits[:len(holders)]}, {int(i) for i in holders})
        # the excerpt is the chunk's start, collapsed and cut at a word
        self.assertLessEqual(len(top["excerpt"]), 201)
        collapsed = " ".join(top["content"].split())
        self.assertTrue(collapsed.startswith(top["excerpt"].rstrip("…")), top["excerpt"])
        # only the assistant's own documents are searched
        self.assertTrue(all(h["document_id"] == doc["id"] for h in self.retrieve(aid, "quokka", k=50)))
        other_hits = self.retrieve(other, "quokka")
        self.assertEqual(len(other_hits), 1)
        self.assertNotEqual(other_hits[0]["document_id"], doc["id"])
        # any term matches; chunks with all the terms come first
        self.assertIn("zanzibarian", self.retrieve(aid, "zanzibarian platypus")[0]["content"])
        # k is honoured
        self.assertEqual(len(self.retrieve(aid, "river mountain garden", k=7)), 7)
        # queries without searchable terms: no results, no error
        for q in ("the and of", "?!... --", "", "   ", "a", "\"\"", "-", "or", "!!!"):
            with self.subTest(q=q):
                self.assertEqual(self.retrieve(aid, q), [])
        # negation keeps the strict meaning
        self.assertEqual(self.retrieve(aid, "zanzibarian -quokka"), [])



if __name__ == "__main__":
    unittest.main()
