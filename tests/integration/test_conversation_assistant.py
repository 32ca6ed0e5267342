"""A Conversation's `assistant` ({id, name} | null) through nginx and /ws: every member of a group
learns the name of its assistant (which only its owner may GET), in every place a Conversation is
rendered (create, get, list, patch, members, push frames); a rename shows at once, also in the
workers' page cache (sql/0005: one worker process, so every request meets the same cache) and as a
conversation.updated frame; a deletion leaves a group without one and an assistant chat with the
built-in default; a rename of the built-in default reaches every cached listing."""

import unittest

from harness import Stack, WsClient, create_user

API = "/api/v1"
DEFAULT_ASSISTANT = "00000000-0000-0000-0000-000000000001"


class ConversationAssistantTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(env={"WORKERS": "1"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    # -- helpers -----------------------------------------------------------------------------------

    def user(self, **kw):
        return create_user(self.stack, **kw)

    def sql(self, query):
        return self.stack.pg.psql(query, db=self.stack.database).strip()

    def behind_the_triggers(self, statement):
        """A change no version sees (replica mode skips triggers): a cached rendering hides it."""
        self.sql(f"SET session_replication_role = replica; {statement}")

    def connect(self, user):
        ws = WsClient(self.stack, token=user.token).expect_open()
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv()["type"], "ready")
        return ws

    def new_assistant(self, owner, name):
        r = self.stack.post(f"{API}/assistants", {"name": name}, token=owner.token)
        self.assertEqual(r.status, 201, r)
        return r.json()

    def rename_assistant(self, user, aid, name):
        r = self.stack.request("PATCH", f"{API}/assistants/{aid}", {"name": name}, token=user.token)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def create(self, user, body, status=201):
        r = self.stack.post(f"{API}/conversations", body, token=user.token)
        self.assertEqual(r.status, status, r)
        return r.json()

    def group(self, owner, members, assistant_id=None, title="Team"):
        body = {"kind": "group", "title": title, "member_ids": [m.id for m in members]}
        if assistant_id:
            body["assistant_id"] = assistant_id
        return self.create(owner, body)

    def get(self, user, cid):
        r = self.stack.get(f"{API}/conversations/{cid}", token=user.token)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def listing(self, user):
        r = self.stack.get(f"{API}/conversations?limit=100", token=user.token)
        self.assertEqual(r.status, 200, r)
        return {c["id"]: c for c in r.json()["items"]}

    def default_assistant(self, user):
        """The built-in default as GET /assistants renders it (its first item)."""
        r = self.stack.get(f"{API}/assistants", token=user.token)
        self.assertEqual(r.status, 200, r)
        first = r.json()["items"][0]
        self.assertEqual(first["id"], DEFAULT_ASSISTANT)
        return {"id": first["id"], "name": first["name"]}

    # -- tests -------------------------------------------------------------------------------------

    def test_every_member_sees_the_assistant_everywhere_a_conversation_is_rendered(self):
        owner, bob, carol = self.user(), self.user(), self.user()
        helper = self.new_assistant(owner, "Helper")
        expected = {"id": helper["id"], "name": "Helper"}
        created = self.group(owner, [bob], helper["id"])
        cid = created["id"]
        self.assertEqual(created["assistant_id"], helper["id"])
        self.assertEqual(created["assistant"], expected)

        # Bob is not the assistant's owner: the assistant itself is hidden from him...
        r = self.stack.get(f"{API}/assistants/{helper['id']}", token=bob.token)
        self.assertEqual(r.status, 404, r)
        # ...but the conversation names it, alone and in his list.
        self.assertEqual(self.get(bob, cid)["assistant"], expected)
        self.assertEqual(self.listing(bob)[cid]["assistant"], expected)

        r = self.stack.request("PATCH", f"{API}/conversations/{cid}", {"title": "Renamed team"},
                               token=owner.token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["assistant"], expected)
        r = self.stack.post(f"{API}/conversations/{cid}/members", {"user_id": carol.id}, token=owner.token)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["assistant"], expected)
        self.assertEqual(self.get(carol, cid)["assistant"], expected)

        # Without an assistant: null; an assistant chat without assistant_id: the built-in default.
        self.assertIsNone(self.group(owner, [bob])["assistant"])
        direct = self.create(owner, {"kind": "direct", "user_id": bob.id})
        self.assertIsNone(direct["assistant_id"])
        self.assertIsNone(direct["assistant"])
        chat = self.create(owner, {"kind": "assistant"})
        self.assertEqual(chat["assistant"], self.default_assistant(owner))
        own = self.create(owner, {"kind": "assistant", "assistant_id": helper["id"]})
        self.assertEqual(own["assistant"], expected)
        self.assertEqual(self.listing(owner)[own["id"]]["assistant"], expected)

    def test_a_rename_is_never_served_from_the_page_cache(self):
        owner, bob = self.user(), self.user()
        helper = self.new_assistant(owner, "Helper")
        cid = self.group(owner, [bob], helper["id"])["id"]
        self.assertEqual(self.listing(bob)[cid]["assistant"]["name"], "Helper")

        # In play: a rename behind the triggers' back does not show in the cached listing.
        self.behind_the_triggers(f"UPDATE assistants SET name = 'Sneaky' WHERE id = '{helper['id']}'")
        self.assertEqual(self.listing(bob)[cid]["assistant"]["name"], "Helper")

        # A real rename shows at once, listed and alone, and a second listing stays right.
        self.rename_assistant(owner, helper["id"], "Renamed")
        self.assertEqual(self.listing(bob)[cid]["assistant"], {"id": helper["id"], "name": "Renamed"})
        self.assertEqual(self.listing(bob)[cid]["assistant"]["name"], "Renamed")
        self.assertEqual(self.get(bob, cid)["assistant"]["name"], "Renamed")
        # Other fields of the assistant do not move the versions, and change nothing shown.
        r = self.stack.request("PATCH", f"{API}/assistants/{helper['id']}", {"description": "x"},
                               token=owner.token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.listing(bob)[cid]["assistant"]["name"], "Renamed")

    def test_push_frames_carry_the_assistant_and_a_rename_is_announced(self):
        owner, bob, carol = self.user(), self.user(), self.user()
        helper = self.new_assistant(owner, "Helper")
        expected = {"id": helper["id"], "name": "Helper"}
        bob_ws, carol_ws = self.connect(bob), self.connect(carol)

        cid = self.group(owner, [bob], helper["id"])["id"]
        created = bob_ws.recv_until(lambda f: f.get("type") == "conversation.created")
        self.assertEqual(created["conversation"]["id"], cid)
        self.assertEqual(created["conversation"]["assistant"], expected)

        r = self.stack.post(f"{API}/conversations/{cid}/members", {"user_id": carol.id}, token=owner.token)
        self.assertEqual(r.status, 201, r)
        for ws in (bob_ws, carol_ws):
            added = ws.recv_until(lambda f: f.get("type") == "member.added")
            self.assertEqual(added["user_id"], carol.id)
            self.assertEqual(added["conversation"]["assistant"], expected)

        # Carol archives it: the rename still reaches her, with her own flag.
        r = self.stack.request("PATCH", f"{API}/conversations/{cid}", {"archived": True}, token=carol.token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["assistant"], expected)
        carol_ws.recv_until(lambda f: f.get("type") == "conversation.updated")

        self.rename_assistant(owner, helper["id"], "Renamed")
        for ws, archived in ((bob_ws, False), (carol_ws, True)):
            updated = ws.recv_until(lambda f: f.get("type") == "conversation.updated")
            self.assertEqual(updated["changed"], ["assistant"])
            self.assertEqual(updated["actor_id"], owner.id)
            self.assertEqual(updated["conversation"]["id"], cid)
            self.assertEqual(updated["conversation"]["assistant"], {"id": helper["id"], "name": "Renamed"})
            self.assertEqual(updated["conversation"]["archived"], archived)
        # A PATCH that keeps the name announces nothing.
        before = self.sql(f"SELECT count(*) FROM events WHERE conversation_id = '{cid}'")
        self.rename_assistant(owner, helper["id"], "Renamed")
        self.assertEqual(self.sql(f"SELECT count(*) FROM events WHERE conversation_id = '{cid}'"), before)

    def test_a_deleted_assistant_leaves_a_group_without_one_and_a_chat_with_the_default(self):
        owner, bob = self.user(), self.user()
        helper = self.new_assistant(owner, "Helper")
        gid = self.group(owner, [bob], helper["id"])["id"]
        chat = self.create(owner, {"kind": "assistant", "assistant_id": helper["id"]})["id"]
        self.assertEqual(self.listing(bob)[gid]["assistant"]["name"], "Helper")
        self.assertEqual(self.listing(owner)[chat]["assistant"]["name"], "Helper")
        bob_ws = self.connect(bob)

        r = self.stack.request("DELETE", f"{API}/assistants/{helper['id']}", token=owner.token)
        self.assertEqual(r.status, 204, r)
        for c in (self.get(bob, gid), self.listing(bob)[gid]):
            self.assertIsNone(c["assistant_id"])
            self.assertIsNone(c["assistant"])
        default = self.default_assistant(owner)
        for c in (self.get(owner, chat), self.listing(owner)[chat]):
            self.assertIsNone(c["assistant_id"])
            self.assertEqual(c["assistant"], default)

        updated = bob_ws.recv_until(lambda f: f.get("type") == "conversation.updated")
        self.assertEqual(updated["changed"], ["assistant_id", "assistant"])
        self.assertEqual(updated["conversation"]["id"], gid)
        self.assertIsNone(updated["conversation"]["assistant"])

    def test_a_rename_of_the_built_in_default_reaches_cached_listings(self):
        admin, u = self.user(role="admin"), self.user()
        original = self.default_assistant(u)
        self.addCleanup(self.sql, f"UPDATE assistants SET name = '{original['name']}' "
                                  f"WHERE id = '{DEFAULT_ASSISTANT}'")
        cid = self.create(u, {"kind": "assistant"})["id"]
        self.assertEqual(self.listing(u)[cid]["assistant"], original)

        self.rename_assistant(admin, DEFAULT_ASSISTANT, "House bot")
        expected = {"id": DEFAULT_ASSISTANT, "name": "House bot"}
        self.assertEqual(self.listing(u)[cid]["assistant"], expected)
        self.assertEqual(self.get(u, cid)["assistant"], expected)
        self.assertEqual(self.default_assistant(u), expected)


if __name__ == "__main__":
    unittest.main()
