use super::*;
use crate::model::*;
use crate::store::{AccountRecord, QueueFilter};

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
    }
}

fn message(id: &str, body: &str, at: Millis) -> Message {
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
    }];
    store
        .commit_page("acme", "tickets", &page, Some("c"), 1)
        .await
        .unwrap();
}

async fn store_with_account() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("nested/baton.db"))
        .await
        .unwrap();
    store
        .add_account(&AccountRecord::zendesk(
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
        }),
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
