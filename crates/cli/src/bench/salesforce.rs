//! `baton-bench salesforce`: what one desktop spends of a Salesforce org's REST requests
//! with Pub/Sub and with polling, how many Connect reads a changed conversation costs,
//! and how long a change at the org takes to reach the desktop's cache.
//!
//!     baton-bench salesforce --minutes 1
//!
//! Four runs at once, each with a simulator of its own in this process (so each run's
//! counts are its own; allocations off) and one desktop: a fresh SQLite cache on disk and
//! the Salesforce `Syncer` running as the engine runs it (`Syncer::run` every
//! `SALESFORCE_POLL_EVERY`, woken early by Pub/Sub events). Idle runs have no live
//! scenario; live runs change the org every `--live-every` seconds. Each run is measured
//! over `--minutes` from half a poll interval after its desktop is ready: synced, and
//! with Pub/Sub, on events (its cursor is a replay id).
//!
//! Latency: every commit the desktop's cache announces (`Store::subscribe`) is followed
//! at once by a read of each conversation it names, timestamped when that read returns.
//! A live change to session S at time T (`SfStats::live_changed`, same clock) has reached
//! the cache at the first such read of S at or after T that shows it: for a change to the
//! session record, the stored `updated_at` (its `SystemModstamp`, which Salesforce keeps
//! to the second) is T's second or later; for a change that only added a conversation
//! entry (the record did not change, so neither Pub/Sub nor polling hears of it), a
//! stored message received within a second from T. Which changes touched the record is
//! read from the org's change history (`Org::changes`).

use crate::latency::percentile;
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::store::Change;
use baton_core::sync::{Feed, SyncState, Syncer};
use baton_core::{CancellationToken, Sensitive, Store};
use baton_engine::vendor::SALESFORCE_POLL_EVERY;
use baton_salesforce::pubsub::subscription::Counters;
use baton_salesforce::{AuthFlow, SalesforceFeed};
use baton_sim::salesforce::{SfConfig, SfLimits, DEMO_KEY_PEM};
use baton_sim::{Limits, Sim, SimConfig, Stats};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const ACCOUNT: &str = "acme";
const STREAM: &str = "salesforce.messaging_sessions";

#[derive(clap::Args)]
pub struct Args {
    /// Minutes measured per run, once its desktop is ready.
    #[arg(long, default_value_t = 1.0)]
    pub minutes: f64,
    /// Seconds between the live runs' changes to the org.
    #[arg(long, default_value_t = 1.0)]
    pub live_every: f64,
    /// Seconds a quiet Pub/Sub stream waits before an empty batch (Salesforce: 270, the
    /// simulator's default). An idle desktop polls until the first one names a position.
    #[arg(long, default_value_t = 270.0)]
    pub keepalive: f64,
    /// Seeded MessagingSessions (the simulator's default).
    #[arg(long, default_value_t = 60)]
    pub sessions: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Seconds after a live window for its last changes to arrive (polling: up to one
    /// interval and a sync).
    #[arg(long, default_value_t = 45)]
    pub grace: u64,
}

/// From a desktop being ready to its window: half a poll interval, so a polling
/// desktop's polls fall inside the window, not on its edges.
fn settle() -> Duration {
    SALESFORCE_POLL_EVERY / 2
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Record ids compare by their first 15 characters (the 18-character form adds a checksum).
fn id15(id: &str) -> String {
    id.chars().take(15).collect()
}

/// One read of a conversation right after a commit named it.
#[derive(Debug, Clone)]
struct Seen {
    /// When the read returned (Unix ms).
    at: i64,
    updated_at: i64,
    messages: Vec<i64>,
}

type Sightings = HashMap<String, Vec<Seen>>;

/// Follows the cache's commits: every conversation they name is read back at once.
fn watch(store: &Store, cancel: CancellationToken) -> (Arc<Mutex<Sightings>>, JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Sightings::new()));
    let mut changes = store.subscribe();
    let (store, out) = (store.clone(), seen.clone());
    let task = tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            let change = tokio::select! {
                _ = cancel.cancelled() => return,
                c = changes.recv() => c,
            };
            let ids = match change {
                Ok(Change::Conversations { external_ids, .. }) => external_ids,
                Ok(_) => continue,
                Err(RecvError::Lagged(n)) => {
                    eprintln!("salesforce bench: the watcher missed {n} commits");
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            for id in ids {
                let Ok(row) = store.conversation_id(Some(ACCOUNT), &id).await else {
                    continue;
                };
                let Ok(d) = store.detail(row).await else {
                    continue;
                };
                let seen = Seen {
                    at: now_ms(),
                    updated_at: d.updated_at,
                    messages: d.messages.iter().map(|m| m.created_at).collect(),
                };
                out.lock()
                    .expect("sightings")
                    .entry(id15(&id))
                    .or_default()
                    .push(seen);
            }
        }
    });
    (seen, task)
}

/// The org's REST requests by endpoint (the token endpoint included); Zendesk's and the
/// simulator's own are left out, and Pub/Sub's gRPC calls are not requests.
fn rest(stats: &Stats) -> BTreeMap<String, u64> {
    stats
        .requests
        .iter()
        .filter(|(k, _)| k.contains(" /services/"))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn minus(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

fn counters_minus(a: &Counters, b: &Counters) -> Counters {
    Counters {
        subscribes: a.subscribes - b.subscribes,
        events: a.events - b.events,
        keepalives: a.keepalives - b.keepalives,
        schema_reads: a.schema_reads - b.schema_reads,
        stalls: a.stalls - b.stalls,
    }
}

/// A simulator and one desktop syncing it, as the engine runs a Salesforce account.
struct Desk {
    sim: Sim,
    store: Store,
    sync: Arc<Syncer<SalesforceFeed>>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    seen: Arc<Mutex<Sightings>>,
    _dir: tempfile::TempDir,
}

impl Desk {
    async fn start(args: &Args, pubsub: bool, live: bool) -> Desk {
        let sim = Sim::start(SimConfig {
            seed: args.seed,
            tickets: 1,
            live_every: live.then(|| Duration::from_secs_f64(args.live_every.max(0.05))),
            limits: Limits::unlimited(),
            salesforce: SfConfig {
                sessions: args.sessions,
                limits: SfLimits::unlimited(),
                pubsub_keepalive: Duration::from_secs_f64(args.keepalive.max(0.05)),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .expect("the simulator starts");
        let mut account = baton_salesforce::record(
            ACCOUNT,
            &sim.url(),
            "alex@acme.test",
            "baton-demo-client",
            AuthFlow::JwtBearer,
        );
        let mut settings = baton_salesforce::settings(&account).expect("settings");
        settings.pubsub = pubsub;
        settings.pubsub_url = pubsub.then(|| sim.pubsub_url());
        account.settings = serde_json::to_value(settings).expect("settings serialize");
        let secrets = MemorySecrets::default();
        secrets
            .put(
                &account.secret_ref,
                &Sensitive::new(DEMO_KEY_PEM.to_string()),
            )
            .expect("the demo key");
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("baton.db"))
            .await
            .expect("store");
        store.add_account(&account).await.expect("the account");
        let cancel = CancellationToken::new();
        let (seen, watching) = watch(&store, cancel.clone());
        let sync = Arc::new(
            baton_salesforce::syncer(&store, &account, &secrets, chrono::Utc::now().timestamp())
                .expect("the syncer"),
        );
        let running = {
            let (sync, cancel) = (sync.clone(), cancel.clone());
            tokio::spawn(async move { sync.run(&cancel, SALESFORCE_POLL_EVERY).await })
        };
        Desk {
            sim,
            store,
            sync,
            cancel,
            tasks: vec![watching, running],
            seen,
            _dir: dir,
        }
    }

    async fn cursor(&self) -> String {
        self.store
            .cursor(ACCOUNT, STREAM)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    fn synced(&self) -> bool {
        matches!(self.sync.status().current().state, SyncState::Synced { .. })
    }

    /// Waits until `done`, checking every 20 ms; panics after `limit`.
    async fn until(&self, what: &str, limit: Duration, done: impl AsyncFn(&Desk) -> bool) {
        let started = Instant::now();
        while !done(self).await {
            assert!(
                started.elapsed() < limit,
                "{what}: not after {limit:?} ({}; cursor {})",
                self.sync.status().current().message,
                self.cursor().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn counters(&self) -> Counters {
        self.sync
            .feed()
            .subscription()
            .map(|s| s.counters())
            .unwrap_or_default()
    }

    async fn stop(self) -> Sim {
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        self.sim
    }
}

/// Change → cache, in ms (sorted): changes to the session record, and changes that only
/// added conversation entries; and how many of each never showed in the cache.
#[derive(Debug, Default, PartialEq)]
pub struct Arrivals {
    pub record_ms: Vec<i64>,
    pub record_missed: usize,
    pub entries_ms: Vec<i64>,
    pub entries_missed: usize,
}

/// Each change `(session, when, whether it changed the record)` matched with the first
/// read of that session at or after it that shows it.
fn arrivals(changes: &[(String, i64, bool)], seen: &Sightings) -> Arrivals {
    let mut out = Arrivals::default();
    for (id, at, touched) in changes {
        // Salesforce keeps record times to the second: the change's SystemModstamp.
        let stamp = at - at.rem_euclid(1000);
        let shows = |s: &Seen| {
            s.at >= *at
                && if *touched {
                    s.updated_at >= stamp
                } else {
                    // The new entry: Salesforce received it just after the change.
                    s.messages.iter().any(|m| (*at..*at + 1000).contains(m))
                }
        };
        let first = seen
            .get(&id15(id))
            .and_then(|list| list.iter().find(|s| shows(s)));
        match (first, touched) {
            (Some(s), true) => out.record_ms.push(s.at - at),
            (Some(s), false) => out.entries_ms.push(s.at - at),
            (None, true) => out.record_missed += 1,
            (None, false) => out.entries_missed += 1,
        }
    }
    out.record_ms.sort_unstable();
    out.entries_ms.sort_unstable();
    out
}

/// One run's figures.
pub struct Run {
    pub pubsub: bool,
    pub live: bool,
    /// Start → the first sync done, and → ready (on events, with Pub/Sub).
    pub synced_after: Duration,
    pub ready_after: Duration,
    /// REST requests from the start until the first sync was done (by endpoint), and
    /// until ready.
    pub first_sync: BTreeMap<String, u64>,
    pub requests_synced: u64,
    pub requests_ready: u64,
    pub minutes: f64,
    /// REST requests in the window, by endpoint.
    pub requests: BTreeMap<String, u64>,
    pub tokens: u64,
    pub pubsub_client: Counters,
    /// The simulator's side: events and keepalives it sent in the window.
    pub events_sent: u64,
    pub keepalives_sent: u64,
    /// Live runs: the changes in the window (session, when, whether the record changed).
    pub changes: Vec<(String, i64, bool)>,
    /// Connect reads in the window, by conversation identifier.
    pub connect: BTreeMap<String, u64>,
    pub arrived: Arrivals,
    /// The account's status line at the end of the window.
    pub note: String,
    /// Every process on the machine over the window, % of one core (the other runs,
    /// and whatever else ran, included).
    pub machine_cpu: f64,
}

impl Run {
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    pub fn per_hour(&self, n: u64) -> f64 {
        n as f64 * 60.0 / self.minutes
    }

    pub fn label(&self) -> String {
        format!(
            "{}, {}",
            if self.live { "live" } else { "idle" },
            if self.pubsub { "Pub/Sub" } else { "polling" }
        )
    }
}

async fn run_one(args: &Args, pubsub: bool, live: bool) -> Run {
    let label = format!(
        "{} {}",
        if live { "live" } else { "idle" },
        if pubsub { "Pub/Sub" } else { "polling" }
    );
    let started = Instant::now();
    let desk = Desk::start(args, pubsub, live).await;
    let total = |s: &Stats| rest(s).values().sum::<u64>();
    desk.until("the first sync", Duration::from_secs(120), async |d| {
        d.synced()
    })
    .await;
    let synced_after = started.elapsed();
    let first_sync = rest(&desk.sim.stats());
    let requests_synced = first_sync.values().sum();
    let wait = Duration::from_secs_f64(args.keepalive) + Duration::from_secs(120);
    desk.until("changes through Pub/Sub", wait, async |d| {
        !pubsub || d.cursor().await.starts_with("replay:")
    })
    .await;
    let ready_after = started.elapsed();
    let requests_ready = total(&desk.sim.stats());
    eprintln!(
        "salesforce bench: {label}: synced after {synced_after:.1?}, ready after {ready_after:.1?}; \
         measuring {} min",
        args.minutes
    );
    tokio::time::sleep(settle()).await;

    let (before, counters_before) = (desk.sim.stats(), desk.counters());
    let machine = crate::procs::MachineCpu::start();
    let from = now_ms();
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.minutes * 60.0)).await;
    let (after, counters_after) = (desk.sim.stats(), desk.counters());
    let to = now_ms();
    let minutes = window.elapsed().as_secs_f64() / 60.0;
    let machine_cpu = machine.percent();
    let note = desk.sync.feed().note().unwrap_or_else(|| "polling".into());
    if live {
        // The window's last changes still travel.
        tokio::time::sleep(Duration::from_secs(args.grace)).await;
    }
    let seen = desk.seen.lock().expect("sightings").clone();
    let sim = desk.stop().await;

    let record_changes: BTreeSet<(String, i64)> = sim.org(|o| {
        o.changes
            .iter()
            .filter(|c| c.entity == "MessagingSession")
            .map(|c| (id15(&c.record_id), c.commit_timestamp.timestamp_millis()))
            .collect()
    });
    let changes: Vec<(String, i64, bool)> = after
        .salesforce
        .live_changed
        .iter()
        .filter(|(_, at)| (from..to).contains(at))
        .map(|(id, at)| {
            let touched = record_changes.contains(&(id15(id), *at));
            (id.clone(), *at, touched)
        })
        .collect();
    let arrived = arrivals(&changes, &seen);
    let connect = {
        let (a, b) = (
            &after.salesforce.connect_reads,
            &before.salesforce.connect_reads,
        );
        minus(a, b)
    };
    eprintln!("salesforce bench: {label}: done");
    Run {
        pubsub,
        live,
        synced_after,
        ready_after,
        first_sync,
        requests_synced,
        requests_ready,
        minutes,
        requests: minus(&rest(&after), &rest(&before)),
        tokens: after.salesforce.tokens_issued - before.salesforce.tokens_issued,
        pubsub_client: counters_minus(&counters_after, &counters_before),
        events_sent: after.salesforce.pubsub_events_sent - before.salesforce.pubsub_events_sent,
        keepalives_sent: after.salesforce.pubsub_keepalives - before.salesforce.pubsub_keepalives,
        changes,
        connect,
        arrived,
        note,
        machine_cpu,
    }
}

/// The four runs at once; the report on stdout.
pub async fn run(args: Args) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    eprintln!(
        "salesforce bench: 4 runs at once, {} min each once ready (an idle Pub/Sub desktop is \
         ready at the first keepalive, {} s after it subscribes)",
        args.minutes, args.keepalive
    );
    let (idle_pubsub, idle_polling, live_pubsub, live_polling) = tokio::join!(
        run_one(&args, true, false),
        run_one(&args, false, false),
        run_one(&args, true, true),
        run_one(&args, false, true),
    );
    print!(
        "{}",
        report(
            &args,
            &[idle_pubsub, idle_polling],
            &[live_pubsub, live_polling]
        )
    );
}

fn ms(v: Option<i64>) -> String {
    v.map_or("–".into(), |v| format!("{v} ms"))
}

fn row(out: &mut String, label: &str, runs: &[Run], cell: impl Fn(&Run) -> String) {
    let cells: Vec<String> = runs.iter().map(cell).collect();
    writeln!(out, "| {label} | {} |", cells.join(" | ")).unwrap();
}

fn head(out: &mut String, title: &str, runs: &[Run]) {
    let names: Vec<String> = runs.iter().map(Run::label).collect();
    writeln!(out, "| {title} | {} |", names.join(" | ")).unwrap();
    writeln!(out, "|---|{}", "---|".repeat(runs.len())).unwrap();
}

fn by_endpoint(out: &mut String, runs: &[Run], per: impl Fn(&Run, u64) -> String) {
    let mut endpoints: Vec<&String> = runs.iter().flat_map(|r| r.requests.keys()).collect();
    endpoints.sort();
    endpoints.dedup();
    for e in endpoints {
        row(out, &format!("· {e}"), runs, |r| {
            per(r, r.requests.get(e).copied().unwrap_or(0))
        });
    }
}

fn pubsub_rows(out: &mut String, runs: &[Run]) {
    row(
        out,
        "Pub/Sub in the window (gRPC, not REST): subscribes · events · keepalives received",
        runs,
        |r| {
            if r.pubsub {
                let c = &r.pubsub_client;
                format!("{} · {} · {}", c.subscribes, c.events, c.keepalives)
            } else {
                "–".into()
            }
        },
    );
    row(out, "the account's status at the end", runs, |r| {
        r.note.clone()
    });
    row(
        out,
        "the whole machine's CPU over the window (200 % = both cores of two)",
        runs,
        |r| format!("{:.0} %", r.machine_cpu),
    );
}

/// The report: the idle runs side by side, then the live ones.
pub fn report(args: &Args, idle: &[Run], live: &[Run]) -> String {
    let mut out = String::new();
    let out = &mut out;
    writeln!(
        out,
        "## baton-bench salesforce: one desktop, Pub/Sub vs polling\n\n\
         Simulator: {} seeded MessagingSessions, seed {}, allocations off, Pub/Sub keepalive \
         every {} s; live runs change the org every {} s. The desktop: `Syncer::run` every {} s \
         (the engine's `SALESFORCE_POLL_EVERY`), woken by Pub/Sub events. Each run measured \
         for {} min, from {} s after its desktop was ready; live changes given {} s more to \
         arrive. Per-hour figures are the window's counts × 60 / its minutes (extrapolated).\n",
        args.sessions,
        args.seed,
        args.keepalive,
        args.live_every,
        SALESFORCE_POLL_EVERY.as_secs(),
        args.minutes,
        settle().as_secs(),
        args.grace
    )
    .unwrap();
    if !idle.is_empty() {
        head(out, "idle desktop (no changes)", idle);
        row(
            out,
            "start → first sync done (REST requests)",
            idle,
            |r| {
                format!(
                    "{:.1} s ({})",
                    r.synced_after.as_secs_f64(),
                    r.requests_synced
                )
            },
        );
        let mut first: Vec<&String> = idle.iter().flat_map(|r| r.first_sync.keys()).collect();
        first.sort();
        first.dedup();
        for e in first {
            row(out, &format!("· first sync: {e}"), idle, |r| {
                r.first_sync.get(e).copied().unwrap_or(0).to_string()
            });
        }
        row(
            out,
            "start → ready: changes through Pub/Sub, or synced (REST requests)",
            idle,
            |r| {
                format!(
                    "{:.1} s ({})",
                    r.ready_after.as_secs_f64(),
                    r.requests_ready
                )
            },
        );
        row(out, "window", idle, |r| format!("{:.2} min", r.minutes));
        row(
            out,
            "**REST requests in the window** (of which token requests)",
            idle,
            |r| format!("{} ({})", r.total(), r.tokens),
        );
        row(
            out,
            "**REST requests per hour** (extrapolated)",
            idle,
            |r| format!("{:.0}", r.per_hour(r.total())),
        );
        by_endpoint(out, idle, |r, n| format!("{:.0}/h", r.per_hour(n)));
        pubsub_rows(out, idle);
        writeln!(out).unwrap();
        if let (Some(p), Some(q)) = (
            idle.iter().find(|r| r.pubsub),
            idle.iter().find(|r| !r.pubsub),
        ) {
            let (a, b) = (p.per_hour(p.total()), q.per_hour(q.total()));
            if a > 0.0 {
                writeln!(
                    out,
                    "Idle, polling ÷ Pub/Sub: {:.1}× ({b:.0} vs {a:.0} REST requests an hour).\n",
                    b / a
                )
                .unwrap();
            } else {
                writeln!(
                    out,
                    "Idle: polling {b:.0} REST requests an hour, Pub/Sub none in its window.\n"
                )
                .unwrap();
            }
        }
    }
    if !live.is_empty() {
        head(out, "live org", live);
        row(
            out,
            "start → ready: changes through Pub/Sub, or synced (REST requests)",
            live,
            |r| {
                format!(
                    "{:.1} s ({})",
                    r.ready_after.as_secs_f64(),
                    r.requests_ready
                )
            },
        );
        row(out, "window", live, |r| format!("{:.2} min", r.minutes));
        row(
            out,
            "live changes: to the session record + entries only (distinct sessions)",
            live,
            |r| {
                let record = r.changes.iter().filter(|c| c.2).count();
                let sessions: BTreeSet<String> = r.changes.iter().map(|c| id15(&c.0)).collect();
                format!(
                    "{} + {} ({})",
                    record,
                    r.changes.len() - record,
                    sessions.len()
                )
            },
        );
        row(
            out,
            "REST requests in the window (per hour; per change)",
            live,
            |r| {
                format!(
                    "{} ({:.0}/h; {:.2})",
                    r.total(),
                    r.per_hour(r.total()),
                    r.total() as f64 / r.changes.len().max(1) as f64
                )
            },
        );
        by_endpoint(out, live, |_, n| format!("{n}"));
        row(
            out,
            "**Connect reads per conversation**: reads ÷ distinct sessions changed",
            live,
            |r| {
                let reads: u64 = r.connect.values().sum();
                let sessions: BTreeSet<String> = r.changes.iter().map(|c| id15(&c.0)).collect();
                format!(
                    "{:.2} ({reads} ÷ {})",
                    reads as f64 / sessions.len().max(1) as f64,
                    sessions.len()
                )
            },
        );
        row(
            out,
            "Connect reads per change; per conversation read (conversations read)",
            live,
            |r| {
                let reads: u64 = r.connect.values().sum();
                format!(
                    "{:.2}; {:.2} ({})",
                    reads as f64 / r.changes.len().max(1) as f64,
                    reads as f64 / r.connect.len().max(1) as f64,
                    r.connect.len()
                )
            },
        );
        row(
            out,
            "**change → cache, record changes: p50 / p95 / max** (mean)",
            live,
            |r| {
                let v = &r.arrived.record_ms;
                let mean = if v.is_empty() {
                    0.0
                } else {
                    v.iter().sum::<i64>() as f64 / v.len() as f64
                };
                format!(
                    "{} / {} / {} ({:.0} ms)",
                    ms(percentile(v, 0.5)),
                    ms(percentile(v, 0.95)),
                    ms(v.last().copied()),
                    mean
                )
            },
        );
        row(
            out,
            "record changes measured (not in the cache after the grace)",
            live,
            |r| {
                format!(
                    "{} ({})",
                    r.arrived.record_ms.len(),
                    r.arrived.record_missed
                )
            },
        );
        row(
            out,
            "entries-only changes: in the cache (not) · p50 / max of those in it",
            live,
            |r| {
                format!(
                    "{} ({}) · {} / {}",
                    r.arrived.entries_ms.len(),
                    r.arrived.entries_missed,
                    ms(percentile(&r.arrived.entries_ms, 0.5)),
                    ms(r.arrived.entries_ms.last().copied())
                )
            },
        );
        pubsub_rows(out, live);
        row(out, "the simulator sent: events · keepalives", live, |r| {
            format!("{} · {}", r.events_sent, r.keepalives_sent)
        });
        writeln!(out).unwrap();
    }
    std::mem::take(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(at: i64, updated_at: i64, messages: &[i64]) -> Seen {
        Seen {
            at,
            updated_at,
            messages: messages.to_vec(),
        }
    }

    #[test]
    fn a_change_arrives_at_the_first_read_at_or_after_it_that_shows_it() {
        let sightings = Sightings::from([
            (
                "0MwSm0000000001".to_string(),
                vec![
                    // Before the change: not it, whatever it shows.
                    seen(10_100, 10_000, &[]),
                    // After it, still the older record (second 9).
                    seen(10_400, 9_000, &[]),
                    // The record at the change's second: arrived.
                    seen(10_520, 10_000, &[10_300]),
                    seen(12_000, 11_000, &[10_300, 11_900]),
                ],
            ),
            (
                "0MwSm0000000002".to_string(),
                vec![seen(11_000, 5_000, &[12_400])],
            ),
        ]);
        let changes = vec![
            // Ids compare by their first 15 characters.
            ("0MwSm0000000001KAA".to_string(), 10_250, true),
            // An entry only: the first read holding a message received within a second.
            ("0MwSm0000000001KAA".to_string(), 11_800, false),
            // Its message came 2 s later: another change's, not this one's.
            ("0MwSm0000000002AAA".to_string(), 10_300, false),
            ("0MwSm0000000003AAA".to_string(), 10_300, true),
        ];
        assert_eq!(
            arrivals(&changes, &sightings),
            Arrivals {
                record_ms: vec![270],
                record_missed: 1,
                entries_ms: vec![200],
                entries_missed: 1,
            }
        );
    }
}
