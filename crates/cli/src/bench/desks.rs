//! N desktops in this process: each its own SQLite cache (a file of its own), its own
//! NATS connection (the rep's user) and the engine's `Consumer` reading the team's
//! stream into it, as `baton sync` in a team does. Every commit a desktop announces is
//! timestamped: when each conversation's row was committed in each cache.

use crate::procs::REP_USER;
use baton_core::store::Change;
use baton_core::sync::{StatusHandle, SyncState, SystemClock};
use baton_core::{CancellationToken, Sensitive, Store};
use baton_engine::team::consume::{AccountFeed, Consumer};
use baton_engine::team::nats::{self, NatsLogin};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub const ACCOUNT: &str = "acme";
/// Desktops opened at once (each open creates a file and runs the migrations).
const OPENING: usize = 8;

/// For each conversation (its external id), when each commit that touched it was
/// announced by the cache, in Unix milliseconds, in order.
pub type Receipts = HashMap<String, Vec<i64>>;

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub fn rep_login(nats_url: &str) -> NatsLogin {
    NatsLogin {
        url: nats_url.to_string(),
        user: REP_USER.0.into(),
        secret: Sensitive::new(REP_USER.1.into()),
        ca_file: None,
    }
}

/// A fresh cache with the team's account in it, as a desktop that joined has.
pub async fn fresh_store(path: &Path, sim_url: &str) -> Store {
    let store = Store::open(path).await.expect("a desktop's store");
    let record = baton_zendesk::accounts::record(ACCOUNT, sim_url, Some("alex@acme.test"));
    store.add_account(&record).await.expect("its account");
    store
}

/// A consumer of the team's account into `store`, on a NATS connection of its own.
pub async fn consumer(nats_url: &str, store: &Store, name: &str) -> Consumer<AccountFeed> {
    let client = nats::connect(&rep_login(nats_url), name)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    Consumer::account(
        nats::jetstream(&client),
        store.clone(),
        ACCOUNT,
        ACCOUNT,
        StatusHandle::new(ACCOUNT, Arc::new(SystemClock)),
    )
}

struct Desk {
    /// A cache of its own; otherwise a reader (`readers.rs`).
    real: bool,
    /// Set once its first catch-up is done; it stays set when it later falls behind.
    caught_up: Arc<AtomicBool>,
    receipts: Arc<Mutex<Receipts>>,
}

pub struct Desks {
    desks: Vec<Desk>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    /// Announcements a desktop's listener missed (its broadcast channel overflowed).
    pub lagged: Arc<AtomicU64>,
    pub stores_on_disk: usize,
    _dir: tempfile::TempDir,
}

impl Desks {
    /// Opens `n` desktops, the first `real` with a cache of their own and the others
    /// readers, and starts them reading; returns once every one has caught up with the
    /// stream (each once: a desktop may fall behind again while others catch up).
    pub async fn start(n: usize, real: usize, nats_url: &str, sim_url: &str, base: &Path) -> Desks {
        let dir = tempfile::tempdir_in(base).expect("a directory for the desktops");
        let cancel = CancellationToken::new();
        let lagged = Arc::new(AtomicU64::new(0));
        let permits = Arc::new(tokio::sync::Semaphore::new(OPENING));
        let mut opening = tokio::task::JoinSet::new();
        for i in 0..n {
            let (path, permits) = (dir.path().join(format!("desk-{i}.db")), permits.clone());
            let (nats_url, sim_url) = (nats_url.to_string(), sim_url.to_string());
            let (cancel, lagged) = (cancel.clone(), lagged.clone());
            opening.spawn(async move {
                let _permit = permits.acquire().await.expect("semaphore");
                if i < real {
                    open(i, &path, &nats_url, &sim_url, cancel, lagged).await
                } else {
                    reader(i, nats_url, cancel)
                }
            });
        }
        let mut desks = vec![];
        let mut tasks = vec![];
        while let Some(opened) = opening.join_next().await {
            let (desk, mut started) = opened.expect("a desktop opens");
            desks.push(desk);
            tasks.append(&mut started);
        }
        let stores_on_disk = std::fs::read_dir(dir.path())
            .expect("the desktops' directory")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "db"))
            .count();
        let desks = Desks {
            desks,
            cancel,
            tasks,
            lagged,
            stores_on_disk,
            _dir: dir,
        };
        desks.until_caught_up(Duration::from_secs(1800)).await;
        desks
    }

    async fn until_caught_up(&self, timeout: Duration) {
        let started = Instant::now();
        loop {
            let live = self
                .desks
                .iter()
                .filter(|d| d.caught_up.load(Ordering::Relaxed))
                .count();
            if live == self.desks.len() {
                return;
            }
            assert!(
                started.elapsed() < timeout,
                "{live} of {} desktops caught up after {timeout:?}",
                self.desks.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every desktop's receipts so far: the real ones', then the readers'.
    pub fn receipts(&self) -> (Vec<Receipts>, Vec<Receipts>) {
        let of = |real: bool| {
            self.desks
                .iter()
                .filter(|d| d.real == real)
                .map(|d| d.receipts.lock().expect("receipts").clone())
                .collect()
        };
        (of(true), of(false))
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn open(
    i: usize,
    path: &Path,
    nats_url: &str,
    sim_url: &str,
    cancel: CancellationToken,
    lagged: Arc<AtomicU64>,
) -> (Desk, Vec<JoinHandle<()>>) {
    let store = fresh_store(path, sim_url).await;
    let receipts = Arc::new(Mutex::new(Receipts::new()));
    let mut changes = store.subscribe();
    let listener = {
        let (receipts, cancel) = (receipts.clone(), cancel.clone());
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let change = tokio::select! {
                    _ = cancel.cancelled() => return,
                    c = changes.recv() => c,
                };
                match change {
                    Ok(Change::Conversations { external_ids, .. }) => {
                        let at = now_ms();
                        let mut r = receipts.lock().expect("receipts");
                        for id in external_ids {
                            r.entry(id).or_default().push(at);
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => {
                        lagged.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    };
    let consumer = consumer(nats_url, &store, &format!("bench desk {i}")).await;
    let caught_up = Arc::new(AtomicBool::new(false));
    let watching = {
        let (mut status, caught_up) = (consumer.status().subscribe(), caught_up.clone());
        tokio::spawn(async move {
            loop {
                if matches!(status.borrow_and_update().state, SyncState::Synced { .. }) {
                    caught_up.store(true, Ordering::Relaxed);
                    return;
                }
                if status.changed().await.is_err() {
                    return;
                }
            }
        })
    };
    let reading = tokio::spawn(async move { consumer.run(&cancel).await });
    (
        Desk {
            real: true,
            caught_up,
            receipts,
        },
        vec![listener, watching, reading],
    )
}

fn reader(i: usize, nats_url: String, cancel: CancellationToken) -> (Desk, Vec<JoinHandle<()>>) {
    let receipts = Arc::new(Mutex::new(Receipts::new()));
    let caught_up = Arc::new(AtomicBool::new(false));
    let reading = tokio::spawn(crate::readers::read(
        format!("bench reader {i}"),
        nats_url,
        receipts.clone(),
        caught_up.clone(),
        cancel,
    ));
    (
        Desk {
            real: false,
            caught_up,
            receipts,
        },
        vec![reading],
    )
}

/// The team account's stream now: (messages, bytes, last sequence).
pub async fn stream_state(nats_url: &str) -> (u64, u64, u64) {
    let client = nats::connect(&rep_login(nats_url), "bench stream info")
        .await
        .expect("NATS");
    let mut stream = nats::jetstream(&client)
        .get_stream(nats::stream_name(ACCOUNT))
        .await
        .expect("the team's stream");
    let state = &stream.info().await.expect("stream info").state;
    (state.messages, state.bytes, state.last_sequence)
}
