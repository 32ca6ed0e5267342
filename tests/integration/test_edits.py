"""Editing a message in place (PATCH /conversations/{id}/messages/{mid}, chat/messages.h): the
sender edits a user message in a conversation between people; every member's device gets
message.updated with the new text and edited_at, lists and pages show it at once (the page cache
follows), the same text again changes nothing, and nobody else — nor any edit in an assistant
conversation, nor of a reply — changes anything."""

import unittest

from harness import ApiTestCase, FakeLlm, Stack, WsClient, create_user

API = "/api/v1"


class EditTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeLlm()
        cls.stack = Stack(env={"LLM_BASE_URL": cls.fake.base_url, "LLM_MODEL": "demo"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()
        cls.fake.close()

    def edit(self, user, cid, mid, content):
        return self.stack.request("PATCH", f"{API}/conversations/{cid}/messages/{mid}", {"content": content},
                                  token=user.token)

    def page(self, user, cid):
        return self.stack.get(f"{API}/conversations/{cid}/messages", token=user.token).json()["items"]

    def test_the_sender_edits_in_place_and_every_member_sees_it_live(self):
        alice, bob = create_user(self.stack), create_user(self.stack)
        cid = self.group(alice, [bob])
        sent = self.send(alice, cid, "See you at 5")
        self.assertIsNone(sent["edited_at"])
        self.assertIsNone(self.page(bob, cid)[0]["edited_at"])  # a page cached before the edit
        ws = WsClient(self.stack, token=bob.token).expect_open()
        self.addCleanup(ws.close)
        ws.recv()  # ready

        r = self.edit(alice, cid, sent["id"], "  See you at 6\u0007  ")
        self.assertEqual(r.status, 200, r)
        edited = r.json()
        self.assertEqual((edited["id"], edited["seq"], edited["content"]), (sent["id"], sent["seq"], "See you at 6"))
        self.assertIsNotNone(edited["edited_at"])
        self.assertEqual(edited["created_at"], sent["created_at"])
        frame = ws.recv_until(lambda f: f.get("type") == "message.updated")
        self.assertEqual(frame["message"], edited)
        self.assertEqual(self.page(bob, cid), [edited])
        listed = self.stack.get(f"{API}/conversations", token=bob.token).json()["items"]
        self.assertEqual(next(c for c in listed if c["id"] == cid)["last_message"], edited)

        # The same text again: nothing changes, no event.
        again = self.edit(alice, cid, sent["id"], "See you at 6")
        self.assertEqual(again.json(), edited)
        self.send(alice, cid, "sentinel")
        nxt = ws.recv_until(lambda f: f.get("type", "").startswith("message."))
        self.assertEqual((nxt["type"], nxt["message"]["content"]), ("message.created", "sentinel"))

    def test_nobody_else_and_nothing_else_is_edited(self):
        alice, bob, eve = create_user(self.stack), create_user(self.stack), create_user(self.stack)
        cid = self.group(alice, [bob])
        mid = self.send(alice, cid, "mine")["id"]
        self.assertProblem(self.edit(bob, cid, mid, "theirs now"), 403, "FORBIDDEN")
        self.assertProblem(self.edit(eve, cid, mid, "stranger"), 404, "NOT_FOUND")
        self.assertProblem(self.edit(alice, cid, "00000000-0000-0000-0000-00000000beef", "x"), 404, "NOT_FOUND")
        self.assertProblem(self.edit(alice, cid, "nope", "x"), 404, "NOT_FOUND")
        for body in ({}, {"content": ""}, {"content": "   "}, {"content": 5}, {"content": "x" * 5001},
                     {"content": "ok", "extra": 1}):
            with self.subTest(body=body):
                r = self.stack.request("PATCH", f"{API}/conversations/{cid}/messages/{mid}", body, token=alice.token)
                self.assertProblem(r, 400, "VALIDATION_ERROR")
        self.assertProblem(self.stack.request("PATCH", f"{API}/conversations/{cid}/messages/{mid}",
                                              {"content": "x"}), 401, "UNAUTHENTICATED")
        self.assertEqual([(m["content"], m["edited_at"]) for m in self.page(alice, cid)], [("mine", None)])

        chat = self.stack.post(f"{API}/chat", {"message": "Hello [[fake:tokens=2]]"}, token=alice.token).json()
        chat_id = chat["conversation_id"]
        self.assertProblem(self.edit(alice, chat_id, chat["message"]["id"], "Hello again"), 409, "CONFLICT")
        self.assertProblem(self.edit(alice, chat_id, chat["reply"]["id"], "I said"), 403, "FORBIDDEN")
        self.assertEqual([m["edited_at"] for m in self.page(alice, chat_id)], [None, None])


if __name__ == "__main__":
    unittest.main()
