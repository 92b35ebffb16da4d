//! Changes through the Pub/Sub API, against the simulator's gRPC server on 127.0.0.1: a
//! change reaches the store without waiting for a poll; a restart resumes from the
//! stored replay id; a silent stream is given up and opened again; a replay id the org no
//! longer keeps leads to a full re-read; without Pub/Sub the feed polls.

use baton_core::model::Status;
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::store::AccountRecord;
use baton_core::sync::{Feed, Syncer};
use baton_core::{CancellationToken, Sensitive, Store};
use baton_salesforce::pubsub::subscription::Link;
use baton_salesforce::{AuthFlow, SalesforceFeed};
use baton_sim::salesforce::{SfConfig, SfLimits, DEMO_KEY_PEM};
use baton_sim::{Sim, SimConfig};
use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCOUNT: &str = "acme";
const STREAM: &str = "salesforce.messaging_sessions";

async fn sim(keepalive: Duration) -> Sim {
    Sim::start(SimConfig {
        seed: 23,
        tickets: 1,
        salesforce: SfConfig {
            sessions: 30,
            limits: SfLimits::unlimited(),
            pubsub_keepalive: keepalive,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap()
}

/// The rep's account, subscribed to the simulator's Pub/Sub; a stream silent for
/// `silence` is taken as dead.
fn account(sim: &Sim, pubsub_url: &str, silence_secs: u32) -> AccountRecord {
    let mut a = baton_salesforce::record(
        ACCOUNT,
        &sim.url(),
        "alex@acme.test",
        "baton-demo-client",
        AuthFlow::JwtBearer,
    );
    let mut s = baton_salesforce::settings(&a).unwrap();
    s.pubsub_url = Some(pubsub_url.to_string());
    s.pubsub_silence_secs = silence_secs;
    a.settings = serde_json::to_value(s).unwrap();
    a
}

fn keys(account: &AccountRecord) -> MemorySecrets {
    let secrets = MemorySecrets::default();
    secrets
        .put(
            &account.secret_ref,
            &Sensitive::new(DEMO_KEY_PEM.to_string()),
        )
        .unwrap();
    secrets
}

async fn open(dir: &tempfile::TempDir, account: &AccountRecord) -> Store {
    let store = Store::open(&dir.path().join("baton.db")).await.unwrap();
    if store.account(&account.id).await.is_err() {
        store.add_account(account).await.unwrap();
    }
    store
}

fn syncer(store: &Store, account: &AccountRecord) -> Syncer<SalesforceFeed> {
    baton_salesforce::syncer(store, account, &keys(account), Utc::now().timestamp()).unwrap()
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn cursor(store: &Store) -> String {
    store
        .cursor(ACCOUNT, STREAM)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Syncs until the cursor is a replay id (the subscription is live and the backfill done).
async fn until_subscribed(sync: &Syncer<SalesforceFeed>, store: &Store) {
    let cancel = CancellationToken::new();
    let start = Instant::now();
    while !cursor(store).await.starts_with("replay:") {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "never switched to Pub/Sub: {} ({:?})",
            cursor(store).await,
            sync.feed().note()
        );
        sync.run_once(&cancel).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A session of the org that is still open, and ends it as the customer would.
fn end_a_session(sim: &Sim, skip: &[String]) -> String {
    let now = Utc::now();
    sim.org_mut(|o, _| {
        let id = o
            .sessions()
            .find(|s| s.text("Status") != Some("Ended") && !skip.iter().any(|k| k == s.id()))
            .expect("an open session")
            .id()
            .to_string();
        assert!(o.end_session(&id, "EndUser", now));
        id
    })
}

/// Syncs until every one of `ids` is stored closed (10 s at most).
async fn sync_until_closed(sync: &Syncer<SalesforceFeed>, store: &Store, ids: &[String]) {
    let cancel = CancellationToken::new();
    wait_for(
        "the sessions stored closed",
        Duration::from_secs(10),
        || async {
            sync.run_once(&cancel).await.unwrap();
            for id in ids {
                if status_of(store, id).await != Some(Status::Closed) {
                    return false;
                }
            }
            true
        },
    )
    .await;
}

async fn status_of(store: &Store, id: &str) -> Option<Status> {
    let row = store.conversation_id(Some(ACCOUNT), id).await.ok()?;
    Some(store.detail(row).await.ok()?.item.status)
}

fn queries(sim: &Sim) -> u64 {
    sim.stats()
        .requests
        .iter()
        .filter(|(k, _)| k.contains("/query"))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn a_change_reaches_the_store_within_a_second_without_a_poll() {
    // Keepalives often, so the first one (which names a replay id) comes soon.
    let sim = sim(Duration::from_millis(500)).await;
    let account = account(&sim, &sim.pubsub_url(), 300);
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, &account).await;
    let sync = Arc::new(syncer(&store, &account));
    until_subscribed(&sync, &store).await;
    assert_eq!(sync.feed().subscription().unwrap().link(), Link::Live);
    assert!(sync.feed().note().unwrap().contains("live"));
    // The sync waits two minutes between polls: only an event can wake it sooner.
    let cancel = CancellationToken::new();
    let running = {
        let (sync, cancel) = (sync.clone(), cancel.clone());
        tokio::spawn(async move { sync.run(&cancel, Duration::from_secs(120)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let polls_before = queries(&sim);
    for round in 0..3 {
        let id = end_a_session(&sim, &[]);
        let changed_at = Instant::now();
        wait_for(
            "the ended session in the store",
            Duration::from_secs(5),
            || {
                let (store, id) = (store.clone(), id.clone());
                async move { status_of(&store, &id).await == Some(Status::Closed) }
            },
        )
        .await;
        let took = changed_at.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "round {round}: the change took {took:?} to reach the store"
        );
    }
    // One query per event (the sessions it names), none to poll.
    assert_eq!(queries(&sim) - polls_before, 3);
    cancel.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn a_restart_resumes_from_the_stored_replay_id_with_nothing_missed_or_repeated() {
    let sim = sim(Duration::from_millis(500)).await;
    let account = account(&sim, &sim.pubsub_url(), 300);
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, &account).await;
    {
        let sync = syncer(&store, &account);
        until_subscribed(&sync, &store).await;
        // One change while running, stored with its replay id.
        let first = end_a_session(&sim, &[]);
        sync_until_closed(&sync, &store, &[first]).await;
    } // killed: the subscription goes with it
    let stored = cursor(&store).await;
    assert!(stored.starts_with("replay:"), "{stored}");
    // Three changes while Baton is down.
    let mut down = vec![];
    for _ in 0..3 {
        let id = end_a_session(&sim, &down);
        down.push(id);
    }
    let sync = syncer(&store, &account);
    sync_until_closed(&sync, &store, &down).await;
    // Exactly the three events after the stored replay id: none missed, none again.
    // Back on events, from the stored position on.
    until_subscribed(&sync, &store).await;
    let sub = sync.feed().subscription().unwrap();
    assert_eq!(sub.counters().events, 3);
    assert_eq!(sub.counters().subscribes, 1);
    assert!(cursor(&store).await.starts_with("replay:"));
    assert_ne!(cursor(&store).await, stored);
}

#[tokio::test]
async fn a_silent_stream_is_given_up_and_opened_again() {
    // Keepalives every 200 ms; a stream silent for a second is dead.
    let sim = sim(Duration::from_millis(200)).await;
    let account = account(&sim, &sim.pubsub_url(), 1);
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, &account).await;
    let sync = Arc::new(syncer(&store, &account));
    until_subscribed(&sync, &store).await;
    let sub = sync.feed().subscription().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sub.counters().stalls, 0, "keepalives keep a stream alive");
    assert!(sub.counters().keepalives >= 2);
    let subscribes = sim.stats().salesforce.pubsub_subscribes;
    sim.stall_pubsub_streams();
    wait_for("a new stream", Duration::from_secs(5), || async {
        sim.stats().salesforce.pubsub_subscribes > subscribes
    })
    .await;
    assert_eq!(sub.counters().stalls, 1);
    // The new stream carries changes.
    let id = end_a_session(&sim, &[]);
    sync_until_closed(&sync, &store, &[id]).await;
    assert_eq!(sub.link(), Link::Live);
}

#[tokio::test]
async fn a_replay_id_the_org_no_longer_keeps_leads_to_a_full_re_read() {
    let sim = sim(Duration::from_millis(300)).await;
    let account = account(&sim, &sim.pubsub_url(), 300);
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, &account).await;
    {
        let sync = syncer(&store, &account);
        until_subscribed(&sync, &store).await;
    }
    // A session last changed days ago, which the cache has lost: only reading every
    // session again (not polling from the last change stored) brings it back.
    let old = sim.org(|o| {
        let days_ago = Utc::now() - chrono::Duration::days(2);
        o.sessions()
            .filter(|s| s.time("SystemModstamp").is_some_and(|t| t < days_ago))
            .map(|s| s.id().to_string())
            .collect::<Vec<_>>()
    });
    let mut lost = None;
    for id in &old {
        if status_of(&store, id).await.is_some() {
            lost = Some(id.clone());
            break;
        }
    }
    let lost = lost.expect("an old session in the cache");
    store
        .forget_conversations(ACCOUNT, std::slice::from_ref(&lost))
        .await
        .unwrap();
    assert_eq!(status_of(&store, &lost).await, None);
    // Baton was away longer than the org keeps changes, and another session ended
    // meanwhile.
    let ended = end_a_session(&sim, std::slice::from_ref(&lost));
    sim.expire_sf_changes();
    let refused_before = sim.stats().salesforce.pubsub_refused;
    let sync = syncer(&store, &account);
    sync_until_closed(&sync, &store, &[ended]).await;
    let start = Instant::now();
    while status_of(&store, &lost).await.is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the lost session is never read again: {:?}",
            sync.feed().note()
        );
        sync.run_once(&CancellationToken::new()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(sim.stats().salesforce.pubsub_refused > refused_before);
    let note = sync.feed().note().unwrap();
    assert!(note.contains("read again"), "{note}");
    assert!(note.contains("72 hours"), "{note}");
    // Then back on events, from a new position.
    until_subscribed(&sync, &store).await;
    assert_eq!(sync.feed().subscription().unwrap().link(), Link::Live);
}

#[tokio::test]
async fn without_pub_sub_the_feed_polls_and_says_so() {
    let sim = sim(Duration::from_secs(270)).await;
    // Nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}")
    };
    let account = account(&sim, &closed, 300);
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, &account).await;
    let sync = syncer(&store, &account);
    let cancel = CancellationToken::new();
    sync.run_once(&cancel).await.unwrap();
    wait_for(
        "Pub/Sub found unavailable",
        Duration::from_secs(15),
        || async {
            matches!(
                sync.feed().subscription().unwrap().link(),
                Link::Unavailable(_)
            )
        },
    )
    .await;
    let id = end_a_session(&sim, &[]);
    sync.run_once(&cancel).await.unwrap();
    assert_eq!(status_of(&store, &id).await, Some(Status::Closed));
    assert!(cursor(&store).await.starts_with("modstamp:"));
    let note = sync.feed().note().unwrap();
    assert!(
        note.starts_with("polling: Pub/Sub is unavailable"),
        "{note}"
    );
}
