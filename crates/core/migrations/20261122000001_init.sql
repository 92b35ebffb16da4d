-- Baton's local cache. Times are UTC milliseconds since the epoch.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,          -- short user-chosen name, e.g. "acme"
    kind          TEXT NOT NULL,             -- zendesk | salesforce
    base_url      TEXT NOT NULL,
    login         TEXT,                      -- e.g. the Zendesk agent email
    auth_kind     TEXT NOT NULL,             -- api_token | oauth
    secret_ref    TEXT NOT NULL,             -- keychain entry name; never the secret itself
    settings      TEXT NOT NULL DEFAULT '{}',-- vendor options (JSON): sunco app id, field mapping
    me_id         TEXT,                      -- the rep's own user id at the vendor
    created_at    INTEGER NOT NULL
);

CREATE TABLE conversations (
    id                 INTEGER PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    external_id        TEXT NOT NULL,
    source             TEXT NOT NULL,
    channel            TEXT NOT NULL,
    status             TEXT NOT NULL,
    subject            TEXT NOT NULL,
    requester_name     TEXT,
    assignee_id        TEXT,
    assignee_name      TEXT,
    group_id           TEXT,
    group_name         TEXT,
    priority           TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    ticket_url         TEXT,
    session_url        TEXT,
    opencx_org_id      TEXT,
    opencx_contact_id  TEXT,
    opencx_session_id  TEXT,
    assist_skips       TEXT NOT NULL DEFAULT '[]',
    version            TEXT NOT NULL,
    transcript_version TEXT,                 -- the version the stored transcript covers
    transcript_cursor  TEXT,                 -- where the next transcript fetch resumes
    UNIQUE (account_id, external_id)
);
CREATE INDEX conversations_status ON conversations(status);

CREATE TABLE handoffs (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    mode            TEXT NOT NULL,
    reason          TEXT,
    reason_category TEXT,
    handed_off_at   INTEGER NOT NULL,
    handled_by      TEXT
);
CREATE INDEX handoffs_time ON handoffs(handed_off_at);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    external_id     TEXT NOT NULL,
    role            TEXT NOT NULL,
    author_name     TEXT,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attachments     TEXT NOT NULL DEFAULT '[]',
    internal        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (conversation_id, external_id)
);
CREATE INDEX messages_conversation_time ON messages(conversation_id, created_at);

CREATE VIRTUAL TABLE messages_fts USING fts5(
    body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
END;

CREATE TABLE assist_drafts (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    source_note_id  TEXT NOT NULL,
    text            TEXT NOT NULL,
    training_url    TEXT,
    state           TEXT NOT NULL DEFAULT 'pending',
    edited_text     TEXT,
    acted_by        TEXT,
    acted_at        INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, source_note_id)
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE sync_cursors (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    stream     TEXT NOT NULL,
    cursor     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, stream)
);
