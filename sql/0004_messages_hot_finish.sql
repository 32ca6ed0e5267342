-- 0004: a finished reply is stored with a HOT update.
--
-- messages_streaming_idx (0001) indexed the streaming replies by a predicate on status, which made
-- status an indexed column: storing a reply's final state (streaming -> complete) could never be a
-- heap-only update and wrote a new entry into each of the table's eight indexes. Nothing reads it
-- any more: stop and gc find replies in flight through generations (one row per reply in flight,
-- keyed by message and by conversation), and the message list reads by (conversation_id, seq).
DROP INDEX IF EXISTS messages_streaming_idx;
