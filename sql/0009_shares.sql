-- 0009: share links. The owner of a conversation creates a read-only link to a snapshot of its
-- messages as they are at that moment; anyone with the link reads the snapshot without an account
-- (GET /api/v1/shared/{token}); the owner lists and revokes links (revoking deletes the row, and
-- the link answers 404 from then on).
--
-- The snapshot is rendered once, at creation, into `snapshot` (what the public endpoint answers:
-- names and messages only, no ids, usernames or e-mail addresses), so later messages, edits of the
-- conversation or renames of its members never reach it. The token is 32 random bytes
-- (base64url, 43 characters): the link is the capability. It is stored as is, so that the owner
-- can copy a link again; it grants reading one snapshot and nothing else.
--
-- A link dies with its conversation or its creator (ON DELETE CASCADE).

CREATE TABLE shares (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id  uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    owner_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token            text        NOT NULL,
    title            text        NOT NULL,
    message_count    integer     NOT NULL,
    snapshot         jsonb       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT shares_token_key UNIQUE (token),
    CONSTRAINT shares_token_format CHECK (token ~ '^[A-Za-z0-9_-]{43}$'),
    CONSTRAINT shares_title_len CHECK (char_length(title) BETWEEN 1 AND 300),
    CONSTRAINT shares_message_count CHECK (message_count >= 0),
    CONSTRAINT shares_snapshot_object CHECK (jsonb_typeof(snapshot) = 'object')
);

-- The owner's links of a conversation, newest first.
CREATE INDEX shares_conversation_idx ON shares (conversation_id, created_at DESC);
CREATE INDEX shares_owner_idx ON shares (owner_id);
