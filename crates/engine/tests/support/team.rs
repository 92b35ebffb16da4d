//! A team around a NATS: the simulator (sending signed webhooks to the relay), relays,
//! and desktops reading the team's stream into their own caches; and the comparisons
//! the tests make between those caches.

use super::{free_port, NatsServer, RELAY, REP};
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::{CancellationToken, Sensitive, Store};
use baton_engine::runtime::account_syncs;
use baton_engine::team::config::{RelayConfig, RelaySecrets};
use baton_engine::team::desk;
use baton_engine::team::relay::Relay;
use baton_engine::Running;
use baton_sim::{Sim, SimConfig, WebhookTarget, WebhookTiming};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const WEBHOOK_SECRET: &str = "whsec-test-signing";

/// How a relay or a desktop reaches the team's NATS.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `nats://`, `tls://`, `ws://` or `wss://`.
    pub url: String,
    pub ca_file: Option<PathBuf>,
    /// `[nats] replicas` of the relay's config.
    pub replicas: usize,
}

impl Endpoint {
    pub fn with_url(&self, url: String) -> Endpoint {
        Endpoint {
            url,
            ..self.clone()
        }
    }
}

pub struct Team {
    /// The team's NATS (one server, or a cluster's nodes), stopped with the team.
    pub servers: Vec<NatsServer>,
    /// How the first relay reached it, and desktops do unless told otherwise.
    pub nats: Endpoint,
    pub sim: Sim,
    /// The first relay's webhook port: the simulator's webhooks go there.
    pub relay_port: u16,
    _dirs: Vec<tempfile::TempDir>,
}

impl Team {
    /// The simulator (30 tickets, webhooks to the first relay) and its first relay,
    /// running, on `servers` reached through `nats`.
    pub async fn start(
        servers: Vec<NatsServer>,
        nats: Endpoint,
        export_every_secs: u64,
    ) -> (Team, Arc<Relay>, CancellationToken) {
        let (team, dir) = Self::without_relay(servers, nats).await;
        let (relay, cancel) = relay(
            &team.nats,
            &team.sim,
            team.relay_port,
            dir.path(),
            export_every_secs,
        )
        .await;
        let mut team = team;
        team._dirs.push(dir);
        // Working, so the team's accounts are listed before a desktop joins.
        super::within(30, "the first relay holding the lease", || {
            let relay = relay.clone();
            async move { relay.is_active() }
        })
        .await;
        (team, relay, cancel)
    }

    /// The simulator, its webhooks aimed at `relay_port` where no relay runs yet; and
    /// a directory for that relay.
    pub async fn without_relay(
        servers: Vec<NatsServer>,
        nats: Endpoint,
    ) -> (Team, tempfile::TempDir) {
        let relay_port = free_port();
        let sim = Sim::start(SimConfig {
            tickets: 30,
            live_every: None,
            zendesk_webhook: Some(WebhookTarget::new(
                format!("http://127.0.0.1:{relay_port}/webhooks/zendesk/acme"),
                WEBHOOK_SECRET,
            )),
            webhook_timing: WebhookTiming {
                wait_scale: 0.01,
                timeout_scale: 0.1,
            },
            ..Default::default()
        })
        .await
        .unwrap();
        (
            Team {
                servers,
                nats,
                sim,
                relay_port,
                _dirs: vec![],
            },
            tempfile::tempdir().unwrap(),
        )
    }

    /// A change at the vendor: a customer writes on a ticket (a new one, or an open
    /// one). Returns the ticket's id.
    pub fn customer_writes(&self) -> String {
        self.sim
            .world_mut(|w, g| g.live_step(w, chrono::Utc::now()))
            .to_string()
    }
}

/// The text of a relay's `relay.toml` for the account `acme` at the simulator, its cache
/// in `dir`; with `secrets_file` named when given.
pub fn relay_toml(
    nats: &Endpoint,
    sim: &Sim,
    port: u16,
    dir: &Path,
    export_every_secs: u64,
    secrets_file: Option<&Path>,
) -> String {
    let ca_file = match &nats.ca_file {
        Some(ca) => format!("ca_file = {:?}\n", ca.display().to_string()),
        None => String::new(),
    };
    let secrets = secrets_file
        .map(|p| format!("secrets_file = {:?}\n", p.display().to_string()))
        .unwrap_or_default();
    format!(
        r#"
team = "emea"
listen = "127.0.0.1:{port}"
state_dir = {dir:?}
export_every_secs = {export_every_secs}
{secrets}[nats]
url = "{url}"
user = "{user}"
replicas = {replicas}
{ca_file}
[[accounts]]
id = "acme"
vendor = "zendesk"
url = "{sim}"
login = "{login}"
"#,
        dir = dir.display().to_string(),
        url = nats.url,
        user = RELAY.0,
        replicas = nats.replicas,
        sim = sim.url(),
        login = SimConfig::default().email,
    )
}

/// A relay's `relay.toml` and secrets for the account `acme` at the simulator.
pub fn relay_config(
    nats: &Endpoint,
    sim: &Sim,
    port: u16,
    dir: &Path,
    export_every_secs: u64,
) -> (RelayConfig, RelaySecrets) {
    let config =
        RelayConfig::parse(&relay_toml(nats, sim, port, dir, export_every_secs, None)).unwrap();
    let env = HashMap::from([
        ("BATON_NATS_PASSWORD".to_string(), RELAY.1.to_string()),
        ("BATON_ACME_TOKEN".to_string(), SimConfig::default().token),
        (
            "BATON_ACME_WEBHOOK_SECRET".to_string(),
            WEBHOOK_SECRET.to_string(),
        ),
    ]);
    let secrets = RelaySecrets::load(&config, env).unwrap();
    (config, secrets)
}

/// A relay running as a task of the test's runtime; cancelling the token stops it
/// cleanly (it gives the lease up).
pub async fn relay(
    nats: &Endpoint,
    sim: &Sim,
    port: u16,
    dir: &Path,
    export_every_secs: u64,
) -> (Arc<Relay>, CancellationToken) {
    let (config, secrets) = relay_config(nats, sim, port, dir, export_every_secs);
    start_relay(config, secrets, port).await
}

/// A relay of this config, running as a task of the test's runtime.
pub async fn start_relay(
    config: RelayConfig,
    secrets: RelaySecrets,
    port: u16,
) -> (Arc<Relay>, CancellationToken) {
    let relay = Arc::new(
        Relay::start(config, secrets, &format!("relay-{port}"))
            .await
            .unwrap(),
    );
    let cancel = CancellationToken::new();
    let (r, c) = (relay.clone(), cancel.clone());
    tokio::spawn(async move { r.run(c).await.unwrap() });
    (relay, cancel)
}

/// A relay on a runtime of its own, as close to a process of its own as a test gets
/// in-process: [`RelayProcess::crash`] drops that runtime, and with it every task the
/// relay started (its work, its webhook receiver, its NATS connection) at once, with no
/// chance to give the lease up.
pub struct RelayProcess {
    pub relay: Arc<Relay>,
    /// Its name in the lease.
    pub holder: String,
    cancel: CancellationToken,
    crash: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RelayProcess {
    pub async fn start(
        nats: &Endpoint,
        sim: &Sim,
        port: u16,
        dir: &Path,
        export_every_secs: u64,
    ) -> RelayProcess {
        let (config, secrets) = relay_config(nats, sim, port, dir, export_every_secs);
        let cancel = CancellationToken::new();
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let (crash, crashed) = tokio::sync::oneshot::channel::<()>();
        let until = cancel.clone();
        let holder = format!("relay-{port}");
        let name = holder.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let relay = Arc::new(Relay::start(config, secrets, &name).await.unwrap());
                let _ = started_tx.send(relay.clone());
                tokio::select! {
                    r = relay.run(until) => r.unwrap(),
                    _ = crashed => {}
                }
            });
            // Every task still on it is dropped where it stands.
            rt.shutdown_timeout(Duration::from_secs(1));
        });
        let relay = started.await.expect("the relay did not start");
        RelayProcess {
            relay,
            holder,
            cancel,
            crash: Some(crash),
            thread: Some(thread),
        }
    }

    /// As if its process were killed: nothing runs on, nothing is given up.
    pub async fn crash(&mut self) {
        if let Some(crash) = self.crash.take() {
            let _ = crash.send(());
        }
        self.join().await;
    }

    /// A clean stop: it gives the lease up.
    pub async fn stop(&mut self) {
        self.cancel.cancel();
        self.join().await;
    }

    async fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            tokio::task::spawn_blocking(move || t.join())
                .await
                .unwrap()
                .expect("the relay's thread panicked");
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// A rep's desktop: its own cache, the account with the rep's own token (for who the
/// rep is, and replies), joined to the team through `nats` (its URL and CA).
pub async fn desktop_via(
    t: &Team,
    nats: &Endpoint,
) -> (tempfile::TempDir, Store, Arc<MemorySecrets>) {
    desktop_of(t, nats, REP).await
}

/// The same, for the team member `who` (user, password).
pub async fn desktop_of(
    t: &Team,
    nats: &Endpoint,
    who: (&str, &str),
) -> (tempfile::TempDir, Store, Arc<MemorySecrets>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("baton.db")).await.unwrap();
    let record =
        baton_zendesk::accounts::record("acme", &t.sim.url(), Some(&SimConfig::default().email));
    store.add_account(&record).await.unwrap();
    let secrets = Arc::new(MemorySecrets::default());
    secrets
        .put(
            &record.secret_ref,
            &Sensitive::new(SimConfig::default().token),
        )
        .unwrap();
    let view = desk::join(
        &store,
        secrets.as_ref(),
        &nats.url,
        who.0,
        Sensitive::new(who.1.to_string()),
        nats.ca_file.clone(),
        1,
    )
    .await
    .unwrap();
    assert_eq!(view.accounts.len(), 1);
    assert_eq!(view.accounts[0].local_id.as_deref(), Some("acme"));
    (dir, store, secrets)
}

/// A desktop joined through the team's endpoint.
pub async fn desktop(t: &Team) -> (tempfile::TempDir, Store, Arc<MemorySecrets>) {
    desktop_via(t, &t.nats).await
}

/// The desktop running as the app runs it: reading the team's stream with the login
/// its membership keeps.
pub fn run_desktop(store: &Store, secrets: Arc<MemorySecrets>) -> Running {
    let accounts = futures::executor::block_on(store.accounts()).unwrap();
    let (syncs, failed) = account_syncs(store, &accounts, secrets.as_ref());
    assert!(failed.is_empty());
    let m = futures::executor::block_on(store.membership())
        .unwrap()
        .unwrap();
    let login = desk::login(&m, secrets.as_ref());
    Running::team(store.clone(), syncs, secrets, login)
}

pub fn transcript_reads(sim: &Sim) -> u64 {
    sim.stats()
        .requests
        .iter()
        .filter(|(k, _)| k.contains("comments") || k.contains("conversation_log"))
        .map(|(_, n)| n)
        .sum()
}

/// Every conversation of a cache, whole, by id.
pub async fn contents(store: &Store) -> BTreeMap<String, baton_core::store::Snapshot> {
    let mut out = BTreeMap::new();
    for id in store.external_ids("acme").await.unwrap() {
        let s = store.snapshot("acme", &id).await.unwrap().unwrap();
        out.insert(id, s);
    }
    out
}

pub async fn same_as_relay(desk: &Store, relay: &Relay) -> bool {
    let want = contents(relay.store()).await;
    !want.is_empty() && contents(desk).await == want
}

/// The cache's copy of `ticket` is not what `before` (its [`contents`] then) had: the
/// ticket is new there, or it changed; and it has its messages.
pub async fn changed_since(
    store: &Store,
    before: &BTreeMap<String, baton_core::store::Snapshot>,
    ticket: &str,
) -> bool {
    let now = store.snapshot("acme", ticket).await.unwrap();
    now.as_ref() != before.get(ticket) && now.is_some_and(|s| !s.messages.is_empty())
}
