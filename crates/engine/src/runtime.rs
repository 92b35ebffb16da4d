//! What runs while a host is up: a sync loop per account on its schedule, and outbox
//! delivery. The desktop app and `baton sync` / `baton demo` run exactly this.

use crate::demo::{Demo, DemoOptions};
use crate::error::Result;
use crate::vendor::AccountSync;
use baton_core::secrets::{Keychain, SecretStore};
use baton_core::store::AccountRecord;
use baton_core::sync::{StatusHandle, SystemClock};
use baton_core::{CancellationToken, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The keychain service every host uses, so an account added by one works in all.
pub const KEYCHAIN_SERVICE: &str = "baton";

/// The demo's simulator has no other users: it is polled more often than a real account.
pub const DEMO_POLL_EVERY: Duration = Duration::from_secs(2);

/// How often waiting replies (the vendor was down, a timeout) are tried again.
pub const DELIVER_EVERY: Duration = Duration::from_secs(3);

pub fn keychain() -> Keychain {
    Keychain::new(KEYCHAIN_SERVICE)
}

/// Where the cache is unless a host is told otherwise: the platform's data directory
/// (`~/.local/share/baton/baton.db` on Linux).
pub fn default_db() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("baton")
        .join("baton.db")
}

/// The demo's own cache, beside the real one: the demo never touches real accounts' data.
pub fn demo_db(db: &Path) -> PathBuf {
    db.with_file_name("demo.db")
}

/// What is running: the store, the syncs feeding it, outbox delivery. Dropping it does
/// not stop it; `stop` does.
pub struct Running {
    pub store: Store,
    pub statuses: Vec<StatusHandle>,
    /// Where this run's secrets are: the keychain, or the demo's memory.
    pub secrets: Arc<dyn SecretStore>,
    /// The embedded simulator, kept running while the demo is shown.
    pub demo: Option<Demo>,
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The syncs of a store's accounts (`only`: one of them). An account that cannot start
/// (its secret is missing, say) is reported, not fatal: the others run.
pub fn account_syncs(
    store: &Store,
    accounts: &[AccountRecord],
    secrets: &dyn SecretStore,
) -> (Vec<AccountSync>, Vec<(String, crate::EngineError)>) {
    let now = chrono::Utc::now().timestamp();
    let (mut syncs, mut failed) = (vec![], vec![]);
    for a in accounts {
        match AccountSync::for_account(store, a, secrets, now) {
            Ok(s) => syncs.push(s),
            Err(e) => failed.push((a.id.clone(), e)),
        }
    }
    (syncs, failed)
}

impl Running {
    /// Starts each sync on its schedule and the outbox delivery, until `stop`.
    pub fn start(
        store: Store,
        syncs: Vec<(AccountSync, Duration)>,
        secrets: Arc<dyn SecretStore>,
        demo: Option<Demo>,
    ) -> Running {
        let statuses = syncs.iter().map(|(s, _)| s.status().clone()).collect();
        let reads: Vec<Reads> = syncs
            .into_iter()
            .map(|(sync, every)| -> Reads {
                Box::new(move |_store: Store, cancel: CancellationToken| {
                    tokio::spawn(async move { sync.run(&cancel, every).await })
                })
            })
            .collect();
        Running::with_reads(store, statuses, secrets, demo, reads)
    }

    /// What reads into the store (each started with the store and the run's cancel),
    /// beside the outbox delivery every run has.
    fn with_reads(
        store: Store,
        statuses: Vec<StatusHandle>,
        secrets: Arc<dyn SecretStore>,
        demo: Option<Demo>,
        reads: Vec<Reads>,
    ) -> Running {
        let cancel = CancellationToken::new();
        let mut tasks: Vec<_> = reads
            .into_iter()
            .map(|start| start(store.clone(), cancel.clone()))
            .collect();
        tasks.push(tokio::spawn(deliver_every(
            store.clone(),
            secrets.clone(),
            cancel.clone(),
        )));
        Running {
            store,
            statuses,
            secrets,
            demo,
            cancel,
            tasks,
        }
    }

    /// A desktop's run over the database at `db`: its accounts with the keychain, or, when
    /// it has none, the demo (its own database beside `db`, new on every start).
    pub async fn open(db: &Path, demo: DemoOptions) -> Result<Running> {
        let store = Store::open(db).await?;
        let accounts = store.accounts().await?;
        if accounts.is_empty() {
            return Running::demo(&demo_db(db), demo).await;
        }
        let keychain = keychain();
        let (syncs, failed) = account_syncs(&store, &accounts, &keychain);
        for (account, e) in failed {
            tracing::error!(account, error = %e, "cannot sync");
        }
        if let Some(m) = store.membership().await? {
            let login = crate::team::desk::login(&m, &keychain);
            return Ok(Running::team(store, syncs, Arc::new(keychain), login));
        }
        Ok(Running::accounts(store, syncs, Arc::new(keychain)))
    }

    /// Connected accounts, each polled as often as its vendor allows.
    pub fn accounts(
        store: Store,
        syncs: Vec<AccountSync>,
        secrets: Arc<dyn SecretStore>,
    ) -> Running {
        let scheduled = syncs
            .into_iter()
            .map(|s| {
                let every = s.poll_every();
                (s, every)
            })
            .collect();
        Running::start(store, scheduled, secrets, None)
    }

    /// A desktop in a team: reads come from the team's streams; replies still go out
    /// from here.
    pub fn team(
        store: Store,
        syncs: Vec<AccountSync>,
        secrets: Arc<dyn SecretStore>,
        login: Result<crate::team::nats::NatsLogin>,
    ) -> Running {
        let statuses = syncs.iter().map(|s| s.status().clone()).collect();
        let reads = move |store: Store, cancel: CancellationToken| {
            tokio::spawn(crate::team::desk::read_team(store, login, syncs, cancel))
        };
        Running::with_reads(store, statuses, secrets, None, vec![Box::new(reads)])
    }

    /// The demo: the simulator in-process, its own database at `path` (new on every start:
    /// the simulator is new, so is its cache), synced and delivered to like any account.
    pub async fn demo(path: &Path, options: DemoOptions) -> Result<Running> {
        crate::demo::reset(path);
        let store = Store::open(path).await?;
        let (demo, syncs) = crate::demo::start(&store, options).await?;
        let secrets: Arc<dyn SecretStore> = demo.secrets.clone();
        // Zendesk polled every 2 s; Salesforce at its own pace, its changes pushed.
        let scheduled = syncs
            .into_iter()
            .map(|s| {
                let every = match s {
                    AccountSync::Zendesk(_) => DEMO_POLL_EVERY,
                    _ => s.poll_every(),
                };
                (s, every)
            })
            .collect();
        Ok(Running::start(store, scheduled, secrets, Some(demo)))
    }

    /// Whether this run shows the demo.
    pub fn is_demo(&self) -> bool {
        self.demo.is_some()
    }

    /// Stops the syncs and the delivery; what they were doing ends at its next safe point.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// Waits until everything `stop` stopped has ended.
    pub async fn stopped(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }

    pub fn cancelled(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// Starts one reader of a run: a sync loop, or a team's streams.
type Reads = Box<dyn FnOnce(Store, CancellationToken) -> tokio::task::JoinHandle<()> + Send>;

/// Replies that wait go out as soon as the vendor takes them again.
async fn deliver_every(store: Store, secrets: Arc<dyn SecretStore>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(DELIVER_EVERY);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(e) = crate::replies::deliver_due(&store, secrets.as_ref(), &SystemClock).await {
            tracing::warn!(error = %e, "outbox");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{register, MemoryVendor};
    use crate::replies::{self, DraftAction};
    use baton_core::outbox::{OutboxState, PostError};
    use baton_core::secrets::MemorySecrets;
    use baton_core::store::QueueFilter;

    /// A store with one account, `id`, behind an in-memory vendor.
    async fn with_vendor(id: &str) -> (tempfile::TempDir, Store, Arc<MemoryVendor>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("m.db")).await.unwrap();
        store
            .add_account(&baton_zendesk::accounts::record(id, "https://x.test", None))
            .await
            .unwrap();
        let vendor = Arc::new(MemoryVendor::default());
        register(id, vendor.clone());
        (dir, store, vendor)
    }

    async fn until<F: std::future::Future<Output = bool>>(mut ready: impl FnMut() -> F) {
        for _ in 0..200 {
            if ready().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("not ready after 10 s");
    }

    async fn queue_len(store: &Store) -> usize {
        store.queue(&QueueFilter::default()).await.unwrap().len()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_hosts_loops_keep_the_queue_fresh_and_send_what_the_rep_accepts() {
        let (_d, store, vendor) = with_vendor("mem-loops").await;
        vendor.hand_off("1", 1_000, Some("Your refund is on its way."));
        vendor.hand_off("2", 2_000, None);
        let accounts = store.accounts().await.unwrap();
        let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
        let (syncs, failed) = account_syncs(&store, &accounts, secrets.as_ref());
        assert!(failed.is_empty());
        let running = Running::start(
            store.clone(),
            syncs
                .into_iter()
                .map(|s| (s, Duration::from_millis(50)))
                .collect(),
            secrets.clone(),
            None,
        );
        until(|| async { queue_len(&store).await == 2 }).await;
        // The loop goes on: what arrives later shows up too.
        vendor.hand_off("3", 3_000, None);
        until(|| async { queue_len(&store).await == 3 }).await;

        let conversation = store.conversation_id(Some("mem-loops"), "1").await.unwrap();
        let (_, seen) = store.current_draft(conversation).await.unwrap();
        let done = replies::act(
            &store,
            secrets.as_ref(),
            conversation,
            &seen,
            DraftAction::Accept,
            &baton_core::sync::SystemClock,
        )
        .await
        .unwrap();
        assert_eq!(done.state, Some(OutboxState::Sent));
        let posted = vendor.posted.lock().unwrap().clone();
        assert_eq!(posted.len(), 1);
        assert_eq!(posted[0].reply.body, "Your refund is on its way.");
        assert_eq!(posted[0].reply.updated_stamp.as_deref(), Some("v1000"));
        running.stop();
        tokio::time::timeout(Duration::from_secs(10), running.stopped())
            .await
            .expect("stopped");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_reply_the_vendor_could_not_take_goes_out_from_the_delivery_loop() {
        let (_d, store, vendor) = with_vendor("mem-deliver").await;
        vendor.hand_off("1", 1_000, Some("Thanks for waiting."));
        let accounts = store.accounts().await.unwrap();
        let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
        let (mut syncs, _) = account_syncs(&store, &accounts, secrets.as_ref());
        let sync = syncs.remove(0);
        sync.run_once(&CancellationToken::new()).await.unwrap();
        let conversation = store
            .conversation_id(Some("mem-deliver"), "1")
            .await
            .unwrap();
        let (_, seen) = store.current_draft(conversation).await.unwrap();
        vendor
            .refusals
            .lock()
            .unwrap()
            .push(PostError::NotSent("rate-limited".into()));
        let first = replies::act(
            &store,
            secrets.as_ref(),
            conversation,
            &seen,
            DraftAction::Accept,
            &baton_core::sync::SystemClock,
        )
        .await
        .unwrap();
        assert_eq!(first.state, Some(OutboxState::Queued));
        let running = Running::start(
            store.clone(),
            vec![(sync, Duration::from_secs(60))],
            secrets,
            None,
        );
        let key = first.key.unwrap();
        until(|| async { store.outbox_item(&key).await.unwrap().state == OutboxState::Sent }).await;
        assert_eq!(vendor.posted.lock().unwrap().len(), 1, "once");
        running.stop();
        running.stopped().await;
    }
}
