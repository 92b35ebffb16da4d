//! The engine's loops as the app and `baton sync` run them: over the demo wiring (the
//! simulator in-process, over real HTTP on 127.0.0.1), with the secrets in memory.

use baton_core::model::DraftState;
use baton_core::model::SourceKind;
use baton_core::outbox::OutboxState;
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::store::QueueFilter;
use baton_core::sync::SystemClock;
use baton_core::Store;
use baton_engine::demo::DemoOptions;
use baton_engine::replies::{self, DraftAction};
use baton_engine::runtime::account_syncs;
use baton_engine::{ErrorKind, Running};
use std::sync::Arc;
use std::time::Duration;

fn small_demo() -> DemoOptions {
    DemoOptions {
        tickets: 40,
        live_every: Duration::from_secs(3600),
        long_transcript: None,
        history: 0,
        ..Default::default()
    }
}

/// The first conversation in the queue with a pending Assist draft.
async fn with_a_draft(store: &Store) -> Option<baton_core::model::QueueItem> {
    store
        .queue(&QueueFilter::default())
        .await
        .ok()?
        .into_iter()
        .find(|i| i.has_pending_draft)
}

/// Waits up to 30 s for `ready`.
async fn until<F: std::future::Future<Output = bool>>(mut ready: impl FnMut() -> F) {
    for _ in 0..300 {
        if ready().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not ready after 30 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_without_accounts_runs_the_demo_and_delivers_replies() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::open(&dir.path().join("baton.db"), small_demo())
        .await
        .unwrap();
    assert!(running.is_demo());
    assert_eq!(
        running.statuses.len(),
        2,
        "two sync loops: the demo's Zendesk account and its Salesforce org"
    );
    let store = running.store.clone();
    // Both vendors' handoffs in the one queue.
    until(|| {
        let store = store.clone();
        async move {
            let queue = store
                .queue(&baton_core::store::QueueFilter::default())
                .await
                .unwrap();
            [SourceKind::Zendesk, SourceKind::Salesforce]
                .iter()
                .all(|k| queue.iter().any(|i| i.source == *k))
        }
    })
    .await;
    // The sync loop fills the queue.
    until(|| {
        let store = store.clone();
        async move { with_a_draft(&store).await.is_some() }
    })
    .await;
    // A reply the rep accepts goes out through the outbox, as the app sends it.
    let item = with_a_draft(&store)
        .await
        .expect("a conversation with a draft");
    let (draft, seen) = store.current_draft(item.id).await.unwrap();
    let done = replies::act(
        &store,
        running.secrets.as_ref(),
        item.id,
        &seen,
        DraftAction::Accept,
        &SystemClock,
    )
    .await
    .unwrap();
    assert_eq!(done.state, Some(OutboxState::Sent));
    let demo = running.demo.as_ref().unwrap();
    let ticket: u64 = item.external_id.parse().unwrap();
    assert_eq!(
        demo.sim
            .world(|w| w.tickets[&ticket].public_comments_with(&draft.text)),
        1
    );
    let after = store.detail(item.id).await.unwrap();
    assert!(after
        .drafts
        .iter()
        .any(|d| d.id == draft.id && d.state == DraftState::Accepted));
    running.stop();
    tokio::time::timeout(Duration::from_secs(30), running.stopped())
        .await
        .expect("the loops end when stopped");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_that_waited_goes_out_from_the_delivery_loop() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("demo.db")).await.unwrap();
    let (demo, mut syncs) = baton_engine::demo::start(&store, small_demo())
        .await
        .unwrap();
    let sync = syncs.remove(0);
    sync.run_once(&baton_core::CancellationToken::new())
        .await
        .unwrap();
    let item = with_a_draft(&store)
        .await
        .expect("a conversation with a draft");
    let (draft, seen) = store.current_draft(item.id).await.unwrap();
    // Zendesk cannot take it now: it waits in the outbox.
    demo.sim.set_faults(baton_sim::Faults {
        rate_limits: 1,
        rate_limit_secs: 1,
        ..Default::default()
    });
    let secrets: Arc<dyn SecretStore> = demo.secrets.clone();
    let first = replies::act(
        &store,
        secrets.as_ref(),
        item.id,
        &seen,
        DraftAction::Accept,
        &SystemClock,
    )
    .await
    .unwrap();
    assert_eq!(first.state, Some(OutboxState::Queued));
    // The same loops the app runs deliver it once Zendesk takes it.
    let running = Running::start(
        store.clone(),
        vec![(sync, Duration::from_secs(60))],
        secrets,
        None,
    );
    let key = first.key.unwrap();
    until(|| {
        let store = store.clone();
        let key = key.clone();
        async move { store.outbox_item(&key).await.unwrap().state == OutboxState::Sent }
    })
    .await;
    let ticket: u64 = item.external_id.parse().unwrap();
    assert_eq!(
        demo.sim
            .world(|w| w.tickets[&ticket].public_comments_with(&draft.text)),
        1
    );
    running.stop();
    running.stopped().await;
}

#[tokio::test]
async fn an_account_that_cannot_start_is_named_and_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("b.db")).await.unwrap();
    let account = |id| baton_zendesk::accounts::record(id, "http://127.0.0.1:9", Some("a@b.test"));
    let (ok, missing) = (account("ok"), account("missing"));
    let secrets = MemorySecrets::default();
    secrets
        .put("zendesk:ok", &baton_core::Sensitive::new("t".into()))
        .unwrap();
    let (syncs, failed) = account_syncs(&store, &[ok, missing], &secrets);
    assert_eq!(syncs.len(), 1);
    assert_eq!(syncs[0].account_id(), "ok");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "missing");
    assert_eq!(failed[0].1.kind, ErrorKind::Keychain);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_opens_with_weeks_of_reviewed_handoffs_and_settled_drafts() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        history: 80,
        salesforce: false,
        ..small_demo()
    };
    let running = Running::open(&dir.path().join("baton.db"), options)
        .await
        .unwrap();
    let store = running.store.clone();
    let now = chrono::Utc::now().timestamp_millis();
    let day = 86_400_000;
    let history = baton_core::review::HandoffFilter {
        since: now - 40 * day,
        until: now - 3 * day,
        ..Default::default()
    };
    // The history syncs like any ticket: handoffs from weeks back, some with a lead's
    // verdict, each answered by an agent.
    until(|| {
        let (store, history) = (store.clone(), history.clone());
        async move {
            let rows = store.review_handoffs(&history).await.unwrap();
            rows.iter().filter(|r| r.verdict.is_some()).count() >= 8
                && rows.iter().filter(|r| r.first_reply_ms.is_some()).count() >= 20
        }
    })
    .await;
    let rows = store.review_handoffs(&history).await.unwrap();
    let oldest = rows.iter().map(|r| r.handed_off_at).min().unwrap();
    assert!(oldest < now - 21 * day, "four weeks back: {oldest}");
    assert!(rows.iter().all(|r| r.note.is_some() == r.verdict.is_some()));
    // The drafts report counts the Assist drafts agents answered in the helpdesk.
    until(|| {
        let store = store.clone();
        async move {
            let report = store.draft_report(now - 40 * day).await.unwrap();
            let sum = |f: fn(&baton_core::drafts::DraftReportRow) -> i64| -> i64 {
                report.iter().map(f).sum()
            };
            sum(|r| r.accepted) > 0 && sum(|r| r.edited) > 0 && sum(|r| r.rejected) > 0
        }
    })
    .await;
    running.stop();
}
