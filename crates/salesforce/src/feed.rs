//! Salesforce as a sync [`Feed`]: MessagingSessions changed since the cursor (polled by
//! `SystemModstamp`, one SOQL page per call, following `nextRecordsUrl`), and per
//! session that changed, the Connect conversation entries after the last one stored.
//!
//! Every Connect read marks the conversation active for 30 minutes and counts against
//! its own hourly limit, so a transcript is read only for a handoff of the rep's own or
//! their queues' that is live or just ended, only when the session changed, and only
//! from the last entry's time on.
//!
//! The change source is the cursor's business ([`Cursor`]): the Pub/Sub subscription to
//! `MessagingSessionChangeEvent` will replace polling as the source, store its replay id
//! as the cursor, and read the sessions its events name with [`SalesforceFeed::sessions`].

use crate::auth::is_record_id;
use crate::client::{path_segment, Client};
use crate::cursor::{self, Cursor};
use crate::error::SalesforceError;
use crate::mapping::{self, Mapping, SessionFacts, When};
use crate::pubsub::event::ChangeKind;
use crate::pubsub::subscription::{self, Batch, Link, Start, Subscription, Unknown};
use crate::wire;
use baton_core::model::{Conversation, Millis, TranscriptPage};
use baton_core::sync::{ChangePage, Clock, Feed, FeedError, Identity, SystemClock, Unreadable};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How an account signs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthFlow {
    /// OAuth 2.0 JWT bearer; the keychain holds the RSA private key.
    #[default]
    JwtBearer,
    /// The refresh-token flow; the keychain holds the refresh token (and the client
    /// secret beside it, when the connected app requires one).
    RefreshToken,
}

/// Whose sessions get their transcripts read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptScope {
    /// The rep's own sessions and their queues' (a desktop alone).
    #[default]
    MineAndQueues,
    /// Every session the user can see (the team relay's service account).
    All,
}

/// An account's Salesforce options, stored as the account's settings JSON. The login
/// URL is the account's `base_url`, the username its `login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub auth_flow: AuthFlow,
    /// The connected app's consumer key: the JWT's `iss`, the refresh flow's `client_id`.
    pub consumer_key: String,
    /// The JWT's `aud`; by default from the login URL (see [`default_audience`]).
    pub audience: Option<String>,
    /// REST API version, e.g. `62.0`.
    pub api_version: String,
    pub mapping: Mapping,
    /// Records per SOQL page (200–2,000).
    pub query_batch_size: u32,
    /// Connect entries per request (1–1,000).
    pub entries_page_size: u32,
    /// The first sync reads sessions changed in the last this many days.
    pub backfill_days: u32,
    /// An ended session's transcript is still read this many hours after it ended
    /// (its last entries); older ones are not, so a backfill does not mark hundreds
    /// of finished conversations active.
    pub ended_transcript_hours: u32,
    pub transcripts_for: TranscriptScope,
    /// Changes arrive through the Pub/Sub API when it is reachable (polling otherwise).
    pub pubsub: bool,
    /// Where the Pub/Sub API is; by default Salesforce's endpoint for an org that signs
    /// in on salesforce.com, and none (polling) for any other login URL.
    pub pubsub_url: Option<String>,
    /// A stream silent this long is taken as dead (Salesforce sends a keepalive at
    /// least every 270 s).
    pub pubsub_silence_secs: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            auth_flow: AuthFlow::JwtBearer,
            consumer_key: String::new(),
            audience: None,
            api_version: crate::client::DEFAULT_API_VERSION.into(),
            mapping: Mapping::default(),
            query_batch_size: 2000,
            entries_page_size: 1000,
            backfill_days: 30,
            ended_transcript_hours: 24,
            transcripts_for: TranscriptScope::MineAndQueues,
            pubsub: true,
            pubsub_url: None,
            pubsub_silence_secs: 300,
        }
    }
}

/// The JWT audience for a login URL: production and sandbox My Domains sign in with
/// the login or test host as audience; anything else (an Experience Cloud site, the
/// simulator) with its own URL.
pub fn default_audience(login_url: &str) -> String {
    let host = url::Url::parse(login_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    if host == "test.salesforce.com" || host.ends_with(".sandbox.my.salesforce.com") {
        "https://test.salesforce.com".into()
    } else if host == "login.salesforce.com" || host.ends_with(".my.salesforce.com") {
        "https://login.salesforce.com".into()
    } else {
        login_url.trim_end_matches('/').to_string()
    }
}

/// Where Pub/Sub is for an account, if anywhere: the setting, else Salesforce's own
/// endpoint when the login URL is Salesforce's.
pub fn pubsub_endpoint(settings: &Settings, login_url: &str) -> Option<String> {
    if !settings.pubsub {
        return None;
    }
    if let Some(url) = settings
        .pubsub_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        return match check_pubsub_url(url) {
            Ok(url) => Some(url),
            Err(e) => {
                tracing::warn!(error = %e, "the Pub/Sub address is not usable; polling instead");
                None
            }
        };
    }
    let host = url::Url::parse(login_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    (host == "salesforce.com" || host.ends_with(".salesforce.com"))
        .then(|| baton_pubsub::ENDPOINT.to_string())
}

/// A Pub/Sub address as given: `https://`, or `http://` on this machine only (the
/// simulator): the access token travels in its headers.
pub fn check_pubsub_url(raw: &str) -> Result<String, SalesforceError> {
    let url = url::Url::parse(raw.trim()).map_err(|_| {
        SalesforceError::input(format!(
            "{raw:?} is not a Pub/Sub address: give one like {}",
            baton_pubsub::ENDPOINT
        ))
    })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if loopback => {}
        "http" => {
            return Err(SalesforceError::input(format!(
            "{raw:?}: Pub/Sub is reached over https (the access token travels with every call); \
                 plain http only on this machine"
        )))
        }
        _ => {
            return Err(SalesforceError::input(format!(
                "{raw:?} is not a Pub/Sub address: give one like {}",
                baton_pubsub::ENDPOINT
            )))
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Polling that takes over from a replay id starts this long before the last commit
/// the cache has (reading a session twice stores it once).
const RESUME_MARGIN_MS: Millis = 60_000;

/// How long the status mentions a re-read or an unreadable event.
const NOTE_FOR: Duration = Duration::from_secs(600);

/// Change events read into one page at most.
const MAX_EVENTS_PER_PAGE: usize = 500;

/// A polling page and the events that followed it, as one page (the events' copy of a
/// session is the newer one).
fn merge(mut page: ChangePage, events: ChangePage) -> ChangePage {
    page.conversations.retain(|c| {
        !events
            .conversations
            .iter()
            .any(|e| e.external_id == c.external_id)
            && !events.deleted.contains(&c.external_id)
    });
    page.unreadable.retain(|u| {
        !events
            .conversations
            .iter()
            .any(|e| e.external_id == u.external_id)
    });
    page.conversations.extend(events.conversations);
    page.deleted.extend(events.deleted);
    page.unreadable.extend(events.unreadable);
    page.cursor = events.cursor;
    page.end_of_stream = events.end_of_stream;
    page
}

/// MessagingSession fields every query reads (Object Reference, MessagingSession).
const SESSION_FIELDS: &[&str] = &[
    "Id",
    "Status",
    "OwnerId",
    "StartTime",
    "AcceptTime",
    "EndTime",
    "EndedByType",
    "ConversationId",
    "MessagingEndUserId",
    "CaseId",
    "Origin",
    "AgentType",
    "ChannelType",
    "SystemModstamp",
];

/// Parent fields read through relationships: names without extra requests, and the
/// Connect identifier. An org (or API version) that refuses one loses only it.
const PARENT_FIELDS: &[&str] = &[
    "Owner.Name",
    "MessagingEndUser.Name",
    "Conversation.ConversationIdentifier",
];

/// Pages of entries read for one transcript in one go (a guard: 50,000 entries).
const MAX_ENTRY_PAGES: usize = 50;

pub struct SalesforceFeed {
    client: Client,
    settings: Settings,
    /// Where a first sync starts (UTC ms).
    start_at: Millis,
    clock: Arc<dyn Clock>,
    identity: Mutex<Option<Identity>>,
    /// What the last read of each session found beyond the domain's fields.
    facts: Mutex<HashMap<String, SessionFacts>>,
    /// Optional fields the org refused (`INVALID_FIELD`), left out from then on.
    dropped: Mutex<BTreeSet<String>>,
    /// The query's next page for the cursor it would continue: (cursor, nextRecordsUrl,
    /// when the query whose snapshot it pages was sent).
    locator: Mutex<Option<(String, String, std::time::Instant)>>,
    /// When the query behind the last polled page was sent.
    query_began: Mutex<Option<std::time::Instant>>,
    /// Connect said its hourly limit is reached: no entries read before this (UTC ms).
    connect_resumes_at: Mutex<Option<Millis>>,
    /// The change-event subscription, when the account has Pub/Sub.
    pubsub: Option<Subscription>,
    /// When the stored replay id was found older than Salesforce keeps (every session
    /// was read again then).
    reread: Mutex<Option<std::time::Instant>>,
    /// The last change event that could not be read: when, and why.
    skipped: Mutex<Option<(std::time::Instant, String)>>,
}

fn invalid(endpoint: &str, reason: impl Into<String>) -> FeedError {
    SalesforceError::Invalid {
        endpoint: endpoint.into(),
        reason: reason.into(),
    }
    .into()
}

/// A record id for a SOQL literal: only ids (15 or 18 letters and digits) get in.
fn soql_id(what: &str, id: &str) -> Result<String, SalesforceError> {
    if is_record_id(id) {
        Ok(format!("'{id}'"))
    } else {
        Err(SalesforceError::Invalid {
            endpoint: what.into(),
            reason: "not a Salesforce record id".into(),
        })
    }
}

impl SalesforceFeed {
    /// `now_ms` is passed in (not read here) so tests control where a backfill starts.
    pub fn new(client: Client, settings: Settings, now_ms: Millis) -> Self {
        let start_at = (now_ms - i64::from(settings.backfill_days) * 86_400_000).max(0);
        let pubsub =
            pubsub_endpoint(&settings, client.authenticator().login_url()).map(|endpoint| {
                Subscription::new(
                    client.authenticator().clone(),
                    subscription::Config {
                        endpoint,
                        topic: baton_pubsub::MESSAGING_SESSION_TOPIC.into(),
                        silence_limit: Duration::from_secs(u64::from(
                            settings.pubsub_silence_secs.max(1),
                        )),
                    },
                )
            });
        Self {
            pubsub,
            reread: Mutex::default(),
            skipped: Mutex::default(),
            client,
            settings,
            start_at,
            clock: Arc::new(SystemClock),
            identity: Mutex::default(),
            facts: Mutex::default(),
            dropped: Mutex::default(),
            locator: Mutex::default(),
            query_began: Mutex::default(),
            connect_resumes_at: Mutex::default(),
        }
    }

    /// The clock that says which ended sessions are recent (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The change-event subscription, when the account has Pub/Sub.
    pub fn subscription(&self) -> Option<&Subscription> {
        self.pubsub.as_ref()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What the last read of a session found that the domain has no place for yet:
    /// who ended it, its routing attributes, its Connect identifier.
    pub fn session_facts(&self, external_id: &str) -> Option<SessionFacts> {
        self.facts
            .lock()
            .expect("facts lock")
            .get(external_id)
            .cloned()
    }

    /// Optional fields the org refused and the feed stopped asking for (a misspelt
    /// routing attribute, a relationship the API version lacks), for settings to show.
    pub fn refused_fields(&self) -> Vec<String> {
        self.dropped
            .lock()
            .expect("dropped lock")
            .iter()
            .cloned()
            .collect()
    }

    fn select(&self) -> String {
        let dropped = self.dropped.lock().expect("dropped lock");
        let mut fields: Vec<String> = SESSION_FIELDS.iter().map(|f| f.to_string()).collect();
        for f in self.optional_fields() {
            if !dropped.contains(&f) {
                fields.push(f);
            }
        }
        fields.join(", ")
    }

    fn optional_fields(&self) -> Vec<String> {
        let mut out: Vec<String> = PARENT_FIELDS.iter().map(|f| f.to_string()).collect();
        // Only names that cannot change the query (settings read through `crate::settings`
        // are checked already; a feed built by hand is filtered here).
        for f in self.settings.mapping.fields() {
            if !mapping::is_field_name(&f) {
                tracing::warn!(field = %f, "not a field API name; left out of the query");
                continue;
            }
            if !SESSION_FIELDS.iter().any(|s| s.eq_ignore_ascii_case(&f))
                && !out.iter().any(|o| o.eq_ignore_ascii_case(&f))
            {
                out.push(f);
            }
        }
        out
    }

    /// Leaves out the optional field(s) an `INVALID_FIELD` names (all of them when it
    /// names none); `false` when none is left to leave out.
    fn drop_refused(&self, field: Option<&str>) -> bool {
        let mut dropped = self.dropped.lock().expect("dropped lock");
        let left: Vec<String> = self
            .optional_fields()
            .into_iter()
            .filter(|f| !dropped.contains(f))
            .collect();
        let hit: Vec<String> = match field {
            Some(name) => left
                .iter()
                .filter(|f| {
                    f.eq_ignore_ascii_case(name)
                        || f.split('.')
                            .next()
                            .is_some_and(|rel| rel.eq_ignore_ascii_case(name))
                        || f.rsplit('.')
                            .next()
                            .is_some_and(|col| col.eq_ignore_ascii_case(name))
                })
                .cloned()
                .collect(),
            None => left,
        };
        for f in &hit {
            tracing::warn!(
                field = %f,
                "Salesforce refused the MessagingSession field {f}; reading sessions without it \
                 (check the routing-attribute field names in the account's mapping)"
            );
            dropped.insert(f.clone());
        }
        !hit.is_empty()
    }

    /// `SELECT … FROM MessagingSession {tail}`, leaving out optional fields the org refuses.
    async fn query_sessions(&self, tail: &str) -> Result<wire::QueryPage, SalesforceError> {
        loop {
            let soql = format!("SELECT {} FROM MessagingSession {tail}", self.select());
            match self.client.query(&soql).await {
                Err(SalesforceError::InvalidField {
                    endpoint,
                    field,
                    message,
                }) => {
                    if !self.drop_refused(field.as_deref()) {
                        return Err(SalesforceError::InvalidField {
                            endpoint,
                            field,
                            message,
                        });
                    }
                }
                other => return other,
            }
        }
    }

    /// Reads these sessions now (the Pub/Sub source hands over the ids its events name;
    /// a webhook-like hint does the same): conversations, and the ids that could not be
    /// read. Ids that are no record ids, or that Salesforce no longer has, are left out.
    pub async fn sessions(
        &self,
        ids: &[String],
    ) -> Result<(Vec<Conversation>, Vec<Unreadable>), FeedError> {
        let ids: Vec<String> = ids.iter().filter(|i| is_record_id(i)).cloned().collect();
        let mut conversations = vec![];
        let mut unreadable = vec![];
        for chunk in ids.chunks(200) {
            let list: Vec<String> = chunk.iter().map(|i| format!("'{i}'")).collect();
            let mut page = self
                .query_sessions(&format!("WHERE Id IN ({})", list.join(", ")))
                .await?;
            let mut records = std::mem::take(&mut page.records);
            while let (false, Some(next)) = (page.done, page.next_records_url.clone()) {
                page = self.client.query_more(&next).await?;
                records.append(&mut page.records);
            }
            let (mut c, mut u) = self.read_records(&records).await?;
            conversations.append(&mut c);
            unreadable.append(&mut u);
        }
        Ok((conversations, unreadable))
    }

    /// Maps session records; one that does not parse is named, not fatal.
    async fn read_records(
        &self,
        records: &[serde_json::Value],
    ) -> Result<(Vec<Conversation>, Vec<Unreadable>), FeedError> {
        let instance = self.client.session().await?.instance_url.clone();
        let when = When {
            now: self.clock.now(),
            ended_transcript_window_ms: i64::from(self.settings.ended_transcript_hours) * 3_600_000,
        };
        let identity = self.identity.lock().expect("identity lock").clone();
        let mut conversations = Vec::with_capacity(records.len());
        let mut unreadable = vec![];
        let mut facts = self.facts.lock().expect("facts lock");
        for raw in records {
            let mapped = wire::record::<wire::MessagingSession>(raw)
                .map_err(|bad| (bad.id.clone(), bad.to_string()))
                .and_then(|s| {
                    mapping::session(&self.settings.mapping, &instance, &s, when)
                        .map_err(|why| (Some(s.id.clone()), why))
                });
            match mapped {
                Ok((mut c, f)) => {
                    c.wants_transcript &= self.in_scope(identity.as_ref(), &c);
                    facts.insert(c.external_id.clone(), f);
                    conversations.push(c);
                }
                Err((id, why)) => {
                    tracing::warn!(session = id.as_deref().unwrap_or("?"), error = %why,
                        "skipped a MessagingSession that does not parse");
                    if let Some(id) = id {
                        unreadable.push(Unreadable {
                            external_id: id,
                            problem: format!(
                                "Salesforce's latest version of this session could not be read \
                                 ({why}); showing the last one that could"
                            ),
                        });
                    }
                }
            }
        }
        Ok((conversations, unreadable))
    }

    /// Whether the rep works this session: theirs, or waiting in one of their queues.
    fn in_scope(&self, identity: Option<&Identity>, c: &Conversation) -> bool {
        match (self.settings.transcripts_for, identity) {
            (TranscriptScope::All, _) | (_, None) => true,
            (TranscriptScope::MineAndQueues, Some(me)) => {
                c.assignee_id.as_deref() == Some(me.me_id.as_str())
                    || c.group_id
                        .as_ref()
                        .is_some_and(|g| me.group_ids.contains(g))
            }
        }
    }

    async fn first_page(&self, at: Millis) -> Result<wire::QueryPage, SalesforceError> {
        self.query_sessions(&format!(
            "WHERE SystemModstamp >= {} ORDER BY SystemModstamp ASC, Id ASC",
            mapping::soql_time(at)
        ))
        .await
    }

    /// The session's facts, read from Salesforce when this process has not seen it.
    async fn facts_for(&self, external_id: &str) -> Result<SessionFacts, FeedError> {
        if let Some(f) = self.session_facts(external_id) {
            return Ok(f);
        }
        match self.conversation(external_id).await? {
            Some(_) => self
                .session_facts(external_id)
                .ok_or_else(|| invalid("MessagingSession", "the session was read but not kept")),
            None => Err(FeedError::Unreadable {
                message: "Salesforce no longer has this messaging session".into(),
            }),
        }
    }

    /// `Conversation.ConversationIdentifier` by its own query, for an org whose
    /// MessagingSession query could not reach it through the relationship.
    async fn conversation_identifier(
        &self,
        conversation_id: &str,
    ) -> Result<Option<String>, FeedError> {
        let soql = format!(
            "SELECT Id, ConversationIdentifier FROM Conversation WHERE Id = {}",
            soql_id("ConversationId", conversation_id)?
        );
        let page = self.client.query(&soql).await.map_err(entries_error)?;
        Ok(page
            .records
            .first()
            .and_then(|r| wire::record::<wire::ConversationRecord>(r).ok())
            .and_then(|c| c.conversation_identifier)
            .filter(|c| !c.trim().is_empty()))
    }

    /// A failed Connect read, as the engine should take it: the hourly limit or an answer
    /// about this conversation alone makes it unreadable (tried again when the session
    /// next changes), and the sync goes on; offline, the daily limit, server trouble or
    /// bad credentials stop the page.
    fn connect_error(&self, e: SalesforceError) -> FeedError {
        if let SalesforceError::RateLimited {
            retry_after_secs,
            ref reason,
            ..
        } = e
        {
            if reason.contains("Connect") {
                let until = self.clock.now() + retry_after_secs as i64 * 1000;
                *self.connect_resumes_at.lock().expect("connect lock") = Some(until);
                return FeedError::Unreadable {
                    message: format!(
                        "its transcript could not be read: {reason}; it is read again when the \
                         session next changes"
                    ),
                };
            }
        }
        entries_error(e)
    }
}

/// Answers about one conversation's entries that make it unreadable; the rest stop the page.
fn entries_error(e: SalesforceError) -> FeedError {
    let why = match &e {
        SalesforceError::NotFound { endpoint } => format!("{endpoint} answered 404 (not found)"),
        SalesforceError::Forbidden { .. }
        | SalesforceError::Rejected { .. }
        | SalesforceError::TooLarge { .. }
        | SalesforceError::Invalid { .. }
        | SalesforceError::MalformedQuery { .. }
        | SalesforceError::InvalidField { .. } => e.to_string(),
        _ => return e.into(),
    };
    FeedError::Unreadable {
        message: format!("its transcript could not be read: {why}"),
    }
}

impl SalesforceFeed {
    /// The next events the subscription holds after `stored`, read into a page.
    async fn read_events(
        &self,
        sub: &Subscription,
        stored: Vec<u8>,
        at: Millis,
    ) -> Result<ChangePage, FeedError> {
        sub.ensure(Start::After(stored.clone()));
        match sub.link() {
            Link::Expired => return self.read_everything_again(sub).await,
            // No stream yet (a start, a reconnect) or none to be had: poll from what the
            // cursor covers; events take over again once a stream is open.
            Link::Unavailable(_) | Link::Connecting => {
                return self
                    .poll(None, at.saturating_sub(RESUME_MARGIN_MS), vec![])
                    .await;
            }
            Link::Live => {}
        }
        match sub.take(Some(&stored), MAX_EVENTS_PER_PAGE) {
            Ok(batch) => self.apply(batch, stored, at).await,
            Err(Unknown) => {
                // Someone else moved the cursor (another Baton on this cache): follow it.
                tracing::info!(
                    "the stored Pub/Sub position is not this subscription's; subscribing from it"
                );
                sub.restart(Start::After(stored.clone()));
                Ok(ChangePage {
                    conversations: vec![],
                    deleted: vec![],
                    unreadable: vec![],
                    cursor: Cursor::Replay { id: stored, at }.format(),
                    end_of_stream: true,
                })
            }
        }
    }

    /// Salesforce no longer keeps the stored position's changes: every session of the
    /// backfill window is read again, and events start over from the newest.
    async fn read_everything_again(&self, sub: &Subscription) -> Result<ChangePage, FeedError> {
        *self.reread.lock().expect("reread lock") = Some(std::time::Instant::now());
        sub.restart(Start::Latest);
        self.poll(None, self.start_at, vec![]).await
    }

    /// Reads the sessions a batch of events names; deleted ones (and ones Salesforce no
    /// longer returns) leave. An overflow, or an event that could not be read, names no
    /// session: everything changed since the last commit this batch is sure of is
    /// polled then and there, so the cursor stays on events.
    async fn apply(
        &self,
        batch: Batch,
        stored: Vec<u8>,
        at: Millis,
    ) -> Result<ChangePage, FeedError> {
        let mut last: Vec<(String, bool)> = vec![];
        let mut committed = at;
        let mut poll_from: Option<Millis> = None;
        for r in &batch.events {
            let e = match &r.event {
                Ok(e) => e,
                Err(why) => {
                    tracing::warn!(error = %why, "a change event could not be read; polling to cover it");
                    *self.skipped.lock().expect("skipped lock") =
                        Some((std::time::Instant::now(), why.to_string()));
                    poll_from = Some(poll_from.map_or(committed, |p| p.min(committed)));
                    continue;
                }
            };
            if let Some(t) = e.committed_at {
                committed = committed.max(t);
            }
            if !e.entity.is_empty() && e.entity != "MessagingSession" {
                continue;
            }
            let gone = match e.kind {
                ChangeKind::Overflow => {
                    let t = e.committed_at.unwrap_or(committed);
                    poll_from = Some(poll_from.map_or(t, |p| p.min(t)));
                    continue;
                }
                ChangeKind::Delete => true,
                _ => false,
            };
            for id in &e.record_ids {
                last.retain(|(i, _)| i != id);
                last.push((id.clone(), gone));
            }
        }
        let read: Vec<String> = last
            .iter()
            .filter(|(_, g)| !g)
            .map(|(i, _)| i.clone())
            .collect();
        let mut deleted: Vec<String> = last
            .iter()
            .filter(|(_, g)| *g)
            .map(|(i, _)| i.clone())
            .collect();
        let (conversations, unreadable) = if read.is_empty() {
            (vec![], vec![])
        } else {
            self.sessions(&read).await?
        };
        // Named by an event but no longer returned (deleted, or a GAP_DELETE): it leaves.
        deleted.extend(read.into_iter().filter(|id| {
            is_record_id(id)
                && !conversations.iter().any(|c| &c.external_id == id)
                && !unreadable.iter().any(|u| &u.external_id == id)
        }));
        let mut page = ChangePage {
            conversations,
            deleted,
            unreadable,
            cursor: Cursor::Replay {
                id: batch.position.unwrap_or(stored),
                at: committed,
            }
            .format(),
            end_of_stream: !batch.more,
        };
        if let Some(t) = poll_from {
            let polled = self
                .poll_through(t.saturating_sub(RESUME_MARGIN_MS))
                .await?;
            page = merge(polled, page);
        }
        Ok(page)
    }

    /// Every session changed at or after `at`, every page of it.
    async fn poll_through(&self, at: Millis) -> Result<ChangePage, FeedError> {
        let mut all = self.poll(None, at.max(0), vec![]).await?;
        while !all.end_of_stream {
            let next = self.poll(Some(&all.cursor.clone()), at, vec![]).await?;
            let cursor = next.cursor.clone();
            all = merge(all, next);
            all.cursor = cursor;
        }
        Ok(all)
    }

    /// One polling page: sessions changed at or after `at`, less `skip` (`raw` is the
    /// stored cursor, whose query locator may continue).
    async fn poll(
        &self,
        cursor: Option<&str>,
        at: Millis,
        skip: Vec<String>,
    ) -> Result<ChangePage, FeedError> {
        let held = {
            let mut l = self.locator.lock().expect("locator lock");
            match (l.take(), cursor) {
                (Some((for_cursor, next, began)), Some(c)) if for_cursor == c => {
                    Some((next, began))
                }
                _ => None,
            }
        };
        let mut began = std::time::Instant::now();
        let page = match held {
            Some((next, first)) => match self.client.query_more(&next).await {
                Ok(p) => {
                    began = first;
                    p
                }
                // An expired query locator (`INVALID_QUERY_LOCATOR`, 404): query again.
                Err(
                    e @ (SalesforceError::NotFound { .. }
                    | SalesforceError::Rejected { .. }
                    | SalesforceError::Invalid { .. }),
                ) => {
                    tracing::debug!(error = %e, "query locator refused; querying again");
                    began = std::time::Instant::now();
                    self.first_page(at).await?
                }
                Err(e) => return Err(e.into()),
            },
            None => self.first_page(at).await?,
        };
        *self.query_began.lock().expect("query lock") = Some(began);
        let (mut next_at, mut next_ids) = (at, skip.clone());
        let mut fresh = Vec::with_capacity(page.records.len());
        for raw in &page.records {
            let id = raw["Id"].as_str().unwrap_or("");
            let stamp = raw["SystemModstamp"]
                .as_str()
                .and_then(|s| mapping::parse_time("SystemModstamp", s).ok());
            if let Some(stamp) = stamp {
                if stamp == at && skip.iter().any(|s| s == id) {
                    continue; // delivered by the previous page
                }
                if stamp > next_at {
                    next_at = stamp;
                    next_ids.clear();
                }
                if stamp == next_at && !id.is_empty() && !next_ids.iter().any(|s| s == id) {
                    next_ids.push(id.to_string());
                }
            }
            fresh.push(raw.clone());
        }
        let (conversations, unreadable) = self.read_records(&fresh).await?;
        let next = Cursor::Modstamp {
            at: next_at,
            ids: next_ids,
        }
        .format();
        if let (false, Some(url)) = (page.done, page.next_records_url.clone()) {
            *self.locator.lock().expect("locator lock") = Some((next.clone(), url, began));
        }
        Ok(ChangePage {
            conversations,
            // Polling cannot see deletions; Pub/Sub's DELETE events do.
            deleted: vec![],
            unreadable,
            cursor: next,
            end_of_stream: page.done,
        })
    }
}

/// Where the next read resumes after an entry: the earlier of its two times, so an
/// entry whose client clock ran behind is not stepped over (entries read twice are
/// stored once, by identifier).
fn resume_at(e: &wire::ConversationEntry) -> Option<Millis> {
    match (e.server_received_timestamp, e.client_timestamp) {
        (Some(s), Some(c)) => Some(s.min(c)),
        (s, c) => s.or(c),
    }
}

impl Feed for SalesforceFeed {
    fn stream(&self) -> &str {
        "salesforce.messaging_sessions"
    }

    async fn changed(&self) {
        match &self.pubsub {
            Some(sub) => sub.changed().await,
            None => std::future::pending().await,
        }
    }

    fn note(&self) -> Option<String> {
        let sub = self.pubsub.as_ref()?;
        let mut note = match sub.link() {
            Link::Live => "changes arrive live (Pub/Sub)".to_string(),
            Link::Connecting => "subscribing to changes (Pub/Sub); polling meanwhile".to_string(),
            Link::Unavailable(why) => format!("polling: Pub/Sub is unavailable ({why})"),
            Link::Expired => "reading every session again".to_string(),
        };
        let recent = |at: &std::time::Instant| at.elapsed() < NOTE_FOR;
        if self
            .reread
            .lock()
            .expect("reread lock")
            .as_ref()
            .is_some_and(recent)
        {
            note.push_str(
                "; every session was read again: the stored Pub/Sub position was older than \
                 Salesforce keeps changes (72 hours)",
            );
        }
        if let Some((_, why)) = self
            .skipped
            .lock()
            .expect("skipped lock")
            .as_ref()
            .filter(|(at, _)| recent(at))
        {
            note.push_str(&format!(
                "; a change event could not be read ({why}), so it was polled"
            ));
        }
        Some(note)
    }

    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, FeedError> {
        // Whose sessions get transcripts: the rep's identity, read once.
        if self.identity.lock().expect("identity lock").is_none() {
            self.identity().await?;
        }
        let parsed = cursor.map(|c| (c, Cursor::parse(c)));
        let Some(sub) = &self.pubsub else {
            return match parsed {
                None => self.poll(None, self.start_at, vec![]).await,
                Some((raw, Some(Cursor::Modstamp { at, ids }))) => {
                    self.poll(Some(raw), at, ids).await
                }
                // Pub/Sub was turned off: poll from what its cursor covers.
                Some((_, Some(Cursor::Replay { at, .. }))) => {
                    self.poll(None, at.saturating_sub(RESUME_MARGIN_MS), vec![])
                        .await
                }
                Some((raw, None)) => {
                    tracing::warn!(cursor = %raw,
                        "the stored cursor does not read; reading from the backfill window");
                    self.poll(None, self.start_at, vec![]).await
                }
            };
        };
        match parsed {
            Some((_, Some(Cursor::Replay { id, at }))) => self.read_events(sub, id, at).await,
            other => {
                let (raw, at, skip) = match other {
                    Some((raw, Some(Cursor::Modstamp { at, ids }))) => (Some(raw), at, ids),
                    _ => (None, self.start_at, vec![]),
                };
                if sub.link() == Link::Expired {
                    return self.read_everything_again(sub).await;
                }
                sub.ensure(Start::Latest);
                let page = self.poll(raw, at, skip).await?;
                // Caught up, and every change since the query (the first of its locator's
                // pages) began is in the inbox: the cursor becomes a replay id from here on.
                let began = *self.query_began.lock().expect("query lock");
                if page.end_of_stream && began.is_some_and(|b| sub.open_since(b)) {
                    if let Ok(batch) = sub.take(None, usize::MAX) {
                        if batch.position.is_some() {
                            let polled_to = match Cursor::parse(&page.cursor) {
                                Some(Cursor::Modstamp { at, .. }) => at,
                                _ => at,
                            };
                            let events = self.apply(batch, vec![], polled_to).await?;
                            return Ok(merge(page, events));
                        }
                    }
                }
                Ok(page)
            }
        }
    }

    async fn transcript(
        &self,
        c: &Conversation,
        cursor: Option<&str>,
    ) -> Result<TranscriptPage, FeedError> {
        if let Some(until) = *self.connect_resumes_at.lock().expect("connect lock") {
            if self.clock.now() < until {
                return Err(FeedError::Unreadable {
                    message: "its transcript could not be read: Connect's hourly request limit \
                              for this user is reached; it is read again when the session next \
                              changes"
                        .into(),
                });
            }
        }
        let facts = self.facts_for(&c.external_id).await?;
        let identifier = match (&facts.conversation_identifier, &facts.conversation_id) {
            (Some(i), _) => i.clone(),
            (None, Some(cid)) => match self.conversation_identifier(cid).await? {
                Some(i) => {
                    if let Some(f) = self
                        .facts
                        .lock()
                        .expect("facts lock")
                        .get_mut(&c.external_id)
                    {
                        f.conversation_identifier = Some(i.clone());
                    }
                    i
                }
                None => {
                    return Err(FeedError::Unreadable {
                        message: "its conversation has no identifier for the Connect API yet"
                            .into(),
                    })
                }
            },
            (None, None) => {
                return Err(FeedError::Unreadable {
                    message: "the session has no conversation (ConversationId is empty)".into(),
                })
            }
        };
        let segment = path_segment("conversation identifier", &identifier).map_err(|e| {
            FeedError::Unreadable {
                message: format!("its conversation identifier cannot be used: {e}"),
            }
        })?;
        let path = self
            .client
            .data_path(&format!("/connect/conversation/{segment}/entries"));
        let limit = self.settings.entries_page_size.clamp(1, 1000);
        let stored = cursor.and_then(cursor::parse_entries_cursor);
        let mut start = stored;
        let mut seen = HashSet::new();
        let mut list: Vec<wire::ConversationEntry> = vec![];
        let mut notes: Vec<String> = vec![];
        // The time of the first entry that did not parse: the cursor stays before it.
        let mut held_back: Option<Millis> = None;
        let mut newest: Option<Millis> = None;
        for _ in 0..MAX_ENTRY_PAGES {
            let mut q = vec![
                ("recordLimit", limit.to_string()),
                ("queryDirection", "FromStart".to_string()),
            ];
            if let Some(s) = start {
                q.push(("startTimestamp", s.to_string()));
            }
            let page: wire::EntriesPage = self
                .client
                .get(&path, &q)
                .await
                .map_err(|e| self.connect_error(e))?;
            let count = page.conversation_entries.len();
            let mut page_newest = None;
            for raw in &page.conversation_entries {
                let parsed = wire::record::<wire::ConversationEntry>(raw)
                    .map_err(|bad| (bad.id.clone(), bad.to_string()))
                    .and_then(|e| match resume_at(&e) {
                        Some(_) => Ok(e),
                        None => Err((Some(e.identifier.clone()), "it has no time".into())),
                    });
                match parsed {
                    Ok(e) => {
                        let t = resume_at(&e);
                        page_newest = page_newest.max(t);
                        if seen.insert(e.identifier.clone()) {
                            list.push(e);
                        }
                    }
                    Err((id, why)) => {
                        tracing::warn!(session = %c.external_id, entry = id.as_deref().unwrap_or("?"),
                            error = %why, "skipped a conversation entry that does not parse");
                        notes.push(format!("entry {} ({why})", id.as_deref().unwrap_or("?")));
                        let t = raw["serverReceivedTimestamp"]
                            .as_i64()
                            .or(raw["clientTimestamp"].as_i64());
                        held_back = match (held_back, t) {
                            (Some(h), Some(t)) => Some(h.min(t)),
                            (h, t) => h.or(t),
                        };
                    }
                }
            }
            newest = newest.max(page_newest);
            if count < limit as usize {
                break;
            }
            match page_newest {
                Some(t) if start.is_none_or(|s| t > s) => start = Some(t),
                _ => {
                    notes.push(format!(
                        "more than {limit} entries share one instant; the rest are left out"
                    ));
                    break;
                }
            }
        }
        let list: Vec<wire::ConversationEntry> = mapping::session_entries(&facts, &list)
            .into_iter()
            .cloned()
            .collect();
        let mut out = TranscriptPage::default();
        mapping::entries(&self.settings.mapping, &facts, &mut out, &list)
            .map_err(|why| FeedError::Unreadable { message: why })?;
        let resume = match (newest, held_back) {
            (Some(n), Some(h)) => Some(n.min(h)),
            (n, h) => n.or(h),
        };
        // Never behind the stored cursor: a page with nothing new keeps it.
        out.cursor = resume
            .filter(|r| stored.is_none_or(|s| *r >= s))
            .map(cursor::entries_cursor);
        out.problem = match notes.len() {
            0 => None,
            1 => Some(format!(
                "1 record could not be read and is left out: {}",
                notes[0]
            )),
            n => Some(format!(
                "{n} records could not be read and are left out: {}",
                notes.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            )),
        };
        Ok(out)
    }

    async fn conversation(&self, external_id: &str) -> Result<Option<Conversation>, FeedError> {
        if !is_record_id(external_id) {
            return Ok(None);
        }
        let (mut found, unreadable) = self.sessions(&[external_id.to_string()]).await?;
        match (found.pop(), unreadable.into_iter().next()) {
            (Some(c), _) => Ok(Some(c)),
            (None, Some(u)) => Err(FeedError::Unreadable { message: u.problem }),
            (None, None) => Ok(None),
        }
    }

    async fn estimate_total(&self) -> Result<Option<u64>, FeedError> {
        let filter = format!(
            "FROM MessagingSession WHERE SystemModstamp >= {}",
            mapping::soql_time(self.start_at)
        );
        match self.client.query(&format!("SELECT COUNT() {filter}")).await {
            Ok(page) => Ok(Some(page.total_size)),
            // An endpoint without COUNT(): any query's totalSize counts every row.
            Err(SalesforceError::MalformedQuery { .. }) => Ok(Some(
                self.client
                    .query(&format!("SELECT Id {filter}"))
                    .await?
                    .total_size,
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn identity(&self) -> Result<Identity, FeedError> {
        let session = self.client.session().await?;
        let me_id = match session.user_id.clone() {
            Some(id) => id,
            None => {
                let info: serde_json::Value =
                    self.client.get("/services/oauth2/userinfo", &[]).await?;
                info["user_id"]
                    .as_str()
                    .filter(|id| is_record_id(id))
                    .map(str::to_string)
                    .ok_or_else(|| invalid("GET /services/oauth2/userinfo", "no user_id"))?
            }
        };
        let soql = format!(
            "SELECT GroupId FROM GroupMember WHERE UserOrGroupId = {}",
            soql_id("user id", &me_id)?
        );
        let records = self.client.query_all(&soql, 10_000).await?;
        let mut group_ids: Vec<String> = records
            .iter()
            .filter_map(|r| wire::record::<wire::GroupMember>(r).ok())
            .map(|m| m.group_id)
            .collect();
        group_ids.sort();
        group_ids.dedup();
        let who = Identity { me_id, group_ids };
        *self.identity.lock().expect("identity lock") = Some(who.clone());
        Ok(who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn conversation(id: &str, subject: &str) -> Conversation {
        use baton_core::model::{Channel, SourceKind};
        Conversation {
            subject: subject.into(),
            requester_name: None,
            created_at: 0,
            updated_at: 0,
            handoff: None,
            version: String::new(),
            wants_transcript: false,
            ..Conversation::new(id, SourceKind::Salesforce, Channel::Web, 0)
        }
    }

    fn page(conversations: Vec<Conversation>, deleted: &[&str], unreadable: &[&str]) -> ChangePage {
        ChangePage {
            conversations,
            deleted: deleted.iter().map(|d| d.to_string()).collect(),
            unreadable: unreadable
                .iter()
                .map(|u| Unreadable {
                    external_id: u.to_string(),
                    problem: "bad".into(),
                })
                .collect(),
            cursor: String::new(),
            end_of_stream: false,
        }
    }

    #[test]
    fn events_win_over_the_poll_they_follow() {
        let polled = page(
            vec![
                conversation("a", "polled"),
                conversation("b", "polled"),
                conversation("c", "polled"),
            ],
            &[],
            &["d"],
        );
        let mut events = page(
            vec![conversation("a", "event"), conversation("d", "event")],
            &["b"],
            &[],
        );
        events.cursor = "replay:01|5".into();
        events.end_of_stream = true;
        let merged = merge(polled, events);
        let got: Vec<(&str, &str)> = merged
            .conversations
            .iter()
            .map(|c| (c.external_id.as_str(), c.subject.as_str()))
            .collect();
        // b was deleted after the poll read it: it must not come back.
        assert_eq!(got, vec![("c", "polled"), ("a", "event"), ("d", "event")]);
        assert_eq!(merged.deleted, vec!["b".to_string()]);
        // d read fine on the event's read: no longer marked.
        assert!(merged.unreadable.is_empty());
        assert_eq!(merged.cursor, "replay:01|5");
        assert!(merged.end_of_stream);
    }

    #[test]
    fn pub_sub_is_salesforces_own_or_a_safe_address() {
        let on = |url: Option<&str>| Settings {
            pubsub_url: url.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(
            pubsub_endpoint(&on(None), "https://acme.my.salesforce.com").as_deref(),
            Some(baton_pubsub::ENDPOINT)
        );
        // Nowhere to subscribe for a login URL that is not Salesforce's: polling.
        assert_eq!(pubsub_endpoint(&on(None), "http://127.0.0.1:8089"), None);
        assert_eq!(
            pubsub_endpoint(&on(Some("http://127.0.0.1:9000/")), "http://127.0.0.1:8089")
                .as_deref(),
            Some("http://127.0.0.1:9000")
        );
        // The token travels with every call: plain http only on this machine.
        assert_eq!(
            pubsub_endpoint(
                &on(Some("http://pubsub.example.com")),
                "https://login.salesforce.com"
            ),
            None
        );
        let e = check_pubsub_url("http://pubsub.example.com").unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        assert!(check_pubsub_url("ftp://x").is_err());
        assert!(check_pubsub_url("https://api.pubsub.salesforce.com:7443").is_ok());
        assert!(check_pubsub_url("http://localhost:7000").is_ok());
        let off = Settings {
            pubsub: false,
            ..Default::default()
        };
        assert_eq!(pubsub_endpoint(&off, "https://login.salesforce.com"), None);
    }

    #[test]
    fn the_audience_follows_the_login_url() {
        for (login, aud) in [
            (
                "https://login.salesforce.com",
                "https://login.salesforce.com",
            ),
            (
                "https://test.salesforce.com/",
                "https://test.salesforce.com",
            ),
            (
                "https://acme.my.salesforce.com",
                "https://login.salesforce.com",
            ),
            (
                "https://acme--uat.sandbox.my.salesforce.com",
                "https://test.salesforce.com",
            ),
            ("http://127.0.0.1:8089", "http://127.0.0.1:8089"),
        ] {
            assert_eq!(default_audience(login), aud, "{login}");
        }
    }

    use crate::client::test_server::Server;
    use crate::test_org::{self, entry, session, Org, COLLEAGUE, ME, MY_QUEUE, OTHER_QUEUE};
    use crate::test_support::jwt_auth;
    use baton_core::model::{Role, Scope, Status};
    use baton_core::store::QueueFilter;
    use baton_core::sync::{StatusHandle, SyncState, Syncer};
    use baton_core::{CancellationToken, Store};

    const ACCOUNT: &str = "acme";

    struct At(Millis);
    impl Clock for At {
        fn now(&self) -> Millis {
            self.0
        }
    }

    fn noon() -> Millis {
        mapping::parse_time("t", "2026-11-22T12:00:00Z").unwrap()
    }

    fn feed(server: &Server, settings: Settings) -> SalesforceFeed {
        let client = Client::new(jwt_auth(&server.url), "62.0").unwrap();
        SalesforceFeed::new(client, settings, noon()).with_clock(Arc::new(At(noon())))
    }

    fn settings() -> Settings {
        Settings {
            consumer_key: "baton-demo-client".into(),
            ..Default::default()
        }
    }

    async fn syncer(
        dir: &tempfile::TempDir,
        feed: SalesforceFeed,
    ) -> (Syncer<SalesforceFeed>, Store) {
        let store = Store::open(&dir.path().join("baton.db")).await.unwrap();
        let account = crate::record(
            ACCOUNT,
            "https://login.salesforce.com",
            "alex@acme.test",
            "baton-demo-client",
            AuthFlow::JwtBearer,
        );
        store.add_account(&account).await.unwrap();
        let status = StatusHandle::new(ACCOUNT, Arc::new(At(noon())));
        (Syncer::new(store.clone(), ACCOUNT, feed, status), store)
    }

    /// Five sessions: one waiting in my queue, one mine, one a colleague's (at the same
    /// SystemModstamp as mine), one in another queue, one ended weeks ago.
    fn org() -> Org {
        let mut org = Org {
            batch: 2,
            ..Default::default()
        };
        org.sessions = vec![
            session(1, "Waiting", MY_QUEUE, "2026-11-22T10:01:00.000+0000"),
            session(2, "Active", ME, "2026-11-22T10:02:00.000+0000"),
            session(3, "Active", COLLEAGUE, "2026-11-22T10:02:00.000+0000"),
            session(4, "Waiting", OTHER_QUEUE, "2026-11-22T10:03:00.000+0000"),
            session(5, "Ended", ME, "2026-11-01T09:00:00.000+0000"),
        ];
        for n in 1..=5 {
            org.entries.insert(
                test_org::conversation_identifier(n),
                vec![
                    entry(
                        &format!("e{n}-1"),
                        "Chatbot",
                        "Hi, I&#39;m the assistant",
                        1_795_000_000_000,
                    ),
                    entry(
                        &format!("e{n}-2"),
                        "EndUser",
                        "A human please",
                        1_795_000_001_000,
                    ),
                ],
            );
        }
        org
    }

    fn connect_reads(server: &Server) -> Vec<String> {
        server
            .lines()
            .into_iter()
            .filter(|l| l.contains("/connect/"))
            .collect()
    }

    async fn detail(store: &Store, n: usize) -> baton_core::model::ConversationDetail {
        let id = store
            .conversation_id(Some(ACCOUNT), &test_org::session_id(n))
            .await
            .unwrap();
        store.detail(id).await.unwrap()
    }

    fn queue_ids(items: &[baton_core::model::QueueItem]) -> Vec<(String, Scope)> {
        items
            .iter()
            .map(|i| {
                (
                    i.external_id[i.external_id.len() - 1..].to_string(),
                    i.scope,
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn a_first_sync_pages_through_the_sessions_and_reads_only_the_reps_transcripts() {
        let org = Arc::new(std::sync::Mutex::new(org()));
        let server = test_org::serve(org.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        let (sync, store) = syncer(&dir, feed(&server, settings())).await;
        let cancel = CancellationToken::new();
        let report = sync.run_once(&cancel).await.unwrap();
        assert_eq!(report.conversations, 5);
        assert_eq!(
            report.transcripts, 2,
            "only mine and my queue's live handoffs"
        );
        let reads = connect_reads(&server);
        assert_eq!(reads.len(), 2, "{reads:?}");
        assert!(reads.iter().all(|l| l.contains("recordLimit=1000")
            && l.contains("queryDirection=FromStart")
            && !l.contains("startTimestamp")));
        // Three query pages, the second and third through nextRecordsUrl.
        let lines = server.lines();
        assert_eq!(
            lines.iter().filter(|l| l.contains("/query/01gL")).count(),
            2,
            "{lines:#?}"
        );
        let mine = store
            .queue(&QueueFilter {
                my_scope: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            queue_ids(&mine),
            [("2".into(), Scope::Mine), ("1".into(), Scope::MyGroups)]
        );
        let live = store.queue(&QueueFilter::default()).await.unwrap();
        assert_eq!(live.len(), 4, "the ended session is not in the live queue");
        let d = detail(&store, 1).await;
        let got: Vec<(Role, &str)> = d
            .messages
            .iter()
            .map(|m| (m.role, m.body.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Role::Ai, "Hi, I'm the assistant"),
                (Role::Customer, "A human please")
            ]
        );
        assert_eq!(d.messages[1].author_name.as_deref(), Some("Customer 1"));
        assert_eq!(
            store
                .cursor(ACCOUNT, "salesforce.messaging_sessions")
                .await
                .unwrap()
                .as_deref(),
            Some("modstamp:2026-11-22T10:03:00.000Z|0Mw000000000000004")
        );
        assert_eq!(
            sync.feed().client().usage().api_used,
            Some(org.lock().unwrap().api_used)
        );
    }

    #[tokio::test]
    async fn a_changed_session_reads_only_its_new_entries_and_an_ended_one_leaves_the_queue() {
        let org = Arc::new(std::sync::Mutex::new(org()));
        let server = test_org::serve(org.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        let (sync, store) = syncer(&dir, feed(&server, settings())).await;
        let cancel = CancellationToken::new();
        sync.run_once(&cancel).await.unwrap();
        let before = server.lines().len();
        // Nothing changed: one query, no Connect read.
        let report = sync.run_once(&cancel).await.unwrap();
        assert_eq!(report.transcripts, 0);
        let quiet: Vec<String> = server.lines()[before..].to_vec();
        assert_eq!(quiet.len(), 1, "{quiet:#?}");
        assert!(
            quiet[0].contains("SystemModstamp+%3E%3D+2026-11-22T10%3A03%3A00.000Z"),
            "{quiet:?}"
        );
        {
            let mut o = org.lock().unwrap();
            o.sessions[1] = session(2, "Ended", ME, "2026-11-22T11:00:00.000+0000");
            o.entries
                .get_mut(&test_org::conversation_identifier(2))
                .unwrap()
                .push(entry(
                    "e2-3",
                    "Agent",
                    "Glad I could help",
                    1_795_000_009_000,
                ));
        }
        let report = sync.run_once(&cancel).await.unwrap();
        assert_eq!((report.conversations, report.transcripts), (1, 1));
        let reads = connect_reads(&server);
        assert_eq!(reads.len(), 3);
        // From the last entry stored (the earlier of its client and server times).
        assert!(
            reads[2].contains("startTimestamp=1795000000980"),
            "{}",
            reads[2]
        );
        let d = detail(&store, 2).await;
        assert_eq!(d.messages.len(), 3);
        assert_eq!(d.item.status, Status::Closed);
        assert_eq!(d.item.subject, "Web chat");
        assert_eq!(
            d.item.ended.as_ref().map(|e| e.by.sentence()),
            Some("ended by the customer".to_string())
        );
        let live = store.queue(&QueueFilter::default()).await.unwrap();
        assert!(live
            .iter()
            .all(|i| i.external_id != test_org::session_id(2)));
        let facts = sync.feed().session_facts(&test_org::session_id(2)).unwrap();
        assert_eq!(facts.ended_by, Some(mapping::EndedBy::EndUser));
    }

    #[tokio::test]
    async fn an_expired_session_mid_sync_signs_in_again_once() {
        let org = Arc::new(std::sync::Mutex::new(org()));
        let server = test_org::serve(org.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        let (sync, _store) = syncer(&dir, feed(&server, settings())).await;
        let cancel = CancellationToken::new();
        sync.run_once(&cancel).await.unwrap();
        org.lock().unwrap().expire_sessions = 1;
        org.lock().unwrap().sessions[0] = session(1, "Active", ME, "2026-11-22T11:30:00.000+0000");
        let report = sync.run_once(&cancel).await.unwrap();
        assert_eq!(report.conversations, 1);
        let auth = sync.feed().client().authenticator().clone();
        assert_eq!(auth.sign_ins(), 2);
        assert_eq!(sync.feed().client().usage().reauthentications, 1);
    }

    #[tokio::test]
    async fn a_routing_attribute_the_org_lacks_is_left_out_not_fatal() {
        let mut o = org();
        o.missing_fields = vec![
            "Chat_Consumer_Type__c".into(),
            "Conversation.ConversationIdentifier".into(),
        ];
        let server = test_org::serve(Arc::new(std::sync::Mutex::new(o))).await;
        let dir = tempfile::tempdir().unwrap();
        let (sync, store) = syncer(&dir, feed(&server, settings())).await;
        let report = sync.run_once(&CancellationToken::new()).await.unwrap();
        assert_eq!((report.conversations, report.transcripts), (5, 2));
        assert_eq!(
            sync.feed().refused_fields(),
            [
                "Chat_Consumer_Type__c",
                "Conversation.ConversationIdentifier"
            ]
        );
        assert_eq!(detail(&store, 1).await.item.subject, "Web chat");
        // The Connect identifier came from the Conversation records instead.
        let lines = server.lines();
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains("FROM+Conversation+WHERE"))
                .count(),
            2
        );
        assert_eq!(detail(&store, 2).await.messages.len(), 2);
    }

    #[tokio::test]
    async fn connects_hourly_limit_marks_transcripts_unreadable_without_more_reads() {
        let mut o = org();
        o.connect_limited = true;
        let server = test_org::serve(Arc::new(std::sync::Mutex::new(o))).await;
        let dir = tempfile::tempdir().unwrap();
        let (sync, store) = syncer(&dir, feed(&server, settings())).await;
        let report = sync.run_once(&CancellationToken::new()).await.unwrap();
        assert_eq!(report.conversations, 5);
        assert_eq!(
            connect_reads(&server).len(),
            1,
            "the limit is met once, then waited out"
        );
        let problems = store.sync_problems(ACCOUNT).await.unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems.iter().all(|(_, p)| p.contains("hourly")),
            "{problems:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_assertion_stops_the_sync_with_the_sentence() {
        let server = crate::client::test_server::serve_with(|_, _| {
            crate::client::test_server::Answer::status(
                400,
                r#"{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}"#,
            )
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let (sync, _store) = syncer(&dir, feed(&server, settings())).await;
        let got = sync.run_once(&CancellationToken::new()).await;
        let Err(baton_core::Error::Feed(FeedError::Auth { message })) = got else {
            panic!("{got:?}");
        };
        assert!(
            message.contains("not approved for alex@acme.test"),
            "{message}"
        );
        let status = sync.status().current();
        assert_eq!(status.state, SyncState::AuthFailed);
        assert_eq!(server.lines().len(), 1, "a refusal is not retried");
        let form = server.seen.lock().unwrap()[0].body.clone();
        assert!(
            form.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"),
            "{form}"
        );
        assert!(form.contains("&assertion=ey"), "{form}");
    }

    #[tokio::test]
    async fn one_session_by_id_and_a_missing_one() {
        let server = test_org::serve(Arc::new(std::sync::Mutex::new(org()))).await;
        let f = feed(&server, settings());
        let c = f
            .conversation(&test_org::session_id(4))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.group_id.as_deref(), Some(OTHER_QUEUE));
        assert!(f
            .conversation(&test_org::session_id(9))
            .await
            .unwrap()
            .is_none());
        assert!(f.conversation("x' OR Id != '").await.unwrap().is_none());
        assert_eq!(f.estimate_total().await.unwrap(), Some(5));
    }

    #[test]
    fn settings_read_from_partial_json_keep_the_defaults() {
        let s: Settings = serde_json::from_value(serde_json::json!({
            "consumer_key": "3MVG9", "mapping": {"opencx_session_field": "Trace__c"}
        }))
        .unwrap();
        assert_eq!(s.auth_flow, AuthFlow::JwtBearer);
        assert_eq!(s.mapping.opencx_session_field.as_deref(), Some("Trace__c"));
        assert_eq!(s.mapping.routing_attributes.len(), 1);
        assert_eq!(s.entries_page_size, 1000);
    }
}
