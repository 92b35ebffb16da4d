//! Syncing the simulator end to end, over real HTTP on 127.0.0.1.

use baton_core::model::{HandoffMode, Scope};
use baton_core::store::{AccountRecord, QueueFilter};
use baton_core::sync::{FeedError, StatusHandle, SyncState, Syncer, SystemClock};
use baton_core::{CancellationToken, Error, Sensitive, Store};
use baton_sim::world::{Kind, Truth};
use baton_sim::{Faults, Limits, Sim, SimConfig};
use baton_zendesk::{Client, Settings, SuncoSettings, ZendeskFeed};
use sqlx::Row;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCOUNT: &str = "acme";

async fn sim(tickets: usize, limits: Limits) -> Sim {
    Sim::start(SimConfig {
        seed: 42,
        tickets,
        limits,
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn store(dir: &tempfile::TempDir, name: &str, base_url: &str) -> Store {
    let store = Store::open(&dir.path().join(name)).await.unwrap();
    store.add_account(&account(base_url)).await.unwrap();
    store
}

/// The tests' account: the simulator's agent, by API token.
fn account(base_url: &str) -> AccountRecord {
    baton_zendesk::accounts::record(ACCOUNT, base_url, Some("alex@acme.test"))
}

fn settings() -> Settings {
    // Small pages, so a small scenario still spans many pages of each kind.
    Settings {
        export_page_size: 25,
        transcript_page_size: 10,
        ..Default::default()
    }
}

fn syncer(store: &Store, url: &str, token: &str) -> Syncer<ZendeskFeed> {
    syncer_with(store, url, token, None)
}

/// With `sunco`: the Sunshine Conversations client and app id.
fn syncer_with(
    store: &Store,
    url: &str,
    token: &str,
    sunco: Option<(Client, String)>,
) -> Syncer<ZendeskFeed> {
    let status = StatusHandle::new(ACCOUNT, Arc::new(SystemClock));
    let mut client = baton_zendesk::client(&account(url), Sensitive::new(token.into()))
        .unwrap()
        .with_status(status.clone());
    // The tests' simulator counts its budget per second, not per minute.
    client.rate_window = Duration::from_secs(1);
    let mut feed = ZendeskFeed::new(client, settings(), chrono::Utc::now().timestamp());
    if let Some((client, app)) = sunco {
        feed = feed.with_sunco(client, &app);
    }
    Syncer::new(store.clone(), ACCOUNT, feed, status)
}

/// Everything Baton cached, as comparable text (row ids and sync times left out), read
/// from the database file as another process would: what was committed, whatever the
/// store's API chooses to show.
async fn dump(db: &Path) -> Vec<String> {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(db))
        .await
        .unwrap();
    let mut out = vec![];
    let queries = [
        "SELECT external_id, channel, status, subject, requester_name, assignee_name, group_name, opencx_session_id, assist_skips, version, transcript_version, transcript_cursor FROM conversations ORDER BY external_id",
        "SELECT c.external_id, h.mode, h.reason, h.handed_off_at FROM handoffs h JOIN conversations c ON c.id = h.conversation_id ORDER BY c.external_id",
        "SELECT c.external_id, m.external_id, m.role, m.body, m.created_at, m.attachments, m.internal FROM messages m JOIN conversations c ON c.id = m.conversation_id ORDER BY c.external_id, m.created_at, m.external_id",
        "SELECT c.external_id, d.source_note_id, d.text, d.training_url, d.state FROM assist_drafts d JOIN conversations c ON c.id = d.conversation_id ORDER BY c.external_id, d.source_note_id",
        "SELECT stream, cursor FROM sync_cursors",
    ];
    for q in queries {
        for row in sqlx::query(q).fetch_all(&pool).await.unwrap() {
            let cols: Vec<String> = (0..row.len())
                .map(|i| {
                    row.try_get::<Option<String>, _>(i)
                        .map(|v| v.unwrap_or_default())
                        .or_else(|_| {
                            row.try_get::<Option<i64>, _>(i)
                                .map(|v| v.map(|n| n.to_string()).unwrap_or_default())
                        })
                        .unwrap()
                })
                .collect();
            out.push(cols.join(" | "));
        }
    }
    pool.close().await;
    out
}

/// Checks the cache against what the scenario means (its ground truth), ticket by ticket.
async fn assert_matches_scenario(store: &Store, sim: &Sim) {
    assert_matches_scenario_but(store, sim, &BTreeSet::new()).await
}

/// The same, for every ticket but the `broken` ones (whose answers the simulator
/// corrupted): those may be cached, marked or missing, but nothing else may suffer for
/// them. Deleted tickets must be gone.
async fn assert_matches_scenario_but(store: &Store, sim: &Sim, broken: &BTreeSet<u64>) {
    let tickets = sim.world(|w| w.tickets.clone());
    let mut queue_expected = BTreeSet::new();
    for t in tickets.values() {
        let found = store
            .conversation_id(Some(ACCOUNT), &t.id.to_string())
            .await;
        if t.status == "deleted" {
            assert!(found.is_err(), "deleted ticket {} left the cache", t.id);
            continue;
        }
        if broken.contains(&t.id) {
            continue;
        }
        let id = found.unwrap_or_else(|e| panic!("well-formed ticket {}: {e}", t.id));
        let d = store.detail(id).await.unwrap();
        assert_eq!(d.item.subject, t.subject);
        assert_eq!(d.item.sync_problem, None, "ticket {} read whole", t.id);
        let wanted = t.kind.is_handoff() || !matches!(t.status, "solved" | "closed");
        let mut turns = vec![];
        let mut drafts: Vec<(String, String)> = vec![];
        let mut reason = None;
        let mut phone = None;
        for e in &t.events {
            match &e.truth {
                Truth::Turn { role } => turns.push((role.to_string(), e.text.clone())),
                Truth::Summary {
                    reason: r,
                    phone: p,
                } => {
                    turns.push(("system".into(), e.text.clone()));
                    reason = Some(r.clone());
                    phone = p.clone();
                }
                Truth::Draft { text, training_url } => {
                    if !drafts.iter().any(|(t, _)| t == text) {
                        drafts.push((text.clone(), training_url.clone()));
                    }
                }
            }
        }
        let got: Vec<(String, String)> = d
            .messages
            .iter()
            .map(|m| (m.role.to_string(), m.body.clone()))
            .collect();
        if wanted {
            assert_eq!(got, turns, "transcript of ticket {}", t.id);
            let got_drafts: Vec<(String, String)> = d
                .drafts
                .iter()
                .map(|d| (d.text.clone(), d.training_url.clone().unwrap_or_default()))
                .collect();
            assert_eq!(got_drafts, drafts, "drafts of ticket {}", t.id);
        } else {
            assert!(
                got.is_empty(),
                "ticket {} is done; its transcript is not fetched",
                t.id
            );
        }
        match t.kind {
            k if k.is_handoff() => {
                let h = d
                    .handoff
                    .as_ref()
                    .unwrap_or_else(|| panic!("ticket {} is a handoff", t.id));
                let mode = match k {
                    Kind::WebHandoff => HandoffMode::LiveChat,
                    Kind::PhoneLiveTransfer => HandoffMode::LiveTransfer,
                    _ => HandoffMode::LoggedEscalation,
                };
                assert_eq!(h.mode, mode);
                assert_eq!(h.reason, reason, "reason of ticket {}", t.id);
                // A call's summary in its parts: where it went, how long it took.
                let details = &h.details;
                match &phone {
                    Some(p) => {
                        assert_eq!(details.asked_for.as_ref(), Some(&p.asked_for));
                        assert_eq!(details.unresolved, p.unresolved);
                        assert_eq!(details.transfer_to, p.transfer_to);
                        assert_eq!(details.follow_up, p.follow_up);
                        assert_eq!(details.call_seconds, Some(p.call_seconds));
                        assert_eq!(d.item.transfer_to, p.transfer_to);
                        assert_eq!(d.item.follow_up, p.follow_up);
                        let user = sim.world(|w| w.users[&t.requester_id].clone());
                        assert_eq!(
                            d.caller.as_ref().map(|c| c.known),
                            Some(!user.email.is_empty()),
                            "caller of ticket {}",
                            t.id
                        );
                    }
                    None => {
                        assert_eq!(details.asked_for, None);
                        assert_eq!(d.caller, None);
                    }
                }
                assert!(details
                    .session_link
                    .as_deref()
                    .is_some_and(|l| l.ends_with(d.opencx_session_id.as_deref().unwrap())));
                // A session that ended says who ended it, and leaves the live queue.
                let ended_by = t.events.iter().find_map(|e| e.wire.ended_by());
                assert_eq!(
                    d.item.ended.as_ref().map(|e| e.by.code()),
                    ended_by.map(String::from),
                    "end of ticket {}",
                    t.id
                );
                // The same customer's other sessions are linked both ways.
                let others: BTreeSet<String> = sim.world(|w| {
                    w.tickets
                        .values()
                        .filter(|o| o.id != t.id && o.requester_id == t.requester_id)
                        .filter(|o| o.kind.is_handoff() && o.status != "deleted")
                        .filter(|o| !broken.contains(&o.id))
                        .map(|o| o.id.to_string())
                        .collect()
                });
                let related: BTreeSet<String> = d
                    .related
                    .iter()
                    .map(|r| r.external_id.clone())
                    .filter(|id| !broken.contains(&id.parse().unwrap()))
                    .collect();
                assert_eq!(related, others, "related of ticket {}", t.id);
                assert!(d
                    .opencx_session_id
                    .as_deref()
                    .unwrap_or("")
                    .starts_with("sess_"));
                if !matches!(t.status, "solved" | "closed") && ended_by.is_none() {
                    queue_expected.insert(t.id.to_string());
                }
            }
            _ => {
                assert!(d.handoff.is_none());
                if !drafts.is_empty() && !matches!(t.status, "solved" | "closed") {
                    queue_expected.insert(t.id.to_string());
                }
            }
        }
        let skips: Vec<String> = t
            .tags
            .iter()
            .filter_map(|g| g.strip_prefix("opencx_skipped_"))
            .map(String::from)
            .collect();
        assert_eq!(d.assist_skips, skips);
    }
    let queue = store.queue(&QueueFilter::default()).await.unwrap();
    let queued: BTreeSet<String> = queue
        .iter()
        .map(|i| i.external_id.clone())
        .filter(|id| !broken.contains(&id.parse().unwrap()))
        .collect();
    assert_eq!(queued, queue_expected);
    // Each row's scope as the simulator's assignments and memberships say, and the order:
    // mine, then my groups' unassigned, then the rest; longest waiting first in each.
    let (me, my_groups) = sim.world(|w| {
        let groups: Vec<String> = w
            .memberships
            .iter()
            .filter(|(u, _)| *u == w.me)
            .map(|(_, g)| g.to_string())
            .collect();
        (w.me.to_string(), groups)
    });
    let rank = |s: Scope| match s {
        Scope::Mine => 0,
        Scope::MyGroups => 1,
        Scope::Other => 2,
    };
    for item in &queue {
        let want = match (&item.assignee_id, &item.group_id) {
            (Some(a), _) if *a == me => Scope::Mine,
            (None, Some(g)) if my_groups.contains(g) => Scope::MyGroups,
            _ => Scope::Other,
        };
        assert_eq!(item.scope, want, "scope of ticket {}", item.external_id);
    }
    assert!(
        queue
            .windows(2)
            .all(|w| (rank(w[0].scope), w[0].waiting_since)
                <= (rank(w[1].scope), w[1].waiting_since)),
        "mine, my groups, the rest; longest waiting first"
    );
    let total = store.counts().await.unwrap().conversations;
    let live = tickets.values().filter(|t| t.status != "deleted");
    let well_formed = live.clone().filter(|t| !broken.contains(&t.id)).count();
    assert!(
        (well_formed..=live.count()).contains(&(total as usize)),
        "{total} cached"
    );
}

#[tokio::test]
async fn a_sync_caches_the_scenario_exactly_and_spends_few_requests() {
    let sim = sim(120, Limits::unlimited()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, "a.db", &sim.url()).await;
    let s = syncer(&store, &sim.url(), "sim-token");
    let report = s.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(report.conversations, 120);
    assert_matches_scenario(&store, &sim).await;
    assert!(matches!(
        s.status().current().state,
        SyncState::Synced { .. }
    ));

    // Requests: ticket fields, count, the export pages, and one request per 10 events
    // (the page size) of each transcript Baton needs, nothing per ticket it does not.
    let usage = s.feed().client().usage();
    let expected_transcript: u64 = sim.world(|w| {
        w.tickets
            .values()
            .filter(|t| t.kind.is_handoff() || !matches!(t.status, "solved" | "closed"))
            .map(|t| {
                let n = if t.kind.is_messaging() {
                    t.events.len()
                } else {
                    t.events
                        .iter()
                        .filter(|e| matches!(e.wire, baton_sim::world::Wire::Comment { .. }))
                        .count()
                };
                (n as u64).div_ceil(10).max(1)
            })
            .sum()
    });
    let transcript_requests: u64 = usage
        .requests
        .iter()
        .filter(|(k, _)| k.contains("/tickets/{id}/"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(transcript_requests, expected_transcript, "{usage:?}");
    assert_eq!(
        usage.requests["GET /api/v2/incremental/tickets/cursor"],
        120u64.div_ceil(25)
    );
    assert_eq!(
        usage.total(),
        sim.stats().total(),
        "the client counts what the server saw"
    );

    // Incremental: a customer writes on one handoff and a new handoff arrives.
    let changed: Vec<u64> =
        sim.world_mut(|w, g| (0..2).map(|_| g.live_step(w, chrono::Utc::now())).collect());
    let before = s.feed().client().usage();
    let report = s.run_once(&CancellationToken::new()).await.unwrap();
    let after = s.feed().client().usage();
    let unique: std::collections::BTreeSet<_> = changed.iter().collect();
    assert_eq!(report.conversations, unique.len() as u64);
    assert_eq!(
        after.requests["GET /api/v2/incremental/tickets/cursor"]
            - before.requests["GET /api/v2/incremental/tickets/cursor"],
        1
    );
    assert_matches_scenario(&store, &sim).await;

    // Nothing changed: one export request, nothing written.
    let report = s.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(report.conversations, 0);
}

#[tokio::test]
async fn stopping_between_any_two_pages_then_resuming_gives_the_same_cache() {
    let sim = sim(100, Limits::unlimited()).await;
    let dir = tempfile::tempdir().unwrap();
    let reference = store(&dir, "ref.db", &sim.url()).await;
    syncer(&reference, &sim.url(), "sim-token")
        .run_once(&CancellationToken::new())
        .await
        .unwrap();
    let want = dump(&dir.path().join("ref.db")).await;
    // Commits of 10 conversations inside pages of 25: stops land between pages and
    // inside them (after a chunk whose cursor is not yet stored).
    for stop_after in [1, 2, 3, 5, 7, 9] {
        let db = format!("stop{stop_after}.db");
        let interrupted = store(&dir, &db, &sim.url()).await;
        let mut changes = interrupted.subscribe();
        let cancel = CancellationToken::new();
        let mut s = syncer(&interrupted, &sim.url(), "sim-token");
        s.chunk = 10;
        let watcher = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                for _ in 0..stop_after {
                    changes.recv().await.unwrap();
                }
                cancel.cancel();
            })
        };
        let result = s.run_once(&cancel).await;
        watcher.await.unwrap();
        assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
        let partial = interrupted.counts().await.unwrap().conversations;
        assert!(partial > 0 && partial < 100, "stopped mid-way ({partial})");
        drop(s);
        drop(interrupted);
        // A new process: reopen the file and sync again.
        let reopened = Store::open(&dir.path().join(&db)).await.unwrap();
        syncer(&reopened, &sim.url(), "sim-token")
            .run_once(&CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(
            dump(&dir.path().join(&db)).await,
            want,
            "stopped after commit {stop_after}"
        );
    }
}

#[tokio::test]
async fn a_rate_limit_storm_and_server_errors_end_in_a_complete_sync() {
    let limits = Limits {
        account_per_window: Some(40),
        export_per_window: Some(1),
        window: Duration::from_secs(1),
    };
    let sim = sim(60, limits).await;
    sim.set_faults(Faults {
        rate_limits: 6,
        rate_limit_secs: 1,
        server_errors: 3,
        internal_errors: 3,
        drops: 2,
        truncations: 2,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, "storm.db", &sim.url()).await;
    let s = syncer(&store, &sim.url(), "sim-token");
    let started = Instant::now();
    // The continuous loop the app runs: single requests retry, and a run of failures
    // longer than a request's retries is picked up again by the loop's backoff.
    let cancel = CancellationToken::new();
    let mut status = s.status().subscribe();
    let done = async {
        loop {
            status.changed().await.unwrap();
            if matches!(status.borrow().state, SyncState::Synced { .. }) {
                break;
            }
        }
        cancel.cancel();
    };
    tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(s.run(&cancel, Duration::from_millis(100)), done)
    })
    .await
    .expect("the sync completes");
    let elapsed = started.elapsed();
    assert_matches_scenario(&store, &sim).await;
    let stats = sim.stats();
    assert_eq!(
        sim.faults(),
        Faults {
            rate_limit_secs: 1,
            ..Default::default()
        },
        "every fault was served"
    );
    // What Baton sent, throttled requests included, not what the limiter let through:
    // the budget, and beyond it at most one request per fetch in flight (transcripts and
    // the export) when it ran out, each of which then waits the window out.
    let in_flight = s.concurrency as u32 + 1;
    assert!(
        stats.max_received_in_window <= 40 + in_flight,
        "Baton sent {} requests in one window of a 40-request budget",
        stats.max_received_in_window
    );
    assert!(
        stats.max_exports_received_in_window <= 2,
        "Baton sent {} exports in one window of a 1-export budget",
        stats.max_exports_received_in_window
    );
    // Honouring Retry-After: at most one throttled answer per request in flight per window.
    let windows = elapsed.as_secs_f64().ceil() as u64 + 1;
    assert!(
        stats.throttled <= windows * (s.concurrency as u64 + 1),
        "{} throttled in {windows} windows",
        stats.throttled
    );
    assert!(
        s.feed().client().usage().rate_limited >= stats.throttled + 6,
        "every 429 was waited out"
    );
}

#[tokio::test]
async fn a_truncated_body_commits_nothing_and_says_why() {
    let sim = sim(30, Limits::unlimited()).await;
    sim.set_faults(Faults {
        truncations: 50,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, "t.db", &sim.url()).await;
    let s = syncer(&store, &sim.url(), "sim-token");
    let err = s.run_once(&CancellationToken::new()).await.unwrap_err();
    assert!(err.to_string().contains("cut off"), "{err}");
    assert!(matches!(s.status().current().state, SyncState::Error));
    assert!(
        dump(&dir.path().join("t.db")).await.is_empty(),
        "nothing partial was written"
    );
    sim.set_faults(Faults::default());
    s.run_once(&CancellationToken::new()).await.unwrap();
    assert_matches_scenario(&store, &sim).await;
}

#[tokio::test]
async fn bad_credentials_and_a_dead_host_are_named_clearly() {
    let sim = sim(5, Limits::unlimited()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, "auth.db", &sim.url()).await;
    let s = syncer(&store, &sim.url(), "wrong-token");
    let err = s.run_once(&CancellationToken::new()).await.unwrap_err();
    assert!(
        matches!(err, Error::Feed(FeedError::Auth { .. })),
        "{err:?}"
    );
    let status = s.status().current();
    assert_eq!(status.state, SyncState::AuthFailed);
    assert!(status.message.contains(ACCOUNT), "{}", status.message);
    assert_eq!(
        sim.stats().unauthorized,
        1,
        "a rejected credential is not retried"
    );

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut s = syncer(&store, &dead, "sim-token");
    s.concurrency = 1;
    let err = s.run_once(&CancellationToken::new()).await.unwrap_err();
    assert!(
        matches!(err, Error::Feed(FeedError::Unreachable { .. })),
        "{err:?}"
    );
    assert_eq!(s.status().current().state, SyncState::Unreachable);
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
}

#[derive(Clone, Default)]
struct Capture(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_secret_canary_appears_in_no_log_row_or_error() {
    const CANARY: &str = "canary-9d1e77-do-not-print";
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sim = Sim::start(SimConfig {
        tickets: 20,
        token: CANARY.into(),
        limits: Limits::unlimited(),
        ..Default::default()
    })
    .await
    .unwrap();
    sim.set_faults(Faults {
        server_errors: 2,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, "canary.db", &sim.url()).await;
    let ok = syncer(&store, &sim.url(), CANARY);
    ok.run_once(&CancellationToken::new()).await.unwrap();
    let rejected = syncer(&store, &sim.url(), &format!("{CANARY}-wrong"));
    let err = rejected
        .run_once(&CancellationToken::new())
        .await
        .unwrap_err();

    let mut texts = vec![
        err.to_string(),
        format!("{err:?}"),
        serde_json::to_string(&err).unwrap(),
        rejected.status().current().message,
        format!("{:?}", ok.feed().client().usage()),
    ];
    texts.extend(dump(&dir.path().join("canary.db")).await);
    texts.push(String::from_utf8(capture.0.lock().unwrap().clone()).unwrap());
    let raw = std::fs::read(dir.path().join("canary.db")).unwrap();
    assert!(
        !raw.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
        "the database file"
    );
    for t in &texts {
        assert!(!t.contains(CANARY), "leaked: {t}");
    }
    assert!(!texts.last().unwrap().is_empty(), "the log was captured");
}

#[tokio::test]
async fn without_the_conversation_log_sunshine_conversations_gives_the_same_transcripts() {
    let config = SimConfig {
        seed: 42,
        tickets: 40,
        limits: Limits::unlimited(),
        ..Default::default()
    };
    let sim = Sim::start(config.clone()).await.unwrap();
    sim.set_faults(Faults {
        no_conversation_log: true,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, "sunco.db", &sim.url()).await;
    let sunco = SuncoSettings {
        app_id: config.sunco_app_id.clone(),
        key_id: config.sunco_key_id.clone(),
        base_url: None,
    };
    let sunco_client = || {
        let secret = Sensitive::new(config.sunco_secret.clone());
        let client = baton_zendesk::sunco_client(&account(&sim.url()), &sunco, secret).unwrap();
        (client, sunco.app_id.clone())
    };
    let s = syncer_with(&store, &sim.url(), "sim-token", Some(sunco_client()));
    s.run_once(&CancellationToken::new()).await.unwrap();
    assert_matches_scenario(&store, &sim).await;
    let usage = s.feed().client().usage();
    assert!(
        usage.requests["GET /api/v2/tickets/{id}/conversation_log"] > 0,
        "the log was tried first"
    );

    // Later updates go straight to Sunco: the stored cursor says where the transcript lives.
    // A customer writes on a handoff already read from Sunco, and a new handoff arrives.
    let now = chrono::Utc::now();
    sim.world_mut(|w, g| {
        let (old, requester) = w
            .tickets
            .values()
            .find(|t| t.kind == Kind::WebHandoff && t.status != "deleted")
            .map(|t| (t.id, t.requester_id))
            .unwrap();
        let id = w.next_id();
        let name = w.user_name(requester);
        w.tickets
            .get_mut(&old)
            .unwrap()
            .events
            .push(baton_sim::world::Event {
                id,
                created_at: now,
                text: "Are you still there?".into(),
                attachments: vec![],
                wire: baton_sim::world::Wire::Message {
                    author: baton_sim::world::AuthorType::User,
                    author_name: name,
                    author_id: Some(requester),
                },
                truth: Truth::Turn { role: "customer" },
            });
        w.touch(old, now);
        g.ticket(w, Kind::WebHandoff, now);
    });
    let sunco_reads = |stats: baton_sim::Stats| -> u64 {
        stats
            .requests
            .iter()
            .filter(|(k, _)| k.starts_with("GET /sc/") && k.ends_with("/messages"))
            .map(|(_, n)| n)
            .sum()
    };
    let sunco_before = sunco_reads(sim.stats());
    let before = s.feed().client().usage();
    s.run_once(&CancellationToken::new()).await.unwrap();
    let after = s.feed().client().usage();
    assert_matches_scenario(&store, &sim).await;
    assert_eq!(
        sunco_reads(sim.stats()) - sunco_before,
        2,
        "both read from Sunco"
    );
    let logs = |u: &baton_zendesk::Usage| {
        u.requests
            .get("GET /api/v2/tickets/{id}/conversation_log")
            .copied()
            .unwrap_or(0)
    };
    // The new ticket tries the log once; the updated one does not.
    assert_eq!(logs(&after) - logs(&before), 1);

    // Without Sunco credentials a messaging ticket's transcript cannot be read: each one
    // is stored, marked with why, and the rest of the account syncs.
    let plain = self::store(&dir, "nosunco.db", &sim.url()).await;
    let report = syncer(&plain, &sim.url(), "sim-token")
        .run_once(&CancellationToken::new())
        .await
        .unwrap();
    let tickets = sim.world(|w| w.tickets.clone());
    let messaging = tickets.values().filter(|t| t.kind.is_messaging()).count();
    assert_eq!(report.unreadable as usize, messaging);
    for t in tickets.values() {
        let id = plain
            .conversation_id(Some(ACCOUNT), &t.id.to_string())
            .await
            .unwrap();
        let d = plain.detail(id).await.unwrap();
        if t.kind.is_messaging() {
            let why = d.item.sync_problem.unwrap_or_default();
            assert!(why.contains("conversation log"), "ticket {}: {why:?}", t.id);
            assert!(d.messages.is_empty());
        } else {
            assert_eq!(d.item.sync_problem, None, "ticket {}", t.id);
        }
    }
    let queue = plain.queue(&QueueFilter::default()).await.unwrap();
    assert!(
        queue.iter().any(|i| i.sync_problem.is_some()),
        "marked handoffs stay in the queue, where the rep sees why"
    );
}

#[tokio::test]
async fn deleted_tickets_leave_the_queue_the_cache_and_search() {
    let sim = sim(60, Limits::unlimited()).await;
    // A word only one handoff's transcript has, and an Assist ticket with a pending draft.
    const WORD: &str = "quokkazanzibar";
    let now = chrono::Utc::now();
    let (handoff, assist) = sim.world_mut(|w, _| {
        let pick = |kind: Kind| {
            w.tickets
                .values()
                .find(|t| t.kind == kind && !matches!(t.status, "solved" | "closed"))
                .map(|t| t.id)
                .unwrap()
        };
        let (handoff, assist) = (pick(Kind::WebHandoff), pick(Kind::Assist));
        let id = w.next_id();
        let t = w.tickets.get_mut(&handoff).unwrap();
        let requester = t.requester_id;
        t.events.push(baton_sim::world::Event {
            id,
            created_at: now,
            text: format!("My code word is {WORD}"),
            attachments: vec![],
            wire: baton_sim::world::Wire::Message {
                author: baton_sim::world::AuthorType::User,
                author_name: String::new(),
                author_id: Some(requester),
            },
            truth: Truth::Turn { role: "customer" },
        });
        w.touch(handoff, now);
        (handoff, assist)
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, "deleted.db", &sim.url()).await;
    let s = syncer(&store, &sim.url(), "sim-token");
    s.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(store.search(WORD, 10).await.unwrap().len(), 1);
    let queued = |q: Vec<baton_core::model::QueueItem>| -> BTreeSet<String> {
        q.into_iter().map(|i| i.external_id).collect()
    };
    let before = queued(store.queue(&QueueFilter::default()).await.unwrap());
    assert!(before.contains(&handoff.to_string()) && before.contains(&assist.to_string()));

    sim.delete_ticket(handoff);
    sim.delete_ticket(assist);
    let report = s.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(report.deleted, 2);
    assert_eq!(report.unreadable, 0);
    assert!(store.search(WORD, 10).await.unwrap().is_empty());
    let after = queued(store.queue(&QueueFilter::default()).await.unwrap());
    let mut want = before.clone();
    want.remove(&handoff.to_string());
    want.remove(&assist.to_string());
    assert_eq!(after, want);
    assert_matches_scenario(&store, &sim).await;

    // A first sync that meets them only as deleted stores nothing of them.
    let fresh = self::store(&dir, "fresh.db", &sim.url()).await;
    let report = syncer(&fresh, &sim.url(), "sim-token")
        .run_once(&CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((report.deleted, report.unreadable), (0, 0));
    assert_matches_scenario(&fresh, &sim).await;
}

#[tokio::test]
async fn a_ticket_whose_transcript_is_forbidden_is_marked_and_read_once_allowed() {
    let sim = sim(40, Limits::unlimited()).await;
    let pick = |kind: Kind| {
        sim.world(|w| {
            w.tickets
                .values()
                .find(|t| t.kind == kind && !matches!(t.status, "solved" | "closed"))
                .map(|t| t.id)
                .unwrap()
        })
    };
    let forbidden = vec![pick(Kind::WebHandoff), pick(Kind::Assist)];
    // And one whose transcript answers a page that does not parse: the client's retries
    // give up, and that is this ticket's problem, not the account's.
    let garbled = pick(Kind::PhoneLiveTransfer);
    sim.set_faults(Faults {
        forbidden_tickets: forbidden.clone(),
        garbled_tickets: vec![garbled],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, "forbidden.db", &sim.url()).await;
    let s = syncer(&store, &sim.url(), "sim-token");
    let report = s.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(report.unreadable, 3);
    let mut broken: BTreeSet<u64> = forbidden.iter().copied().collect();
    broken.insert(garbled);
    assert_matches_scenario_but(&store, &sim, &broken).await;
    let conv = store
        .conversation_id(Some(ACCOUNT), &garbled.to_string())
        .await
        .unwrap();
    let why = store.detail(conv).await.unwrap().item.sync_problem;
    assert!(
        why.as_deref()
            .is_some_and(|w| w.contains("unexpected response")),
        "{why:?}"
    );
    for id in &forbidden {
        let conv = store
            .conversation_id(Some(ACCOUNT), &id.to_string())
            .await
            .unwrap();
        let d = store.detail(conv).await.unwrap();
        let why = d.item.sync_problem.clone().unwrap_or_default();
        assert!(why.contains("403"), "ticket {id}: {why:?}");
        assert!(d.messages.is_empty());
    }

    // Access granted and the tickets change: read whole, the marks gone.
    sim.set_faults(Faults::default());
    sim.world_mut(|w, _| {
        for id in forbidden.iter().chain([&garbled]) {
            w.touch(*id, chrono::Utc::now());
        }
    });
    s.run_once(&CancellationToken::new()).await.unwrap();
    assert_matches_scenario(&store, &sim).await;
}

/// Syncs a simulator whose answers have `corrupt_share` of their fields broken, and
/// checks that the sync ends, every ticket the corruption did not touch is right, and
/// only touched ones are marked.
async fn sync_through_corruption(
    seed: u64,
    tickets: usize,
    deleted: usize,
    share: f64,
) -> (Sim, Store, tempfile::TempDir, BTreeSet<u64>) {
    let sim = Sim::start(SimConfig {
        seed,
        tickets,
        deleted_tickets: deleted,
        limits: Limits::unlimited(),
        ..Default::default()
    })
    .await
    .unwrap();
    sim.set_faults(Faults {
        corrupt_share: share,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, "fuzz.db", &sim.url()).await;
    let s = syncer(&store, &sim.url(), "sim-token");
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        s.run_once(&CancellationToken::new()),
    )
    .await
    .unwrap_or_else(|_| panic!("seed {seed}: the sync hung"))
    .unwrap_or_else(|e| panic!("seed {seed}: the sync stopped: {e}"));
    assert!(matches!(
        s.status().current().state,
        SyncState::Synced { .. }
    ));
    let broken = sim.stats().corrupted_tickets;
    assert_matches_scenario_but(&store, &sim, &broken).await;
    let marked: Vec<String> = store
        .sync_problems(ACCOUNT)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for id in &marked {
        assert!(
            broken.contains(&id.parse().unwrap()),
            "seed {seed}: ticket {id} marked but not corrupted"
        );
    }
    assert!(report.unreadable as usize >= marked.len());
    (sim, store, dir, broken)
}

#[tokio::test]
async fn corrupt_fields_and_deleted_tickets_never_stall_a_sync_and_heal_when_fixed() {
    let (sim, store, _dir, broken) = sync_through_corruption(42, 150, 5, 0.002).await;
    assert!(
        sim.stats().corrupted_fields > 10,
        "{:?}",
        sim.stats().corrupted_fields
    );
    let marked = store.sync_problems(ACCOUNT).await.unwrap().len();
    assert!(marked > 0, "some corrupted ticket is marked for the rep");

    // The records are fixed and the tickets change: the next sync reads them whole, the
    // comments and events left out last time included.
    sim.set_faults(Faults::default());
    sim.world_mut(|w, _| {
        for id in &broken {
            w.touch(*id, chrono::Utc::now());
        }
    });
    syncer(&store, &sim.url(), "sim-token")
        .run_once(&CancellationToken::new())
        .await
        .unwrap();
    assert_matches_scenario(&store, &sim).await;
}

#[tokio::test]
async fn thirty_fuzzed_syncs_neither_panic_nor_hang_nor_stop() {
    for seed in 1..=30 {
        sync_through_corruption(seed, 40, 2, 0.002).await;
    }
}
