"""The workers' page cache (api/page_cache.h, sql/0003) through nginx: a rendered page of messages
and a rendered conversation in the list are reused only while nothing they show has changed.

One worker process, so that every request meets the same cache. Each test first proves that the
cache is in play (a change made behind the triggers' back, with session_replication_role=replica,
stays invisible), then makes each kind of real change and expects it at once: a new message, a
sender's new display name, a deleted sender, a rename, a member joining, an archive flag, a
removed member's access, and a streaming reply that keeps growing until it is stored."""

import threading
import unittest
import uuid

from harness import FakeLlm, Stack, create_user, wait_until

API = "/api/v1"


class PageCacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeLlm()
        cls.stack = Stack(env={"WORKERS": "1", "LLM_BASE_URL": cls.fake.base_url,
                               "LLM_MODEL": "fake-model"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()
        cls.fake.close()

    # -- helpers -----------------------------------------------------------------------------------

    def user(self, **kw):
        return create_user(self.stack, **kw)

    def sql(self, query):
        return self.stack.pg.psql(query, db=self.stack.database).strip()

    def behind_the_triggers(self, statement):
        """A change no version sees (replica mode skips triggers): a cached page keeps hiding it."""
        self.sql(f"SET session_replication_role = replica; {statement}")

    def group(self, owner, members, title="Team"):
        r = self.stack.post(f"{API}/conversations", {"kind": "group", "title": title,
                                                     "member_ids": [m.id for m in members]}, token=owner.token)
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def send(self, user, cid, content):
        r = self.stack.post(f"{API}/conversations/{cid}/messages", {"content": content}, token=user.token)
        self.assertEqual(r.status, 201, r)
        return r.json()["message"]

    def page(self, user, cid, query="limit=50"):
        r = self.stack.get(f"{API}/conversations/{cid}/messages?{query}", token=user.token)
        self.assertEqual(r.status, 200, r)
        return r.json()["items"]

    def listing(self, user, query="limit=50"):
        r = self.stack.get(f"{API}/conversations?{query}", token=user.token)
        self.assertEqual(r.status, 200, r)
        return {c["id"]: c for c in r.json()["items"]}

    # -- messages ----------------------------------------------------------------------------------

    def test_a_message_page_is_reused_only_while_it_is_current(self):
        alice, bob = self.user(), self.user(display_name="Bob")
        cid = self.group(alice, [bob])
        first = self.send(alice, cid, "one")
        self.send(bob, cid, "two")
        self.assertEqual([m["content"] for m in self.page(alice, cid)], ["one", "two"])

        # In play: a change behind the triggers' back does not show.
        self.behind_the_triggers(f"UPDATE messages SET content = 'edited' WHERE id = '{first['id']}'")
        self.assertEqual([m["content"] for m in self.page(alice, cid)], ["one", "two"])
        # A new message moves the version: the page is read afresh (and shows the edit too).
        self.send(bob, cid, "three")
        self.assertEqual([m["content"] for m in self.page(alice, cid)], ["edited", "two", "three"])

        # Another page of the same conversation is its own entry.
        older = self.page(alice, cid, "before_seq=3&limit=1")
        self.assertEqual([m["seq"] for m in older], [2])

        # A sender's new name shows on every cached page.
        r = self.stack.request("PATCH", f"{API}/auth/me", {"display_name": "Robert"}, token=bob.token)
        self.assertEqual(r.status, 200, r)
        names = [m["sender"]["display_name"] for m in self.page(alice, cid) if m["sender"]["id"] == bob.id]
        self.assertEqual(names, ["Robert", "Robert"])
        self.assertEqual(self.page(alice, cid, "before_seq=3&limit=1")[0]["sender"]["display_name"], "Robert")

        # A removed member is refused, although the page it read is still cached.
        self.assertEqual(len(self.page(bob, cid)), 3)
        r = self.stack.request("DELETE", f"{API}/conversations/{cid}/members/{bob.id}", token=alice.token)
        self.assertEqual(r.status, 204, r)
        r = self.stack.get(f"{API}/conversations/{cid}/messages?limit=50", token=bob.token)
        self.assertEqual(r.status, 404, r)

        # A deleted sender's messages lose their sender (ON DELETE SET NULL is an update).
        self.sql(f"DELETE FROM users WHERE id = '{bob.id}'")
        self.assertEqual([m["sender"] for m in self.page(alice, cid)][1:], [None, None])
        # The identity is checked with the version: a deleted user's valid token is refused, and a
        # bad query from it is a 401 too, not a 400.
        for query in ("limit=50", "limit=0"):
            r = self.stack.get(f"{API}/conversations/{cid}/messages?{query}", token=bob.token)
            self.assertEqual(r.status, 401, r)

    def test_a_streaming_reply_is_never_served_from_the_cache(self):
        u = self.user()
        r = self.stack.post(f"{API}/conversations", {"kind": "assistant"}, token=u.token)
        cid = r.json()["id"]
        key = uuid.uuid4().hex
        done = threading.Event()

        def slow_send():  # reads the whole stream, so it returns when the reply is stored
            self.stack.request("POST", f"{API}/conversations/{cid}/messages",
                               {"content": f"Tell me [[fake:tokens=40,interval_ms=100,key={key}]]"},
                               token=u.token, headers={"Accept": "text/event-stream"}, timeout=60)
            done.set()

        threading.Thread(target=slow_send, daemon=True).start()
        first = wait_until(lambda: next((m for m in self.page(u, cid)
                                         if m["status"] == "streaming" and m["content"]), None),
                           timeout=20, what="the reply streaming")
        grown = wait_until(lambda: next((m for m in self.page(u, cid) if m["id"] == first["id"]
                                         and len(m["content"]) > len(first["content"])), None),
                           timeout=20, what="the partial reply to grow on the same page")
        self.assertIn(grown["status"], ("streaming", "complete"))
        self.assertTrue(done.wait(30))
        final = next(m for m in self.page(u, cid) if m["id"] == first["id"])
        self.assertEqual(final["status"], "complete")
        self.assertEqual(len(final["content"].split()), 40)
        # The list's last message follows too.
        self.assertEqual(self.listing(u)[cid]["last_message"]["status"], "complete")

    def test_hits_and_misses_are_counted_in_metrics(self):
        def counter(name):
            r = self.stack.get("/metrics")
            self.assertEqual(r.status, 200, r)
            for line in r.body.decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
            self.fail(f"{name} is not in /metrics")

        alice, bob = self.user(), self.user()
        cid = self.group(alice, [bob])
        self.send(alice, cid, "counted")
        self.page(alice, cid)  # rendered and kept
        hits, misses = counter("chatd_page_cache_hits_total"), counter("chatd_page_cache_misses_total")
        self.page(alice, cid)  # served from the cache
        self.assertEqual(counter("chatd_page_cache_hits_total"), hits + 1)
        self.send(bob, cid, "moves the version")
        self.page(alice, cid)  # compared, found stale, rendered afresh
        self.assertEqual(counter("chatd_page_cache_misses_total"), misses + 1)

    # -- the conversation list ---------------------------------------------------------------------

    def test_a_listed_conversation_is_reused_only_while_it_is_current(self):
        alice, bob, carol = self.user(), self.user(), self.user(display_name="Carol")
        cid = self.group(alice, [bob], title="Plans")
        other = self.group(alice, [carol], title="Other")
        self.send(bob, cid, "hello")
        listed = self.listing(alice)
        self.assertEqual(listed[cid]["title"], "Plans")
        self.assertEqual(list(listed)[:2], [cid, other])

        # In play: a title changed behind the triggers' back does not show.
        self.behind_the_triggers(f"UPDATE conversations SET title = 'Sneaky' WHERE id = '{cid}'")
        self.assertEqual(self.listing(alice)[cid]["title"], "Plans")

        # A rename through the API shows at once (for every member's list).
        r = self.stack.request("PATCH", f"{API}/conversations/{cid}", {"title": "Renamed"}, token=alice.token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.listing(alice)[cid]["title"], "Renamed")
        self.assertEqual(self.listing(bob)[cid]["title"], "Renamed")

        # A member joining, then renaming themselves.
        r = self.stack.post(f"{API}/conversations/{cid}/members", {"user_id": carol.id}, token=alice.token)
        self.assertEqual(r.status, 201, r)
        members = {m["id"]: m["display_name"] for m in self.listing(alice)[cid]["members"]}
        self.assertEqual(members.get(carol.id), "Carol")
        r = self.stack.request("PATCH", f"{API}/auth/me", {"display_name": "Caroline"}, token=carol.token)
        self.assertEqual(r.status, 200, r)
        listed = self.listing(alice)
        self.assertEqual({m["id"]: m["display_name"] for m in listed[cid]["members"]}[carol.id], "Caroline")
        self.assertEqual({m["id"]: m["display_name"] for m in listed[other]["members"]}[carol.id], "Caroline")

        # A new message: the last message and the order follow.
        self.send(carol, other, "newest")
        listed = self.listing(alice)
        self.assertEqual(list(listed)[:2], [other, cid])
        self.assertEqual(listed[other]["last_message"]["content"], "newest")

        # Archiving is the caller's own: it moves for alice, not for bob.
        r = self.stack.request("PATCH", f"{API}/conversations/{cid}", {"archived": True}, token=alice.token)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(cid, self.listing(alice))
        self.assertTrue(self.listing(alice, "archived=true")[cid]["archived"])
        self.assertFalse(self.listing(bob)[cid]["archived"])

        # Leaving: gone from bob's list at once.
        r = self.stack.request("DELETE", f"{API}/conversations/{cid}/members/{bob.id}", token=bob.token)
        self.assertEqual(r.status, 204, r)
        self.assertNotIn(cid, self.listing(bob))
        members = [m["id"] for m in self.listing(alice, "archived=true")[cid]["members"]]
        self.assertNotIn(bob.id, members)

    def test_pages_of_the_list_stay_whole_and_ordered(self):
        u = self.user()
        partner = self.user()
        ids = [self.group(u, [partner], title=f"G{i}") for i in range(7)]
        self.listing(u)  # cache them all
        self.send(u, ids[2], "bump")
        seen, cursor = [], None
        while True:
            query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
            r = self.stack.get(f"{API}/conversations?{query}", token=u.token)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            seen += [c["id"] for c in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [ids[2]] + [i for i in reversed(ids) if i != ids[2]])


if __name__ == "__main__":
    unittest.main()
