"""Conversations through nginx, as several real users: creating the three kinds, the direct-chat
dedupe (also under a race from both sides), group membership rules, rename/archive/delete-or-leave,
the caller's list (activity order, archived filter, title search, cursor pagination), isolation
between users (everything about someone else's conversation is a 404), and the events each change
leaves for the push daemon."""

import json
import threading
import unittest
import uuid

from harness import Stack, create_user

API = "/api/v1"
CONVERSATION_KEYS = {"id", "kind", "title", "assistant_id", "assistant", "owner_id", "members",
                     "archived", "created_at", "updated_at", "last_message"}
DEFAULT_ASSISTANT = "00000000-0000-0000-0000-000000000001"
TS_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


class ConversationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack().start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    # -- helpers -----------------------------------------------------------------------------------

    def user(self, **kw):
        return create_user(self.stack, **kw)

    def sql(self, query):
        return self.stack.pg.psql(query, db=self.stack.database).strip()

    def create(self, user, body, status=201):
        r = self.stack.post(f"{API}/conversations", body, token=user.token)
        self.assertEqual(r.status, status, r)
        return r.json()

    def group(self, owner, members=(), title="Team"):
        return self.create(owner, {"kind": "group", "title": title, "member_ids": [m.id for m in members]})

    def get(self, user, cid):
        return self.stack.get(f"{API}/conversations/{cid}", token=user.token)

    def send(self, user, cid, content="hello"):
        return self.stack.post(f"{API}/conversations/{cid}/messages", {"content": content}, token=user.token)

    def patch(self, user, cid, body):
        return self.stack.request("PATCH", f"{API}/conversations/{cid}", body, token=user.token)

    def delete(self, user, path):
        return self.stack.request("DELETE", f"{API}{path}", token=user.token)

    def list_all(self, user, query=""):
        """Every conversation of the user's list, following next_cursor (limit 2 per page)."""
        items, cursor, pages = [], None, 0
        while True:
            q = f"?limit=2{query}" + (f"&cursor={cursor}" if cursor else "")
            r = self.stack.get(f"{API}/conversations{q}", token=user.token)
            self.assertEqual(r.status, 200, r)
            body = r.json()
            self.assertEqual(set(body), {"items", "next_cursor"})
            self.assertLessEqual(len(body["items"]), 2)
            items += body["items"]
            cursor = body["next_cursor"]
            pages += 1
            self.assertLess(pages, 100)
            if cursor is None:
                return items

    def events(self, cid):
        rows = self.sql(f"SELECT kind, payload::text, array_to_json(recipients)::text FROM events "
                        f"WHERE conversation_id = '{cid}' ORDER BY id")
        out = []
        for line in rows.splitlines():
            kind, payload, recipients = line.split("|")
            out.append((kind, json.loads(payload), set(json.loads(recipients))))
        return out

    def assertProblem(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.content_type.startswith("application/problem+json"), r.headers)
        self.assertEqual(r.json()["code"], code)
        return r.json()

    def assertConversationShape(self, c):
        self.assertEqual(set(c), CONVERSATION_KEYS)
        self.assertRegex(c["created_at"], TS_PATTERN)
        self.assertRegex(c["updated_at"], TS_PATTERN)
        for m in c["members"]:
            self.assertEqual(set(m), {"id", "username", "display_name", "role"})
            self.assertIn(m["role"], ("owner", "member"))

    # -- creating ----------------------------------------------------------------------------------

    def test_assistant_conversation_defaults_to_the_built_in_assistant(self):
        a = self.user(display_name="Alice")
        c = self.create(a, {"kind": "assistant"})
        self.assertConversationShape(c)
        self.assertEqual(c["kind"], "assistant")
        self.assertEqual(c["assistant_id"], DEFAULT_ASSISTANT)
        self.assertIsNone(c["title"])
        self.assertEqual(c["owner_id"], a.id)
        self.assertEqual(c["members"], [{"id": a.id, "username": a.username, "display_name": "Alice",
                                         "role": "owner"}])
        self.assertFalse(c["archived"])
        self.assertIsNone(c["last_message"])
        titled = self.create(a, {"kind": "assistant", "title": "  Trip\u0007 plans ",
                                 "assistant_id": DEFAULT_ASSISTANT})
        self.assertEqual(titled["title"], "Trip plans")
        self.assertEqual(self.get(a, c["id"]).json(), c)

    def test_assistant_must_be_usable_by_the_caller(self):
        a, b = self.user(), self.user()
        own = self.sql(f"INSERT INTO assistants (owner_id, name) VALUES ('{b.id}', 'Helper') RETURNING id")
        own = own.splitlines()[0]
        self.assertProblem(self.stack.post(f"{API}/conversations", {"kind": "assistant", "assistant_id": own},
                                           token=a.token), 404, "NOT_FOUND")
        self.assertProblem(self.stack.post(f"{API}/conversations",
                                           {"kind": "group", "title": "x", "assistant_id": own},
                                           token=a.token), 404, "NOT_FOUND")
        self.assertProblem(self.stack.post(f"{API}/conversations",
                                           {"kind": "assistant", "assistant_id": str(uuid.uuid4())},
                                           token=a.token), 404, "NOT_FOUND")
        c = self.create(b, {"kind": "assistant", "assistant_id": own})
        self.assertEqual(c["assistant_id"], own)
        g = self.create(b, {"kind": "group", "title": "With bot", "member_ids": [a.id], "assistant_id": own})
        self.assertEqual(g["assistant_id"], own)

    def test_bad_create_bodies_are_400_and_change_nothing(self):
        a = self.user()
        before = self.sql("SELECT count(*) FROM conversations")
        cases = [
            ({}, "kind"),
            ({"kind": "chat"}, "kind"),
            ({"kind": 3}, "kind"),
            ({"kind": "group"}, "title"),
            ({"kind": "group", "title": "   "}, "title"),
            ({"kind": "group", "title": "x" * 201}, "title"),
            ({"kind": "group", "title": "t", "member_ids": ["nope"]}, "member_ids"),
            ({"kind": "group", "title": "t", "member_ids": [str(uuid.uuid4())]}, "member_ids"),
            ({"kind": "group", "title": "t", "member_ids": [str(uuid.uuid4()) for _ in range(100)]}, "member_ids"),
            ({"kind": "direct"}, "user_id"),
            ({"kind": "direct", "user_id": a.id}, "user_id"),
            ({"kind": "direct", "user_id": a.id, "title": "x"}, "title"),
            ({"kind": "assistant", "user_id": a.id}, "user_id"),
            ({"kind": "assistant", "assistant_id": "x"}, "assistant_id"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                r = self.stack.post(f"{API}/conversations", body, token=a.token)
                problem = self.assertProblem(r, 400, "VALIDATION_ERROR")
                self.assertIn(field, [e["field"] for e in problem["errors"]])
        self.assertProblem(self.stack.request("POST", f"{API}/conversations", raw=b'{"kind":"assistant"}',
                                              headers={"Content-Type": "text/plain"}, token=a.token),
                           415, "UNSUPPORTED_MEDIA_TYPE")
        self.assertProblem(self.stack.post(f"{API}/conversations", {"kind": "assistant"}), 401, "UNAUTHENTICATED")
        self.assertEqual(self.sql("SELECT count(*) FROM conversations"), before)

    def test_direct_chat_is_one_per_pair(self):
        a, b = self.user(), self.user()
        first = self.create(a, {"kind": "direct", "user_id": b.id})
        self.assertConversationShape(first)
        self.assertEqual(first["kind"], "direct")
        self.assertIsNone(first["assistant_id"])
        self.assertEqual({m["id"] for m in first["members"]}, {a.id, b.id})
        again = self.create(a, {"kind": "direct", "user_id": b.id.upper()}, status=200)
        self.assertEqual(again["id"], first["id"])
        other_side = self.create(b, {"kind": "direct", "user_id": a.id}, status=200)
        self.assertEqual(other_side["id"], first["id"])
        self.assertProblem(self.stack.post(f"{API}/conversations", {"kind": "direct", "user_id": str(uuid.uuid4())},
                                           token=a.token), 404, "NOT_FOUND")
        # Guests can be talked to directly like anybody else.
        g = self.user(guest=True)
        self.create(g, {"kind": "direct", "user_id": a.id})

    def test_direct_chat_race_from_both_sides_creates_exactly_one(self):
        a, b = self.user(), self.user()
        results = []
        lock = threading.Lock()
        barrier = threading.Barrier(20)

        def create(me, other):
            barrier.wait()
            r = self.stack.post(f"{API}/conversations", {"kind": "direct", "user_id": other.id}, token=me.token)
            with lock:
                results.append(r)

        threads = [threading.Thread(target=create, args=(a, b) if i % 2 == 0 else (b, a)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(r.status for r in results), [200] * 19 + [201], results)
        self.assertEqual(len({r.json()["id"] for r in results}), 1)
        key = ":".join(sorted([a.id, b.id]))
        self.assertEqual(self.sql(f"SELECT count(*) FROM conversations WHERE direct_key = '{key}'"), "1")
        cid = results[0].json()["id"]
        self.assertEqual(self.sql(f"SELECT count(*) FROM conversation_members WHERE conversation_id = '{cid}'"), "2")
        created = self.events(cid)
        self.assertEqual([e[0] for e in created], ["conversation.created"])
        self.assertEqual(created[0][2], {a.id, b.id})
        self.assertEqual(created[0][1]["conversation"], results[0].json())

    def test_direct_chat_leave_and_come_back(self):
        a, b = self.user(), self.user()
        c = self.create(a, {"kind": "direct", "user_id": b.id})
        self.assertEqual(self.send(a, c["id"], "before").status, 201)
        # Either side leaves; the other keeps the chat.
        self.assertEqual(self.delete(a, f"/conversations/{c['id']}").status, 204)
        self.assertProblem(self.get(a, c["id"]), 404, "NOT_FOUND")
        self.assertEqual([m["id"] for m in self.get(b, c["id"]).json()["members"]], [b.id])
        self.assertEqual(self.send(b, c["id"], "while away").status, 201)
        # Creating it again brings the one who left back, history included.
        back = self.create(a, {"kind": "direct", "user_id": b.id}, status=200)
        self.assertEqual(back["id"], c["id"])
        self.assertEqual({m["id"] for m in back["members"]}, {a.id, b.id})
        self.assertEqual(back["last_message"]["content"], "while away")
        kinds = [e[0] for e in self.events(c["id"])]
        self.assertEqual(kinds, ["conversation.created", "message.created", "member.removed", "message.created",
                                 "member.added"])
        # Once both have left, it is gone.
        self.assertEqual(self.delete(a, f"/conversations/{c['id']}/members/{a.id}").status, 204)
        self.assertEqual(self.delete(b, f"/conversations/{c['id']}").status, 204)
        self.assertEqual(self.sql(f"SELECT count(*) FROM conversations WHERE id = '{c['id']}'"), "0")
        last = self.events(c["id"])[-1]
        self.assertEqual(last[0], "conversation.deleted")
        self.assertEqual(last[2], {b.id})

    # -- groups and members ----------------------------------------------------------------------------

    def test_group_membership_rules(self):
        owner, member, newcomer, outsider = self.user(), self.user(), self.user(), self.user()
        g = self.group(owner, [member], title="Book club")
        self.assertConversationShape(g)
        self.assertEqual(g["members"][0], {"id": owner.id, "username": owner.username,
                                           "display_name": owner.display_name, "role": "owner"})
        self.assertEqual(g["members"][1]["role"], "member")
        gid = g["id"]
        # Only the owner adds: a member is refused (403), a non-member cannot see it (404).
        r = self.stack.post(f"{API}/conversations/{gid}/members", {"user_id": newcomer.id}, token=member.token)
        self.assertProblem(r, 403, "FORBIDDEN")
        r = self.stack.post(f"{API}/conversations/{gid}/members", {"user_id": newcomer.id}, token=outsider.token)
        self.assertProblem(r, 404, "NOT_FOUND")
        r = self.stack.post(f"{API}/conversations/{gid}/members", {"user_id": newcomer.id}, token=owner.token)
        self.assertEqual(r.status, 201, r)
        self.assertConversationShape(r.json())
        self.assertIn(newcomer.id, [m["id"] for m in r.json()["members"]])
        self.assertProblem(self.stack.post(f"{API}/conversations/{gid}/members", {"user_id": newcomer.id},
                                           token=owner.token), 409, "CONFLICT")
        self.assertProblem(self.stack.post(f"{API}/conversations/{gid}/members", {"user_id": str(uuid.uuid4())},
                                           token=owner.token), 404, "NOT_FOUND")
        self.assertProblem(self.stack.post(f"{API}/conversations/{gid}/members", {"user_id": "x"},
                                           token=owner.token), 400, "VALIDATION_ERROR")
        self.assertEqual(self.get(newcomer, gid).status, 200)
        self.assertEqual(self.send(newcomer, gid, "hi all").status, 201)
        # Only the owner removes others; a member cannot remove the owner or anybody else.
        self.assertProblem(self.delete(member, f"/conversations/{gid}/members/{newcomer.id}"), 403, "FORBIDDEN")
        self.assertProblem(self.delete(member, f"/conversations/{gid}/members/{owner.id}"), 403, "FORBIDDEN")
        self.assertProblem(self.delete(outsider, f"/conversations/{gid}/members/{newcomer.id}"), 404, "NOT_FOUND")
        self.assertProblem(self.delete(owner, f"/conversations/{gid}/members/{outsider.id}"), 404, "NOT_FOUND")
        self.assertEqual(self.delete(owner, f"/conversations/{gid}/members/{newcomer.id}").status, 204)
        # The removed member sees nothing any more, new messages included.
        self.assertEqual(self.send(member, gid, "after the removal").status, 201)
        self.assertProblem(self.get(newcomer, gid), 404, "NOT_FOUND")
        self.assertProblem(self.stack.get(f"{API}/conversations/{gid}/messages", token=newcomer.token), 404, "NOT_FOUND")
        self.assertProblem(self.send(newcomer, gid, "let me in"), 404, "NOT_FOUND")
        self.assertNotIn(gid, [c["id"] for c in self.list_all(newcomer)])
        events = self.events(gid)
        self.assertEqual(events[-2][0], "member.removed")
        self.assertEqual(events[-2][1]["user_id"], newcomer.id)
        self.assertEqual(events[-2][1]["actor_id"], owner.id)
        self.assertNotIn(newcomer.id, [m["id"] for m in events[-2][1]["conversation"]["members"]])
        self.assertIn(newcomer.id, events[-2][2])  # the removed member's devices learn it
        self.assertEqual(events[-1][0], "message.created")
        self.assertEqual(events[-1][2], {owner.id, member.id})  # ...and nothing after it
        # A member leaves by removing itself; the owner cannot leave its group (it deletes it).
        self.assertProblem(self.delete(owner, f"/conversations/{gid}/members/{owner.id}"), 403, "FORBIDDEN")
        self.assertEqual(self.delete(member, f"/conversations/{gid}/members/{member.id}").status, 204)
        self.assertProblem(self.get(member, gid), 404, "NOT_FOUND")
        self.assertEqual([m["id"] for m in self.get(owner, gid).json()["members"]], [owner.id])

    def test_members_cannot_be_added_to_assistant_or_direct_chats(self):
        a, b, c = self.user(), self.user(), self.user()
        for conv in (self.create(a, {"kind": "assistant"}), self.create(a, {"kind": "direct", "user_id": b.id})):
            r = self.stack.post(f"{API}/conversations/{conv['id']}/members", {"user_id": c.id}, token=a.token)
            self.assertProblem(r, 403, "FORBIDDEN")
        d = self.create(a, {"kind": "direct", "user_id": c.id})
        self.assertProblem(self.delete(a, f"/conversations/{d['id']}/members/{c.id}"), 403, "FORBIDDEN")

    def test_group_size_is_capped_at_100_members(self):
        owner, extra = self.user(), self.user()
        ids = self.sql("INSERT INTO users (username, display_name, password_hash) "
                       "SELECT 'bulk' || substr(md5(random()::text), 1, 20), 'Bulk', '$argon2id$x' "
                       "FROM generate_series(1, 99) RETURNING id").splitlines()
        self.assertEqual(len(ids), 99)
        r = self.stack.post(f"{API}/conversations", {"kind": "group", "title": "Big",
                                                     "member_ids": ids + [extra.id]}, token=owner.token)
        self.assertProblem(r, 400, "VALIDATION_ERROR")
        g = self.create(owner, {"kind": "group", "title": "Big", "member_ids": ids + [owner.id]})
        self.assertEqual(len(g["members"]), 100)
        r = self.stack.post(f"{API}/conversations/{g['id']}/members", {"user_id": extra.id}, token=owner.token)
        self.assertProblem(r, 409, "CONFLICT")

    def test_rename_and_archive(self):
        owner, member = self.user(), self.user()
        g = self.group(owner, [member], title="Old")
        gid = g["id"]
        self.assertProblem(self.patch(member, gid, {"title": "Mine"}), 403, "FORBIDDEN")
        self.assertProblem(self.patch(owner, gid, {"title": None}), 400, "VALIDATION_ERROR")
        self.assertProblem(self.patch(owner, gid, {"title": ""}), 400, "VALIDATION_ERROR")
        self.assertProblem(self.patch(owner, gid, {"archived": "yes"}), 400, "VALIDATION_ERROR")
        self.assertProblem(self.patch(owner, gid, {"owner_id": member.id}), 400, "VALIDATION_ERROR")
        r = self.patch(owner, gid, {"title": " New\u0000"})
        self.assertProblem(r, 400, "VALIDATION_ERROR")
        r = self.patch(owner, gid, {"title": " New "})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["title"], "New")
        self.assertGreaterEqual(r.json()["updated_at"], g["updated_at"])
        self.assertEqual(self.get(member, gid).json()["title"], "New")
        # archived is each member's own flag, and any member may set it.
        r = self.patch(member, gid, {"archived": True})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()["archived"])
        self.assertFalse(self.get(owner, gid).json()["archived"])
        self.assertEqual(self.patch(member, gid, {}).status, 200)
        updates = [e for e in self.events(gid) if e[0] == "conversation.updated"]
        self.assertEqual(len(updates), 2)  # an empty PATCH changes nothing and says nothing
        self.assertEqual(updates[0][1]["changed"], ["title"])
        self.assertEqual(updates[0][1]["actor_id"], owner.id)
        self.assertEqual(updates[0][1]["conversation"]["title"], "New")
        self.assertEqual(updates[0][2], {owner.id, member.id})
        self.assertEqual(updates[1][1]["changed"], ["archived"])
        self.assertEqual(updates[1][2], {member.id})
        self.assertTrue(updates[1][1]["conversation"]["archived"])
        # The frame's Conversation carries each receiver's own archived flag: one event per flag.
        self.assertEqual(self.patch(owner, gid, {"title": "Newer"}).status, 200)
        updates = [e for e in self.events(gid) if e[0] == "conversation.updated"][2:]
        self.assertEqual(len(updates), 2)
        by_recipients = {frozenset(e[2]): e[1]["conversation"] for e in updates}
        self.assertEqual(set(by_recipients), {frozenset({owner.id}), frozenset({member.id})})
        self.assertFalse(by_recipients[frozenset({owner.id})]["archived"])
        self.assertTrue(by_recipients[frozenset({member.id})]["archived"])
        self.assertEqual(by_recipients[frozenset({member.id})], self.get(member, gid).json())
        # Either side of a direct chat may title it (and clear the title).
        d = self.create(owner, {"kind": "direct", "user_id": member.id})
        self.assertEqual(self.patch(member, d["id"], {"title": "Us"}).json()["title"], "Us")
        self.assertIsNone(self.patch(owner, d["id"], {"title": None}).json()["title"])

    def test_owner_deletes_for_everyone(self):
        owner, member = self.user(), self.user()
        g = self.group(owner, [member])
        self.assertEqual(self.send(member, g["id"]).status, 201)
        self.assertEqual(self.delete(owner, f"/conversations/{g['id']}").status, 204)
        self.assertProblem(self.get(owner, g["id"]), 404, "NOT_FOUND")
        self.assertProblem(self.get(member, g["id"]), 404, "NOT_FOUND")
        self.assertEqual(self.sql(f"SELECT count(*) FROM messages WHERE conversation_id = '{g['id']}'"), "0")
        kind, payload, recipients = self.events(g["id"])[-1]
        self.assertEqual(kind, "conversation.deleted")
        self.assertEqual(recipients, {owner.id, member.id})
        self.assertEqual(payload["conversation"]["id"], g["id"])
        self.assertEqual(payload["conversation"]["kind"], "group")
        self.assertEqual({m["id"] for m in payload["conversation"]["members"]}, {owner.id, member.id})
        self.assertEqual(payload["conversation"]["last_message"]["sender"]["id"], member.id)
        self.assertProblem(self.delete(owner, f"/conversations/{g['id']}"), 404, "NOT_FOUND")

    # -- isolation ---------------------------------------------------------------------------------------

    def test_nobody_touches_another_users_conversation(self):
        a, b, stranger = self.user(), self.user(), self.user()
        convs = [self.create(a, {"kind": "assistant", "title": "Private"}),
                 self.create(a, {"kind": "direct", "user_id": b.id}),
                 self.group(a, [b], title="Private group")]
        for c in convs:
            cid = c["id"]
            self.assertEqual(self.send(a, cid, "secret").status, 201)
            with self.subTest(kind=c["kind"]):
                self.assertProblem(self.get(stranger, cid), 404, "NOT_FOUND")
                self.assertProblem(self.stack.get(f"{API}/conversations/{cid}/messages", token=stranger.token),
                                   404, "NOT_FOUND")
                self.assertProblem(self.send(stranger, cid, "intruder"), 404, "NOT_FOUND")
                self.assertProblem(self.patch(stranger, cid, {"title": "Hacked"}), 404, "NOT_FOUND")
                self.assertProblem(self.patch(stranger, cid, {"archived": True}), 404, "NOT_FOUND")
                self.assertProblem(self.delete(stranger, f"/conversations/{cid}"), 404, "NOT_FOUND")
                self.assertProblem(self.stack.post(f"{API}/conversations/{cid}/members", {"user_id": stranger.id},
                                                   token=stranger.token), 404, "NOT_FOUND")
                self.assertProblem(self.delete(stranger, f"/conversations/{cid}/members/{a.id}"), 404, "NOT_FOUND")
                self.assertProblem(self.delete(stranger, f"/conversations/{cid}/members/{stranger.id}"),
                                   404, "NOT_FOUND")
                # Nothing changed.
                after = self.get(a, cid).json()
                self.assertEqual(after["title"], c["title"])
                self.assertEqual(after["members"], c["members"])
                self.assertEqual(after["last_message"]["content"], "secret")
                self.assertEqual(after["last_message"]["seq"], 1)
        self.assertEqual(self.list_all(stranger), [])
        self.assertEqual(self.list_all(stranger, "&archived=true"), [])
        for path in ("/conversations/not-a-uuid", f"/conversations/{uuid.uuid4()}"):
            self.assertProblem(self.stack.get(API + path, token=a.token), 404, "NOT_FOUND")

    # -- the list ------------------------------------------------------------------------------------------

    def test_list_order_archive_filter_search_and_cursor(self):
        me, friend = self.user(), self.user()
        titles = ["Alpha", "beta", "Gamma 100%", "Gamma 100x", "delta_one", "deltaXone", "Epsilon"]
        convs = {t: self.create(me, {"kind": "assistant", "title": t}) for t in titles}
        direct = self.create(friend, {"kind": "direct", "user_id": me.id})
        # Newest first when nothing was said.
        listed = self.list_all(me)
        self.assertEqual([c["id"] for c in listed],
                         [direct["id"]] + [convs[t]["id"] for t in reversed(titles)])
        for c in listed:
            self.assertConversationShape(c)
        # A message moves a conversation to the top, with it as last_message.
        self.assertEqual(self.send(me, convs["beta"]["id"], "bump").status, 201)
        self.assertEqual(self.send(friend, direct["id"], "hey").status, 201)
        self.assertEqual(self.send(me, convs["Alpha"]["id"], "bump").status, 201)
        listed = self.list_all(me)
        self.assertEqual([c["title"] for c in listed[:3]], ["Alpha", None, "beta"])
        self.assertEqual(listed[0]["last_message"]["content"], "bump")
        self.assertEqual(listed[1]["last_message"]["sender"]["id"], friend.id)
        self.assertEqual(len({c["id"] for c in listed}), len(titles) + 1)
        # Archived conversations leave the default list and form their own.
        for t in ("Epsilon", "beta"):
            self.assertEqual(self.patch(me, convs[t]["id"], {"archived": True}).status, 200)
        self.assertEqual({c["title"] for c in self.list_all(me, "&archived=true")}, {"Epsilon", "beta"})
        self.assertEqual({c["title"] for c in self.list_all(me, "&archived=false")},
                         set(titles) - {"Epsilon", "beta"} | {None})
        self.assertTrue(all(c["archived"] for c in self.list_all(me, "&archived=true")))
        # q: a case-insensitive substring of the title; LIKE's wildcards are literal.
        def search(q, extra=""):
            return [c["title"] for c in self.list_all(me, f"&q={q}{extra}")]
        self.assertEqual(search("GAMMA"), ["Gamma 100x", "Gamma 100%"])
        self.assertEqual(search("100%25"), ["Gamma 100%"])
        self.assertEqual(search("a_o"), ["delta_one"])
        self.assertEqual(search("lph"), ["Alpha"])
        self.assertEqual(search("eps"), [])
        self.assertEqual(search("eps", "&archived=true"), ["Epsilon"])
        self.assertEqual(search("zzz"), [])
        # Bad parameters.
        for q in ("limit=0", "limit=101", "limit=x", "archived=maybe", "cursor=garbage", "cursor=1_2",
                  "q=" + "x" * 201, "q=%00", "q=%FF"):
            with self.subTest(q=q):
                self.assertProblem(self.stack.get(f"{API}/conversations?{q}", token=me.token), 400, "VALIDATION_ERROR")

    def test_cursor_pagination_without_loss_or_repeat(self):
        me = self.user()
        ids = [self.create(me, {"kind": "assistant", "title": f"c{i}"})["id"] for i in range(11)]
        listed = self.list_all(me)
        self.assertEqual([c["id"] for c in listed], list(reversed(ids)))
        # Default page size is 50; one page holds all of them.
        r = self.stack.get(f"{API}/conversations", token=me.token).json()
        self.assertEqual(len(r["items"]), 11)
        self.assertIsNone(r["next_cursor"])
        # Another user's cursor shows nothing of theirs.
        other = self.user()
        page = self.stack.get(f"{API}/conversations?limit=3", token=me.token).json()
        foreign = self.stack.get(f"{API}/conversations?cursor={page['next_cursor']}", token=other.token)
        self.assertEqual(foreign.status, 200)
        self.assertEqual(foreign.json()["items"], [])


if __name__ == "__main__":
    unittest.main()
