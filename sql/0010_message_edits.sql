-- 0010: editing a message in place (PATCH /conversations/{id}/messages/{mid}). In a conversation
-- between people (direct, group) the sender of a user message may change its text; the message
-- then carries the time of its last edit, which every member sees (Message.edited_at). Replies
-- are never edited, and neither are messages in assistant conversations, where an edit would
-- change the question behind an answer (that is a branch, not an edit).
--
-- The page versions (sql/0003) already move with any change to a message that is not streaming,
-- so cached pages and conversation lists show the new text at once.

ALTER TABLE messages ADD COLUMN edited_at timestamptz;
ALTER TABLE messages ADD CONSTRAINT messages_edited_user CHECK (edited_at IS NULL OR role = 'user');
