//! What a team's members share besides the vendors' conversations: a lead's verdicts and
//! category rules, a rep's outcomes for Assist drafts. A desktop may publish only to its
//! own subject (`baton-in.<user>.<kind>`, NATS permissions see to it), into a work queue
//! the relay holding the lease drains: it checks each change (who may make it, that it
//! is well formed, that it is about an account the team serves), and republishes it to
//! the team's shared stream (`baton-shared.…`, the latest value of each) with the name
//! NATS authenticated it under, or says why it refused it. Every desktop reads that stream
//! into its cache ([`SharedFeed`]).

use super::consume::{Feed, Skip, Stream};
use super::lease::HeldUntil;
use super::nats::{nats_error, LEADS_KEY, TEAM_BUCKET};
use super::records::{self, token, RecordError, SCHEMA};
use crate::error::{EngineError, ErrorKind, Result};
use async_nats::jetstream::{self, consumer, stream};
use baton_core::model::{DraftState, Millis};
use baton_core::review::Rules;
use baton_core::store::{SharedChange, SharedItem};
use baton_core::{CancellationToken, Store};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What desktops send, until the relay has taken it.
pub const IN_STREAM: &str = "BATON-IN";
/// What the relay accepted, for every desktop: the latest value of each change's subject.
pub const SHARED_STREAM: &str = "BATON-SHARED";
const IN_PREFIX: &str = "baton-in";
const SHARED_PREFIX: &str = "baton-shared";
/// A change's most, as sent: a full rule set (500 rules of 500 characters) fits.
const MAX_BYTES: usize = 512 * 1024;
/// What waits for the relay at most.
const IN_MAX_BYTES: i64 = 256 * 1024 * 1024;
/// A verdict's note, in characters.
const MAX_NOTE_CHARS: usize = 2_000;
/// How long a change waits for the relay (a relay down for a month loses what is older).
const IN_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// The relay's name for its place in the work queue, shared by every relay of the team
/// so a standby that takes over goes on where the last holder stopped.
const RELAY_CONSUMER: &str = "relay";

/// The subject `user` sends a change of `kind` to: the only one its NATS user may
/// publish to.
pub fn in_subject(user: &str, kind: &str) -> String {
    format!("{IN_PREFIX}.{}.{kind}", token(user))
}

/// Every subject `user` may send to: its draft outcomes; a lead's verdicts and rules too.
pub fn in_subjects_of(user: &str, lead: bool) -> Vec<String> {
    if lead {
        vec![format!("{IN_PREFIX}.{}.>", token(user))]
    } else {
        vec![in_subject(user, "outcome")]
    }
}

/// Whether `user` may share `change` (verdicts and rules are the leads').
pub fn may_share(leads: &[String], user: &str, change: &SharedChange) -> bool {
    matches!(change, SharedChange::Outcome { .. }) || leads.iter().any(|l| l == user)
}

/// Why a member who is not a lead cannot share a verdict or the rules.
fn not_a_lead(leads: &[String], user: &str) -> String {
    if leads.is_empty() {
        "this team's relay names no leads (`leads` in relay.toml), so verdicts and category rules stay on each desktop".into()
    } else {
        format!(
            "only the team's leads share verdicts and category rules, and {user} is not one of them (ask whoever runs the relay: `leads` in relay.toml); the change stays on your desktop"
        )
    }
}

/// Where an accepted change goes: one subject per thing it is about, so the stream keeps
/// the latest verdict per handoff, one rule set, and the outcome of each draft.
fn shared_subject(change: &SharedChange) -> String {
    match change {
        SharedChange::Rules { .. } => format!("{SHARED_PREFIX}.rules"),
        SharedChange::Mark {
            account_id,
            external_id,
            ..
        } => format!("{SHARED_PREFIX}.mark.{account_id}.{}", token(external_id)),
        SharedChange::Outcome {
            account_id,
            external_id,
            source_note_id,
            ..
        } => format!(
            "{SHARED_PREFIX}.outcome.{account_id}.{}.{}",
            token(external_id),
            token(source_note_id)
        ),
    }
}

fn refused_subject(user: &str) -> String {
    format!("{SHARED_PREFIX}.refused.{}", token(user))
}

/// The user a subject token names (the inverse of [`token`]).
fn untoken(t: &str) -> Option<String> {
    let Some(hex) = t.strip_prefix('=') else {
        return Some(t.to_string());
    };
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// What a desktop sends. Nothing else parses as one (a shared record delivered into a
/// member's subject, say).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentRecord {
    pub schema: u32,
    pub change: SharedChange,
}

/// What the shared stream carries: a change the relay accepted from `by`, or its refusal
/// of one (`refused`, in words, for `by` to read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedRecord {
    pub schema: u32,
    /// The team member, as NATS authenticated them.
    pub by: String,
    #[serde(default)]
    pub change: Option<SharedChange>,
    #[serde(default)]
    pub refused: Option<String>,
    pub at: Millis,
}

/// What the relay lets through: changes about the accounts it serves; verdicts and
/// rules from the team's leads, when relay.toml names them.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub accounts: Vec<String>,
    pub leads: Vec<String>,
}

impl Policy {
    /// Why `user` may not share `change`, in words for them; `Ok` when it may.
    pub fn check(&self, user: &str, change: &SharedChange) -> std::result::Result<(), String> {
        if !may_share(&self.leads, user, change) {
            return Err(not_a_lead(&self.leads, user));
        }
        if let Some(account) = change.account_id() {
            if !self.accounts.iter().any(|a| a == account) {
                return Err(format!("the team serves no account {account:?}"));
            }
        }
        match change {
            SharedChange::Rules { rules, .. } => {
                Rules::compile(rules).map_err(|e| format!("the rules were not shared: {e}"))?;
            }
            SharedChange::Mark {
                external_id, note, ..
            } => {
                if external_id.is_empty() {
                    return Err("a verdict names no conversation".into());
                }
                if note
                    .as_ref()
                    .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
                {
                    return Err(format!(
                        "a verdict's note is longer than {MAX_NOTE_CHARS} characters"
                    ));
                }
            }
            SharedChange::Outcome {
                external_id,
                source_note_id,
                state,
                reason,
                acted_by,
                ..
            } => {
                if external_id.is_empty() || source_note_id.is_empty() {
                    return Err("a draft's outcome names no draft".into());
                }
                if !matches!(
                    state,
                    DraftState::Accepted | DraftState::Edited | DraftState::Rejected
                ) {
                    return Err(format!("{state} is not an outcome a rep records"));
                }
                if *state == DraftState::Rejected
                    && reason.as_ref().is_none_or(|r| r.trim().is_empty())
                {
                    return Err("a rejection needs a reason".into());
                }
                if acted_by.trim().is_empty() {
                    return Err("a draft's outcome names no rep".into());
                }
            }
        }
        Ok(())
    }
}

fn in_stream_config(replicas: usize) -> stream::Config {
    stream::Config {
        name: IN_STREAM.into(),
        subjects: vec![format!("{IN_PREFIX}.>")],
        retention: stream::RetentionPolicy::WorkQueue,
        max_message_size: MAX_BYTES as i32,
        max_age: IN_MAX_AGE,
        // With the relay down, one member cannot fill the server's store (the team's
        // conversations live there too): a full queue refuses more.
        max_bytes: IN_MAX_BYTES,
        max_messages_per_subject: 10_000,
        discard: stream::DiscardPolicy::New,
        discard_new_per_subject: true,
        // A change a desktop sent, then sent again after a crash before it noted the
        // first, is stored once.
        duplicate_window: Duration::from_secs(24 * 3600),
        storage: stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    }
}

fn shared_stream_config(replicas: usize) -> stream::Config {
    stream::Config {
        name: SHARED_STREAM.into(),
        subjects: vec![format!("{SHARED_PREFIX}.>")],
        max_messages_per_subject: 1,
        max_message_size: MAX_BYTES as i32 + 4096,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        discard: stream::DiscardPolicy::Old,
        ..Default::default()
    }
}

/// The relay's: both streams, made or brought up to date.
pub async fn ensure_streams(js: &jetstream::Context, replicas: usize) -> Result<()> {
    for config in [in_stream_config(replicas), shared_stream_config(replicas)] {
        let name = config.name.clone();
        js.create_or_update_stream(config)
            .await
            .map_err(|e| nats_error(&format!("creating the stream {name}"), e))?;
    }
    Ok(())
}

/// The relay holding the lease: takes what desktops sent, in order, until `work` ends.
/// A change is taken off the queue only once its verdict (republished, or refused) is in
/// the shared stream, under the sender's message id, so a relay that dies between the two
/// leaves it to the next holder and the stream still has it once.
pub async fn forward(
    js: jetstream::Context,
    policy: Policy,
    held: HeldUntil,
    work: CancellationToken,
) {
    loop {
        match forward_pass(&js, &policy, &held, &work).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "forwarding what desktops share; retrying"),
        }
        tokio::select! {
            _ = work.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

async fn forward_pass(
    js: &jetstream::Context,
    policy: &Policy,
    held: &HeldUntil,
    work: &CancellationToken,
) -> Result<()> {
    let stream = js
        .get_stream(IN_STREAM)
        .await
        .map_err(|e| nats_error("the stream of what desktops share", e))?;
    let shared = js
        .get_stream(SHARED_STREAM)
        .await
        .map_err(|e| nats_error("the team's shared stream", e))?;
    let queue = stream
        .get_or_create_consumer(
            RELAY_CONSUMER,
            consumer::pull::Config {
                durable_name: Some(RELAY_CONSUMER.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                // One at a time, in order: a change is never republished after a newer
                // one, whatever fails between.
                max_ack_pending: 1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| nats_error("reading what desktops share", e))?;
    let mut messages = queue
        .messages()
        .await
        .map_err(|e| nats_error("reading what desktops share", e))?;
    loop {
        let next = tokio::select! {
            _ = work.cancelled() => return Ok(()),
            m = messages.next() => m,
        };
        let Some(m) = next else {
            return Err(EngineError::new(
                ErrorKind::Unreachable,
                "the stream of what desktops share ended",
            ));
        };
        let m = m.map_err(|e| nats_error("reading what desktops share", e))?;
        held.check()?;
        let msg_id = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_string())
            .or_else(|| m.info().ok().map(|i| format!("in-{}", i.stream_sequence)))
            .unwrap_or_default();
        let Some((subject, record)) = verdict(policy, &m.subject, &m.payload, now()) else {
            m.ack()
                .await
                .map_err(|e| nats_error("taking a shared change off the queue", e))?;
            continue;
        };
        let (subject, record) = first_sender_only(&shared, subject, record).await?;
        let payload = serde_json::to_vec(&record).expect("records serialize");
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", msg_id.as_str());
        let published = async {
            js.publish_with_headers(subject, headers, payload.into())
                .await
                .map_err(|e| nats_error("publishing to the shared stream", e))?
                .await
                .map_err(|e| nats_error("the shared stream did not take a change", e))
        };
        if let Err(e) = published.await {
            // Back at the head of the queue at once, not after the acknowledgement wait.
            let _ = m.ack_with(jetstream::AckKind::Nak(None)).await;
            return Err(e);
        }
        m.ack()
            .await
            .map_err(|e| nats_error("taking a shared change off the queue", e))?;
    }
}

fn now() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// What the relay publishes for one message a desktop sent to `subject`: the change,
/// under the name NATS authenticated it with, or a refusal for that user.
/// `None`: not a change a desktop sent, dropped without a word.
fn verdict(
    policy: &Policy,
    subject: &str,
    payload: &[u8],
    at: Millis,
) -> Option<(String, SharedRecord)> {
    let mut tokens = subject.split('.');
    let (prefix, user, kind) = (tokens.next(), tokens.next(), tokens.next());
    let user = user.and_then(untoken).unwrap_or_default();
    let refuse = |reason: String| {
        // Logged without the change itself: a note is a lead's words, not a log's.
        tracing::warn!(user = %user, kind = ?kind, reason = %reason, "a shared change refused");
        Some(refusal(&user, reason, at))
    };
    if prefix != Some(IN_PREFIX) || user.is_empty() || tokens.next().is_some() {
        tracing::warn!(subject = %subject, "a message not on a member's subject dropped");
        return None;
    }
    if payload.len() > MAX_BYTES {
        return refuse(format!("a change larger than {} KiB", MAX_BYTES / 1024));
    }
    // A newer desktop's change is named as such, before a field this relay does not know
    // makes it unreadable.
    if let Err(RecordError::Newer(v)) = records::check_schema(payload) {
        return refuse(format!(
            "a change in schema {v}, newer than the relay reads ({SCHEMA}): update the relay"
        ));
    }
    let Ok(sent) = serde_json::from_slice::<SentRecord>(payload) else {
        // Not a change a desktop sent (garbage, or a record delivered into the subject):
        // dropped without a word to the member the subject names, who did not send it.
        tracing::warn!(user = %user, kind = ?kind, "a message that is not a shared change dropped");
        return None;
    };
    if kind != Some(sent.change.kind()) {
        return refuse(format!(
            "a {} sent to the subject for {}",
            sent.change.kind(),
            kind.unwrap_or("nothing")
        ));
    }
    if let Err(reason) = policy.check(&user, &sent.change) {
        return refuse(reason);
    }
    Some((
        shared_subject(&sent.change),
        SharedRecord {
            schema: SCHEMA,
            by: user.clone(),
            change: Some(sent.change),
            refused: None,
            at,
        },
    ))
}

fn refusal(user: &str, reason: String, at: Millis) -> (String, SharedRecord) {
    (
        refused_subject(user),
        SharedRecord {
            schema: SCHEMA,
            by: user.to_string(),
            change: None,
            refused: Some(reason),
            at,
        },
    )
}

/// A draft's outcome is its first sender's: another member's is refused (the stream
/// holds the latest of each subject, and a desktop that loads it later must read the
/// same outcome as one that saw it arrive).
async fn first_sender_only(
    shared: &Stream,
    subject: String,
    record: SharedRecord,
) -> Result<(String, SharedRecord)> {
    if !matches!(record.change, Some(SharedChange::Outcome { .. })) {
        return Ok((subject, record));
    }
    let earlier = match shared.get_last_raw_message_by_subject(&subject).await {
        Ok(m) => parse(&m.payload).ok(),
        Err(e) if e.kind() == jetstream::stream::LastRawMessageErrorKind::NoMessageFound => None,
        Err(e) => return Err(nats_error("reading a draft's outcome", e)),
    };
    match earlier {
        Some(earlier) if earlier.by != record.by => {
            let reason = format!(
                "{} already recorded what became of this draft; yours stays on your desktop",
                earlier.by
            );
            tracing::warn!(user = %record.by, reason = %reason, "a shared change refused");
            Ok(refusal(&record.by, reason, record.at))
        }
        _ => Ok((subject, record)),
    }
}

/// Who a desktop is in its team, and what its team is.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its NATS user.
    pub user: String,
    /// Team account id and this cache's, for each account this desktop has.
    pub accounts: Vec<(String, String)>,
    /// The team's leads (the relay lists them; [`keep_sending`] reads them again while a
    /// verdict or rules wait for this member to be one).
    pub leads: Vec<String>,
}

/// What one pass of [`send_queued`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    pub sent: usize,
    /// Verdicts or rules stay queued because this member is not a lead.
    pub held_for_lead: bool,
}

/// A desktop: sends what its cache queued for the team, oldest first, each under its own
/// message id. A change about an account the team does not serve is dropped (it stays
/// this desktop's); a verdict or rules from a member who is not one of `member.leads`
/// stays queued (and the review says why).
pub async fn send_queued(js: &jetstream::Context, store: &Store, member: &Member) -> Result<Sent> {
    let (user, leads) = (member.user.as_str(), member.leads.as_slice());
    let mut held_for_lead = false;
    // A kind that could not go stays queued, and the later ones of that kind wait behind
    // it (a verdict never overtakes an older one); the other kinds go on.
    let mut held: Vec<&'static str> = vec![];
    let mut failed = None;
    let (mut after, mut sent) = (0, 0);
    loop {
        let queued = store.team_outgoing(after, 100).await?;
        let Some(last) = queued.last().map(|q| q.seq) else {
            break;
        };
        after = last;
        for q in queued {
            let kind = q.change.kind();
            if held.contains(&kind) {
                continue;
            }
            if !may_share(leads, user, &q.change) {
                store.note_refusal(&not_a_lead(leads, user), now()).await?;
                held.push(kind);
                held_for_lead = true;
                continue;
            }
            let change = match q.change.account_id().map(str::to_string) {
                None => q.change,
                Some(local) => match member.accounts.iter().find(|(_, l)| *l == local) {
                    Some((team, _)) => q.change.for_account(team),
                    None => {
                        tracing::info!(account = %local, kind, "the team does not serve this account: the change stays on this desktop");
                        store.sent_to_team(q.seq).await?;
                        continue;
                    }
                },
            };
            let payload = serde_json::to_vec(&SentRecord {
                schema: SCHEMA,
                change,
            })
            .expect("records serialize");
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", q.msg_id.as_str());
            let published = async {
                js.publish_with_headers(in_subject(user, kind), headers, payload.into())
                    .await
                    .map_err(|e| nats_error("sending a change to the team", e))?
                    .await
                    .map_err(|e| nats_error("the team's NATS did not take a change", e))
            };
            match published.await {
                Ok(_) => {
                    store.sent_to_team(q.seq).await?;
                    sent += 1;
                }
                Err(e) => {
                    held.push(kind);
                    failed.get_or_insert(e);
                }
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(Sent {
            sent,
            held_for_lead,
        }),
    }
}

/// The team's leads, as its relay lists them in the team's bucket (none listed: none).
pub async fn read_leads(bucket: &jetstream::kv::Store) -> Result<Vec<String>> {
    match bucket.get(LEADS_KEY).await {
        Ok(Some(listed)) => Ok(serde_json::from_slice(&listed).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the team's list of leads does not parse; taken as none");
            vec![]
        })),
        Ok(None) => Ok(vec![]),
        Err(e) => Err(nats_error("reading the team's leads", e)),
    }
}

/// A desktop: sends what its cache queues for the team as it is queued, until cancelled.
pub async fn keep_sending(
    js: jetstream::Context,
    store: Store,
    mut member: Member,
    cancel: CancellationToken,
) {
    const EVERY: Duration = Duration::from_millis(500);
    // How often the leads are read again while this member's verdicts wait on them: a
    // lead named since the desktop started sends them within this.
    const LEADS_EVERY: Duration = Duration::from_secs(30);
    let mut wait = EVERY;
    let mut leads_read = tokio::time::Instant::now();
    loop {
        match send_queued(&js, &store, &member).await {
            Ok(done) => {
                wait = EVERY;
                if done.held_for_lead && leads_read.elapsed() >= LEADS_EVERY {
                    leads_read = tokio::time::Instant::now();
                    let leads = async {
                        let bucket = js
                            .get_key_value(TEAM_BUCKET)
                            .await
                            .map_err(|e| nats_error("the team's bucket", e))?;
                        read_leads(&bucket).await
                    };
                    match leads.await {
                        Ok(leads) => member.leads = leads,
                        Err(e) => tracing::warn!(error = %e, "reading the team's leads"),
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "sending changes to the team; retrying");
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// The team's shared stream, into a desktop's cache.
pub struct SharedFeed {
    store: Store,
    /// This desktop's NATS user (the refusals for it are its to show) and accounts.
    member: Member,
}

impl SharedFeed {
    pub fn new(store: Store, member: Member) -> Self {
        Self { store, member }
    }
}

impl Feed for SharedFeed {
    type Item = SharedItem;

    fn label(&self) -> &str {
        "shared"
    }

    fn stream(&self) -> String {
        SHARED_STREAM.into()
    }

    fn filter(&self) -> String {
        format!("{SHARED_PREFIX}.>")
    }

    /// The accounts it was read for: one added since has changes the position is past.
    fn context(&self) -> String {
        let mut ids: Vec<&str> = self
            .member
            .accounts
            .iter()
            .map(|(t, _)| t.as_str())
            .collect();
        ids.sort_unstable();
        ids.join(",")
    }

    async fn position(&self) -> Result<Option<String>> {
        Ok(self.store.shared_position().await?)
    }

    async fn item(
        &self,
        _stream: &Stream,
        payload: &[u8],
    ) -> std::result::Result<Option<SharedItem>, Skip> {
        let record: SharedRecord = parse(payload).map_err(Skip::Record)?;
        if let Some(reason) = record.refused {
            return Ok(
                (record.by == self.member.user).then_some(SharedItem::Refused {
                    reason,
                    at: record.at,
                }),
            );
        }
        let Some(change) = record.change else {
            return Err(Skip::Record(RecordError::Malformed(
                "a shared record with neither a change nor a refusal".into(),
            )));
        };
        let change = match change.account_id().map(str::to_string) {
            None => change,
            Some(team) => match self.member.accounts.iter().find(|(t, _)| *t == team) {
                Some((_, local)) => change.for_account(local),
                // An account this desktop has not added: nothing here to mark.
                None => return Ok(None),
            },
        };
        Ok(Some(SharedItem::Change {
            by: record.by,
            change,
        }))
    }

    async fn apply(&self, items: Vec<SharedItem>, position: String, _now: i64) -> Result<u64> {
        self.store.apply_shared(&items, &position).await?;
        Ok(items.len() as u64)
    }
}

fn parse(payload: &[u8]) -> std::result::Result<SharedRecord, RecordError> {
    records::check_schema(payload)?;
    serde_json::from_slice(payload).map_err(|e| RecordError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::review::{NewRule, RuleKind, Verdict};

    fn mark(account: &str) -> SharedChange {
        SharedChange::Mark {
            account_id: account.into(),
            external_id: "42".into(),
            verdict: Some(Verdict::Avoidable),
            note: Some("the FAQ covers it".into()),
            at: 5,
        }
    }

    fn sent(change: &SharedChange) -> Vec<u8> {
        serde_json::to_vec(&SentRecord {
            schema: SCHEMA,
            change: change.clone(),
        })
        .unwrap()
    }

    fn policy(leads: &[&str]) -> Policy {
        Policy {
            accounts: vec!["acme".into()],
            leads: leads.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_relay_republishes_a_change_under_the_name_nats_authenticated() {
        let change = mark("acme");
        let (subject, record) = verdict(
            &policy(&["maria"]),
            &in_subject("maria", "mark"),
            &sent(&change),
            9,
        )
        .unwrap();
        assert_eq!(subject, "baton-shared.mark.acme.42");
        assert_eq!(record.by, "maria");
        assert_eq!(record.change, Some(change));
        assert_eq!(record.refused, None);
        // A name that is not a subject token travels encoded and comes back whole.
        let (_, record) = verdict(
            &policy(&["maria.lopez@acme"]),
            &in_subject("maria.lopez@acme", "mark"),
            &sent(&mark("acme")),
            9,
        )
        .unwrap();
        assert_eq!(record.by, "maria.lopez@acme");
    }

    #[test]
    fn the_relay_refuses_what_a_member_may_not_share_and_says_why() {
        let refusal = |policy: &Policy, subject: &str, payload: &[u8]| {
            let (subject, record) = verdict(policy, subject, payload, 9).expect("answered");
            assert_eq!(record.change, None);
            (subject, record.refused.expect("refused"))
        };
        // Only leads share verdicts and rules; without any, nobody does.
        let (_, why) = refusal(
            &policy(&[]),
            &in_subject("maria", "mark"),
            &sent(&mark("acme")),
        );
        assert!(why.contains("names no leads"), "{why}");
        let leads = policy(&["lee"]);
        let (subject, why) = refusal(&leads, &in_subject("maria", "mark"), &sent(&mark("acme")));
        assert_eq!(subject, "baton-shared.refused.maria");
        assert!(why.contains("only the team's leads"), "{why}");
        let rules = SharedChange::Rules {
            rules: vec![],
            at: 1,
        };
        refusal(&leads, &in_subject("maria", "rules"), &sent(&rules));
        assert!(
            verdict(&leads, &in_subject("lee", "mark"), &sent(&mark("acme")), 9)
                .unwrap()
                .1
                .change
                .is_some()
        );
        // A rep's outcome needs no lead.
        let outcome = SharedChange::Outcome {
            account_id: "acme".into(),
            external_id: "42".into(),
            source_note_id: "n1".into(),
            state: DraftState::Rejected,
            edited_text: None,
            edit_distance: None,
            reason: Some("wrong policy".into()),
            acted_by: "maria@acme.test".into(),
            at: 3,
        };
        let (subject, record) =
            verdict(&leads, &in_subject("maria", "outcome"), &sent(&outcome), 9).unwrap();
        assert!(record.change.is_some());
        assert_eq!(subject, "baton-shared.outcome.acme.42.n1");
        let p = policy(&["maria", "lee"]);
        // An account the team does not serve.
        let (_, why) = refusal(&p, &in_subject("maria", "mark"), &sent(&mark("globex")));
        assert!(why.contains("globex"), "{why}");
        // A rule that cannot be one.
        let bad = SharedChange::Rules {
            rules: vec![NewRule {
                category: "technical".into(),
                kind: RuleKind::Regex,
                pattern: "(unclosed".into(),
            }],
            at: 1,
        };
        let (_, why) = refusal(&p, &in_subject("lee", "rules"), &sent(&bad));
        assert!(why.starts_with("the rules were not shared"), "{why}");
        // A kind sent to another kind's subject, garbage, a newer schema, an overlong note.
        refusal(&p, &in_subject("maria", "rules"), &sent(&mark("acme")));
        // What is not a change a desktop sent is dropped without a refusal to the member the
        // subject names: garbage, a shared record delivered into it, another subject.
        assert_eq!(
            verdict(&p, &in_subject("maria", "mark"), b"{not json", 9),
            None
        );
        // A shared record delivered into a member's subject is not a change.
        let delivered = serde_json::to_vec(&SharedRecord {
            schema: SCHEMA,
            by: "maria".into(),
            change: Some(mark("acme")),
            refused: None,
            at: 1,
        })
        .unwrap();
        assert_eq!(verdict(&p, &in_subject("lee", "mark"), &delivered, 9), None);
        assert_eq!(verdict(&p, "baton-in", &sent(&mark("acme")), 9), None);
        let newer = serde_json::json!({"schema": SCHEMA + 1, "change": mark("acme")});
        let (_, why) = refusal(
            &p,
            &in_subject("maria", "mark"),
            newer.to_string().as_bytes(),
        );
        assert!(why.contains("update the relay"), "{why}");
        let long = SharedChange::Mark {
            account_id: "acme".into(),
            external_id: "42".into(),
            verdict: Some(Verdict::Needed),
            note: Some("x".repeat(MAX_NOTE_CHARS + 1)),
            at: 5,
        };
        refusal(&p, &in_subject("maria", "mark"), &sent(&long));
        // A rejection without a reason, an outcome that is not one.
        let outcome_with = |state, reason: &str| SharedChange::Outcome {
            account_id: "acme".into(),
            external_id: "42".into(),
            source_note_id: "n1".into(),
            state,
            edited_text: None,
            edit_distance: None,
            reason: Some(reason.into()),
            acted_by: "maria".into(),
            at: 3,
        };
        let unreasoned = outcome_with(DraftState::Rejected, " ");
        refusal(&p, &in_subject("maria", "outcome"), &sent(&unreasoned));
        let pending = outcome_with(DraftState::Pending, "");
        refusal(&p, &in_subject("maria", "outcome"), &sent(&pending));
    }

    #[test]
    fn a_user_name_survives_its_subject_token() {
        for name in ["maria", "maria.lopez@acme.test", "ünïcode user", "a>b*c"] {
            assert_eq!(untoken(&token(name)).as_deref(), Some(name));
        }
        assert_eq!(untoken("=zz"), None);
    }
}
