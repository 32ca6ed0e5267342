-- 0005: a Conversation shows its assistant's name, and the page versions (0003) cover it.
--
-- A Conversation now carries `assistant: {id, name} | null` (the assistant that answers: its
-- assistant_id's, or the built-in default for kind 'assistant' without one), so that every member
-- of a group can @mention it. GET /conversations serves cached renderings whose tag is the
-- conversation's version and page_cache_epoch.profiles (api/page_cache.h): renaming an assistant
-- must change one of them.
--
-- It changes the epoch, like a user's rename, rather than the version of each of the assistant's
-- conversations:
--   * exact under concurrency: a rendering reads the assistant's name and the epoch in one
--     statement, so it shows the new name if and only if it carries the new epoch. Bumping the
--     conversations instead misses one created while the rename runs (its row is not yet visible
--     to the rename's UPDATE, and a rendering cached between the two commits would keep the old
--     name at a version nothing bumps again); waiting for such creators would take a lock on the
--     assistant that a chat turn, holding its conversation's lock, can deadlock with;
--   * it takes no conversation's lock, whatever the number of conversations (the built-in
--     default's are all the conversations of kind 'assistant');
--   * renames are rare (an owner naming its assistant), and the cost is the same as a user's:
--     every cached page is rendered once more.
-- Deleting an assistant needs nothing new: ON DELETE SET NULL updates each conversation's row,
-- which bumps its version (0003's conversations_version trigger).

CREATE FUNCTION assistants_bump_profiles_epoch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE page_cache_epoch SET profiles = profiles + 1;
  RETURN NULL;
END;
$$;

CREATE TRIGGER assistants_name_epoch
  AFTER UPDATE OF name ON assistants
  FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name)
  EXECUTE FUNCTION assistants_bump_profiles_epoch();
