-- Why the last sync could not read a conversation (its transcript answered 404/403, or
-- Zendesk's record did not parse): shown to the rep on the conversation, cleared by the
-- next sync that reads it whole. NULL when all is well.
ALTER TABLE conversations ADD COLUMN sync_problem TEXT;
