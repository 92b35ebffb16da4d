-- How a session ended and the org's routing attributes, which rode in the subject before.
-- ended_by: agent | end_user | bot | system | other:<as the vendor sent it>; NULL while
-- the session has not ended (and for vendors that do not say).
ALTER TABLE conversations ADD COLUMN ended_by TEXT;
ALTER TABLE conversations ADD COLUMN ended_at INTEGER;      -- ms; NULL when not known
-- JSON array of {"label", "value"}, in the order the card shows them.
ALTER TABLE conversations ADD COLUMN routing_attributes TEXT NOT NULL DEFAULT '[]';
