-- The groups the rep belongs to, per account: the queue puts their unassigned
-- conversations right after the rep's own. JSON array of vendor group ids.
ALTER TABLE accounts ADD COLUMN me_group_ids TEXT NOT NULL DEFAULT '[]';
