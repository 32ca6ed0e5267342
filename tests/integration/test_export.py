"""GET /conversations/{id}/export: a conversation as versioned JSON (complete: every message with
its status, usage and sources, as the API renders it) and as readable Markdown; members only (404
for anyone else); an attachment that is never cached."""

import json
import unittest

from harness import FakeLlm, Stack, create_user

API = "/api/v1"


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeLlm()
        cls.stack = Stack(env={"LLM_BASE_URL": cls.fake.base_url, "LLM_MODEL": "demo",
                               "LLM_RATE_PER_MIN": "1000"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()
        cls.fake.close()

    def test_json_export_is_complete_and_matches_the_api(self):
        u = create_user(self.stack, display_name="Ada")
        cid = self.stack.post(f"{API}/conversations", {"kind": "assistant", "title": "Notes: α & β"},
                              token=u.token).json()["id"]
        for i in range(130):  # more than one page of the export's reads
            r = self.stack.post(f"{API}/conversations/{cid}/messages",
                                {"content": f"question {i} [[fake:tokens=3]]"}, token=u.token)
            self.assertEqual(r.status, 201, r)
        r = self.stack.get(f"{API}/conversations/{cid}/export", token=u.token)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith("application/json"))
        self.assertRegex(r.headers["content-disposition"], r'^attachment; filename="chatd-notes[a-z0-9-]*\.json"$')
        self.assertEqual(r.headers["cache-control"], "no-store")
        body = r.json()
        self.assertEqual((body["schema"], body["version"]), ("chatd.conversation", 1))
        self.assertEqual(body["conversation"]["id"], cid)
        self.assertEqual([m["seq"] for m in body["messages"]], list(range(1, 261)))
        # Exactly what the API renders, page by page.
        page = self.stack.get(f"{API}/conversations/{cid}/messages?limit=100", token=u.token).json()["items"]
        by_seq = {m["seq"]: m for m in body["messages"]}
        for m in page:
            self.assertEqual(by_seq[m["seq"]], m)
        self.assertEqual(body["messages"][1]["usage"]["completion_tokens"], 3)

    def test_markdown_export_is_readable(self):
        alice = create_user(self.stack, display_name="Alice")
        bob = create_user(self.stack, display_name="Bob")
        cid = self.stack.post(f"{API}/conversations", {"kind": "direct", "user_id": bob.id},
                              token=alice.token).json()["id"]
        self.stack.post(f"{API}/conversations/{cid}/messages", {"content": "Hi **Bob**"}, token=alice.token)
        self.stack.post(f"{API}/conversations/{cid}/messages", {"content": "Hello!"}, token=bob.token)
        r = self.stack.get(f"{API}/conversations/{cid}/export?format=markdown", token=bob.token)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith("text/markdown"))
        text = r.body.decode()
        self.assertTrue(text.startswith("# Conversation with Alice\n"), text[:80])
        self.assertLess(text.index("**Alice** · "), text.index("**Bob** · "))
        self.assertIn("Hi **Bob**", text)
        self.assertRegex(r.headers["content-disposition"], r'filename="chatd-conversation-with-alice\.md"')

    def test_account_export_holds_everything_of_the_user_and_nothing_else(self):
        u, other = create_user(self.stack, display_name="Grace"), create_user(self.stack)
        a = self.stack.post(f"{API}/assistants", {"name": "Mine", "system_prompt": "Be kind."}, token=u.token).json()
        self.stack.post(f"{API}/assistants/{a['id']}/prompts", {"title": "t", "content": "Short answers."}, token=u.token)
        doc = "# Notes\n\nline one\n"
        self.stack.post(f"{API}/assistants/{a['id']}/documents", {"filename": "n.md", "content": doc}, token=u.token)
        self.stack.post(f"{API}/assistants", {"name": "Theirs"}, token=other.token)
        cid = self.stack.post(f"{API}/conversations", {"kind": "direct", "user_id": other.id}, token=u.token).json()["id"]
        self.stack.post(f"{API}/conversations/{cid}/messages", {"content": "hello"}, token=other.token)
        secret_cid = self.stack.post(f"{API}/conversations", {"kind": "assistant"}, token=other.token).json()["id"]
        key = self.stack.post(f"{API}/keys", {"name": "laptop"}, token=u.token).json()
        r = self.stack.get(f"{API}/export", token=u.token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["cache-control"], "no-store")
        self.assertIn(f'filename="chatd-account-{u.username}.json"', r.headers["content-disposition"])
        body = r.json()
        self.assertEqual((body["schema"], body["version"]), ("chatd.account", 1))
        self.assertEqual((body["user"]["id"], body["user"]["display_name"]), (u.id, "Grace"))
        self.assertEqual([x["assistant"]["name"] for x in body["assistants"]], ["Mine"])
        self.assertEqual([p["content"] for p in body["assistants"][0]["prompts"]], ["Short answers."])
        self.assertEqual([(d["filename"], d["content"], d["bytes"]) for d in body["assistants"][0]["documents"]],
                         [("n.md", doc, len(doc.encode()))])
        convs = {c["conversation"]["id"]: c for c in body["conversations"]}
        self.assertIn(cid, convs)
        self.assertNotIn(secret_cid, convs)
        self.assertEqual([m["content"] for m in convs[cid]["messages"]], ["hello"])
        self.assertEqual([k["id"] for k in body["api_keys"]], [key["id"]])
        self.assertNotIn(key["key"], r.body.decode())
        self.assertNotIn("password_hash", r.body.decode())

    def test_only_members_export_and_bad_formats_are_refused(self):
        alice, bob, eve = create_user(self.stack), create_user(self.stack), create_user(self.stack)
        cid = self.stack.post(f"{API}/conversations", {"kind": "direct", "user_id": bob.id},
                              token=alice.token).json()["id"]
        for token in (eve.token,):
            r = self.stack.get(f"{API}/conversations/{cid}/export", token=token)
            self.assertEqual((r.status, r.json()["code"]), (404, "NOT_FOUND"))
        r = self.stack.get(f"{API}/conversations/{cid}/export?format=pdf", token=alice.token)
        self.assertEqual((r.status, r.json()["errors"][0]["field"]), (400, "format"))
        self.assertEqual(self.stack.get(f"{API}/conversations/{cid}/export").status, 401)


if __name__ == "__main__":
    unittest.main()
