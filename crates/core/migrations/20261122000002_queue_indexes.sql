-- The queue asks "does this conversation have a pending draft?" for every row.
CREATE INDEX assist_drafts_pending ON assist_drafts(conversation_id) WHERE state = 'pending';
