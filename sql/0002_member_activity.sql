-- 0002: "most recently active first" in constant time, however many conversations a user has.
--
-- GET /conversations orders a user's conversations by activity. With the activity only on
-- conversations, every page sorted all of the caller's memberships. Each membership now carries a
-- copy of its conversation's last_activity_at, indexed with the user, so a page is an index range
-- scan of `limit` rows. The copy is kept by triggers, in the same transaction as the change, so
-- the application's writers stay as they are: bumping conversations.last_activity_at (which the
-- message writers do under the conversation's row lock) updates the members' copies, and a new
-- membership starts with its conversation's value.

ALTER TABLE conversation_members ADD COLUMN last_activity_at timestamptz;
UPDATE conversation_members m SET last_activity_at = c.last_activity_at
  FROM conversations c WHERE c.id = m.conversation_id;
ALTER TABLE conversation_members ALTER COLUMN last_activity_at SET NOT NULL;
ALTER TABLE conversation_members ALTER COLUMN last_activity_at SET DEFAULT now();

-- GET /conversations?archived=: WHERE user_id = $1 AND archived = $2
--   ORDER BY last_activity_at DESC, conversation_id DESC LIMIT n (cursor: row comparison).
CREATE INDEX conversation_members_activity_idx
  ON conversation_members (user_id, archived, last_activity_at DESC, conversation_id DESC);

CREATE FUNCTION conversation_members_copy_activity() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  SELECT c.last_activity_at INTO NEW.last_activity_at FROM conversations c WHERE c.id = NEW.conversation_id;
  RETURN NEW;
END;
$$;

CREATE TRIGGER conversation_members_activity_on_insert
  BEFORE INSERT ON conversation_members
  FOR EACH ROW EXECUTE FUNCTION conversation_members_copy_activity();

CREATE FUNCTION conversations_propagate_activity() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE conversation_members SET last_activity_at = NEW.last_activity_at
   WHERE conversation_id = NEW.id AND last_activity_at IS DISTINCT FROM NEW.last_activity_at;
  RETURN NULL;
END;
$$;

CREATE TRIGGER conversations_activity_to_members
  AFTER UPDATE OF last_activity_at ON conversations
  FOR EACH ROW WHEN (OLD.last_activity_at IS DISTINCT FROM NEW.last_activity_at)
  EXECUTE FUNCTION conversations_propagate_activity();
