-- The leads' review of why the AI hands off: the rules that put a handoff's reason in a
-- category, and a lead's verdict on a handoff.

-- Matched in `position` order against the handoff's reason summary, case-insensitively;
-- the first that matches gives the category, and a reason no rule matches stays
-- uncategorised (NULL). kind: keyword (a substring) | regex (Rust `regex` syntax).
-- category: asked_for_human | no_answer | policy_or_account | upset | technical | other.
CREATE TABLE category_rules (
    id       INTEGER PRIMARY KEY,
    category TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('keyword', 'regex')),
    pattern  TEXT NOT NULL,
    position INTEGER NOT NULL
);

INSERT INTO category_rules (category, kind, pattern, position) VALUES
    ('asked_for_human',   'keyword', 'human',          1),
    ('asked_for_human',   'keyword', 'person',         2),
    ('asked_for_human',   'keyword', 'agent',          3),
    ('asked_for_human',   'keyword', 'supervisor',     4),
    ('asked_for_human',   'keyword', 'representative', 5),
    ('no_answer',         'keyword', 'could not find', 6),
    ('no_answer',         'keyword', 'couldn''t find', 7),
    ('no_answer',         'keyword', 'no answer',      8),
    ('no_answer',         'keyword', 'doesn''t know',  9),
    ('no_answer',         'keyword', 'did not help',   10),
    ('no_answer',         'keyword', 'not covered',    11),
    ('policy_or_account', 'keyword', 'refund',         12),
    ('policy_or_account', 'keyword', 'cancel',         13),
    ('policy_or_account', 'keyword', 'billing',        14),
    ('policy_or_account', 'keyword', 'charged',        15),
    ('policy_or_account', 'keyword', 'account',        16),
    ('policy_or_account', 'keyword', 'password',       17),
    ('policy_or_account', 'keyword', 'policy',         18),
    ('policy_or_account', 'keyword', 'approve',        19),
    ('policy_or_account', 'keyword', 'claim',          20),
    ('upset',             'keyword', 'angry',          21),
    ('upset',             'keyword', 'upset',          22),
    ('upset',             'keyword', 'frustrated',     23),
    ('upset',             'keyword', 'complain',       24),
    ('technical',         'keyword', 'error',          25),
    ('technical',         'keyword', 'bug',            26),
    ('technical',         'keyword', 'crash',          27),
    ('technical',         'keyword', 'not working',    28),
    ('technical',         'keyword', 'broken',         29),
    ('technical',         'keyword', 'login loop',     30);

-- handoffs.reason_category now holds the category these rules give (NULL: uncategorised),
-- kept at every write of a handoff and recomputed for all when the rules change. The
-- cached handoffs are categorised here, by the seeded rules (all keywords: instr over
-- lower(), which for these ASCII keywords matches what the app's own matching does),
-- replacing the categories of the old built-in list.
UPDATE handoffs SET reason_category = (
    SELECT r.category FROM category_rules r
    WHERE r.kind = 'keyword' AND instr(lower(handoffs.reason), lower(r.pattern)) > 0
    ORDER BY r.position LIMIT 1
);

-- A lead's verdict on a handoff. Keyed by the vendor's ids, so it outlives the cached
-- row (a conversation forgotten and synced again keeps its mark).
CREATE TABLE review_marks (
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('avoidable', 'needed')),
    note        TEXT,
    marked_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, external_id)
);
CREATE INDEX review_marks_verdict ON review_marks(verdict);
