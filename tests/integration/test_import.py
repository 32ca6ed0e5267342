"""Import (POST /api/v1/import, chat/import.h): chatd's own export round-trips (ids aside), the
account archive brings every conversation, a ChatGPT conversations.json is read along the branch
shown last, and a malformed or over-large file is refused with nothing written; nothing in a file
is trusted beyond its text (ids, authors)."""

import json
import os
import unittest

from harness import ApiTestCase, FakeLlm, Stack, create_user

API = "/api/v1"
HERE = os.path.dirname(os.path.abspath(__file__))
KEPT = ("seq", "role", "content", "status", "created_at", "model", "usage")


class ImportTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeLlm()
        cls.stack = Stack(env={"LLM_BASE_URL": cls.fake.base_url, "LLM_MODEL": "demo"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()
        cls.fake.close()

    def import_(self, user, doc):
        return self.stack.post(f"{API}/import", doc, token=user.token)

    def conversation_count(self, user):
        return len(self.stack.get(f"{API}/conversations?limit=100", token=user.token).json()["items"])

    def export(self, user, cid):
        r = self.stack.get(f"{API}/conversations/{cid}/export", token=user.token)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_a_chatd_export_round_trips(self):
        alice = create_user(self.stack)
        chat = self.stack.post(f"{API}/chat", {"message": "Name a *river* [[fake:tokens=3]]"}, token=alice.token)
        self.assertEqual(chat.status, 201, chat)
        cid = chat.json()["conversation_id"]
        self.assertEqual(self.stack.post(f"{API}/conversations/{cid}/messages",
                                         {"content": "And a lake? [[fake:tokens=2]]"}, token=alice.token).status, 201)
        original = self.export(alice, cid)

        r = self.import_(alice, original)
        self.assertEqual(r.status, 201, r)
        [item] = r.json()["items"]
        self.assertNotEqual(item["id"], cid)
        self.assertEqual((item["title"], item["message_count"]), (original["conversation"]["title"], 4))
        again = self.export(alice, item["id"])
        self.assertEqual(again["conversation"]["kind"], "assistant")
        self.assertEqual(again["conversation"]["title"], original["conversation"]["title"])
        strip = lambda ms: [{k: m[k] for k in KEPT} for m in ms]
        self.assertEqual(strip(again["messages"]), strip(original["messages"]))
        self.assertEqual([m["sender"] and m["sender"]["id"] for m in again["messages"]],
                         [alice.id, None, alice.id, None])
        self.assertTrue(all(m["id"] not in {o["id"] for o in original["messages"]} for m in again["messages"]))

        # Someone else importing the same file gets it as theirs: authors are never taken from it.
        bob = create_user(self.stack)
        r = self.import_(bob, original)
        self.assertEqual(r.status, 201, r)
        theirs = self.export(bob, r.json()["items"][0]["id"])
        self.assertEqual({m["sender"]["id"] for m in theirs["messages"] if m["role"] == "user"}, {bob.id})
        self.assertEqual([m["id"] for m in theirs["conversation"]["members"]], [bob.id])
        # The imported chat goes on like any other.
        self.assertEqual(self.stack.post(f"{API}/conversations/{item['id']}/messages",
                                         {"content": "More? [[fake:tokens=1]]"}, token=alice.token).status, 201)

    def test_the_account_archive_brings_every_conversation(self):
        alice = create_user(self.stack)
        for title in ("one", "two"):
            self.send(alice, self.group(alice, [], title), f"in {title}")
        archive = self.stack.get(f"{API}/export", token=alice.token).json()
        carol = create_user(self.stack)
        r = self.import_(carol, archive)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(sorted((i["title"], i["message_count"]) for i in r.json()["items"]), [("one", 1), ("two", 1)])
        self.assertEqual(self.conversation_count(carol), 2)

    def test_a_chatgpt_export_follows_the_branch_shown_last(self):
        dave = create_user(self.stack)
        with open(os.path.join(HERE, "fixtures", "chatgpt_conversations.json")) as f:
            doc = json.load(f)
        r = self.import_(dave, doc)
        self.assertEqual(r.status, 201, r)
        first, second = r.json()["items"]
        self.assertEqual((first["title"], first["message_count"]), ("Sourdough starter", 4))
        self.assertEqual((second["title"], second["message_count"]), ("Imported conversation", 1))
        ms = self.export(dave, first["id"])["messages"]
        self.assertEqual([(m["role"], m["content"]) for m in ms], [
            ("user", "How do I feed a **starter**?"),
            ("assistant", "Equal weights of flour and water, daily."),
            ("user", "What about this jar?"),
            ("assistant", "That jar is fine; keep the lid loose."),
        ])
        self.assertEqual(ms[0]["created_at"], "2023-11-14T22:13:21.250Z")
        self.assertEqual({m["status"] for m in ms}, {"complete"})
        ms = self.export(dave, second["id"])["messages"]
        self.assertEqual([(m["role"], m["content"]) for m in ms], [("user", "ping <script>alert(1)</script>")])

    def test_a_malformed_file_is_refused_and_nothing_is_written(self):
        erin = create_user(self.stack)
        with open(os.path.join(HERE, "fixtures", "chatgpt_conversations.json")) as f:
            good = json.load(f)
        cycle = json.loads(json.dumps(good))
        cycle[1]["mapping"]["b0"]["parent"] = "b2"
        self.assertProblem(self.import_(erin, cycle), 400, "VALIDATION_ERROR", "[1].mapping")
        lost = json.loads(json.dumps(good))
        lost[1]["current_node"] = "nowhere"
        self.assertProblem(self.import_(erin, lost), 400, "VALIDATION_ERROR", "[1].current_node")
        long = json.loads(json.dumps(good))
        long[1]["mapping"]["b1"]["message"]["content"]["parts"] = ["x" * 100001]
        self.assertProblem(self.import_(erin, long), 400, "VALIDATION_ERROR", "[1].mapping[b1].message.content")
        bad_time = {"schema": "chatd.conversation", "version": 1, "conversation": {"title": "t"},
                    "messages": [{"role": "user", "content": "hi", "created_at": "2023-02-30T00:00:00Z"}]}
        self.assertProblem(self.import_(erin, bad_time), 400, "VALIDATION_ERROR", "messages[0].created_at")
        for doc, field in (({"schema": "chatd.conversation", "version": 2}, "version"),
                           ({"hello": "world"}, "body"), ([], "body"), ("text", "body"),
                           ({"schema": "chatd.conversation", "version": 1, "conversation": {"title": "t"},
                             "messages": [{"role": "system", "content": "x"}]}, "messages[0].role")):
            with self.subTest(doc=doc):
                self.assertProblem(self.import_(erin, doc), 400, "VALIDATION_ERROR", field)
        raw = self.stack.request("POST", f"{API}/import", raw=b'{"schema": "chatd.conversation", "version": 1,',
                                 token=erin.token, headers={"Content-Type": "application/json"})
        self.assertProblem(raw, 400, "VALIDATION_ERROR")
        big = self.stack.request("POST", f"{API}/import", raw=b"[" + b" " * (9 * 1024 * 1024) + b"]",
                                 token=erin.token, headers={"Content-Type": "application/json"})
        self.assertEqual(big.status, 413, big)
        self.assertEqual(self.conversation_count(erin), 0)  # nothing of any of them was written
        self.assertProblem(self.stack.post(f"{API}/import", good), 401, "UNAUTHENTICATED")


if __name__ == "__main__":
    unittest.main()
