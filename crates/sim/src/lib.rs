//! Baton's Zendesk simulator: a real HTTP server on 127.0.0.1 serving the Support API
//! endpoints Baton uses, shaped as the official OpenAPI spec, over a seeded account.
//! It enforces Zendesk-like rate limits and injects faults on demand. When given webhook
//! targets (or when webhooks are created through its Webhooks API), it announces every
//! change to a ticket as Zendesk and Sunshine Conversations would, retries as they do,
//! and can lose, repeat, delay and reorder those requests.
//!
//! On the same port it serves a Salesforce org (`salesforce`): OAuth 2.0 JWT bearer and
//! refresh-token flows, SOQL, sObject reads and Connect conversation entries over seeded
//! MIAW messaging sessions, with the daily allocation and session expiry. On a port of its
//! own it serves that org's Pub/Sub API (gRPC): MessagingSession change events, Avro-encoded.
//!
//! It must not know Baton's own crates: it answers as Zendesk and Salesforce would, to
//! anyone.

mod api;
mod changes;
mod delivery;
pub mod json;
mod limits;
mod outgoing;
mod retry;
pub mod salesforce;
pub mod scenario;
pub mod sunco_webhooks;
mod webhook_api;
pub mod webhooks;
pub mod world;

pub use delivery::{WebhookStats, WebhookTarget, WebhookTiming};
pub use limits::{Faults, Limits};

use base64::Engine;
use chrono::{DateTime, Utc};
use outgoing::Actor;
use scenario::Generator;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;
use world::World;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub tickets: usize,
    /// Create a new handoff or message this often; `None` for a still account.
    pub live_every: Option<Duration>,
    pub limits: Limits,
    pub email: String,
    pub token: String,
    /// Sunshine Conversations: the app and the key its API accepts (basic auth).
    pub sunco_app_id: String,
    pub sunco_key_id: String,
    pub sunco_secret: String,
    /// Add one web handoff with this many transcript turns (for benchmarks).
    pub long_transcript: Option<usize>,
    /// Weeks of handled conversations before the seeded ones: this many, over
    /// `history_days` (see [`Generator::history`]). None by default.
    pub history_tickets: usize,
    pub history_days: i64,
    /// Delete this many of the seeded tickets (spread over them): the export lists them
    /// with status `deleted`, and their comments and log answer 404.
    pub deleted_tickets: usize,
    /// Seeded times are offsets back from this.
    pub base_time: DateTime<Utc>,
    pub port: u16,
    /// Send Zendesk event webhooks here, signed with this signing secret: every event
    /// type the simulator produces. Webhooks created through `POST /api/v2/webhooks`
    /// are targets too, with their own subscriptions and secrets.
    pub zendesk_webhook: Option<WebhookTarget>,
    /// Send Sunshine Conversations webhooks here, with this secret as `X-API-Key`.
    pub sunco_webhook: Option<WebhookTarget>,
    /// How fast webhook timeouts and retry waits run (1.0: the vendors' own).
    pub webhook_timing: WebhookTiming,
    /// The Salesforce org beside the account (seeded from `seed`, live with `live_every`).
    pub salesforce: salesforce::SfConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            tickets: 50,
            live_every: None,
            limits: Limits::default(),
            email: "alex@acme.test".into(),
            token: "sim-token".into(),
            sunco_app_id: "5f1e6d4c3b2a190817263544".into(),
            sunco_key_id: "app_5f1e6d4c3b2a1908".into(),
            sunco_secret: "sim-sunco-secret".into(),
            base_time: Utc::now(),
            long_transcript: None,
            history_tickets: 0,
            history_days: 28,
            deleted_tickets: 0,
            port: 0,
            zendesk_webhook: None,
            sunco_webhook: None,
            webhook_timing: WebhookTiming::default(),
            salesforce: salesforce::SfConfig::default(),
        }
    }
}

/// Requests the simulator has seen, by endpoint, and how it answered.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub requests: BTreeMap<String, u64>,
    pub throttled: u64,
    pub faults_served: u64,
    pub unauthorized: u64,
    /// The most requests served in any one rate-limit window.
    pub max_served_in_window: u32,
    /// The most requests received in any one window, throttled ones included (what the
    /// client sent), and the most incremental exports among them.
    pub max_received_in_window: u32,
    pub max_exports_received_in_window: u32,
    /// Fields the `corrupt_share` fault broke, and the tickets they belong to (a ticket,
    /// its comments or log events, or a user or group sideloaded with it).
    pub corrupted_fields: u64,
    pub corrupted_tickets: std::collections::BTreeSet<u64>,
    /// Request bodies of ticket updates, in order.
    pub ticket_updates: Vec<serde_json::Value>,
    /// Tickets the live scenario created: (id, when, in Unix milliseconds).
    pub live_created: Vec<(u64, i64)>,
    /// Every step of the live scenario, a new ticket or a new message on one: (id, when,
    /// in Unix milliseconds).
    pub live_changed: Vec<(u64, i64)>,
    /// What became of the webhooks sent.
    pub webhooks: WebhookStats,
    /// The Salesforce org's tokens, allocations and reads (its requests are counted in
    /// `requests`, under their own paths).
    pub salesforce: salesforce::SfStats,
}

impl Stats {
    pub fn total(&self) -> u64 {
        self.requests.values().sum()
    }
}

pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub generator: Mutex<Generator>,
    pub faults: Mutex<Faults>,
    pub limiter: Mutex<limits::Limiter>,
    pub stats: Mutex<Stats>,
    pub base_url: String,
    pub auth_basic: String,
    pub auth_bearer: String,
    pub sunco_app_id: String,
    pub sunco_auth: String,
    /// Decides which fields the `corrupt_share` fault breaks, which webhooks the
    /// `webhook_drop_share` fault loses, and API-created webhooks' signing secrets.
    pub seed: u64,
    pub zendesk_target: Option<WebhookTarget>,
    pub sunco_target: Option<WebhookTarget>,
    /// Webhooks created through the API.
    pub hooks: Mutex<webhook_api::Registry>,
    pub outbox: delivery::Outbox,
    /// Numbers webhook events (Zendesk and Sunco alike), so their ids are unique.
    pub next_event: AtomicU64,
    pub sf: salesforce::SfState,
}

impl Shared {
    /// Changes the account through `f`, then announces what changed to the webhook
    /// targets: the one way the running simulator changes its world. Comparing before
    /// and after is skipped when nobody listens.
    pub(crate) fn mutate<R>(
        &self,
        actor: Actor,
        at: DateTime<Utc>,
        f: impl FnOnce(&mut World, &mut Generator) -> R,
    ) -> R {
        let watched = self.watched();
        let mut w = lock(&self.world);
        let before = watched.then(|| changes::snapshot(&w));
        let r = f(&mut w, &mut lock(&self.generator));
        let Some(before) = before else {
            return r;
        };
        let changed = changes::diff(&before, &w);
        let announcement = self.announce(&w, &changed, actor, at);
        drop(w);
        if !announcement.is_empty() {
            self.deliver(announcement);
        }
        r
    }

    /// Sets the faults; held webhooks go out if the reorder fault was switched off.
    pub(crate) fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
        self.outbox.faults_changed();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicked handler must not take the whole simulator down with a poisoned lock.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn delete(w: &mut World, id: u64, at: DateTime<Utc>) {
    if let Some(t) = w.tickets.get_mut(&id) {
        t.status = "deleted";
        w.touch(id, at);
    }
}

/// A running simulator. Dropping it stops the server.
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
    pubsub_addr: SocketAddr,
    pubsub: JoinHandle<()>,
    live: Option<JoinHandle<()>>,
    webhooks: JoinHandle<()>,
}

impl Sim {
    pub async fn start(config: SimConfig) -> std::io::Result<Sim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let pubsub_listener =
            tokio::net::TcpListener::bind(("127.0.0.1", config.salesforce.pubsub_port)).await?;
        let pubsub_addr = pubsub_listener.local_addr()?;
        let mut generator = Generator::new(config.seed, config.base_time);
        let mut world = generator.world(config.tickets);
        if let Some(turns) = config.long_transcript {
            generator.long_ticket(&mut world, turns, config.base_time);
        }
        if config.history_tickets > 0 {
            generator.history(&mut world, config.history_tickets, config.history_days);
        }
        let seeded: Vec<u64> = world.tickets.keys().copied().collect();
        let every = seeded.len() / config.deleted_tickets.max(1);
        for id in seeded
            .iter()
            .step_by(every.max(1))
            .take(config.deleted_tickets)
        {
            delete(&mut world, *id, config.base_time);
        }
        let sf = salesforce::SfState::new(config.salesforce.clone(), config.seed, config.base_time)
            .map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("Salesforce: {e}"))
            })?;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}/token:{}", config.email, config.token));
        let (outbox, inbox) = delivery::Outbox::new();
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            generator: Mutex::new(generator),
            faults: Mutex::new(Faults::default()),
            limiter: Mutex::new(limits::Limiter::new(config.limits.clone())),
            stats: Mutex::new(Stats::default()),
            base_url: format!("http://{addr}"),
            auth_basic: format!("Basic {basic}"),
            auth_bearer: format!("Bearer {}", config.token),
            sunco_app_id: config.sunco_app_id.clone(),
            sunco_auth: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", config.sunco_key_id, config.sunco_secret))
            ),
            seed: config.seed,
            zendesk_target: config.zendesk_webhook.clone(),
            sunco_target: config.sunco_webhook.clone(),
            hooks: Mutex::new(webhook_api::Registry::default()),
            outbox,
            next_event: AtomicU64::new(0),
            sf,
        });
        let webhooks = delivery::spawn(shared.clone(), inbox, config.webhook_timing);
        let app = api::router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        });
        let pubsub = salesforce::pubsub::spawn(shared.clone(), pubsub_listener);
        let live = config.live_every.map(|every| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let now = Utc::now();
                    let (id, created) = shared.mutate(Actor::World, now, |w, g| {
                        let before = w.tickets.len();
                        let id = g.live_step(w, now);
                        (id, w.tickets.len() > before)
                    });
                    let mut stats = lock(&shared.stats);
                    stats.live_changed.push((id, now.timestamp_millis()));
                    if created {
                        stats.live_created.push((id, now.timestamp_millis()));
                    }
                    drop(stats);
                    let session = shared.sf.change_org(|org, g| g.live_step(org, now));
                    if let Some(session) = session {
                        lock(&shared.stats)
                            .salesforce
                            .live_changed
                            .push((session, now.timestamp_millis()));
                    }
                }
            })
        });
        Ok(Sim {
            shared,
            addr,
            server,
            pubsub_addr,
            pubsub,
            live,
            webhooks,
        })
    }

    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Salesforce Pub/Sub API (plaintext gRPC): `http://127.0.0.1:PORT`.
    pub fn pubsub_url(&self) -> String {
        format!("http://{}", self.pubsub_addr)
    }

    /// Reads the account as it is now.
    pub fn world<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&lock(&self.shared.world))
    }

    /// Changes the account (and marks touched tickets for the export yourself). What
    /// changed is announced to the webhook targets, as if someone in Zendesk did it.
    pub fn world_mut<R>(&self, f: impl FnOnce(&mut World, &mut Generator) -> R) -> R {
        self.shared.mutate(Actor::World, Utc::now(), f)
    }

    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Deletes a ticket, as an agent would: the export lists it once more, as `deleted`.
    pub fn delete_ticket(&self, id: u64) {
        let now = Utc::now();
        self.shared
            .mutate(Actor::World, now, |w, _| delete(w, id, now));
    }

    /// Sets the faults served from now on (API answers and webhooks).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).clone()
    }

    /// The signed webhook Zendesk would send now about a ticket of this account
    /// (`event_type` in full, `zen:event-type:ticket.comment_added`), its detail read from
    /// the ticket as it is; `None` for a ticket that does not exist. Built, not sent.
    pub fn zendesk_webhook(
        &self,
        secret: &str,
        ticket_id: u64,
        event_type: &str,
        at: DateTime<Utc>,
    ) -> Option<webhooks::WebhookRequest> {
        let w = lock(&self.shared.world);
        let event = webhooks::ZendeskEvent::for_ticket(w.tickets.get(&ticket_id)?, event_type, at);
        Some(webhooks::signed_request(secret, &event, at, 1))
    }

    pub fn set_limits(&self, limits: Limits) {
        *lock(&self.shared.limiter) = limits::Limiter::new(limits);
    }

    /// Reads the Salesforce org as it is now.
    pub fn org<R>(&self, f: impl FnOnce(&salesforce::Org) -> R) -> R {
        f(&lock(&self.shared.sf.org))
    }

    /// Changes the Salesforce org (`Org::update` records MessagingSession changes; the
    /// generator's `live_step` is one step of the live scenario). Changes recorded reach
    /// the Pub/Sub API's subscribers at once.
    pub fn org_mut<R>(
        &self,
        f: impl FnOnce(&mut salesforce::Org, &mut salesforce::OrgGenerator) -> R,
    ) -> R {
        self.shared.sf.change_org(f)
    }

    /// Sets the faults the Salesforce org serves from now on (`POST /__sim/sf/faults`).
    pub fn set_sf_faults(&self, faults: Faults) {
        *lock(&self.shared.sf.faults) = faults;
    }

    pub fn sf_faults(&self) -> Faults {
        lock(&self.shared.sf.faults).clone()
    }

    /// Starts the org's allocations afresh with these limits.
    pub fn set_sf_limits(&self, limits: salesforce::SfLimits) {
        *lock(&self.shared.sf.usage) = salesforce::usage::Usage::new(limits);
    }

    /// Ends every Salesforce session: the next REST request with an access token issued
    /// before answers 401 `INVALID_SESSION_ID` (`POST /__sim/sf/expire_sessions`).
    pub fn expire_sf_sessions(&self) {
        lock(&self.shared.sf.tokens).expire_all();
    }

    /// Every change recorded so far falls out of the Pub/Sub API's retention: a CUSTOM
    /// subscription after any replay id issued until now is refused (as after 72 hours).
    /// New changes, and LATEST, are served as before (`POST /__sim/sf/expire_changes`).
    pub fn expire_sf_changes(&self) {
        self.shared.sf.pubsub.expire(&lock(&self.shared.sf.org));
    }

    /// Every Pub/Sub Subscribe stream open now goes silent for good (no events, no
    /// keepalives) but stays open: a half-dead connection. Streams opened later work
    /// (`POST /__sim/sf/stall_pubsub`).
    pub fn stall_pubsub_streams(&self) {
        self.shared.sf.pubsub.stall();
    }

    /// Runs until the server stops (the `baton-sim` binary).
    pub async fn wait(mut self) {
        let server = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        let _ = server.await;
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.server.abort();
        // Open Subscribe streams end too: they run in tasks of their own.
        self.shared.sf.pubsub.close();
        self.pubsub.abort();
        self.webhooks.abort();
        if let Some(live) = &self.live {
            live.abort();
        }
    }
}
