-- The review counts the conversations begun in a period.
CREATE INDEX conversations_created ON conversations(created_at);
