-- What one desktop of a team does that the others should see: a lead's verdict on a
-- handoff, a lead's category rules, a rep's outcome for an Assist draft. Queued here in
-- the transaction that makes the change (only while the desktop is in a team), sent to
-- the rep's own subject on the team's NATS, and removed once NATS has stored it. The
-- relay checks each and republishes it to the whole team.
CREATE TABLE team_outgoing (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The message's id on NATS: JetStream drops a second copy with the same id, so two
    -- processes of this desktop (the app and the CLI) sending one row at once send it once.
    msg_id     TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),
    kind       TEXT NOT NULL CHECK (kind IN ('mark', 'rules', 'outcome')),
    body       TEXT NOT NULL, -- JSON: core's SharedChange
    created_at INTEGER NOT NULL
);

-- Who gave a verdict that came from the team (NULL: given on this desktop).
ALTER TABLE review_marks ADD COLUMN marked_by TEXT;

-- Draft outcomes reps recorded on other desktops, by the vendor's ids: one may arrive
-- before this desktop has the draft, and is applied when the draft comes.
CREATE TABLE shared_outcomes (
    account_id     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    external_id    TEXT NOT NULL,
    source_note_id TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('accepted', 'edited', 'rejected')),
    edited_text    TEXT,
    edit_distance  INTEGER,
    reason         TEXT,
    acted_by       TEXT NOT NULL,
    acted_at       INTEGER NOT NULL,
    PRIMARY KEY (account_id, external_id, source_note_id)
);

-- Where this desktop is in the team's shared stream, and the relay's last word on what
-- this desktop sent (a refusal, in words), for the review screen.
ALTER TABLE team_membership ADD COLUMN shared_position TEXT;
ALTER TABLE team_membership ADD COLUMN shared_refusal TEXT;
