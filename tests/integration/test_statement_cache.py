"""The per-connection prepared-statement cache (workers/store/statements.h) across lost connections.

The hot statements (authentication, the conversation and message lists, the statements of a send)
are prepared once per PostgreSQL connection and re-executed by name. A statement name means
nothing to a new server session, so the cache must die with its connection: after the backends
are terminated (pg_terminate_backend) or PostgreSQL restarts, the next requests — reads, and a
send, whose statements run inside a transaction where a stale name could not be retried — must
succeed on fresh connections, with no "prepared statement does not exist" anywhere.
"""

import unittest

from harness import Postgres, Stack, create_user, wait_until

API = "/api/v1"


class StatementCacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        # One process with two sessions: every session gets warmed up and then invalidated.
        cls.stack = Stack(pg=cls.pg, env={"WORKERS": "1", "DB_POOL_SIZE": "2"}).start()
        cls.alice = create_user(cls.stack)
        cls.bob = create_user(cls.stack)
        r = cls.stack.post(f"{API}/conversations", {"kind": "group", "title": "Cache",
                                                    "member_ids": [cls.bob.id]},
                           token=cls.alice.token)
        assert r.status == 201, r
        cls.conversation = r.json()["id"]

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()
        cls.pg.close()

    def sql(self, query):
        return self.pg.psql(query, db=self.stack.database).strip()

    def chatd_backends(self):
        """PIDs of the database's client backends other than ours (the pool's sessions, the push
        daemon's and the workers' side connections)."""
        return set(self.sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()").split())

    def exercise(self, rounds):
        """Lists, reads and sends `rounds` times as both users; every answer must be a success."""
        for i in range(rounds):
            for user in (self.alice, self.bob):
                r = self.stack.get(f"{API}/conversations?limit=50", token=user.token)
                self.assertEqual(r.status, 200, r)
                self.assertEqual([c["id"] for c in r.json()["items"]], [self.conversation])
                r = self.stack.get(f"{API}/conversations/{self.conversation}/messages?limit=5",
                                   token=user.token)
                self.assertEqual(r.status, 200, r)
                r = self.stack.get(f"{API}/auth/me", token=user.token)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["id"], user.id)
            r = self.stack.post(f"{API}/conversations/{self.conversation}/messages",
                                {"content": f"round {i}"}, token=self.alice.token)
            self.assertEqual(r.status, 201, r)

    def assert_no_stale_statement_errors(self):
        stale = [line for line in self.stack.worker_log_lines()
                 if "prepared statement" in line or "26000" in line]
        self.assertEqual(stale, [])

    def test_terminated_backends_are_replaced_and_statements_prepared_again(self):
        self.exercise(8)  # more than five executions: the generic plans are cached too
        backends = self.chatd_backends()
        self.assertTrue(backends)
        self.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 f"WHERE pid IN ({','.join(backends)})")
        wait_until(lambda: not (self.chatd_backends() & backends),
                   what="the terminated backends to exit")
        # The very first request after the loss succeeds: no failed request, no retry needed.
        self.exercise(3)
        self.assert_no_stale_statement_errors()

    def test_postgres_restart_is_survived(self):
        self.exercise(6)
        self.pg.stop()
        self.pg.start()
        wait_until(lambda: self.stack.get(f"{API}/ready").status == 200, timeout=60,
                   what="/ready back to 200")
        self.exercise(3)
        self.assert_no_stale_statement_errors()
        messages = self.stack.get(f"{API}/conversations/{self.conversation}/messages?limit=100",
                                  token=self.bob.token).json()["items"]
        seqs = [m["seq"] for m in messages]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))  # the sends stayed gapless


if __name__ == "__main__":
    unittest.main()
