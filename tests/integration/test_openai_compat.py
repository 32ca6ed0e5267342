"""API keys (POST/GET/DELETE /api/v1/keys) and the OpenAI-compatible surface (/v1/models,
/v1/chat/completions) through nginx against the fake LLM: key shapes and their lifecycle
(revoke, password change, guests), OpenAI's response and error shapes, streaming chunk by chunk,
the assistant's system context and knowledge reaching the upstream request, stop sequences, the
user's limits, a client that leaves mid-stream, the opt-in stored exchange, and usage per key.

The official `openai` SDK drives the same surface in tests/sdk (node --test)."""

import hashlib
import http.client
import json
import socket
import time
import unittest
import uuid

from harness import FakeLlm, Stack, create_user, wait_until

API = "/api/v1"
DEFAULT_MODEL = "00000000-0000-0000-0000-000000000001"
PASSWORD = "correct-horse-battery-staple-9"


class OpenAiCompatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeLlm()
        cls.stack = Stack(env={
            "LLM_BASE_URL": cls.fake.base_url,
            "LLM_MODEL": "demo",
            "LLM_RATE_PER_MIN": "1000",
            "DAILY_TOKEN_QUOTA": "100000",
            "MAX_CONTEXT_TOKENS": "1000",
            "MAX_RESPONSE_TOKENS": "200",
            "LLM_IDLE_TIMEOUT_S": "5",
            "THREADS_PER_WORKER": "16",
        }).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()
        cls.fake.close()

    # -- helpers -----------------------------------------------------------------------------------

    def sql(self, query):
        return self.stack.pg.psql(query, db=self.stack.database).strip()

    def signup(self):
        r = self.stack.post(f"{API}/auth/signup", {"username": "u" + uuid.uuid4().hex[:12], "password": PASSWORD})
        self.assertEqual(r.status, 201, r)
        return r.json()

    def new_key(self, token, name="laptop", **kw):
        r = self.stack.post(f"{API}/keys", dict({"name": name}, **kw), token=token)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def v1(self, method, path, key, body=None, headers=None):
        h = {"Authorization": "Bearer " + key} if key is not None else {}
        h.update(headers or {})
        return self.stack.request(method, "/v1" + path, body=body, headers=h)

    def complete(self, key, content, model=DEFAULT_MODEL, headers=None, **kw):
        body = dict({"model": model, "messages": [{"role": "user", "content": content}]}, **kw)
        return self.v1("POST", "/chat/completions", key, body, headers)

    def assertOpenAiError(self, r, status, code):
        self.assertEqual(r.status, status, r)
        body = r.json()
        self.assertEqual(set(body), {"error"}, body)
        self.assertEqual(set(body["error"]), {"message", "type", "param", "code"}, body)
        self.assertEqual(body["error"]["code"], code, body)
        return body["error"]

    def stream(self, key, body, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=30)
        h = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
        h.update(headers or {})
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(), headers=h)
        return conn, conn.getresponse()

    def read_chunks(self, response):
        chunks = []
        while True:
            line = response.readline()
            if not line:
                return chunks, False
            line = line.decode().rstrip("\r\n")
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                return chunks, True
            chunks.append(json.loads(data))

    def fake_last(self, marker):
        found = [r for r in self.fake.requests() if marker in (r.get("last_user") or "")]
        self.assertTrue(found, marker)
        return found[-1]

    # -- keys --------------------------------------------------------------------------------------

    def test_keys_are_shown_once_listed_without_secret_and_revoked_at_once(self):
        auth = self.signup()
        token = auth["access_token"]
        k = self.new_key(token, name="  my laptop ")
        self.assertEqual(set(k), {"id", "name", "prefix", "key", "created_at", "expires_at", "last_used_at"})
        self.assertEqual(k["name"], "my laptop")
        self.assertRegex(k["key"], r"^chatd_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")
        self.assertTrue(k["key"].startswith(k["prefix"] + "_"))
        self.assertIsNone(k["expires_at"])
        # Only a hash is stored: the secret is nowhere in the table.
        secret = k["key"][23:]
        row = self.sql(f"SELECT row_to_json(k)::text FROM api_keys k WHERE id = '{k['id']}'")
        self.assertIn(k["prefix"][6:], row)  # the row is there, with its public lookup
        self.assertNotIn(secret, row)
        self.assertEqual(self.sql(f"SELECT encode(key_hash, 'hex') FROM api_keys WHERE id = '{k['id']}'"),
                         hashlib.sha256(k["key"].encode()).hexdigest())
        listing = self.stack.get(f"{API}/keys", token=token)
        self.assertEqual(listing.status, 200, listing)
        items = listing.json()["items"]
        self.assertEqual([i["id"] for i in items], [k["id"]])
        self.assertNotIn("key", items[0])
        self.assertIsNone(listing.json()["next_cursor"])
        # The key works, and using it is recorded.
        self.assertEqual(self.v1("GET", "/models", k["key"]).status, 200)
        self.assertIsNotNone(self.stack.get(f"{API}/keys", token=token).json()["items"][0]["last_used_at"])
        # Revoked: the next request is refused; a second revoke is 404.
        self.assertEqual(self.stack.request("DELETE", f"{API}/keys/{k['id']}", token=token).status, 204)
        self.assertOpenAiError(self.v1("GET", "/models", k["key"]), 401, "invalid_api_key")
        self.assertEqual(self.stack.request("DELETE", f"{API}/keys/{k['id']}", token=token).status, 404)
        self.assertEqual(self.stack.get(f"{API}/keys", token=token).json()["items"], [])

    def test_key_validation_expiry_and_other_users(self):
        a, b = create_user(self.stack), create_user(self.stack)
        for body, field in [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
                            ({"name": "k", "expires_at": "tomorrow"}, "expires_at"),
                            ({"name": "k", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
                            ({"name": "k", "expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
                            ({"name": "k", "expires_at": "2027-02-30T00:00:00Z"}, "expires_at"),
                            ({"name": "k", "extra": 1}, "extra")]:
            with self.subTest(body=body):
                r = self.stack.post(f"{API}/keys", body, token=a.token)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json()["errors"][0]["field"], field, r.json())
        self.assertEqual(self.sql(f"SELECT count(*) FROM api_keys WHERE user_id = '{a.id}'"), "0")
        later = self.new_key(a.token, expires_at="2030-06-01T12:00:00+02:00")
        self.assertEqual(later["expires_at"], "2030-06-01T10:00:00.000Z")
        # Another user cannot see or revoke it; an id that is no UUID is 404 too.
        self.assertEqual(self.stack.get(f"{API}/keys", token=b.token).json()["items"], [])
        self.assertEqual(self.stack.request("DELETE", f"{API}/keys/{later['id']}", token=b.token).status, 404)
        self.assertEqual(self.stack.request("DELETE", f"{API}/keys/not-a-uuid", token=a.token).status, 404)
        self.assertEqual(self.v1("GET", "/models", later["key"]).status, 200)
        # An expired key stops working.
        self.sql(f"UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = '{later['id']}'")
        self.assertOpenAiError(self.v1("GET", "/models", later["key"]), 401, "invalid_api_key")

    def test_guests_cannot_have_keys_and_tokens_are_not_keys(self):
        guest = create_user(self.stack, guest=True)
        r = self.stack.post(f"{API}/keys", {"name": "g"}, token=guest.token)
        self.assertEqual((r.status, r.json()["code"]), (403, "FORBIDDEN"))
        self.assertEqual(self.stack.get(f"{API}/keys", token=guest.token).status, 403)
        u = create_user(self.stack)
        # An access token, a malformed key, a well-formed unknown key: all invalid_api_key.
        for bad in [u.token, "chatd_nope", "chatd_0123456789abcdef_" + "A" * 43, ""]:
            with self.subTest(bad=bad[:20]):
                self.assertOpenAiError(self.v1("GET", "/models", bad), 401, "invalid_api_key")
        self.assertOpenAiError(self.v1("GET", "/models", None), 401, "invalid_api_key")
        # A key never authenticates the /api/v1 surface.
        k = self.new_key(u.token)
        self.assertEqual(self.stack.get(f"{API}/auth/me", token=k["key"]).status, 401)

    def test_password_change_and_user_deletion_end_keys(self):
        auth = self.signup()
        k = self.new_key(auth["access_token"])
        r = self.stack.post(f"{API}/auth/password", {"current_password": PASSWORD,
                                                      "new_password": PASSWORD + "-new"},
                            token=auth["access_token"])
        self.assertEqual(r.status, 204, r)
        self.assertOpenAiError(self.v1("GET", "/models", k["key"]), 401, "invalid_api_key")
        u = create_user(self.stack)
        k2 = self.new_key(u.token)
        self.sql(f"DELETE FROM users WHERE id = '{u.id}'")
        self.assertOpenAiError(self.v1("GET", "/models", k2["key"]), 401, "invalid_api_key")
        self.assertEqual(self.sql(f"SELECT count(*) FROM api_keys WHERE id = '{k2['id']}'"), "0")

    def test_chatctl_lists_and_revokes_any_users_keys(self):
        import os
        import subprocess
        from harness import BUILD

        def chatctl(*args):
            return subprocess.run([os.path.join(BUILD, "chatctl"), *args], env=dict(self.stack.env),
                                  capture_output=True, text=True, timeout=60)
        u = create_user(self.stack)
        k = self.new_key(u.token, name="ci runner")
        r = chatctl("key", "list", u.username)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(k["id"], r.stdout)
        self.assertIn(k["prefix"], r.stdout)
        self.assertIn("ci runner", r.stdout)
        self.assertNotIn(k["key"], r.stdout)
        self.assertIn("1 active key", r.stdout)
        self.assertEqual(chatctl("key", "revoke", k["id"]).returncode, 0)
        self.assertOpenAiError(self.v1("GET", "/models", k["key"]), 401, "invalid_api_key")
        r = chatctl("key", "revoke", k["id"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no active key", r.stderr)
        self.assertNotEqual(chatctl("key", "revoke", "nope").returncode, 0)
        # A stale in-flight row (a worker that died) is removed by gc.
        self.sql(f"INSERT INTO completions_inflight (id, user_id, worker, heartbeat_at) VALUES "
                 f"(gen_random_uuid(), '{u.id}', 'dead:1', now() - interval '1 hour')")
        r = chatctl("gc")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("removed 1 stale completion", r.stdout)

    # -- models ------------------------------------------------------------------------------------

    def test_models_are_the_users_assistants_and_the_default(self):
        u, other = create_user(self.stack), create_user(self.stack)
        mine = self.stack.post(f"{API}/assistants", {"name": "Poet"}, token=u.token).json()
        theirs = self.stack.post(f"{API}/assistants", {"name": "Theirs"}, token=other.token).json()
        k = self.new_key(u.token)
        r = self.v1("GET", "/models", k["key"])
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["object"], "list")
        ids = [m["id"] for m in body["data"]]
        self.assertEqual(ids, [DEFAULT_MODEL, mine["id"]])
        self.assertEqual(set(body["data"][1]), {"id", "object", "created", "owned_by", "name"})
        self.assertEqual((body["data"][1]["object"], body["data"][1]["name"]), ("model", "Poet"))
        self.assertGreater(body["data"][1]["created"], 1_700_000_000)
        self.assertEqual(self.v1("GET", f"/models/{mine['id']}", k["key"]).json()["id"], mine["id"])
        for missing in [theirs["id"], str(uuid.uuid4()), "gpt-4o"]:
            self.assertOpenAiError(self.v1("GET", f"/models/{missing}", k["key"]), 404, "model_not_found")
        # No CORS on /v1/, whatever the Origin.
        r = self.v1("GET", "/models", k["key"], headers={"Origin": f"http://127.0.0.1:{self.stack.port}"})
        self.assertNotIn("access-control-allow-origin", {h.lower() for h in r.headers})

    # -- completions -------------------------------------------------------------------------------

    def test_completion_has_openai_shape_and_reaches_upstream_with_the_assistants_context(self):
        u = create_user(self.stack)
        a = self.stack.post(f"{API}/assistants", {"name": "Guide", "system_prompt": "You are the guide."},
                            token=u.token).json()
        self.stack.post(f"{API}/assistants/{a['id']}/prompts", {"title": "t", "content": "Answer briefly."},
                        token=u.token)
        doc = self.stack.post(f"{API}/assistants/{a['id']}/documents",
                              {"filename": "zebra.md", "content": "KNOWLEDGE: zebras sleep standing up."},
                              token=u.token)
        self.assertEqual(doc.status, 201, doc)
        k = self.new_key(u.token)
        marker = uuid.uuid4().hex[:8]
        r = self.complete(k["key"], f"how do zebras sleep {marker} [[fake:tokens=6]]", model=a["id"],
                          messages=[{"role": "system", "content": "Speak like a pirate."},
                                    {"role": "user", "content": "earlier question"},
                                    {"role": "assistant", "content": "earlier answer"},
                                    {"role": "user", "content": [{"type": "text", "text": f"how do zebras sleep {marker}"},
                                                                 {"type": "text", "text": "[[fake:tokens=6]]"}]}])
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["object"], "chat.completion")
        self.assertRegex(body["id"], r"^chatcmpl-[0-9a-f]{32}$")
        self.assertEqual(body["model"], a["id"])
        choice = body["choices"][0]
        self.assertEqual((choice["index"], choice["message"]["role"], choice["finish_reason"]), (0, "assistant", "stop"))
        self.assertTrue(choice["message"]["content"].startswith("You said: how do zebras sleep"), choice)
        self.assertEqual(body["usage"]["completion_tokens"], 6)
        self.assertEqual(body["usage"]["total_tokens"], body["usage"]["prompt_tokens"] + 6)
        self.assertEqual([s["filename"] for s in body["chatd"]["sources"]], ["zebra.md"])
        self.assertIsNone(body["chatd"]["conversation_id"])
        upstream = self.fake_last(marker)
        system = upstream["system"]
        # The assistant's context first, then the request's system message, then the knowledge.
        self.assertLess(system.index("You are the guide."), system.index("Answer briefly."))
        self.assertLess(system.index("Answer briefly."), system.index("Speak like a pirate."))
        self.assertLess(system.index("Speak like a pirate."), system.index("KNOWLEDGE: zebras sleep standing up."))
        self.assertEqual(upstream["message_count"], 4)  # system + earlier pair + the question
        # Stateless: nothing stored, but counted for the user and the key.
        self.assertEqual(self.sql(f"SELECT count(*) FROM conversations WHERE owner_id = '{u.id}'"), "0")
        usage = self.stack.get(f"{API}/usage?days=1", token=u.token).json()
        self.assertEqual(usage["items"][0]["requests"], 1)
        self.assertEqual(usage["keys"][0]["key_id"], k["id"])
        self.assertEqual(usage["keys"][0]["completion_tokens"], 6)
        self.assertEqual(self.sql("SELECT count(*) FROM completions_inflight"), "0")

    def test_stream_arrives_chunk_by_chunk_with_usage_last(self):
        u = create_user(self.stack)
        k = self.new_key(u.token)
        conn, resp = self.stream(k["key"], {"model": DEFAULT_MODEL, "stream": True,
                                            "stream_options": {"include_usage": True},
                                            "messages": [{"role": "user", "content": "count [[fake:tokens=5,interval_ms=30]]"}]})
        self.assertEqual(resp.status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/event-stream"))
        chunks, done = self.read_chunks(resp)
        conn.close()
        self.assertTrue(done)
        self.assertEqual(chunks[0]["choices"][0]["delta"], {"role": "assistant", "content": ""})
        self.assertTrue(all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks))
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        self.assertEqual(len(text.split()), 5)
        finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
        self.assertEqual(finish[0]["choices"][0]["finish_reason"], "stop")
        self.assertEqual(chunks[-1]["choices"], [])
        self.assertEqual(chunks[-1]["usage"]["completion_tokens"], 5)
        content_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
        self.assertGreaterEqual(len(content_chunks), 2)

    def test_stop_sequences_cut_the_reply_and_the_upstream_call(self):
        u = create_user(self.stack)
        k = self.new_key(u.token)
        marker = uuid.uuid4().hex[:8]
        r = self.complete(k["key"], f"alpha beta gamma delta {marker} [[fake:tokens=40,interval_ms=5]]", stop=["gamma"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["choices"][0]["message"]["content"], "You said: alpha beta ")
        self.assertEqual(r.json()["choices"][0]["finish_reason"], "stop")
        wait_until(lambda: self.fake_last(marker)["outcome"] != "in_progress", what="upstream ended")
        self.assertTrue(self.fake_last(marker)["client_closed_early"])
        # Streamed, a sequence split across chunks is still found.
        conn, resp = self.stream(k["key"], {"model": DEFAULT_MODEL, "stream": True, "stop": "beta gam",
                                            "messages": [{"role": "user", "content": "alpha beta gamma [[fake:tokens=20]]"}]})
        chunks, done = self.read_chunks(resp)
        conn.close()
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        self.assertEqual(text, "You said: alpha ")

    def test_bad_requests_get_openai_errors_and_change_nothing(self):
        u = create_user(self.stack)
        k = self.new_key(u.token)
        cases = [
            ({"messages": [{"role": "user", "content": "x"}]}, 400, "invalid_value"),
            ({"model": DEFAULT_MODEL}, 400, "invalid_value"),
            ({"model": DEFAULT_MODEL, "messages": []}, 400, "invalid_value"),
            ({"model": DEFAULT_MODEL, "messages": [{"role": "assistant", "content": "x"}]}, 400, "invalid_value"),
            ({"model": DEFAULT_MODEL, "messages": [{"role": "tool", "content": "x"}]}, 400, "invalid_value"),
            ({"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "a\u0000b"}]}, 400, "invalid_value"),
            ({"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "x"}], "n": 2}, 400, "invalid_value"),
            ({"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 3}, 400, "invalid_value"),
            ({"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "x"}], "tools": []}, 400, "invalid_value"),
            ({"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "x"}], "stop": ["a"] * 5}, 400, "invalid_value"),
            ({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}, 404, "model_not_found"),
            ({"model": str(uuid.uuid4()), "messages": [{"role": "user", "content": "x"}]}, 404, "model_not_found"),
            ({"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "word " * 3000}]}, 400, "context_length_exceeded"),
        ]
        for body, status, code in cases:
            with self.subTest(body=str(body)[:70]):
                self.assertOpenAiError(self.v1("POST", "/chat/completions", k["key"], body), status, code)
        r = self.stack.request("POST", "/v1/chat/completions", raw=b"{not json",
                               headers={"Authorization": "Bearer " + k["key"], "Content-Type": "application/json"})
        self.assertOpenAiError(r, 400, "invalid_value")
        r = self.stack.request("POST", "/v1/chat/completions", raw=b"x" * 300_000,
                               headers={"Authorization": "Bearer " + k["key"], "Content-Type": "application/json"})
        self.assertOpenAiError(r, 413, "request_too_large")
        self.assertEqual(self.sql(f"SELECT count(*) FROM usage_daily WHERE user_id = '{u.id}'"), "0")
        self.assertEqual(self.sql(f"SELECT count(*) FROM rate_limits WHERE key = 'llm:{u.id}'"), "0")

    def test_limits_are_the_users_and_answer_429_with_retry_after(self):
        u = create_user(self.stack)
        k = self.new_key(u.token)
        # Quota: exhausted today -> insufficient_quota.
        self.sql(f"INSERT INTO usage_daily (user_id, day, requests, prompt_tokens, completion_tokens) "
                 f"VALUES ('{u.id}', CAST(now() AT TIME ZONE 'UTC' AS date), 1, 100000, 0)")
        r = self.complete(k["key"], "hi")
        err = self.assertOpenAiError(r, 429, "insufficient_quota")
        self.assertGreater(int(r.headers["retry-after"]), 0)
        self.assertIn("quota", err["message"])
        self.sql(f"DELETE FROM usage_daily WHERE user_id = '{u.id}'")
        # Rate: the same window the UI's replies use.
        self.sql(f"INSERT INTO rate_limits (key, window_start, expires_at, count) VALUES "
                 f"('llm:{u.id}', date_trunc('second', now()), date_trunc('second', now()) + interval '60 seconds', 1000)")
        r = self.complete(k["key"], "hi")
        self.assertOpenAiError(r, 429, "rate_limit_exceeded")
        self.assertGreater(int(r.headers["retry-after"]), 0)

    def test_a_client_that_leaves_mid_stream_aborts_the_upstream_call(self):
        u = create_user(self.stack)
        k = self.new_key(u.token)
        marker = uuid.uuid4().hex[:8]
        conn, resp = self.stream(k["key"], {"model": DEFAULT_MODEL, "stream": True, "messages": [
            {"role": "user", "content": f"long {marker} [[fake:tokens=400,interval_ms=20]]"}]})
        self.assertEqual(resp.status, 200)
        resp.readline()  # the first chunk arrived
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        wait_until(lambda: self.fake_last(marker)["outcome"] != "in_progress", timeout=20, what="upstream closed")
        self.assertTrue(self.fake_last(marker)["client_closed_early"])
        self.assertLess(self.fake_last(marker)["tokens_sent"], 400)
        wait_until(lambda: self.sql("SELECT count(*) FROM completions_inflight "
                                    f"WHERE user_id = '{u.id}'") == "0", what="in-flight row gone")

    def test_opt_in_stores_the_exchange_as_a_conversation(self):
        u = create_user(self.stack)
        k = self.new_key(u.token)
        r = self.complete(k["key"], "remember this please [[fake:tokens=3]]", headers={"X-Chatd-Store": "true"},
                          messages=[{"role": "system", "content": "be nice"},
                                    {"role": "user", "content": "first question"},
                                    {"role": "assistant", "content": "first answer"},
                                    {"role": "user", "content": "remember this please [[fake:tokens=3]]"}])
        self.assertEqual(r.status, 200, r)
        cid = r.json()["chatd"]["conversation_id"]
        self.assertIsNotNone(cid)
        convs = self.stack.get(f"{API}/conversations", token=u.token).json()["items"]
        self.assertEqual([c["id"] for c in convs], [cid])
        self.assertEqual(convs[0]["kind"], "assistant")
        msgs = self.stack.get(f"{API}/conversations/{cid}/messages", token=u.token).json()["items"]
        self.assertEqual([(m["seq"], m["role"], m["status"]) for m in msgs],
                         [(1, "user", "complete"), (2, "assistant", "complete"), (3, "user", "complete"),
                          (4, "assistant", "complete")])
        self.assertEqual(msgs[1]["content"], "first answer")
        self.assertEqual(msgs[3]["content"], r.json()["choices"][0]["message"]["content"])
        self.assertEqual(msgs[3]["usage"]["completion_tokens"], 3)


if __name__ == "__main__":
    unittest.main()
