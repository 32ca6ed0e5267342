-- 0007: WebSocket connections counted across every chatd-push daemon, so that WS_MAX_PER_USER holds
-- for a user whatever the number of machines (each daemon used to count only its own).
--
-- A daemon registers each authenticated connection here (ws_register, one round trip that checks
-- the user's live connections and inserts, serialised per user by a transaction-scoped advisory
-- lock so two daemons cannot both squeeze under the cap), deletes it when it closes, and refreshes
-- the heartbeat of all its rows every 30 s. A daemon that dies leaves rows that stop counting once
-- their heartbeat is 90 s old; the next heartbeat of any daemon deletes them.
--
-- UNLOGGED: the rows describe sockets of live processes, which a crash or a failover ends anyway;
-- not writing them to the WAL keeps connects cheap. No foreign key to users: a deleted user's rows
-- go with its sockets.

CREATE UNLOGGED TABLE ws_sessions (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL,
    daemon        text        NOT NULL,
    connected_at  timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT ws_sessions_daemon_len CHECK (char_length(daemon) BETWEEN 1 AND 200)
) WITH (fillfactor = 70);

CREATE INDEX ws_sessions_user_idx ON ws_sessions (user_id);
CREATE INDEX ws_sessions_daemon_idx ON ws_sessions (daemon);

-- The new row's id when the user has fewer than p_max live connections (and the row inserted);
-- NULL when the user is at the cap. The lock is
-- the two-int form, class 'ws' (0x7773), so it collides with no other advisory lock of chatd's.
-- Each statement of a VOLATILE plpgsql function takes a fresh snapshot, so the count sees the
-- inserts that committed while this call waited for the lock.
CREATE FUNCTION ws_register(p_user uuid, p_daemon text, p_max integer, p_stale_s integer)
RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_live integer;
    v_id   uuid;
BEGIN
    PERFORM pg_advisory_xact_lock(30579, hashtext(p_user::text));
    SELECT count(*) INTO v_live FROM ws_sessions
     WHERE user_id = p_user AND heartbeat_at > now() - make_interval(secs => p_stale_s);
    IF v_live >= p_max THEN
        RETURN NULL;
    END IF;
    INSERT INTO ws_sessions (user_id, daemon) VALUES (p_user, p_daemon) RETURNING id INTO v_id;
    RETURN v_id;
END;
$$;
