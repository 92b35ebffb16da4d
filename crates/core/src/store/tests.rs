use super::*;
use crate::model::*;
use crate::store::{AccountRecord, CacheCounts, QueueFilter};

pub(crate) fn conversation(id: &str, updated: Millis) -> Conversation {
    Conversation {
        external_id: id.into(),
        source: SourceKind::Zendesk,
        channel: Channel::Web,
        status: Status::Open,
        subject: format!("ticket {id}"),
        requester_name: Some("Maria".into()),
        assignee_id: None,
        assignee_name: None,
        group_id: None,
        group_name: None,
        priority: None,
        created_at: 1_000,
        updated_at: updated,
        ticket_url: None,
        session_url: None,
        opencx_org_id: None,
        opencx_contact_id: None,
        opencx_session_id: Some("s-1".into()),
        assist_skips: vec![],
        handoff: Some(HandoffFacts {
            mode: HandoffMode::LiveChat,
            handed_off_at: None,
        }),
        version: updated.to_string(),
        wants_transcript: true,
        ended: None,
        routing_attributes: vec![],
    }
}

pub(super) fn message(id: &str, body: &str, at: Millis) -> Message {
    Message {
        external_id: id.into(),
        role: Role::Customer,
        author_name: None,
        body: body.into(),
        created_at: at,
        attachments: vec![],
        internal: false,
    }
}

/// Commits one conversation without a transcript, and the cursor "c".
async fn commit_bare(store: &Store, id: &str) {
    let page = vec![Bundle {
        conversation: conversation(id, 2),
        transcript: None,
        problem: None,
    }];
    store
        .commit_page("acme", "tickets", &page, Some("c"), 1)
        .await
        .unwrap();
}

/// Commits one conversation of the account "acme" with this transcript; its cache id.
pub(super) async fn commit_one(store: &Store, c: Conversation, transcript: TranscriptPage) -> i64 {
    let external_id = c.external_id.clone();
    let page = [Bundle {
        conversation: c,
        transcript: Some(transcript),
        problem: None,
    }];
    store
        .commit_page("acme", "tickets", &page, None, 1)
        .await
        .unwrap();
    store
        .conversation_id(Some("acme"), &external_id)
        .await
        .unwrap()
}

pub(super) async fn store_with_account() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("nested/baton.db"))
        .await
        .unwrap();
    store
        .add_account(&AccountRecord::for_test(
            "acme",
            "http://127.0.0.1:1",
            Some("rep@acme.test"),
        ))
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn committing_the_same_page_twice_changes_nothing() {
    let (_dir, store) = store_with_account().await;
    let page = vec![Bundle {
        conversation: conversation("1", 2_000),
        transcript: Some(TranscriptPage {
            messages: vec![message("m1", "I want a refund", 1_100)],
            drafts: vec![
                DraftFacts {
                    source_note_id: "n1".into(),
                    text: "Sure".into(),
                    training_url: None,
                    created_at: 1_200,
                },
                // The same suggestion re-posted (a webhook retry) is one draft, not two.
                DraftFacts {
                    source_note_id: "n2".into(),
                    text: "Sure".into(),
                    training_url: None,
                    created_at: 1_300,
                },
            ],
            handoff_reason: Some("wants a refund".into()),
            handoff_at: Some(1_150),
            cursor: Some("c1".into()),
            problem: None,
            ..Default::default()
        }),
        problem: None,
    }];
    for _ in 0..2 {
        store
            .commit_page("acme", "tickets", &page, Some("cur-1"), 5)
            .await
            .unwrap();
    }
    let queue = store.queue(&QueueFilter::default()).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].reason.as_deref(), Some("wants a refund"));
    assert_eq!(queue[0].waiting_since, 1_150);
    let detail = store.detail(queue[0].id).await.unwrap();
    assert_eq!(detail.messages.len(), 1);
    assert_eq!(detail.drafts.len(), 1);
    assert_eq!(
        store.cursor("acme", "tickets").await.unwrap().as_deref(),
        Some("cur-1")
    );

    // A later page without the summary keeps the reason, and adds the new message.
    let later = vec![Bundle {
        conversation: conversation("1", 3_000),
        transcript: Some(TranscriptPage {
            messages: vec![message("m2", "still waiting", 2_500)],
            cursor: None,
            ..Default::default()
        }),
        problem: None,
    }];
    store
        .commit_page("acme", "tickets", &later, Some("cur-2"), 6)
        .await
        .unwrap();
    let detail = store.detail(queue[0].id).await.unwrap();
    assert_eq!(detail.messages.len(), 2);
    assert_eq!(
        detail.handoff.unwrap().reason.as_deref(),
        Some("wants a refund")
    );
    let states = store
        .transcript_states("acme", &["1".into()])
        .await
        .unwrap();
    assert_eq!(
        states["1"],
        TranscriptState {
            version: Some("3000".into()),
            cursor: Some("c1".into())
        }
    );
}

#[tokio::test]
async fn search_finds_words_and_survives_syntax() {
    let (_dir, store) = store_with_account().await;
    let page = vec![Bundle {
        conversation: conversation("7", 2_000),
        transcript: Some(TranscriptPage {
            messages: vec![
                message("a", "Das Paket ist beschädigt angekommen", 1),
                message("b", "<script>alert(1)</script> hello", 2),
            ],
            ..Default::default()
        }),
        problem: None,
    }];
    store
        .commit_page("acme", "tickets", &page, Some("c"), 1)
        .await
        .unwrap();
    let hits = store.search("beschadigt", 10).await.unwrap();
    assert_eq!(hits.len(), 1, "diacritics are folded");
    assert_eq!(hits[0].external_id, "7");
    assert_eq!(store.search("alert( \"hel", 10).await.unwrap().len(), 1);
    assert!(store.search("nothing-here", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn removing_an_account_removes_its_cache_and_reopening_keeps_data() {
    let (dir, store) = store_with_account().await;
    commit_bare(&store, "1").await;
    drop(store);
    let store = Store::open(&dir.path().join("nested/baton.db"))
        .await
        .unwrap();
    assert_eq!(store.queue(&QueueFilter::default()).await.unwrap().len(), 1);
    store.remove_account("acme").await.unwrap();
    assert!(store
        .queue(&QueueFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.remove_account("acme").await,
        Err(crate::Error::NotFound(_))
    ));
}

#[tokio::test]
async fn a_database_from_an_older_build_opens_and_keeps_its_data() {
    // The first release's schema, made by its migration alone, with its data in it.
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("v1");
    std::fs::create_dir(&first).unwrap();
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/20261122000001_init.sql");
    std::fs::copy(&src, first.join("20261122000001_init.sql")).unwrap();
    let path = dir.path().join("old.db");
    {
        let pool = sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
        sqlx::migrate::Migrator::new(first.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO accounts (id, kind, base_url, auth_kind, secret_ref, created_at) VALUES ('acme', 'zendesk', 'https://acme.zendesk.com', 'api_token', 'zendesk:acme', 0)",
            "INSERT INTO conversations (account_id, external_id, source, channel, status, subject, created_at, updated_at, version) VALUES ('acme', '9', 'zendesk', 'web', 'open', 'Old one', 1, 2, 'v')",
            "INSERT INTO handoffs (conversation_id, mode, reason, handed_off_at) VALUES (1, 'live_chat', 'kept', 5)",
            "INSERT INTO sync_cursors (account_id, stream, cursor, updated_at) VALUES ('acme', 'tickets', 'c', 1)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let store = Store::open(&path).await.unwrap();
    let queue = store.queue(&QueueFilter::default()).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].reason.as_deref(), Some("kept"));
    assert_eq!(
        store.cursor("acme", "tickets").await.unwrap().as_deref(),
        Some("c")
    );
    // The later migrations ran: their tables and columns work.
    store
        .set_identity("acme", "me", &["g".into()])
        .await
        .unwrap();
    assert!(store.outbox().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_queue_puts_mine_then_my_groups_unassigned_then_the_rest() {
    let (_dir, store) = store_with_account().await;
    store
        .set_identity("acme", "me", &["g1".into()])
        .await
        .unwrap();
    let mut page = vec![];
    for (id, assignee, group, at) in [
        ("1", None, Some("g2"), 100),       // unassigned, not my group: other
        ("2", Some("me"), Some("g2"), 300), // mine
        ("3", None, Some("g1"), 200),       // my group, unassigned
        ("4", Some("bob"), Some("g1"), 50), // someone else's in my group: other
        ("5", Some("me"), None, 250),       // mine
    ] {
        let mut c = conversation(id, 2);
        c.assignee_id = assignee.map(String::from);
        c.group_id = group.map(String::from);
        c.handoff = Some(HandoffFacts {
            mode: HandoffMode::LiveChat,
            handed_off_at: Some(at),
        });
        page.push(Bundle {
            conversation: c,
            transcript: None,
            problem: None,
        });
    }
    store
        .commit_page("acme", "tickets", &page, Some("c"), 1)
        .await
        .unwrap();
    let q = store.queue(&QueueFilter::default()).await.unwrap();
    let got: Vec<(&str, Scope)> = q
        .iter()
        .map(|i| (i.external_id.as_str(), i.scope))
        .collect();
    assert_eq!(
        got,
        vec![
            ("5", Scope::Mine),
            ("2", Scope::Mine),
            ("3", Scope::MyGroups),
            ("4", Scope::Other),
            ("1", Scope::Other),
        ]
    );
    let mine = QueueFilter {
        my_scope: true,
        ..Default::default()
    };
    let ids: Vec<String> = store
        .queue(&mine)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.external_id)
        .collect();
    assert_eq!(
        ids,
        ["5", "2", "3"],
        "my scope: mine, then my groups' unassigned"
    );
    let touched = QueueFilter {
        account_id: Some("acme".into()),
        external_ids: Some(vec![
            "1".into(),
            "3".into(),
            "404".into(),
            "'); DROP".into(),
        ]),
        ..Default::default()
    };
    let rows: Vec<(String, Scope)> = store
        .queue(&touched)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.external_id, i.scope))
        .collect();
    assert_eq!(
        rows,
        [("3".into(), Scope::MyGroups), ("1".into(), Scope::Other)],
        "only the rows asked for, in queue order, with their scope"
    );
}

/// Every migration with the SHA-384 it landed with. A landed migration is never edited
/// (databases have run it; sqlx refuses them when the file changes): a change belongs in
/// a new migration. A new migration is added here when it lands.
const LANDED: &[(i64, &str)] = &[
    (20261122000001, "f113b1286424301ab408db19bbc7dbb873fc1b6fda640d65ef2e97d2ecc90f68dba23f554b69ebf67c3843512ef9eb07"),
    (20261122000002, "be3c168d802630d9ec72c10d1c0a1f15649b1c9e71f9471c4466693747e28bc118f331e42a6f18fa7cae31b96fcaa086"),
    (20261122000003, "69a6f230976dc876034139ba047978dbd2138df6303304afa55746aad1f2839b01119bdc7a3fec99801b06966b507a6e"),
    // Edited once after it landed (see landed.rs); this is the edited file.
    (20261122000004, "6b98d20dfd908da3002f385d8db63c0f56ea17251d2ef1fcff54e10a17687fbd5ea10c83de837259cb36e23d19984061"),
    (20261122000005, "a5e72dc7f7b957104cfa959eef9c97fbab62664c49e3652be8747a765892a5dfb9e00f267f6f239c023daec471054eca"),
    (20261122000006, "fe4a663bd12feb303fc1ecdda8c6dc73d3b40d8548f83d5851fba98a20ee5628dccfe68054fc6a8279fce4f2b212b918"),
    (20261122000007, "8bffe2e43f59605e4aaadaccd7611cd690620cb0562604e7ca17ee3b06de6b5cabf0aa7e644092b12d5b81a31018b7ed"),
    (20261122000008, "1d5b769705e552e623cf7816fc840fae0eddd448ca8ecd04e0d8b47dd402e3772901cffc9a0716557fb13354cd522fc1"),
    (20261122000009, "d66b0087c81ca8d8e67fa01997db1f4605b448c7787baf71ea5c8aeb735f34cd87d7b532209437cc20166203fe866fe7"),
    (20261122000010, "d9a307d1caa04cbc24631b1c0d273bc68fa3d8add532e5dac9dabd51cf6407ff6c33723e09bfa3f2c650e3a032599c21"),
    (20261122000011, "2550cb580284ca46aa03c2d0a516b25becba5637ccc409594594e1eef70fa1599b224d8afdf51ee9b01ce6f65a41f971"),
    (20261122000012, "bc7086097cab1799789f38bd16dcd66a6eade81441ae69a66c45964a55f9b1c26e4a9f42edb8b44940a2400668367d2e"),
    (20261122000013, "002800214d205386497363cb3a2b4613489c27662ff366126f03dd198b82d3e8712a169258a2a5b6cafbb487c70ee96b"),
];

#[test]
fn no_landed_migration_is_edited() {
    let have: Vec<(i64, String)> = MIGRATOR
        .iter()
        .map(|m| (m.version, super::landed::hex(&m.checksum)))
        .collect();
    for (version, checksum) in LANDED {
        let now = have.iter().find(|(v, _)| v == version).map(|(_, c)| c);
        assert_eq!(
            now.map(String::as_str),
            Some(*checksum),
            "migration {version} was edited or removed after it landed: put the change in a new migration"
        );
    }
    for (version, checksum) in &have {
        assert!(
            LANDED.iter().any(|(v, _)| v == version),
            "migration {version} is not pinned: add `({version}, \"{checksum}\"),` to LANDED"
        );
    }
}

/// A database at `path` as a build of commit 2ab2150 left it: migrations 1 to 3 (pinned
/// unchanged in LANDED) and the first migration 4, byte for byte from that commit, without
/// the two assist_drafts columns it gained later. Then `sql` on it.
async fn first_migration_4_database(path: &std::path::Path, sql: &[&str]) {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for m in [
        "20261122000001_init.sql",
        "20261122000002_queue_indexes.sql",
        "20261122000003_my_groups.sql",
    ] {
        std::fs::copy(here.join("migrations").join(m), dir.path().join(m)).unwrap();
    }
    let first_4 = "20261122000004_outbox_replies.sql";
    std::fs::copy(
        here.join("tests/fixtures/migrations-2ab2150").join(first_4),
        dir.path().join(first_4),
    )
    .unwrap();
    old_database(dir.path(), path, sql).await;
}

/// Runs the migrations in `dir` (as an older build would have) on a new database at
/// `path`, then `sql` on it.
/// A copy, in `dir`, of the migrations that landed before `version`: what an older
/// build's database was made with.
fn migrations_before(dir: &std::path::Path, version: &str) -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let migrations = dir.join("m");
    std::fs::create_dir(&migrations).unwrap();
    for entry in std::fs::read_dir(&here).unwrap() {
        let name = entry.unwrap().file_name();
        if name.to_string_lossy().as_ref() < version {
            std::fs::copy(here.join(&name), migrations.join(&name)).unwrap();
        }
    }
    migrations
}

async fn old_database(dir: &std::path::Path, path: &std::path::Path, sql: &[&str]) {
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true),
    )
    .await
    .unwrap();
    sqlx::migrate::Migrator::new(dir)
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for s in sql {
        sqlx::query(s).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

#[tokio::test]
async fn a_database_that_ran_the_first_migration_4_opens_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    first_migration_4_database(&path, &[
        "INSERT INTO accounts (id, kind, base_url, auth_kind, secret_ref, created_at) VALUES ('acme', 'zendesk', 'https://acme.zendesk.com', 'api_token', 'zendesk:acme', 0)",
        "INSERT INTO conversations (account_id, external_id, source, channel, status, subject, created_at, updated_at, version) VALUES ('acme', '9', 'zendesk', 'web', 'open', 'Old one', 1, 2, 'v')",
        "INSERT INTO handoffs (conversation_id, mode, reason, handed_off_at) VALUES (1, 'live_chat', 'kept', 5)",
        "INSERT INTO assist_drafts (conversation_id, source_note_id, text, created_at) VALUES (1, 'n1', 'Hello Maria', 3)",
        "INSERT INTO draft_edits (draft_id, text, updated_at) VALUES (1, 'Hello Maria, sorry', 4)",
        "INSERT INTO outbox (account_id, conversation_id, idempotency_key, kind, payload, state, created_at, updated_at, external_id, draft_id) VALUES ('acme', 1, 'k1', 'reply', '{\"body\":\"queued text\",\"public\":true,\"author_id\":null,\"updated_stamp\":null}', 'failed', 1, 1, '9', 1)",
    ])
    .await;

    for _ in 0..2 {
        // Twice: the repair happens once, and the repaired database opens as any other.
        let store = Store::open(&path).await.unwrap();
        let queue = store.queue(&QueueFilter::default()).await.unwrap();
        assert_eq!(queue.len(), 1);
        assert_eq!(queue[0].reason.as_deref(), Some("kept"));
        let detail = store.detail(queue[0].id).await.unwrap();
        assert_eq!(detail.drafts[0].text, "Hello Maria");
        assert_eq!(
            store.saved_edit(1).await.unwrap().as_deref(),
            Some("Hello Maria, sorry")
        );
        let outbox = store.outbox().await.unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].reply.body, "queued text");
        // The columns the edit added exist and work.
        sqlx::query("UPDATE assist_drafts SET outcome_reason = 'r', edit_distance = 3")
            .execute(store.pool())
            .await
            .unwrap();
        let recorded: Vec<u8> = sqlx::query_scalar(
            "SELECT checksum FROM _sqlx_migrations WHERE version = 20261122000004",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(super::landed::hex(&recorded), LANDED[3].1);
    }
}

#[tokio::test]
async fn a_first_migration_4_database_that_has_the_columns_opens_too() {
    // A database someone mended by hand: the columns are there, the checksum is old.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    first_migration_4_database(
        &path,
        &["ALTER TABLE assist_drafts ADD COLUMN outcome_reason TEXT"],
    )
    .await;
    let store = Store::open(&path).await.unwrap();
    let columns: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_table_info('assist_drafts') WHERE name IN ('outcome_reason', 'edit_distance')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(columns, 2);
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_side_files_are_the_users_alone() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let (dir, store) = store_with_account().await;
    commit_bare(&store, "1").await;
    let db = dir.path().join("nested/baton.db");
    for file in ["baton.db", "baton.db-wal", "baton.db-shm"] {
        assert_eq!(mode(&dir.path().join("nested").join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&dir.path().join("nested")), 0o700);
    drop(store);

    // A database an older build left readable by everyone is made private on open.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::open(&db).await.unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(store.queue(&QueueFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn unsent_replies_and_saved_edits_are_counted_per_account_and_updates_keep_them() {
    let (_dir, store) = store_with_account().await;
    store
        .add_account(&AccountRecord::for_test(
            "other",
            "http://127.0.0.1:1",
            None,
        ))
        .await
        .unwrap();
    let page = vec![Bundle {
        conversation: conversation("9", 2_000),
        transcript: Some(TranscriptPage {
            drafts: vec![DraftFacts {
                source_note_id: "n1".into(),
                text: "Sure".into(),
                training_url: None,
                created_at: 1_200,
            }],
            ..Default::default()
        }),
        problem: None,
    }];
    store
        .commit_page("acme", "tickets", &page, Some("c"), 1)
        .await
        .unwrap();
    assert!(store.unsent("acme").await.unwrap().is_empty());
    let conv = store.conversation_id(Some("acme"), "9").await.unwrap();
    let draft = store.detail(conv).await.unwrap().drafts[0].id;
    store.save_edit(draft, "Sure, Maria", 5).await.unwrap();
    for (key, state) in [
        ("k-queued", "queued"),
        ("k-sending", "sending"),
        ("k-failed", "failed"),
        ("k-conflict", "conflict"),
        ("k-sent", "sent"),
        ("k-cancelled", "cancelled"),
    ] {
        sqlx::query(
            "INSERT INTO outbox (account_id, conversation_id, idempotency_key, kind, payload, state,
                created_at, updated_at, external_id)
             VALUES ('acme', ?, ?, 'reply', json_object('body', ?, 'public', json('true')), ?, 1, 1, '9')",
        )
        .bind(conv)
        .bind(key)
        .bind(format!("text {state}"))
        .bind(state)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let unsent = store.unsent("acme").await.unwrap();
    let replies: Vec<(&str, &str, &str)> = unsent
        .replies
        .iter()
        .map(|r| (r.external_id.as_str(), r.state.as_str(), r.text.as_str()))
        .collect();
    assert_eq!(
        replies,
        [
            ("9", "queued", "text queued"),
            ("9", "sending", "text sending"),
            ("9", "failed", "text failed"),
            ("9", "conflict", "text conflict"),
        ]
    );
    assert_eq!(unsent.edits.len(), 1);
    assert_eq!(unsent.edits[0].text, "Sure, Maria");
    assert!(store.unsent("other").await.unwrap().is_empty());

    // New credentials keep the cache, the outbox and the edits.
    let mut a = store.account("acme").await.unwrap();
    a.login = Some("new@acme.test".into());
    a.me_id = Some("42".into());
    a.settings = serde_json::json!({"sunco": {"app_id": "app", "key_id": "key"}});
    store.update_account(&a).await.unwrap();
    let again = store.account("acme").await.unwrap();
    assert_eq!(again, a);
    assert_eq!(store.unsent("acme").await.unwrap(), unsent);
    assert_eq!(store.queue(&QueueFilter::default()).await.unwrap().len(), 1);
    a.id = "missing".into();
    assert!(matches!(
        store.update_account(&a).await,
        Err(crate::Error::NotFound(_))
    ));
}

#[tokio::test]
async fn a_sync_problem_holds_until_a_fresh_read_and_a_forgotten_conversation_leaves_search() {
    let (_dir, store) = store_with_account().await;
    let read = |version: Millis, problem: Option<&str>, transcript: bool| {
        vec![Bundle {
            conversation: conversation("5", version),
            transcript: transcript.then(|| TranscriptPage {
                messages: vec![message("m1", "wombat parcel", 1_100)],
                drafts: vec![DraftFacts {
                    source_note_id: "n1".into(),
                    text: "Hello".into(),
                    training_url: None,
                    created_at: 1_200,
                }],
                ..Default::default()
            }),
            problem: problem.map(str::to_string),
        }]
    };
    let problem = |store: Store| async move {
        let id = store.conversation_id(Some("acme"), "5").await.unwrap();
        store.detail(id).await.unwrap().item.sync_problem
    };
    // The transcript answered 403: stored, marked; the same version again keeps the mark.
    store
        .commit_page("acme", "t", &read(2_000, Some("403"), false), None, 1)
        .await
        .unwrap();
    assert_eq!(problem(store.clone()).await.as_deref(), Some("403"));
    store
        .commit_page("acme", "t", &read(2_000, None, false), None, 1)
        .await
        .unwrap();
    assert_eq!(problem(store.clone()).await.as_deref(), Some("403"));
    // A later record that does not parse marks the last good copy.
    let marked = store
        .mark_sync_problems(
            "acme",
            &[("5".into(), "bad".into()), ("404".into(), "x".into())],
        )
        .await
        .unwrap();
    assert_eq!(marked, 1, "only cached conversations are marked");
    assert_eq!(problem(store.clone()).await.as_deref(), Some("bad"));
    assert_eq!(
        store.sync_problems("acme").await.unwrap(),
        [("5".to_string(), "bad".to_string())]
    );
    // A whole read clears it.
    store
        .commit_page("acme", "t", &read(3_000, None, true), None, 1)
        .await
        .unwrap();
    assert_eq!(problem(store.clone()).await, None);
    assert_eq!(store.search("wombat", 10).await.unwrap().len(), 1);

    let one = CacheCounts {
        conversations: 1,
        handoffs: 1,
        messages: 1,
        drafts: 1,
    };
    assert_eq!(store.counts().await.unwrap(), one);
    let mut changes = store.subscribe();
    let gone = store
        .forget_conversations("acme", &["5".into(), "6".into()])
        .await
        .unwrap();
    assert_eq!(gone, 1);
    assert!(matches!(
        changes.try_recv(),
        Ok(Change::Conversations { .. })
    ));
    let indexed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'wombat'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(indexed, 0, "the delete trigger fired on the cascade");
    assert_eq!(
        store.counts().await.unwrap(),
        CacheCounts::default(),
        "its handoff, messages and drafts went with it"
    );
    assert!(store.conversation_id(Some("acme"), "5").await.is_err());
}

/// A Salesforce session a customer ended, with its routing attributes.
fn ended_session(id: &str, updated: Millis) -> Conversation {
    Conversation {
        source: SourceKind::Salesforce,
        status: Status::Closed,
        subject: "Web chat".into(),
        ended: Some(SessionEnd {
            by: EndedBy::EndUser,
            at: Some(1_900),
        }),
        routing_attributes: vec![
            RoutingAttribute {
                label: "customer".into(),
                value: "authenticated".into(),
            },
            RoutingAttribute {
                label: "plan".into(),
                value: "<b>gold</b>".into(),
            },
        ],
        ..conversation(id, updated)
    }
}

#[tokio::test]
async fn an_ended_session_leaves_the_live_queue_and_keeps_who_ended_it() {
    let (_dir, store) = store_with_account().await;
    // Live first: in the queue, not ended, with its routing attributes on the card.
    let mut live = ended_session("0Mw1", 1_500);
    live.status = Status::Open;
    live.ended = None;
    let page = |c: Conversation| {
        vec![Bundle {
            conversation: c,
            transcript: None,
            problem: None,
        }]
    };
    store
        .commit_page("acme", "sessions", &page(live), None, 1)
        .await
        .unwrap();
    let q = store.queue(&QueueFilter::default()).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].source, q[0].ended.clone()),
        (SourceKind::Salesforce, None)
    );
    let id = q[0].id;
    let d = store.detail(id).await.unwrap();
    assert_eq!(
        d.routing_attributes,
        ended_session("x", 1).routing_attributes
    );

    // The customer ends it: it leaves the live queue, and says who ended it and when.
    store
        .commit_page(
            "acme",
            "sessions",
            &page(ended_session("0Mw1", 2_000)),
            None,
            1,
        )
        .await
        .unwrap();
    assert!(store
        .queue(&QueueFilter::default())
        .await
        .unwrap()
        .is_empty());
    let end = Some(SessionEnd {
        by: EndedBy::EndUser,
        at: Some(1_900),
    });
    let done = store
        .queue(&QueueFilter {
            include_done: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].ended, end);
    let d = store.detail(id).await.unwrap();
    assert_eq!(d.item.status, Status::Closed);
    assert_eq!(d.item.ended, end);
    assert_eq!(d.item.subject, "Web chat");
    assert_eq!(
        d.routing_attributes[1].value, "<b>gold</b>",
        "as sent: the UI shows text"
    );
    // What a relay publishes carries them whole.
    let snapshot = store.snapshot("acme", "0Mw1").await.unwrap().unwrap();
    assert_eq!(snapshot.conversation.ended, end);
    assert_eq!(
        snapshot.conversation.routing_attributes,
        ended_session("x", 1).routing_attributes
    );
}

#[tokio::test]
async fn an_end_the_vendor_does_not_know_and_one_without_a_time_round_trip() {
    let (_dir, store) = store_with_account().await;
    let mut c = ended_session("0Mw2", 2_000);
    c.ended = Some(SessionEnd {
        by: EndedBy::Other("Supervisor".into()),
        at: None,
    });
    c.routing_attributes = vec![];
    store
        .commit_page(
            "acme",
            "sessions",
            &[Bundle {
                conversation: c.clone(),
                transcript: None,
                problem: None,
            }],
            None,
            1,
        )
        .await
        .unwrap();
    let back = store.snapshot("acme", "0Mw2").await.unwrap().unwrap();
    assert_eq!(back.conversation.ended, c.ended);
    assert!(back.conversation.routing_attributes.is_empty());
}

#[tokio::test]
async fn a_database_from_before_session_ends_opens_with_its_conversations_not_ended() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = migrations_before(dir.path(), "20261122000008");
    let path = dir.path().join("old.db");
    old_database(&migrations, &path, &[
        "INSERT INTO accounts (id, kind, base_url, auth_kind, secret_ref, created_at) VALUES ('acme', 'salesforce', 'https://acme.my.salesforce.com', 'oauth', 'salesforce:acme', 0)",
        "INSERT INTO conversations (account_id, external_id, source, channel, status, subject, created_at, updated_at, version) VALUES ('acme', '0Mw9', 'salesforce', 'web', 'open', 'Web chat · customer: authenticated', 1, 2, 'v')",
        "INSERT INTO handoffs (conversation_id, mode, reason, handed_off_at) VALUES (1, 'live_chat', 'kept', 5)",
    ])
    .await;
    let store = Store::open(&path).await.unwrap();
    let queue = store.queue(&QueueFilter::default()).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].ended, None);
    let detail = store.detail(queue[0].id).await.unwrap();
    assert!(detail.routing_attributes.is_empty());
    assert_eq!(detail.item.subject, "Web chat · customer: authenticated");
    let snapshot = store.snapshot("acme", "0Mw9").await.unwrap().unwrap();
    assert_eq!(snapshot.conversation.ended, None);
    // The next sync of it fills the new columns.
    store
        .commit_page(
            "acme",
            "sessions",
            &[Bundle {
                conversation: ended_session("0Mw9", 3_000),
                transcript: None,
                problem: None,
            }],
            None,
            1,
        )
        .await
        .unwrap();
    let detail = store.detail(queue[0].id).await.unwrap();
    assert_eq!(detail.item.ended.map(|e| e.by), Some(EndedBy::EndUser));
    assert_eq!(detail.routing_attributes.len(), 2);
}

#[tokio::test]
async fn a_database_from_before_the_review_opens_with_its_handoffs_categorised() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = migrations_before(dir.path(), "20261122000009");
    let path = dir.path().join("old.db");
    let conversation = |n: i64| {
        format!("INSERT INTO conversations (account_id, external_id, source, channel, status, subject, created_at, updated_at, version) VALUES ('acme', '{n}', 'zendesk', 'web', 'open', 's', 1, 2, 'v')")
    };
    let (c1, c2, c3, c4) = (
        conversation(1),
        conversation(2),
        conversation(3),
        conversation(4),
    );
    old_database(&migrations, &path, &[
        "INSERT INTO accounts (id, kind, base_url, auth_kind, secret_ref, created_at) VALUES ('acme', 'zendesk', 'https://acme.zendesk.com', 'api_token', 'zendesk:acme', 0)",
        &c1, &c2, &c3, &c4,
        // Categories of the old built-in list.
        "INSERT INTO handoffs (conversation_id, mode, reason, reason_category, handed_off_at) VALUES (1, 'live_chat', 'Wants a REFUND', 'refund', 5)",
        "INSERT INTO handoffs (conversation_id, mode, reason, reason_category, handed_off_at) VALUES (2, 'live_chat', 'The AI couldn''t find the answer', 'other', 5)",
        "INSERT INTO handoffs (conversation_id, mode, reason, reason_category, handed_off_at) VALUES (3, 'live_chat', 'unclear', 'other', 5)",
        "INSERT INTO handoffs (conversation_id, mode, reason, reason_category, handed_off_at) VALUES (4, 'live_chat', NULL, NULL, 5)",
    ])
    .await;
    let store = Store::open(&path).await.unwrap();
    let categories: Vec<Option<String>> =
        sqlx::query_scalar("SELECT reason_category FROM handoffs ORDER BY conversation_id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        categories,
        [
            Some("policy_or_account".to_string()),
            Some("no_answer".to_string()),
            None,
            None
        ]
    );
    assert_eq!(store.category_rules().await.unwrap().len(), 30);
    // What the migration did is what the rules do.
    assert_eq!(
        store
            .save_category_rules(
                store
                    .category_rules()
                    .await
                    .unwrap()
                    .iter()
                    .map(Into::into)
                    .collect(),
                1
            )
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_messaging_session_ended_in_its_transcript_leaves_the_live_queue_and_stays_ended() {
    let (_dir, store) = store_with_account().await;
    // Ticket 41 at `updated`, with this part of its transcript.
    let commit = async |updated: Millis, messages: Vec<Message>, end: Option<SessionEnd>| {
        let transcript = (!messages.is_empty() || end.is_some()).then(|| TranscriptPage {
            messages,
            session_end: end,
            ..Default::default()
        });
        let page = vec![Bundle {
            conversation: conversation("41", updated),
            transcript,
            problem: None,
        }];
        store
            .commit_page("acme", "tickets", &page, None, updated)
            .await
            .unwrap();
    };
    let live_queue = async || store.queue(&QueueFilter::default()).await.unwrap();
    commit(2_000, vec![message("m1", "I need a person", 1_100)], None).await;
    let q = live_queue().await;
    assert_eq!((q.len(), q[0].ended.clone()), (1, None));
    let id = q[0].id;

    // The customer ends the session: the ticket stays open for a follow-up by email,
    // but the session is over and leaves the live queue.
    let end = SessionEnd {
        by: EndedBy::EndUser,
        at: Some(2_500),
    };
    let left = message("m2", "The customer left the conversation", 2_500);
    commit(2_600, vec![left], Some(end.clone())).await;
    assert!(live_queue().await.is_empty());
    // A later update of the ticket (an agent's note, a tag, its closing as a second
    // "end") neither brings it back nor rewrites how it ended.
    commit(
        3_100,
        vec![message("m3", "emailed the customer", 3_000)],
        None,
    )
    .await;
    let closed = SessionEnd {
        by: EndedBy::System,
        at: Some(3_150),
    };
    commit(3_200, vec![], Some(closed)).await;
    commit(3_300, vec![], None).await;
    assert!(live_queue().await.is_empty());
    let findable = store
        .queue(&QueueFilter {
            include_done: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(findable.len(), 1);
    assert_eq!(findable[0].status, Status::Open);
    assert_eq!(findable[0].ended, Some(end.clone()));
    assert_eq!(store.detail(id).await.unwrap().item.ended, Some(end));
}

#[tokio::test]
async fn a_phone_handoff_keeps_its_summary_details_and_its_callers_other_conversations() {
    let (_dir, store) = store_with_account().await;
    let phone = |id: &str, created: Millis, name: &str, contact: &str| Conversation {
        channel: Channel::Phone,
        created_at: created,
        requester_name: Some(name.into()),
        opencx_contact_id: Some(contact.into()),
        handoff: Some(HandoffFacts {
            mode: HandoffMode::LiveTransfer,
            handed_off_at: None,
        }),
        ..conversation(id, created + 500)
    };
    let details = HandoffDetails {
        asked_for: Some("a refund of $400".into()),
        unresolved: Some("refunds over $250 need a person".into()),
        transfer_to: Some("+1 415 555 0100".into()),
        call_seconds: Some(400),
        ..Default::default()
    };
    let earlier = Conversation {
        channel: Channel::Web,
        ended: Some(SessionEnd {
            by: EndedBy::Agent,
            at: Some(1_400),
        }),
        ..phone("50", 1_000, "Maria Lopez", "contact_7")
    };
    let page = vec![
        Bundle {
            conversation: earlier,
            transcript: None,
            problem: None,
        },
        Bundle {
            conversation: phone("51", 5_000, "Maria Lopez", "contact_7"),
            transcript: Some(TranscriptPage {
                handoff_reason: Some("refund over the limit".into()),
                handoff_details: Some(details.clone()),
                ..Default::default()
            }),
            problem: None,
        },
        Bundle {
            conversation: phone("52", 6_000, "+1 (628) 555-0142", "contact_9"),
            transcript: None,
            problem: None,
        },
    ];
    store
        .commit_page("acme", "tickets", &page, None, 1)
        .await
        .unwrap();
    let q = store.queue(&QueueFilter::default()).await.unwrap();
    let row = q.iter().find(|i| i.external_id == "51").unwrap();
    assert_eq!(row.transfer_to.as_deref(), Some("+1 415 555 0100"));
    assert_eq!(row.follow_up, None);
    let d = store.detail(row.id).await.unwrap();
    assert_eq!(d.handoff.as_ref().unwrap().details, details);
    let caller = d.caller.unwrap();
    assert!(caller.known);
    assert_eq!(caller.contact_id.as_deref(), Some("contact_7"));
    assert_eq!(
        d.related
            .iter()
            .map(|r| (
                r.external_id.as_str(),
                r.ended.as_ref().map(|e| e.by.clone())
            ))
            .collect::<Vec<_>>(),
        vec![("50", Some(EndedBy::Agent))]
    );

    // A later part of the transcript without the summary keeps the details.
    let later = vec![Bundle {
        conversation: phone("51", 5_000, "Maria Lopez", "contact_7"),
        transcript: Some(TranscriptPage {
            messages: vec![message("m9", "thanks", 5_600)],
            ..Default::default()
        }),
        problem: None,
    }];
    store
        .commit_page("acme", "tickets", &later, None, 2)
        .await
        .unwrap();
    assert_eq!(
        store.detail(row.id).await.unwrap().handoff.unwrap().details,
        details
    );
    // What a relay publishes carries them.
    let snapshot = store.snapshot("acme", "51").await.unwrap().unwrap();
    assert_eq!(snapshot.handoff_details, Some(details));

    // A caller OpenCX did not know is a contact with just the number, and has no history.
    let unknown = q.iter().find(|i| i.external_id == "52").unwrap();
    let d = store.detail(unknown.id).await.unwrap();
    assert!(!d.caller.unwrap().known);
    assert!(d.related.is_empty());
    assert_eq!(d.handoff.unwrap().details, HandoffDetails::default());
}
