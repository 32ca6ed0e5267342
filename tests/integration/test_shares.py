"""Share links (sql/0009, api/export.cc): the owner shares a snapshot of a conversation; anyone with
the link reads it without an account (names and messages only, noindex, never cached); the
snapshot does not change with later messages; the owner lists and revokes links (then 404);
members who do not own it and strangers cannot; hostile tokens are plain 404s."""

import re
import unittest

from harness import ApiTestCase, Stack, create_user

API = "/api/v1"
TOKEN = re.compile(r"^/s/([A-Za-z0-9_-]{43})$")


class SharesTest(ApiTestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def share(self, user, cid, body=None):
        return self.stack.post(f"{API}/conversations/{cid}/shares", body if body is not None else {},
                               token=user.token)

    def shared(self, url):
        token = TOKEN.match(url).group(1)
        return self.stack.get(f"{API}/shared/{token}")

    def test_share_view_without_an_account_snapshot_and_revoke(self):
        alice, bob = create_user(self.stack, display_name="Alice A."), create_user(self.stack, display_name="Bob B.")
        cid = self.group(alice, [bob], "Trip planning")
        self.send(alice, cid, "Lisbon or **Porto**?")
        self.send(bob, cid, "Porto <img src=x onerror=alert(1)>")

        r = self.share(alice, cid)
        self.assertEqual(r.status, 201, r)
        link = r.json()
        self.assertEqual(set(link), {"id", "conversation_id", "title", "url", "message_count", "created_at"})
        self.assertEqual((link["conversation_id"], link["title"], link["message_count"]), (cid, "Trip planning", 2))
        self.assertRegex(link["url"], TOKEN)

        view = self.shared(link["url"])  # no Authorization
        self.assertEqual(view.status, 200, view)
        self.assertEqual(view.headers.get("x-robots-tag"), "noindex, nofollow")
        self.assertEqual(view.headers.get("cache-control"), "no-store")
        body = view.json()
        self.assertEqual(body["title"], "Trip planning")
        self.assertIsNone(body["assistant"])
        self.assertEqual([(m["role"], m["sender"], m["content"], m["status"]) for m in body["messages"]],
                         [("user", {"display_name": "Alice A."}, "Lisbon or **Porto**?", "complete"),
                          ("user", {"display_name": "Bob B."}, "Porto <img src=x onerror=alert(1)>", "complete")])
        # Names and messages only: no ids, usernames or anything about the accounts.
        text = view.body.decode()
        for private in (alice.id, bob.id, alice.username, bob.username, cid, link["id"]):
            self.assertNotIn(private, text)

        # The page itself (the web UI's shell) is noindex too.
        page = self.stack.get(link["url"])
        self.assertEqual(page.status, 200)
        self.assertEqual(page.headers.get("x-robots-tag"), "noindex, nofollow")
        self.assertIsNone(self.stack.get("/").headers.get("x-robots-tag"))

        # A snapshot: later messages are not shared.
        self.send(alice, cid, "Porto it is")
        self.assertEqual(len(self.shared(link["url"]).json()["messages"]), 2)
        newer = self.share(alice, cid).json()
        self.assertEqual(newer["message_count"], 3)

        listed = self.stack.get(f"{API}/conversations/{cid}/shares", token=alice.token)
        self.assertEqual(listed.status, 200)
        self.assertEqual([s["id"] for s in listed.json()["items"]], [newer["id"], link["id"]])

        # Revoked: 404 at once, for everyone; revoking again is 404 too.
        self.assertProblem(self.stack.request("DELETE", f"{API}/shares/{link['id']}", token=bob.token), 404, "NOT_FOUND")
        self.assertEqual(self.stack.request("DELETE", f"{API}/shares/{link['id']}", token=alice.token).status, 204)
        self.assertProblem(self.shared(link["url"]), 404, "NOT_FOUND")
        self.assertProblem(self.stack.request("DELETE", f"{API}/shares/{link['id']}", token=alice.token), 404, "NOT_FOUND")
        self.assertEqual(self.shared(newer["url"]).status, 200)

        # Deleting the conversation ends its links.
        self.assertEqual(self.stack.request("DELETE", f"{API}/conversations/{cid}", token=alice.token).status, 204)
        self.assertProblem(self.shared(newer["url"]), 404, "NOT_FOUND")

    def test_only_the_owner_shares_and_bad_input_changes_nothing(self):
        alice, bob, eve = create_user(self.stack), create_user(self.stack), create_user(self.stack)
        cid = self.group(alice, [bob])
        self.send(alice, cid, "hello")
        self.assertProblem(self.share(bob, cid), 403, "FORBIDDEN")
        self.assertProblem(self.share(eve, cid), 404, "NOT_FOUND")
        self.assertProblem(self.stack.get(f"{API}/conversations/{cid}/shares", token=eve.token), 404, "NOT_FOUND")
        self.assertEqual(self.stack.get(f"{API}/conversations/{cid}/shares", token=bob.token).json(), {"items": []})
        self.assertProblem(self.share(alice, "not-a-uuid"), 404, "NOT_FOUND")
        self.assertProblem(self.share(alice, cid, {"extra": 1}), 400, "VALIDATION_ERROR")
        self.assertProblem(self.stack.post(f"{API}/conversations/{cid}/shares", {}), 401, "UNAUTHENTICATED")
        self.assertEqual(self.stack.get(f"{API}/conversations/{cid}/shares", token=alice.token).json(), {"items": []})
        for token in ("x", "A" * 42, "A" * 44, "A" * 42 + "%2F", "..%2F..%2Fetc", "A" * 42 + "%C3%A9"):
            with self.subTest(token=token):
                self.assertProblem(self.stack.get(f"{API}/shared/{token}"), 404, "NOT_FOUND")
        # A NUL anywhere in a path is refused by nginx, as for every route (test_hostile_input).
        self.assertProblem(self.stack.get(f"{API}/shared/%00" + "A" * 40), 400, "VALIDATION_ERROR")
        self.assertProblem(self.stack.get(f"{API}/shared/" + "A" * 43), 404, "NOT_FOUND")

    def test_at_most_twenty_links_per_conversation(self):
        alice = create_user(self.stack)
        cid = self.group(alice, [])
        for _ in range(20):
            self.assertEqual(self.share(alice, cid).status, 201)
        self.assertProblem(self.share(alice, cid), 409, "CONFLICT")
        self.assertEqual(len(self.stack.get(f"{API}/conversations/{cid}/shares", token=alice.token).json()["items"]), 20)


if __name__ == "__main__":
    unittest.main()
