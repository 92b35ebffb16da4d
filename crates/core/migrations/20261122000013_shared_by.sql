-- Who sent a draft outcome the team shared, as NATS authenticated them (acted_by is the rep
-- as their helpdesk names them, what the drafts report counts). The relay lets only that
-- member change it.
ALTER TABLE shared_outcomes ADD COLUMN shared_by TEXT NOT NULL DEFAULT '';
