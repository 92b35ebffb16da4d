//! Which vendor an account is, and what the engine does through it: one arm per vendor
//! (Zendesk, Salesforce). Everything above this file is vendor-neutral.

use crate::error::Result;
use baton_core::model::{Millis, SourceKind};
use baton_core::outbox::{OutboxItem, PostError, Poster};
use baton_core::secrets::SecretStore;
use baton_core::store::AccountRecord;
use baton_core::sync::{Feed, StatusHandle, SyncReport, Syncer};
use baton_core::{CancellationToken, Store};
use std::time::Duration;

/// How often a Zendesk account is polled. Zendesk allows 10 incremental exports a minute
/// per account, shared by every rep's copy and the account's other integrations.
pub const ZENDESK_POLL_EVERY: Duration = Duration::from_secs(10);

/// How often a Salesforce account's sync runs by itself. With Pub/Sub it also runs on
/// every change event, and a run between events costs no request; only when Pub/Sub is
/// unavailable does a run poll (one SOQL query against the org's daily API allocation,
/// shared with all its other integrations: 30 s is 2,880 requests a day).
pub const SALESFORCE_POLL_EVERY: Duration = Duration::from_secs(30);

/// The sync of one account.
pub enum AccountSync {
    // Boxed: a Zendesk feed carries its HTTP clients; the enum stays small.
    Zendesk(Box<Syncer<baton_zendesk::ZendeskFeed>>),
    Salesforce(Box<Syncer<baton_salesforce::SalesforceFeed>>),
    /// The engine's own tests: a vendor in memory (see `memory.rs`).
    #[cfg(test)]
    Memory(Syncer<crate::memory::MemoryFeed>),
}

impl AccountSync {
    /// The sync for a stored account, its secrets read from `secrets`.
    pub fn for_account(
        store: &Store,
        account: &AccountRecord,
        secrets: &dyn SecretStore,
        now_secs: i64,
    ) -> Result<Self> {
        #[cfg(test)]
        if let Some(vendor) = crate::memory::registered(&account.id) {
            let status = StatusHandle::new(
                &account.id,
                std::sync::Arc::new(baton_core::sync::SystemClock),
            );
            let feed = crate::memory::MemoryFeed(vendor);
            return Ok(Self::Memory(Syncer::new(
                store.clone(),
                &account.id,
                feed,
                status,
            )));
        }
        match account.kind {
            SourceKind::Zendesk => Ok(Self::Zendesk(Box::new(baton_zendesk::syncer(
                store, account, secrets, now_secs,
            )?))),
            SourceKind::Salesforce => Ok(Self::Salesforce(Box::new(baton_salesforce::syncer(
                store, account, secrets, now_secs,
            )?))),
        }
    }

    /// How often this account's vendor may be asked for changes.
    pub fn poll_every(&self) -> Duration {
        match self {
            Self::Zendesk(_) => ZENDESK_POLL_EVERY,
            Self::Salesforce(_) => SALESFORCE_POLL_EVERY,
            #[cfg(test)]
            Self::Memory(_) => Duration::from_millis(50),
        }
    }

    pub fn status(&self) -> &StatusHandle {
        match self {
            Self::Zendesk(s) => s.status(),
            Self::Salesforce(s) => s.status(),
            #[cfg(test)]
            Self::Memory(s) => s.status(),
        }
    }

    /// The name the vendor's change stream's cursor is stored under.
    pub fn stream_name(&self) -> String {
        match self {
            Self::Zendesk(s) => s.feed().stream().to_string(),
            Self::Salesforce(s) => s.feed().stream().to_string(),
            #[cfg(test)]
            Self::Memory(s) => s.feed().stream().to_string(),
        }
    }

    /// The account's address at its vendor.
    pub fn base_url(&self) -> String {
        match self {
            Self::Zendesk(s) => s.feed().client().base_url().to_string(),
            Self::Salesforce(s) => s.feed().client().authenticator().login_url().to_string(),
            #[cfg(test)]
            Self::Memory(_) => "memory://".into(),
        }
    }

    pub fn account_id(&self) -> String {
        self.status().current().account_id
    }

    /// To the end of the vendor's change stream, once.
    pub async fn run_once(&self, cancel: &CancellationToken) -> Result<SyncReport> {
        match self {
            Self::Zendesk(s) => Ok(s.run_once(cancel).await?),
            Self::Salesforce(s) => Ok(s.run_once(cancel).await?),
            #[cfg(test)]
            Self::Memory(s) => Ok(s.run_once(cancel).await?),
        }
    }

    /// Who the credentials belong to, and their groups, into the store.
    pub async fn identify(&self, cancel: &CancellationToken) -> Result<()> {
        match self {
            Self::Zendesk(s) => Ok(s.identify(cancel).await?),
            Self::Salesforce(s) => Ok(s.identify(cancel).await?),
            #[cfg(test)]
            Self::Memory(s) => Ok(s.identify(cancel).await?),
        }
    }

    /// Reads these conversations again (a webhook said they changed).
    pub async fn refresh(&self, ids: &[String], cancel: &CancellationToken) -> Result<SyncReport> {
        match self {
            Self::Zendesk(s) => Ok(s.refresh(ids, cancel).await?),
            Self::Salesforce(s) => Ok(s.refresh(ids, cancel).await?),
            #[cfg(test)]
            Self::Memory(s) => Ok(s.refresh(ids, cancel).await?),
        }
    }

    /// The conversation a messaging id (a Sunshine Conversations conversation) belongs
    /// to, when a sync has seen it.
    pub fn conversation_for_messaging(&self, messaging_id: &str) -> Option<String> {
        match self {
            Self::Zendesk(s) => s.feed().ticket_for_sunco(messaging_id),
            // Salesforce has no second messaging API whose ids need a lookup.
            Self::Salesforce(_) => None,
            #[cfg(test)]
            Self::Memory(_) => None,
        }
    }

    /// Until cancelled, every `every` (longer while the vendor fails or asks to wait).
    pub async fn run(&self, cancel: &CancellationToken, every: Duration) {
        match self {
            Self::Zendesk(s) => s.run(cancel, every).await,
            Self::Salesforce(s) => {
                s.run(cancel, every).await;
                // Subscribed only while syncing: a relay that lost its lease, or a
                // desktop that joined a team, leaves the org's one stream to the other.
                if let Some(sub) = s.feed().subscription() {
                    sub.stop();
                }
            }
            #[cfg(test)]
            Self::Memory(s) => s.run(cancel, every).await,
        }
    }

    /// Requests this sync has made so far.
    pub fn requests(&self) -> u64 {
        match self {
            Self::Zendesk(s) => s.feed().client().usage().total(),
            Self::Salesforce(s) => s.feed().client().usage().total(),
            #[cfg(test)]
            Self::Memory(_) => 0,
        }
    }
}

/// Delivers one account's replies.
pub enum AccountPoster {
    Zendesk(baton_zendesk::poster::ZendeskPoster),
    /// Refuses every reply: Salesforce conversations are read-only in Baton.
    Salesforce(baton_salesforce::SalesforcePoster),
    #[cfg(test)]
    Memory(std::sync::Arc<crate::memory::MemoryVendor>),
}

impl AccountPoster {
    pub fn for_account(account: &AccountRecord, secrets: &dyn SecretStore) -> Result<Self> {
        #[cfg(test)]
        if let Some(vendor) = crate::memory::registered(&account.id) {
            return Ok(Self::Memory(vendor));
        }
        match account.kind {
            SourceKind::Zendesk => Ok(Self::Zendesk(baton_zendesk::poster(account, secrets)?)),
            SourceKind::Salesforce => Ok(Self::Salesforce(baton_salesforce::poster(
                account, secrets,
            )?)),
        }
    }
}

impl Poster for AccountPoster {
    async fn post(&self, item: &OutboxItem) -> std::result::Result<(), PostError> {
        match self {
            Self::Zendesk(p) => p.post(item).await,
            Self::Salesforce(p) => p.post(item).await,
            #[cfg(test)]
            Self::Memory(v) => v.as_ref().post(item).await,
        }
    }

    async fn already_posted(
        &self,
        item: &OutboxItem,
        since: Millis,
    ) -> std::result::Result<bool, PostError> {
        match self {
            Self::Zendesk(p) => p.already_posted(item, since).await,
            Self::Salesforce(p) => p.already_posted(item, since).await,
            #[cfg(test)]
            Self::Memory(v) => v.as_ref().already_posted(item, since).await,
        }
    }
}
