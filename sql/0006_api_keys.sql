-- 0006: per-user API keys for the OpenAI-compatible surface (/v1), their usage, and completions in
-- flight that have no message.
--
-- A key is "chatd_<lookup>_<secret>" (auth/api_key.h): `lookup` (16 hex digits, public, shown as
-- the key's prefix) finds the row by a unique index; only SHA-256 of the whole key is stored and
-- compared in constant time, so a copy of this table cannot be replayed. A key ends when revoked
-- (revoked_at), when it expires (expires_at), when its user is deleted (cascade), and when its user
-- changes password (every key of the user is revoked in that transaction, like refresh tokens).
--
-- Usage per key per UTC day (api_key_usage_daily) sits beside usage_daily (per user), which keeps
-- counting every reply and completion against the user's quota whatever the path; the per-key rows
-- only say which key spent it. Rows of a revoked key are kept (they are the user's history) until
-- the key row is deleted.
--
-- completions_inflight: a /v1 completion stores no message, so it cannot have a generations row
-- (whose key is the streaming message). The in-flight caps (MAX_INFLIGHT_PER_USER / _TOTAL) count
-- both tables under the same advisory lock (store/generations_repo.h). Rows are deleted when the
-- completion ends; a crashed worker's rows stop counting once their heartbeat is stale, and
-- `chatctl gc` deletes them.

CREATE TABLE api_keys (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text        NOT NULL,
    lookup        text        NOT NULL,
    key_hash      bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz,

    CONSTRAINT api_keys_lookup_key  UNIQUE (lookup),
    CONSTRAINT api_keys_name_len    CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT api_keys_lookup_form CHECK (lookup ~ '^[0-9a-f]{16}$'),
    CONSTRAINT api_keys_hash_len    CHECK (octet_length(key_hash) = 32)
) WITH (fillfactor = 80);   -- last_used_at updates

-- GET /keys (the user's keys, newest first, keyset pagination); FK cascade from users.
CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at DESC, id DESC);

CREATE TABLE api_key_usage_daily (
    key_id             uuid    NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day                date    NOT NULL,
    requests           integer NOT NULL DEFAULT 0,
    prompt_tokens      bigint  NOT NULL DEFAULT 0,
    completion_tokens  bigint  NOT NULL DEFAULT 0,

    PRIMARY KEY (key_id, day),
    CONSTRAINT api_key_usage_daily_counts
        CHECK (requests >= 0 AND prompt_tokens >= 0 AND completion_tokens >= 0)
) WITH (fillfactor = 80);

CREATE TABLE completions_inflight (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id        uuid        REFERENCES api_keys (id) ON DELETE SET NULL,
    worker        text        NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT completions_inflight_worker_len CHECK (char_length(worker) BETWEEN 1 AND 200)
) WITH (fillfactor = 70);

CREATE INDEX completions_inflight_user_idx ON completions_inflight (user_id);
