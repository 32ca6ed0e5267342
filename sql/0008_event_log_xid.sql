-- 0008: the event log without a global lock. emit_event used to take one advisory lock held to
-- COMMIT (so that ids became visible in increasing order) and to NOTIFY inside the writing
-- transaction; both serialised every event-writing transaction of the cluster behind the previous
-- one's WAL flush (NOTIFY's own lock is held across the flush too), capping the whole service near
-- 1 / fsync latency.
--
-- Now each row records its writer's transaction (xid) beside its id. A reader follows an (xid, id)
-- position and, in one statement, reads only rows whose xid is below the horizon
-- pg_snapshot_xmin(pg_current_snapshot()): every transaction below it has ended, so no row can
-- still appear behind the position (a transaction that commits late is read when it has ended,
-- never skipped). Per conversation, order is the conversation's own: its writers take the
-- conversation's row lock before their first write (so before they get an xid), which makes xid
-- order agree with that conversation's commit order, and that lock serialises only that
-- conversation. The wake-up is a payload-free NOTIFY sent by the workers after COMMIT, in its own
-- transaction (no WAL flush of its own), and the push daemons also poll: correctness never
-- depends on it. docs/websocket.md ("The event log") has the rules and the failure modes.
--
-- Existing rows get this migration's xid: pg_current_xact_id() is stable, so the default is
-- evaluated once and the column is added without rewriting the table; their id order is kept and
-- new rows sort after them.

ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();

-- The readers' order and range scans: (xid, id) > position AND xid < horizon.
CREATE INDEX events_xid_id_idx ON events (xid, id);

-- Resume of one user filters the range by recipients; the GIN index was never used by that query
-- (it tests = ANY(recipients), which GIN cannot serve) and cost every event insert a GIN update.
DROP INDEX events_recipients_idx;

CREATE OR REPLACE FUNCTION emit_event(p_conversation_id uuid, p_kind text, p_payload jsonb,
                                      p_recipients uuid[])
RETURNS bigint
LANGUAGE sql
AS $$
    INSERT INTO events (conversation_id, kind, payload, recipients)
    VALUES (p_conversation_id, p_kind, p_payload, p_recipients)
    RETURNING id
$$;

COMMENT ON FUNCTION emit_event(uuid, text, jsonb, uuid[]) IS
    'Appends one event. No lock, no NOTIFY: the writer takes the conversation''s row lock before '
    'its first write, and wakes the push daemons after COMMIT (sql/0008).';
