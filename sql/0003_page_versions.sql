-- 0003: versions that tell a worker's cached rendering from a stale one in one read.
--
-- GET /conversations/{id}/messages renders a page of messages and their senders; GET /conversations
-- renders each conversation with its members and last message. The workers keep recent renderings
-- (api/page_cache.h) and reuse one only when nothing it shows can have changed, which this
-- migration makes a primary-key read to decide:
--
--   * conversations.version goes up with every update of the conversation's row (title, archive,
--     activity). Every new message updates that row (last_seq, under the conversation's lock);
--     joining, leaving and a role change bump it (below); and a statement that changes a
--     message a page may show (a reply leaving `streaming`, any change to a finished message, a
--     sender set NULL by a user's deletion) bumps it, in the same transaction. Updates between two
--     `streaming` states (the text so far, about once a second) do not: pages that hold a
--     streaming message are never reused.
--   * page_cache_epoch.profiles goes up when any user's username or display_name changes: senders
--     are rendered from users, and one counter for all is cheaper than finding every conversation
--     a user ever wrote in. Renames are rare; they cost every cached page.

ALTER TABLE conversations ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION conversations_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.version = OLD.version THEN
    NEW.version := OLD.version + 1;
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER conversations_version
  BEFORE UPDATE ON conversations
  FOR EACH ROW EXECUTE FUNCTION conversations_bump_version();

-- One statement, one update per conversation touched, whatever the number of rows.
CREATE FUNCTION messages_bump_conversation_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE conversations c SET version = c.version + 1
   WHERE c.id IN (SELECT n.conversation_id FROM changed_new n JOIN changed_old o ON o.id = n.id
                   WHERE o.status <> 'streaming' OR n.status <> 'streaming');
  RETURN NULL;
END;
$$;

CREATE TRIGGER messages_version
  AFTER UPDATE ON messages
  REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
  FOR EACH STATEMENT EXECUTE FUNCTION messages_bump_conversation_version();

CREATE TABLE page_cache_epoch (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    profiles bigint  NOT NULL DEFAULT 0
);
INSERT INTO page_cache_epoch DEFAULT VALUES;

CREATE FUNCTION users_bump_profiles_epoch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE page_cache_epoch SET profiles = profiles + 1;
  RETURN NULL;
END;
$$;

CREATE TRIGGER users_profiles_epoch
  AFTER UPDATE OF username, display_name ON users
  FOR EACH ROW
  WHEN (OLD.username IS DISTINCT FROM NEW.username OR OLD.display_name IS DISTINCT FROM NEW.display_name)
  EXECUTE FUNCTION users_bump_profiles_epoch();

-- Members are rendered with their conversation (GET /conversations): joining, leaving and a change
-- of role bump its version too. A statement adding a hundred members bumps it once.
CREATE FUNCTION conversation_members_bump_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE conversations c SET version = c.version + 1
   WHERE c.id IN (SELECT conversation_id FROM changed_members);
  RETURN NULL;
END;
$$;

CREATE TRIGGER conversation_members_version_insert
  AFTER INSERT ON conversation_members
  REFERENCING NEW TABLE AS changed_members
  FOR EACH STATEMENT EXECUTE FUNCTION conversation_members_bump_added();

CREATE TRIGGER conversation_members_version_delete
  AFTER DELETE ON conversation_members
  REFERENCING OLD TABLE AS changed_members
  FOR EACH STATEMENT EXECUTE FUNCTION conversation_members_bump_added();

CREATE FUNCTION conversation_members_bump_role() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE conversations SET version = version + 1 WHERE id = NEW.conversation_id;
  RETURN NULL;
END;
$$;

CREATE TRIGGER conversation_members_version_role
  AFTER UPDATE OF role ON conversation_members
  FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role)
  EXECUTE FUNCTION conversation_members_bump_role();
