//! `baton relay`: the engine, headless, for one team. While it holds the lease it reads
//! each vendor account once (webhooks as hints, the incremental export to catch what a
//! lost webhook missed) and publishes what changed; while another relay holds it, it
//! stands by, reading the team's stream into its own cache so it can take over at once,
//! from the export cursors the holder left in KV.

use super::config::{RelayConfig, RelaySecrets};
use super::consume::{AccountFeed, Consumer};
use super::inbox::{self, Inbox, InboxAccount, ToRead};
use super::lease::{self, HeldUntil, Lease, RENEW_EVERY};
use super::nats::{self, cursor_key, nats_error, NatsLogin, ACCOUNTS_KEY, LEADS_KEY, TEAM_BUCKET};
use super::publish;
use super::share::{self, Policy};
use crate::error::{EngineError, ErrorKind, Result};
use crate::vendor::AccountSync;
use async_nats::jetstream::{self, kv};
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::sync::StatusHandle;
use baton_core::{CancellationToken, Store};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// A burst of webhooks for one ticket within this window becomes one read.
const COALESCE: Duration = Duration::from_millis(50);
/// The publisher looks at its queue at least this often (and at once when the cache
/// announces a change).
const PUBLISH_EVERY: Duration = Duration::from_millis(500);

/// An account as the team's KV lists it for desktops: they match it to their own
/// accounts by vendor and URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamAccount {
    pub id: String,
    pub vendor: String,
    pub url: String,
}

struct Account {
    id: String,
    sync: Arc<AccountSync>,
    to_read: Arc<ToRead>,
}

/// A started relay: its webhook address is bound and its NATS reached.
pub struct Relay {
    config: RelayConfig,
    holder: String,
    store: Store,
    js: jetstream::Context,
    team_kv: kv::Store,
    lease_kv: kv::Store,
    accounts: Vec<Account>,
    inbox: Arc<Inbox>,
    webhooks: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// `holder` names this relay in the lease (its host and process, say).
    pub async fn start(config: RelayConfig, secrets: RelaySecrets, holder: &str) -> Result<Relay> {
        let dir = match &config.state_dir {
            Some(d) => d.clone(),
            None => dirs::data_dir()
                .unwrap_or_else(|| ".".into())
                .join("baton-relay")
                .join(&config.team),
        };
        let store = Store::open(&dir.join("relay.db")).await?.publishing();
        let vendor_secrets = MemorySecrets::default();
        let now_secs = chrono::Utc::now().timestamp();
        let mut accounts = vec![];
        let mut inbox_accounts = HashMap::new();
        for a in &config.accounts {
            let record = a.record()?;
            vendor_secrets.put(&record.secret_ref, &secrets.vendor_secret(a)?)?;
            if let Some(s) = secrets.sunco_secret(&a.id) {
                vendor_secrets.put(&baton_zendesk::sunco_ref(&record.secret_ref), &s)?;
            }
            match store.account(&a.id).await {
                Ok(_) => store.update_account(&record).await?,
                Err(baton_core::Error::NotFound(_)) => store.add_account(&record).await?,
                Err(e) => return Err(e.into()),
            }
            let sync = Arc::new(AccountSync::for_account(
                &store,
                &record,
                &vendor_secrets,
                now_secs,
            )?);
            let to_read = Arc::new(ToRead::default());
            let for_lookup = sync.clone();
            if a.vendor == "zendesk" && secrets.webhook_secret(&a.id).is_none() {
                tracing::warn!(account = %a.id, "no webhook signing secret: Zendesk webhooks for it are refused, and changes arrive with the export only");
            }
            inbox_accounts.insert(
                a.id.clone(),
                InboxAccount {
                    zendesk: secrets
                        .webhook_secret(&a.id)
                        .map(baton_zendesk::webhooks::ZendeskVerifier::new),
                    sunco: secrets
                        .sunco_webhook_secret(&a.id)
                        .map(baton_zendesk::webhooks::SuncoVerifier::new),
                    to_read: to_read.clone(),
                    ticket_for: Arc::new(move |id: &str| for_lookup.conversation_for_messaging(id)),
                },
            );
            accounts.push(Account {
                id: a.id.clone(),
                sync,
                to_read,
            });
        }
        let login = NatsLogin {
            url: config.nats.url.clone(),
            user: config.nats.user.clone(),
            secret: secrets.nats_password()?,
            ca_file: config.nats.ca_file.clone(),
        };
        let client = nats::connect(&login, &format!("baton-relay {holder}")).await?;
        let js = nats::jetstream(&client);
        let replicas = config.nats.replicas;
        for a in &accounts {
            publish::ensure_stream(&js, &a.id, replicas).await?;
        }
        share::ensure_streams(&js, replicas).await?;
        let team_kv = nats::ensure_bucket(&js, TEAM_BUCKET, Duration::ZERO, replicas).await?;
        let lease_kv = lease::bucket(&js, replicas).await?;
        let inbox = Arc::new(Inbox::new(inbox_accounts, Arc::new(chrono::Utc::now)));
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| {
                EngineError::invalid(format!("cannot listen on {}: {e}", config.listen))
            })?;
        let webhooks = listener
            .local_addr()
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let app = inbox::router(inbox.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the webhook receiver stopped");
            }
        });
        Ok(Relay {
            config,
            holder: holder.to_string(),
            store,
            js,
            team_kv,
            lease_kv,
            accounts,
            inbox,
            webhooks,
            server,
        })
    }

    /// Where webhooks are received (the configured address, with its port if it was 0).
    pub fn webhook_addr(&self) -> SocketAddr {
        self.webhooks
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn is_active(&self) -> bool {
        self.inbox.active.load(Ordering::Relaxed)
    }

    pub fn statuses(&self) -> Vec<StatusHandle> {
        self.accounts
            .iter()
            .map(|a| a.sync.status().clone())
            .collect()
    }

    /// Stands by or works, as the lease says, until cancelled; a clean stop gives the
    /// lease up so a standby takes over at once.
    pub async fn run(&self, cancel: CancellationToken) -> Result<()> {
        let result = self.lead_or_stand_by(&cancel).await;
        self.server.abort();
        result
    }

    async fn lead_or_stand_by(&self, cancel: &CancellationToken) -> Result<()> {
        loop {
            let Some(lease) = self.stand_by(cancel).await? else {
                return Ok(());
            };
            tracing::info!(holder = %self.holder, "this relay holds the lease: working");
            // Renewed from the first moment, catching up included, and until the last
            // publish on the way out: a takeover that took longer than the lease must find
            // out it lost it, not work beside the next holder.
            let held = lease.held_until();
            let work = cancel.child_token();
            let stop_renewing = CancellationToken::new();
            let renewing = tokio::spawn(keep(lease, work.clone(), stop_renewing.clone()));
            let tasks = match self.take_over(&work, &held).await {
                Ok(tasks) => tasks,
                Err(e) => {
                    tracing::warn!(error = %e, "taking over failed; standing by");
                    work.cancel();
                    vec![]
                }
            };
            if !work.is_cancelled() {
                self.inbox.active.store(true, Ordering::Relaxed);
            }
            work.cancelled().await;
            self.inbox.active.store(false, Ordering::Relaxed);
            for t in tasks {
                let _ = t.await;
            }
            if cancel.is_cancelled() && held.holds() {
                // Last: publish what was fetched before letting go.
                if let Err(e) = self
                    .publish_side(held.clone())
                    .publish(&mut HashMap::new(), &mut HashMap::new())
                    .await
                {
                    tracing::warn!(error = %e, "publishing on the way out failed; the next holder fetches it again");
                }
            }
            stop_renewing.cancel();
            let (lease, lost) = renewing.await.expect("the lease keeper does not panic");
            if lost {
                continue;
            }
            lease.release().await;
            if cancel.is_cancelled() {
                return Ok(());
            }
            // The takeover failed: let another relay try.
            tokio::time::sleep(RENEW_EVERY).await;
        }
    }

    /// Reads the team's stream into this relay's cache until the lease is free, then
    /// takes it. `None`: cancelled first.
    async fn stand_by(&self, cancel: &CancellationToken) -> Result<Option<Lease>> {
        let reading = cancel.child_token();
        let mut consumers = vec![];
        for a in &self.accounts {
            let consumer = self.consumer(a);
            let reading = reading.clone();
            consumers.push(tokio::spawn(async move { consumer.run(&reading).await }));
        }
        let taken = loop {
            match Lease::try_take(&self.lease_kv, &self.holder).await {
                Ok(Some(lease)) => break Some(lease),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the relays' lease"),
            }
            tokio::select! {
                _ = cancel.cancelled() => break None,
                _ = tokio::time::sleep(RENEW_EVERY) => {}
            }
        };
        reading.cancel();
        for c in consumers {
            let _ = c.await;
        }
        Ok(taken)
    }

    fn consumer(&self, a: &Account) -> Consumer<AccountFeed> {
        Consumer::account(
            self.js.clone(),
            self.store.clone(),
            &a.id,
            &a.id,
            StatusHandle::new(&a.id, Arc::new(baton_core::sync::SystemClock)),
        )
    }

    /// Everything the last holder published is in this cache, and its export cursors
    /// are this relay's; then the work starts.
    async fn take_over(
        &self,
        work: &CancellationToken,
        held: &HeldUntil,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>> {
        // Listed by the holder only: two relays with different configs during a change
        // would otherwise flip the list back and forth.
        let listed: Vec<TeamAccount> = self
            .config
            .accounts
            .iter()
            .zip(&self.accounts)
            .map(|(c, a)| TeamAccount {
                id: a.id.clone(),
                vendor: c.vendor.clone(),
                url: a.sync.base_url(),
            })
            .collect();
        held.check()?;
        self.team_kv
            .put(
                ACCOUNTS_KEY,
                serde_json::to_vec(&listed)
                    .expect("accounts serialize")
                    .into(),
            )
            .await
            .map_err(|e| nats_error("listing the team's accounts", e))?;
        self.team_kv
            .put(
                LEADS_KEY,
                serde_json::to_vec(&self.config.leads)
                    .expect("leads serialize")
                    .into(),
            )
            .await
            .map_err(|e| nats_error("listing the team's leads", e))?;
        for a in &self.accounts {
            self.consumer(a).catch_up(work).await?;
            let entry = self
                .team_kv
                .get(cursor_key(&a.id))
                .await
                .map_err(|e| nats_error("reading the export cursor", e))?;
            if let Some(cursor) = entry {
                let cursor = String::from_utf8_lossy(&cursor).into_owned();
                self.store
                    .set_cursor(&a.id, &a.sync.stream_name(), &cursor, a.sync.status().now())
                    .await?;
            }
        }
        let mut tasks = vec![];
        for a in &self.accounts {
            let (sync, until) = (a.sync.clone(), work.clone());
            let every = self.config.export_every();
            tasks.push(tokio::spawn(async move { sync.run(&until, every).await }));
            let (sync, to_read, until) = (a.sync.clone(), a.to_read.clone(), work.clone());
            tasks.push(tokio::spawn(async move {
                read_hinted(&sync, &to_read, &until).await
            }));
        }
        let publisher = self.publisher(work.clone(), held.clone());
        tasks.push(tokio::spawn(publisher));
        let policy = Policy {
            accounts: self.accounts.iter().map(|a| a.id.clone()).collect(),
            leads: self.config.leads.clone(),
        };
        tasks.push(tokio::spawn(share::forward(
            self.js.clone(),
            policy,
            held.clone(),
            work.clone(),
        )));
        Ok(tasks)
    }

    fn publish_side(&self, held: HeldUntil) -> PublishSide {
        PublishSide {
            held,
            js: self.js.clone(),
            store: self.store.clone(),
            team_kv: self.team_kv.clone(),
            holder: self.holder.clone(),
            accounts: self
                .accounts
                .iter()
                .map(|a| (a.id.clone(), a.sync.stream_name()))
                .collect(),
        }
    }

    fn publisher(
        &self,
        work: CancellationToken,
        held: HeldUntil,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let relay = self.publish_side(held);
        async move {
            let mut changes = relay.store.subscribe();
            let (mut put, mut published) = (HashMap::new(), HashMap::new());
            loop {
                if let Err(e) = relay.publish(&mut put, &mut published).await {
                    tracing::warn!(error = %e, "publishing failed; retrying");
                }
                tokio::select! {
                    _ = work.cancelled() => return,
                    _ = changes.recv() => {}
                    _ = tokio::time::sleep(PUBLISH_EVERY) => {}
                }
            }
        }
    }
}

struct PublishSide {
    /// Nothing is written once the lease is not certainly this relay's.
    held: HeldUntil,
    js: jetstream::Context,
    store: Store,
    team_kv: kv::Store,
    holder: String,
    /// Account id and the name of its export cursor.
    accounts: Vec<(String, String)>,
}

impl PublishSide {
    /// Publishes the queue, then moves each account's export cursor in KV to where the
    /// cache's was before: everything fetched up to it is in the stream by then.
    async fn publish(
        &self,
        put: &mut HashMap<String, String>,
        published: &mut publish::Published,
    ) -> Result<()> {
        let mut cursors = vec![];
        for (id, stream) in &self.accounts {
            cursors.push((id, self.store.cursor(id, stream).await?));
        }
        publish::publish_queued(&self.js, &self.store, &self.holder, &self.held, published).await?;
        for (id, cursor) in cursors {
            let Some(cursor) = cursor else { continue };
            if put.get(id) == Some(&cursor) {
                continue;
            }
            self.held.check()?;
            self.team_kv
                .put(cursor_key(id), cursor.clone().into_bytes().into())
                .await
                .map_err(|e| nats_error("saving the export cursor", e))?;
            put.insert(id.clone(), cursor);
        }
        Ok(())
    }
}

/// Renews the lease until told to stop; when a renewal fails for good the work is
/// stopped. Returns the lease and whether it was lost.
async fn keep(mut lease: Lease, work: CancellationToken, stop: CancellationToken) -> (Lease, bool) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return (lease, false),
            _ = tokio::time::sleep(RENEW_EVERY) => {}
        }
        if let Err(e) = lease.renew().await {
            tracing::warn!(error = %e, "lease lost: standing by");
            work.cancel();
            return (lease, true);
        }
    }
}

/// Reads the tickets webhooks named, a burst at a time; what the vendor could not give
/// now is put back and tried again.
async fn read_hinted(sync: &AccountSync, to_read: &ToRead, work: &CancellationToken) {
    loop {
        tokio::select! {
            _ = work.cancelled() => return,
            _ = to_read.wake.notified() => {}
        }
        tokio::time::sleep(COALESCE).await;
        let tickets = to_read.take();
        if tickets.is_empty() {
            continue;
        }
        if let Err(e) = sync.refresh(&tickets, work).await {
            if e.kind == ErrorKind::Cancelled {
                return;
            }
            tracing::warn!(account = %sync.account_id(), error = %e, "reading webhooked tickets failed; retrying");
            to_read.put_back(tickets);
            let wait = if e.kind == ErrorKind::RateLimited {
                Duration::from_secs(10)
            } else {
                Duration::from_secs(2)
            };
            tokio::select! {
                _ = work.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            to_read.wake.notify_one();
        }
    }
}
