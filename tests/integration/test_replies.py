"""Assistant replies through nginx against the fake LLM upstream (tests/support/fake_llm): JSON and
SSE replies stored with usage, SSE events that arrive one by one, retries, timeouts and a dropped
stream, a reply that outlives its client, stop from another connection, the per-minute rate and
the daily quota, context pruning, retrieval, idempotent resends, regenerate, POST /chat, titles,
message.delta frames on another device, /usage and /admin/stats, the Anthropic adapter, and a
shutdown that interrupts replies in flight.

The fake is told what to do per request with a [[fake:...]] marker in the message (tokens=N,
interval_ms=M, hang=1, drop_after=N, status=S, fail_first=K, key=K, ...) and reports what it
received (GET /_fake/requests), including whether its client closed the connection early."""

import http.client
import json
import signal
import socket
import threading
import time
import unittest
import uuid

from harness import FakeLlm, Stack, WsClient, create_user, wait_until

API = "/api/v1"


class SseStream:
    """A POST answered with Server-Sent Events, read one event at a time as nginx delivers it."""

    def __init__(self, stack, path, body, token, timeout=30):
        self.conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=timeout)
        self.conn.request("POST", path, body=json.dumps(body).encode(), headers={
            "Content-Type": "application/json", "Accept": "text/event-stream",
            "Authorization": "Bearer " + token})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}

    def next_event(self):
        """(event name, data as parsed JSON), or None at the end of the stream."""
        name, data = None, []
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if name or data:
                    return name, json.loads("\n".join(data))
                continue
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())

    def events(self):
        """Every remaining event, up to the end of the stream (then the connection is closed)."""
        out = []
        while (ev := self.next_event()) is not None:
            out.append(ev)
        self.conn.close()
        return out

    def close(self):
        """Goes away like a closed browser tab: the socket is shut down mid-stream."""
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


class RepliesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeLlm()
        cls.stack = Stack(env={
            "LLM_BASE_URL": cls.fake.base_url,
            "LLM_MODEL": "demo",
            "LLM_RATE_PER_MIN": "3",
            "GUEST_DAILY_TOKEN_QUOTA": "60",
            "LLM_IDLE_TIMEOUT_S": "2",
            "LLM_TIMEOUT_S": "30",
            "MAX_CONTEXT_TOKENS": "1000",
            "MAX_RESPONSE_TOKENS": "200",
            "THREADS_PER_WORKER": "16",
        }).start()
        cls.dsn = cls.stack.pg.url(cls.stack.database)

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()
        cls.fake.close()

    # -- helpers -----------------------------------------------------------------------------------

    def user(self, **kw):
        return create_user(self.stack, **kw)

    def sql(self, query):
        return self.stack.pg.psql(query, db=self.stack.database).strip()

    def chat(self, user, **body):
        r = self.stack.post(f"{API}/conversations", dict({"kind": "assistant"}, **body), token=user.token)
        self.assertIn(r.status, (200, 201), r)
        return r.json()["id"]

    def send(self, user, cid, content, **kw):
        return self.stack.post(f"{API}/conversations/{cid}/messages", dict({"content": content}, **kw),
                               token=user.token)

    def messages(self, user, cid):
        r = self.stack.get(f"{API}/conversations/{cid}/messages", token=user.token)
        self.assertEqual(r.status, 200, r)
        return r.json()["items"]

    def fake_requests(self, key):
        return [r for r in self.fake.requests() if r["key"] == key]

    def assertProblem(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.content_type.startswith("application/problem+json"), r.content_type)
        self.assertEqual(r.json()["code"], code, r)
        return r.json()

    # -- JSON and SSE ------------------------------------------------------------------------------

    def test_json_reply_is_stored_with_usage(self):
        u = self.user()
        cid = self.chat(u)
        r = self.send(u, cid, "Hello there [[fake:tokens=5]]")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(set(r.json()), {"message", "reply"})
        message, reply = r.json()["message"], r.json()["reply"]
        self.assertEqual((message["seq"], message["role"], message["status"]), (1, "user", "complete"))
        self.assertEqual((reply["seq"], reply["role"], reply["status"]), (2, "assistant", "complete"))
        self.assertIsNone(reply["sender"])
        self.assertEqual(reply["content"], "You said: Hello there lorem")
        self.assertEqual(reply["model"], "demo")
        self.assertEqual(reply["usage"]["completion_tokens"], 5)
        self.assertGreater(reply["usage"]["prompt_tokens"], 0)
        self.assertEqual(reply["sources"], [])
        self.assertEqual(r.headers["ratelimit-limit"], "3")
        self.assertEqual(r.headers["ratelimit-remaining"], "2")
        self.assertIn("ratelimit-reset", r.headers)
        self.assertEqual(self.messages(u, cid), [message, reply])
        # Stored in full, usage included, and nothing left in flight.
        self.assertEqual(self.sql(f"SELECT count(*) FROM generations WHERE conversation_id = '{cid}'"), "0")
        self.assertEqual(self.sql(f"SELECT requests, completion_tokens FROM usage_daily WHERE user_id = '{u.id}'"),
                         "1|5")

    def test_sse_events_arrive_one_by_one(self):
        u = self.user()
        cid = self.chat(u)
        key = uuid.uuid4().hex
        s = SseStream(self.stack, f"{API}/conversations/{cid}/messages",
                      {"content": f"Stream slowly please [[fake:tokens=12,interval_ms=150,key={key}]]"}, u.token)
        self.assertEqual(s.status, 200)
        self.assertTrue(s.headers["content-type"].startswith("text/event-stream"), s.headers)
        self.assertEqual(s.headers.get("cache-control"), "no-cache")
        name, message = s.next_event()
        self.assertEqual(name, "message")
        self.assertEqual((message["role"], message["seq"], message["conversation_id"]), ("user", 1, cid))
        name, first = s.next_event()
        self.assertEqual(name, "delta")
        self.assertEqual(first["offset"], 0)
        # The first delta is here while the upstream is still streaming: nothing waited for the end.
        self.assertEqual([r["outcome"] for r in self.fake_requests(key)], ["in_progress"])
        deltas, end = [first], None
        for name, data in s.events():
            if name == "delta":
                deltas.append(data)
            else:
                end = (name, data)
        self.assertEqual(end[0], "done")
        done = end[1]
        self.assertEqual(done["status"], "complete")
        self.assertEqual(done["usage"]["completion_tokens"], 12)
        self.assertEqual({d["message_id"] for d in deltas}, {done["id"]})
        text = ""
        for d in deltas:
            self.assertEqual(d["offset"], len(text))
            text += d["content"]
        self.assertEqual(text, done["content"])
        self.assertEqual(len(deltas), 12)
        self.assertEqual(self.messages(u, cid)[1], done)

    # -- upstream failures -------------------------------------------------------------------------

    def test_retries_on_429_and_500_then_success(self):
        u = self.user()
        cid = self.chat(u)
        for fault, attempts in (("status=429,retry_after=1,fail_first=1", 2), ("status=500,fail_first=2", 3)):
            with self.subTest(fault=fault):
                key = uuid.uuid4().hex
                r = self.send(u, cid, f"Try again [[fake:{fault},tokens=3,key={key}]]")
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.json()["reply"]["status"], "complete")
                records = self.fake_requests(key)
                self.assertEqual([x["attempt"] for x in records], list(range(1, attempts + 1)))
                self.assertEqual(records[-1]["outcome"], "complete")

    def test_hang_ends_in_504_within_the_deadline(self):
        u = self.user()
        cid = self.chat(u)
        r = self.send(u, cid, "Are you there? [[fake:hang=1]]")
        # LLM_TIMEOUT (not nginx's own 504, whose code is SERVICE_UNAVAILABLE) proves that chatd's
        # deadline ended the wait; no wall-clock assertion needed.
        problem = self.assertProblem(r, 504, "LLM_TIMEOUT")
        self.assertNotIn("fake", problem["detail"].lower())
        items = self.messages(u, cid)
        self.assertEqual([(m["role"], m["status"]) for m in items], [("user", "complete"), ("assistant", "failed")])
        self.assertEqual(self.sql(f"SELECT error_code FROM messages WHERE id = '{items[1]['id']}'"), "LLM_TIMEOUT")

    def test_upstream_error_text_never_reaches_the_client(self):
        u = self.user()
        cid = self.chat(u)
        r = self.send(u, cid, "Bad key [[fake:status=401]]")
        problem = self.assertProblem(r, 502, "LLM_UNAVAILABLE")
        # The fake's error bodies carry "internal detail: do-not-leak-7f3a".
        self.assertNotIn(b"do-not-leak", r.body)
        self.assertNotIn("401", problem["detail"])
        self.assertEqual(self.messages(u, cid)[1]["status"], "failed")
        s = SseStream(self.stack, f"{API}/conversations/{cid}/messages",
                      {"content": "Bad gateway [[fake:status=503,fail_first=9]]"}, u.token)
        events = s.events()
        self.assertEqual([e[0] for e in events], ["message", "error"])
        self.assertEqual(events[-1][1]["code"], "LLM_UNAVAILABLE")
        self.assertNotIn("do-not-leak", json.dumps(events))

    def test_mid_stream_drop_keeps_the_user_message(self):
        u = self.user()
        cid = self.chat(u)
        r = self.send(u, cid, "Talk then vanish [[fake:tokens=20,drop_after=3]]")
        self.assertProblem(r, 502, "LLM_UNAVAILABLE")
        items = self.messages(u, cid)
        self.assertEqual(items[0]["content"], "Talk then vanish [[fake:tokens=20,drop_after=3]]")
        self.assertIn(items[1]["status"], ("failed", "interrupted"))
        self.assertEqual(items[1]["content"], "You said: Talk")  # the three tokens that came
        # Over SSE the same failure is an `error` event after the deltas.
        s = SseStream(self.stack, f"{API}/conversations/{cid}/messages",
                      {"content": "Again [[fake:tokens=20,drop_after=2]]"}, u.token)
        events = s.events()
        self.assertEqual([e[0] for e in events], ["message", "delta", "delta", "error"])
        self.assertEqual(events[-1][1]["code"], "LLM_UNAVAILABLE")

    # -- a reply outlives its request; stop --------------------------------------------------------

    def test_reply_outlives_a_client_that_leaves(self):
        u = self.user()
        cid = self.chat(u)
        key = uuid.uuid4().hex
        s = SseStream(self.stack, f"{API}/conversations/{cid}/messages",
                      {"content": f"Long story [[fake:tokens=30,interval_ms=100,key={key}]]"}, u.token)
        self.assertEqual(s.next_event()[0], "message")
        name, delta = s.next_event()
        self.assertEqual(name, "delta")
        reply_id = delta["message_id"]
        # Another device opening the conversation mid-reply sees it streaming, with the text so far.
        partial = wait_until(lambda: next((m for m in self.messages(u, cid)
                                           if m["id"] == reply_id and m["status"] == "streaming"
                                           and m["content"].startswith("You said:")), None),
                             timeout=10, what="the partial reply")
        self.assertLess(len(partial["content"].split()), 30)
        s.close()  # the client goes away mid-stream
        done = wait_until(lambda: next((m for m in self.messages(u, cid)
                                        if m["id"] == reply_id and m["status"] != "streaming"), None),
                          timeout=30, what="the reply to be stored")
        self.assertEqual(done["status"], "complete")
        self.assertEqual(len(done["content"].split()), 30)
        self.assertEqual(done["usage"]["completion_tokens"], 30)
        record = self.fake_requests(key)[-1]
        self.assertEqual(record["outcome"], "complete")
        self.assertFalse(record["client_closed_early"])

    def test_stop_from_another_connection_aborts_the_upstream(self):
        u = self.user()
        cid = self.chat(u)
        key = uuid.uuid4().hex
        s = SseStream(self.stack, f"{API}/conversations/{cid}/messages",
                      {"content": f"Count to a lot [[fake:tokens=400,interval_ms=50,key={key}]]"}, u.token)
        self.assertEqual(s.next_event()[0], "message")
        name, delta = s.next_event()
        self.assertEqual(name, "delta")
        r = self.stack.post(f"{API}/conversations/{cid}/stop", token=u.token)
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json()["message_ids"], [delta["message_id"]])
        events = s.events()
        name, done = events[-1]
        self.assertEqual(name, "done")
        self.assertEqual(done["status"], "interrupted")
        self.assertTrue(done["content"].startswith("You"), done)
        self.assertLess(len(done["content"].split()), 400)
        wait_until(lambda: self.fake_requests(key)[-1]["client_closed_early"], timeout=10,
                   what="the fake to see its connection closed")
        stored = self.messages(u, cid)[1]
        self.assertEqual((stored["status"], stored["content"]), ("interrupted", done["content"]))
        self.assertEqual(self.sql(f"SELECT count(*) FROM generations WHERE conversation_id = '{cid}'"), "0")

    def test_stop_of_a_json_reply_and_stop_rules(self):
        u, stranger = self.user(), self.user()
        cid = self.chat(u)
        key = uuid.uuid4().hex
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=self.send(u, cid, f"Slow [[fake:tokens=400,interval_ms=50,key={key}]]")))
        t.start()
        wait_until(lambda: any(x["tokens_sent"] > 0 for x in self.fake_requests(key)), what="streaming to start")
        admin = self.user(role="admin")
        self.assertGreaterEqual(self.stack.get(f"{API}/admin/stats", token=admin.token).json()["replies_in_flight"], 1)
        self.assertProblem(self.stack.post(f"{API}/conversations/{cid}/stop", token=stranger.token), 404, "NOT_FOUND")
        self.assertEqual(self.stack.post(f"{API}/conversations/{cid}/stop", token=u.token).status, 202)
        t.join(30)
        r = result["r"]
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["reply"]["status"], "interrupted")
        # Nothing in flight: still 202, nothing to stop.
        r = self.stack.post(f"{API}/conversations/{cid}/stop", token=u.token)
        self.assertEqual((r.status, r.json()), (202, {"message_ids": []}))

    # -- limits ------------------------------------------------------------------------------------

    def test_rate_limit_refuses_the_fourth_reply_in_a_minute(self):
        u = self.user()
        cid = self.chat(u)
        for i in range(3):
            r = self.send(u, cid, f"Quick {i} [[fake:tokens=1]]")
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.headers["ratelimit-remaining"], str(2 - i))
        r = self.send(u, cid, "One too many [[fake:tokens=1]]")
        self.assertProblem(r, 429, "RATE_LIMITED")
        self.assertTrue(1 <= int(r.headers["retry-after"]) <= 60, r.headers)
        self.assertEqual(r.headers["ratelimit-remaining"], "0")
        # Refused as a whole: the user message was not stored either.
        self.assertEqual(len(self.messages(u, cid)), 6)
        # Another user is not affected.
        other = self.user()
        self.assertEqual(self.send(other, self.chat(other), "Hi [[fake:tokens=1]]").status, 201)

    def test_daily_quota_of_a_guest(self):
        g = self.user(guest=True)
        cid = self.chat(g)
        r = self.send(g, cid, "Tell me everything [[fake:tokens=50]]")
        self.assertEqual(r.status, 201, r)
        usage = r.json()["reply"]["usage"]
        used = usage["prompt_tokens"] + usage["completion_tokens"]
        self.assertGreaterEqual(used, 60)
        r = self.send(g, cid, "More please [[fake:tokens=1]]")
        self.assertProblem(r, 429, "QUOTA_EXCEEDED")
        self.assertTrue(1 <= int(r.headers["retry-after"]) <= 86400, r.headers)
        self.assertEqual(len(self.messages(g, cid)), 2)
        u = self.stack.get(f"{API}/usage", token=g.token).json()
        self.assertEqual(u["quota"], {"daily_tokens": 60, "used_today": used})

    # -- context -----------------------------------------------------------------------------------

    def test_pruning_keeps_the_system_prompt_and_the_last_two_exchanges(self):
        u = self.user()
        a = self.stack.post(f"{API}/assistants", {"name": "Pruner", "system_prompt": "SYSTEM-MARKER be brief"},
                            token=u.token)
        self.assertEqual(a.status, 201, a)
        cid = self.chat(u, assistant_id=a.json()["id"])
        self.sql(f"""
            INSERT INTO messages (conversation_id, seq, role, sender_id, content, status)
            SELECT '{cid}', g, CASE WHEN g % 2 = 1 THEN 'user' ELSE 'assistant' END,
                   CASE WHEN g % 2 = 1 THEN '{u.id}'::uuid END,
                   'turn ' || g || ' ' || repeat('padding words here ', 10), 'complete'
            FROM generate_series(1, 300) g;
            UPDATE conversations SET last_seq = 300 WHERE id = '{cid}';""")
        key = uuid.uuid4().hex
        r = self.send(u, cid, f"Final question [[fake:tokens=3,key={key}]]")
        self.assertEqual(r.status, 201, r)
        body = self.fake_requests(key)[-1]["body"]
        sent = body["messages"]
        self.assertEqual(sent[0]["role"], "system")
        self.assertIn("SYSTEM-MARKER be brief", sent[0]["content"])
        self.assertTrue(sent[-1]["content"].startswith("Final question"))
        history = [int(m["content"].split()[1]) for m in sent[1:-1]]
        self.assertLess(len(history), 300)  # pruned
        self.assertGreaterEqual(len(history), 4)
        self.assertEqual(history, list(range(301 - len(history), 301)))  # a contiguous tail, oldest first
        self.assertEqual([m["role"] for m in sent[-5:-1]], ["user", "assistant", "user", "assistant"])

    def test_retrieval_puts_the_right_chunk_into_the_request_and_sources(self):
        u = self.user()
        a = self.stack.post(f"{API}/assistants", {"name": "Librarian"}, token=u.token).json()
        docs = {}
        for filename, content in (("door.md", "KNOWLEDGE: The blue door opens with code 4242.\n"),
                                  ("birds.md", "KNOWLEDGE: Penguins live in Antarctica.\n")):
            r = self.stack.post(f"{API}/assistants/{a['id']}/documents",
                                {"filename": filename, "content": content, "content_type": "text/markdown"},
                                token=u.token)
            self.assertEqual(r.status, 201, r)
            docs[filename] = r.json()["id"]
        cid = self.chat(u, assistant_id=a["id"])
        key = uuid.uuid4().hex
        r = self.send(u, cid, f"Which code opens the blue door? [[fake:key={key}]]")
        self.assertEqual(r.status, 201, r)
        reply = r.json()["reply"]
        self.assertIn("KNOWLEDGE: The blue door opens with code 4242.", reply["content"])
        self.assertNotIn("Penguins", reply["content"])
        self.assertIn("The blue door opens with code 4242.", self.fake_requests(key)[-1]["system"])
        self.assertEqual(len(reply["sources"]), 1)
        source = reply["sources"][0]
        self.assertEqual(set(source), {"document_id", "filename", "chunk_index", "excerpt"})
        self.assertEqual((source["document_id"], source["filename"], source["chunk_index"]),
                         (docs["door.md"], "door.md", 0))
        self.assertTrue(source["excerpt"].startswith("KNOWLEDGE: The blue door"))
        self.assertEqual(self.messages(u, cid)[1]["sources"], reply["sources"])

    # -- idempotency, regenerate, /chat, groups, titles --------------------------------------------

    def test_idempotent_resend_does_not_call_the_upstream_twice(self):
        u = self.user()
        cid = self.chat(u)
        key = uuid.uuid4().hex
        first = self.send(u, cid, f"Once only [[fake:tokens=3,key={key}]]", client_message_id="cm-1")
        self.assertEqual(first.status, 201, first)
        again = self.send(u, cid, f"Once only [[fake:tokens=3,key={key}]]", client_message_id="cm-1")
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json(), first.json())
        self.assertEqual(len(self.fake_requests(key)), 1)
        self.assertEqual(len(self.messages(u, cid)), 2)
        # Over SSE the repeat gets the stored message and reply without generating anything.
        s = SseStream(self.stack, f"{API}/conversations/{cid}/messages",
                      {"content": "Once only", "client_message_id": "cm-1"}, u.token)
        self.assertEqual([(e[0], e[1]["id"]) for e in s.events()],
                         [("message", first.json()["message"]["id"]), ("done", first.json()["reply"]["id"])])
        self.assertEqual(len(self.fake_requests(key)), 1)

    def test_regenerate(self):
        u, stranger = self.user(), self.user()
        cid = self.chat(u)
        first = self.send(u, cid, "Give me a name [[fake:tokens=4]]").json()
        mid = first["message"]["id"]
        r = self.stack.post(f"{API}/conversations/{cid}/messages/{mid}/regenerate", token=u.token)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["message"], first["message"])
        again = r.json()["reply"]
        self.assertEqual((again["seq"], again["status"]), (3, "complete"))
        self.assertNotEqual(again["id"], first["reply"]["id"])
        self.assertEqual(self.sql(f"SELECT count(*) FROM messages WHERE reply_to = '{mid}'"), "2")
        reply_id = first["reply"]["id"]
        self.assertProblem(self.stack.post(f"{API}/conversations/{cid}/messages/{reply_id}/regenerate",
                                           token=u.token), 404, "NOT_FOUND")
        self.assertProblem(self.stack.post(f"{API}/conversations/{cid}/messages/{mid}/regenerate",
                                           token=stranger.token), 404, "NOT_FOUND")
        self.assertProblem(self.stack.post(f"{API}/conversations/{cid}/messages/{mid}/regenerate",
                                           {"extra": 1}, token=u.token), 400, "VALIDATION_ERROR")

    def test_chat_creates_the_conversation_when_needed(self):
        u, other = self.user(), self.user()
        r = self.stack.post(f"{API}/chat", {"message": "Plan a weekend in Lisbon [[fake:tokens=3]]"}, token=u.token)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(set(r.json()), {"conversation_id", "message", "reply"})
        cid = r.json()["conversation_id"]
        self.assertEqual(r.json()["message"]["conversation_id"], cid)
        self.assertEqual(r.json()["reply"]["status"], "complete")
        conv = self.stack.get(f"{API}/conversations/{cid}", token=u.token).json()
        self.assertEqual(conv["kind"], "assistant")
        self.assertEqual(conv["title"], "Plan a weekend in Lisbon [[fake:tokens=3]]")
        # Into the same conversation, over SSE: the `message` event's Message names the conversation.
        s = SseStream(self.stack, f"{API}/chat", {"message": "And a day trip? [[fake:tokens=2]]",
                                                  "conversation_id": cid}, u.token)
        events = s.events()
        self.assertEqual(events[0][0], "message")
        self.assertEqual((events[0][1]["conversation_id"], events[0][1]["seq"]), (cid, 3))
        self.assertEqual((events[-1][0], events[-1][1]["seq"]), ("done", 4))
        # Not a conversation of the caller: 404; not an assistant chat: 400.
        self.assertProblem(self.stack.post(f"{API}/chat", {"message": "hi", "conversation_id": cid},
                                           token=other.token), 404, "NOT_FOUND")
        direct = self.stack.post(f"{API}/conversations", {"kind": "direct", "user_id": other.id}, token=u.token)
        self.assertProblem(self.stack.post(f"{API}/chat", {"message": "hi", "conversation_id": direct.json()["id"]},
                                           token=u.token), 400, "VALIDATION_ERROR")
        self.assertProblem(self.stack.post(f"{API}/chat", {"message": "hi", "assistant_id": str(uuid.uuid4())},
                                           token=u.token), 404, "NOT_FOUND")
        self.assertProblem(self.stack.post(f"{API}/chat", {}, token=u.token), 400, "VALIDATION_ERROR")
        # A repeated first message (client_message_id) finds the chat it created.
        body = {"message": "Only once [[fake:tokens=2]]", "client_message_id": "first-1"}
        first = self.stack.post(f"{API}/chat", body, token=other.token)
        again = self.stack.post(f"{API}/chat", body, token=other.token)
        self.assertEqual((first.status, again.status), (201, 200))
        self.assertEqual(again.json(), first.json())
        self.assertEqual(self.sql(f"SELECT count(*) FROM conversations WHERE owner_id = '{other.id}'"), "1")

    def test_group_assistant_answers_only_mentions(self):
        owner, member = self.user(), self.user()
        a = self.stack.post(f"{API}/assistants", {"name": "Helper"}, token=owner.token).json()
        g = self.stack.post(f"{API}/conversations", {"kind": "group", "title": "Team", "member_ids": [member.id],
                                                     "assistant_id": a["id"]}, token=owner.token).json()
        r = self.send(member, g["id"], "Lunch at noon? [[fake:tokens=2]]")
        self.assertEqual((r.status, set(r.json())), (201, {"message"}))
        r = self.send(member, g["id"], "@HELPER what is for lunch? [[fake:tokens=2]]")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["reply"]["status"], "complete")
        self.assertEqual([m["role"] for m in self.messages(owner, g["id"])], ["user", "user", "assistant"])

    def test_automatic_title_from_the_first_message(self):
        u = self.user()
        cid = self.chat(u)
        text = "Could you help me compare three different laptops for programming and light gaming please"
        self.assertEqual(self.send(u, cid, text + " [[fake:tokens=2]]").status, 201)
        title = self.stack.get(f"{API}/conversations/{cid}", token=u.token).json()["title"]
        self.assertLessEqual(len(title), 60)
        self.assertTrue(title.endswith("\u2026"), title)
        self.assertTrue(text.startswith(title[:-1]), title)
        self.assertEqual(text[len(title) - 1], " ")  # cut at a word boundary
        kinds = self.sql(f"SELECT string_agg(kind, ',' ORDER BY id) FROM events WHERE conversation_id = '{cid}'")
        self.assertEqual(kinds, "conversation.created,message.created,message.created,conversation.updated,"
                                "message.updated")
        # A title the user set is kept.
        titled = self.chat(u, title="Mine")
        self.send(u, titled, "Something else entirely [[fake:tokens=2]]")
        self.assertEqual(self.stack.get(f"{API}/conversations/{titled}", token=u.token).json()["title"], "Mine")

    # -- other devices ------------------------------------------------------------------------------

    def test_message_delta_frames_reach_another_device(self):
        u = self.user()
        cid = self.chat(u)
        ws = WsClient(self.stack, token=u.token).expect_open()
        self.assertEqual(ws.recv()["type"], "ready")
        r = self.send(u, cid, "Many small pieces [[fake:tokens=40,interval_ms=10]]")
        self.assertEqual(r.status, 201, r)
        reply = r.json()["reply"]
        deltas = []
        while True:
            frame = ws.recv()
            if frame["type"] == "message.delta":
                self.assertEqual((frame["conversation_id"], frame["message_id"]), (cid, reply["id"]))
                deltas.append(frame)
            if frame["type"] == "message.updated":
                self.assertEqual(frame["message"], reply)
                break
        text = ""
        for d in deltas:
            self.assertEqual(d["offset"], len(text))
            text += d["content"]
        self.assertEqual(text, reply["content"])
        self.assertLessEqual(len(deltas), 20)  # batched: 40 upstream chunks, far fewer frames
        ws.close()

    # -- /usage and /admin/stats --------------------------------------------------------------------

    def test_usage_and_admin_stats(self):
        u, admin = self.user(), self.user(role="admin")
        cid = self.chat(u)
        reply = self.send(u, cid, "Count me [[fake:tokens=7]]").json()["reply"]
        r = self.stack.get(f"{API}/usage?days=7", token=u.token)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        today = self.sql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        self.assertEqual(body["items"], [{"date": today, "requests": 1,
                                          "prompt_tokens": reply["usage"]["prompt_tokens"],
                                          "completion_tokens": 7}])
        self.assertEqual(body["quota"], {"daily_tokens": 200000,
                                         "used_today": reply["usage"]["prompt_tokens"] + 7})
        self.assertEqual(self.stack.get(f"{API}/usage", token=admin.token).json()["items"], [])
        for bad in ("0", "366", "x"):
            self.assertProblem(self.stack.get(f"{API}/usage?days={bad}", token=u.token), 400, "VALIDATION_ERROR")
        self.assertProblem(self.stack.get(f"{API}/usage"), 401, "UNAUTHENTICATED")

        self.assertProblem(self.stack.get(f"{API}/admin/stats", token=u.token), 404, "NOT_FOUND")
        r = self.stack.get(f"{API}/admin/stats", token=admin.token)
        self.assertEqual(r.status, 200, r)
        stats = r.json()
        self.assertEqual(set(stats), {"users", "guests", "conversations", "messages_24h", "replies_in_flight",
                                      "pool"})
        self.assertEqual(stats["users"], int(self.sql("SELECT count(*) FROM users WHERE NOT is_guest")))
        self.assertGreaterEqual(stats["messages_24h"], 2)
        self.assertGreaterEqual(stats["replies_in_flight"], 0)
        self.assertEqual(stats["pool"]["total_processes"], 2)
        self.assertIn("busy_threads", stats["pool"])


class AnthropicTest(unittest.TestCase):
    """The Anthropic Messages adapter against the fake's Anthropic mode, through the whole stack."""

    def test_reply_through_the_anthropic_adapter(self):
        fake = FakeLlm()
        stack = Stack(env={"LLM_PROVIDER": "anthropic", "LLM_BASE_URL": fake.base_url,
                           "LLM_API_KEY": "sk-ant-test-0123456789", "LLM_MODEL": "claude-demo"}).start()
        try:
            u = create_user(stack)
            cid = stack.post(f"{API}/conversations", {"kind": "assistant"}, token=u.token).json()["id"]
            s = SseStream(stack, f"{API}/conversations/{cid}/messages",
                          {"content": "Bonjour [[fake:tokens=6,interval_ms=20]]"}, u.token)
            events = s.events()
            self.assertEqual(events[0][0], "message")
            self.assertEqual([e[0] for e in events[1:-1]], ["delta"] * 6)
            name, done = events[-1]
            self.assertEqual(name, "done")
            self.assertEqual(done["status"], "complete")
            self.assertEqual(done["usage"]["completion_tokens"], 6)
            self.assertTrue(done["content"].startswith("You said: Bonjour"))
            record = fake.requests()[-1]
            self.assertEqual((record["api"], record["model"]), ("anthropic", "claude-demo"))
            self.assertEqual(record["headers"]["x-api-key"], "sk-ant-test-0123456789")
        finally:
            stack.close()
            fake.close()


class TitleModelTest(unittest.TestCase):
    """TITLE_MODEL: after the first reply, one short call to that model names the chat."""

    def test_the_title_model_names_a_new_chat_after_the_first_reply(self):
        fake = FakeLlm()
        stack = Stack(env={"LLM_BASE_URL": fake.base_url, "LLM_MODEL": "demo",
                           "TITLE_MODEL": "namer"}).start()
        try:
            u = create_user(stack)
            text = "Plan a weekend trip to the mountains with my dog"
            # POST /chat creates the chat titled from the message; the model then renames it.
            r = stack.post(f"{API}/chat", {"message": text}, token=u.token)
            self.assertEqual(r.status, 201, r)
            cid = r.json()["conversation_id"]
            # The fake answers "You said: <the message>": the model's title, cleaned.
            expected = "You said: " + text

            def titled():
                c = stack.get(f"{API}/conversations/{cid}", token=u.token).json()
                return c["title"] == expected

            wait_until(titled, timeout=30)
            calls = [q for q in fake.requests() if q["model"] == "namer"]
            self.assertEqual(len(calls), 1, calls)
            self.assertFalse(calls[0]["stream"])
            self.assertEqual(calls[0]["message_count"], 2)  # system + the first message, no history
            self.assertIn("title", calls[0]["system"])
            updated = stack.pg.psql(
                f"SELECT count(*) FROM events WHERE conversation_id = '{cid}' "
                f"AND kind = 'conversation.updated'", db=stack.database).strip()
            self.assertEqual(updated, "1")
            # The client never waits for the title: a streamed reply's stream ends at `done`
            # while the (slow, here) title call is still running, and the title arrives after.
            slow = "Which tent for a rainy weekend [[fake:delay_ms=4000]]"
            stream = SseStream(stack, f"{API}/chat", {"message": slow}, u.token, timeout=60)
            events = stream.events()  # to the end of the stream
            self.assertEqual(events[-1][0], "done")
            slow_cid = events[0][1]["conversation_id"]
            # (Not sent yet, or sent and still running: either way not answered.)
            pending = [q for q in fake.requests() if q["model"] == "namer" and slow in q["last_user"]]
            self.assertNotIn("complete", [q["outcome"] for q in pending])
            wait_until(lambda: stack.get(f"{API}/conversations/{slow_cid}", token=u.token).json()["title"]
                       .startswith("You said: Which tent"), timeout=30)

            # Later turns never call it again; a chat the user titled is never renamed.
            self.assertEqual(stack.post(f"{API}/conversations/{cid}/messages", {"content": "And food?"},
                                        token=u.token).status, 201)
            mine = stack.post(f"{API}/conversations", {"kind": "assistant", "title": "Mine"},
                              token=u.token).json()["id"]
            self.assertEqual(stack.post(f"{API}/conversations/{mine}/messages", {"content": text},
                                        token=u.token).status, 201)
            self.assertEqual(stack.get(f"{API}/conversations/{mine}", token=u.token).json()["title"], "Mine")
            self.assertEqual(len([q for q in fake.requests() if q["model"] == "namer"]), 2)
        finally:
            stack.close()
            fake.close()


class ShutdownTest(unittest.TestCase):
    """Stopping the pool interrupts the replies in flight, which are stored as `interrupted`."""

    def test_shutdown_stores_replies_in_flight_as_interrupted(self):
        fake = FakeLlm()
        # SHUTDOWN_TIMEOUT far beyond stop_workers()'s own 60 s wait: a clean exit 0 proves the
        # stream was cut at once instead of being waited for.
        stack = Stack(env={"LLM_BASE_URL": fake.base_url, "LLM_MODEL": "demo", "SHUTDOWN_TIMEOUT": "300"}).start()
        try:
            u = create_user(stack)
            cid = stack.post(f"{API}/conversations", {"kind": "assistant"}, token=u.token).json()["id"]
            s = SseStream(stack, f"{API}/conversations/{cid}/messages",
                          {"content": "Endless [[fake:tokens=1000,interval_ms=50]]"}, u.token)
            self.assertEqual(s.next_event()[0], "message")
            self.assertEqual(s.next_event()[0], "delta")
            self.assertEqual(stack.stop_workers(), 0)
            s.close()
            row = stack.pg.psql(f"SELECT status, length(content) > 0 FROM messages WHERE conversation_id = '{cid}' "
                                f"AND role = 'assistant'", db=stack.database).strip()
            self.assertEqual(row, "interrupted|t")
            self.assertEqual(stack.pg.psql("SELECT count(*) FROM generations", db=stack.database).strip(), "0")
        finally:
            stack.close()
            fake.close()


class ReloadTest(unittest.TestCase):
    """A reload (SIGHUP) retires the old workers without cutting the replies they are streaming."""

    def test_reload_lets_a_streaming_reply_finish(self):
        fake = FakeLlm()
        stack = Stack(env={"LLM_BASE_URL": fake.base_url, "LLM_MODEL": "demo", "SHUTDOWN_TIMEOUT": "120"}).start()
        try:
            u = create_user(stack)
            cid = stack.post(f"{API}/conversations", {"kind": "assistant"}, token=u.token).json()["id"]
            old_pids = set(stack.worker_pids())
            s = SseStream(stack, f"{API}/conversations/{cid}/messages",
                          {"content": "Go on [[fake:tokens=40,interval_ms=50]]"}, u.token)
            self.assertEqual(s.next_event()[0], "message")
            self.assertEqual(s.next_event()[0], "delta")
            stack.workers.send_signal(signal.SIGHUP)
            wait_until(lambda: stack.status()["generation"] == 2 and stack.status()["state"] == "running",
                       what="the reload to complete")
            events = s.events()
            self.assertEqual(events[-1][0], "done", events[-3:])
            self.assertEqual(events[-1][1]["status"], "complete")
            wait_until(lambda: not (set(stack.worker_pids()) & old_pids), what="the old workers to exit")
        finally:
            stack.close()
            fake.close()


if __name__ == "__main__":
    unittest.main()
