-- Replies in flight: what the vendor answered last, and the text a rep is editing.
ALTER TABLE outbox ADD COLUMN external_id TEXT;            -- the ticket the write goes to
ALTER TABLE outbox ADD COLUMN draft_id INTEGER REFERENCES assist_drafts(id) ON DELETE SET NULL;
CREATE INDEX outbox_due ON outbox(account_id, state, id);

-- The text a rep is editing, saved as they type: survives closing the app and a crash.
CREATE TABLE draft_edits (
    draft_id   INTEGER PRIMARY KEY REFERENCES assist_drafts(id) ON DELETE CASCADE,
    text       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- What the rep did with a draft, for the leads' report.
ALTER TABLE assist_drafts ADD COLUMN outcome_reason TEXT;   -- why it was rejected
ALTER TABLE assist_drafts ADD COLUMN edit_distance INTEGER; -- how much the rep changed it
