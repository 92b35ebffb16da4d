-- A relay's conversations that its sync changed and its team's stream does not have yet:
-- written in the sync's own transaction and removed once the stream acknowledged them,
-- so a relay that dies between the two publishes them when it starts again.
CREATE TABLE team_unpublished (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT NOT NULL,
    external_id TEXT NOT NULL
);

-- The team this desktop reads its conversations from (at most one). Its NATS password
-- or credentials live in the keychain, never here.
CREATE TABLE team_membership (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    nats_url  TEXT NOT NULL,
    user_name TEXT NOT NULL,
    ca_file   TEXT,
    joined_at INTEGER NOT NULL
);
