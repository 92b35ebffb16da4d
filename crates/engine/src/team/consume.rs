//! A desktop (or a relay on standby) reading one of its team's streams into its cache:
//! from its stored position, or, for a new cache, the latest value of every record; each
//! batch written with the position after it in one transaction, so a laptop that slept
//! resumes where it stopped and nothing is applied twice in a way anyone would notice.
//! What a stream holds and how it is written is its [`Feed`]'s: an account's
//! conversations ([`AccountFeed`]), or what the team's members share (`share::SharedFeed`).

use super::nats::{nats_error, stream_name};
use super::records::{self, Record, RecordError};
use crate::error::{EngineError, ErrorKind, Result};
use async_nats::jetstream::{self, consumer};
use baton_core::store::{TeamChange, TEAM_STREAM};
use baton_core::sync::{StatusHandle, SyncState};
use baton_core::{CancellationToken, Store};
use futures::{FutureExt, StreamExt};
use std::future::Future;
use std::time::Duration;

/// Records written per transaction at most: big enough that a new desktop loads ten
/// thousand conversations in seconds, small enough that the UI sees progress.
const BATCH: usize = 500;

/// The stream as a JetStream read hands it over (its state, and the part reads).
pub type Stream = jetstream::stream::Stream<jetstream::stream::Info>;

/// One stream a consumer reads, and how its records reach the cache.
pub trait Feed: Send + Sync {
    type Item: Send;
    /// Names it in logs.
    fn label(&self) -> &str;
    fn stream(&self) -> String;
    fn filter(&self) -> String;
    /// What else a stored position holds for (besides the stream it was read from): a
    /// position read for something else is not resumed from.
    fn context(&self) -> String {
        String::new()
    }
    /// The position the cache has applied up to, as [`Feed::apply`] was given it.
    fn position(&self) -> impl Future<Output = Result<Option<String>>> + Send;
    /// What one message says; `Ok(None)`: nothing for this cache.
    fn item(
        &self,
        stream: &Stream,
        payload: &[u8],
    ) -> impl Future<Output = Result<Option<Self::Item>, Skip>> + Send;
    /// Writes a batch and the position after it in one transaction; returns how many
    /// records it wrote.
    fn apply(
        &self,
        items: Vec<Self::Item>,
        position: String,
        now: i64,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// One account's conversations, into the local account it feeds.
pub struct AccountFeed {
    store: Store,
    /// The account as the team's stream names it.
    team_account: String,
    /// The same account in this cache.
    local_account: String,
}

impl AccountFeed {
    pub fn new(store: Store, team_account: &str, local_account: &str) -> Self {
        Self {
            store,
            team_account: team_account.to_string(),
            local_account: local_account.to_string(),
        }
    }
}

impl Feed for AccountFeed {
    type Item = TeamChange;

    fn label(&self) -> &str {
        &self.local_account
    }

    fn stream(&self) -> String {
        stream_name(&self.team_account)
    }

    fn filter(&self) -> String {
        records::conversations_filter(&self.team_account)
    }

    async fn position(&self) -> Result<Option<String>> {
        Ok(self.store.cursor(&self.local_account, TEAM_STREAM).await?)
    }

    async fn item(&self, stream: &Stream, payload: &[u8]) -> Result<Option<TeamChange>, Skip> {
        match records::parse_record(payload).map_err(Skip::Record)? {
            Record::Deleted { external_id, .. } => Ok(Some(TeamChange::Deleted(external_id))),
            Record::Conversation(record) => {
                let mut parts = Vec::with_capacity(record.parts as usize);
                for i in 0..record.parts {
                    let subject = records::part_subject(
                        &self.team_account,
                        &record.conversation.external_id,
                        i,
                    );
                    let m = match stream.get_last_raw_message_by_subject(&subject).await {
                        Ok(m) => m,
                        Err(e) => {
                            use jetstream::stream::LastRawMessageErrorKind as K;
                            if e.kind() == K::NoMessageFound {
                                return Err(Skip::Record(RecordError::PartsMissing));
                            }
                            return Err(Skip::Stop(nats_error("a transcript part", e)));
                        }
                    };
                    parts.push(records::parse_part(&m.payload).map_err(Skip::Record)?);
                }
                records::decode(*record, parts)
                    .map(|s| Some(TeamChange::Upsert(Box::new(s))))
                    .map_err(Skip::Record)
            }
        }
    }

    async fn apply(&self, items: Vec<TeamChange>, position: String, now: i64) -> Result<u64> {
        Ok(self
            .store
            .apply_team(&self.local_account, &items, &position, now)
            .await? as u64)
    }
}

pub struct Consumer<F: Feed> {
    js: jetstream::Context,
    feed: F,
    status: StatusHandle,
}

/// What one pass read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consumed {
    pub records: u64,
    pub written: u64,
    /// Records that could not be used (malformed, a newer schema, parts missing): skipped
    /// and logged; the position moves past them.
    pub skipped: u64,
}

impl Consumer<AccountFeed> {
    /// The account `team_account` of the team's streams, into `local_account`.
    pub fn account(
        js: jetstream::Context,
        store: Store,
        team_account: &str,
        local_account: &str,
        status: StatusHandle,
    ) -> Self {
        Self::new(
            js,
            AccountFeed::new(store, team_account, local_account),
            status,
        )
    }
}

impl<F: Feed> Consumer<F> {
    pub fn new(js: jetstream::Context, feed: F, status: StatusHandle) -> Self {
        Self { js, feed, status }
    }

    pub fn status(&self) -> &StatusHandle {
        &self.status
    }

    /// Reads until cancelled, coming back after every failure (NATS restarting, the
    /// network gone) from the stored position.
    pub async fn run(&self, cancel: &CancellationToken) {
        const FIRST: Duration = Duration::from_millis(500);
        let mut backoff = FIRST;
        loop {
            let started = tokio::time::Instant::now();
            match self.pass(cancel, false).await {
                Ok(_) => return,
                Err(e) if e.kind == ErrorKind::Cancelled => return,
                Err(e) => {
                    tracing::warn!(feed = %self.feed.label(), error = %e, "team stream");
                    let state = match e.kind {
                        ErrorKind::Auth => SyncState::AuthFailed,
                        ErrorKind::Unreachable => SyncState::Unreachable,
                        _ => SyncState::Error,
                    };
                    self.status.set(state, format!("team: {e}; retrying"));
                }
            }
            // A pass that ran a while was working: the next outage starts from the first wait.
            if started.elapsed() > Duration::from_secs(30) {
                backoff = FIRST;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(15));
        }
    }

    /// Reads what the stream has now, then returns.
    pub async fn catch_up(&self, cancel: &CancellationToken) -> Result<Consumed> {
        self.pass(cancel, true).await
    }

    async fn pass(&self, cancel: &CancellationToken, until_caught_up: bool) -> Result<Consumed> {
        let stream_name = self.feed.stream();
        let stored = self.feed.position().await?;
        // One request: the stream's state comes with it, and it serves the part reads.
        let stream = self
            .js
            .get_stream(&stream_name)
            .await
            .map_err(|e| nats_error(&format!("the team's stream {stream_name}"), e))?;
        let info = stream.cached_info();
        let end = info.state.last_sequence;
        let stamp = format!(
            "{}{}",
            info.created.unix_timestamp_nanos(),
            self.feed.context()
        );
        // A position in a stream made anew (its store lost or recreated: its sequence
        // numbers mean something else now), or read for something else: load it whole.
        let position = stored
            .as_deref()
            .and_then(|p| resume_from(p, &stamp))
            .filter(|p| *p <= end);
        let deliver_policy = match position {
            Some(p) => consumer::DeliverPolicy::ByStartSequence {
                start_sequence: p + 1,
            },
            None => consumer::DeliverPolicy::LastPerSubject,
        };
        let config = consumer::pull::OrderedConfig {
            filter_subject: self.feed.filter(),
            deliver_policy,
            // Pulls expire (and heartbeats come) every few seconds, so a consumer left on
            // a server that died is noticed and recreated in seconds, not half a minute.
            max_expires: Duration::from_secs(5),
            ..Default::default()
        };
        let created = self
            .js
            .create_consumer_on_stream(config, &stream_name)
            .await
            .map_err(|e| nats_error(&format!("reading the team's stream {stream_name}"), e))?;
        let mut pending = created.cached_info().num_pending;
        let mut messages = created
            .messages()
            .await
            .map_err(|e| nats_error("reading the team's stream", e))?;
        let mut done = Consumed::default();
        if self.progress(&done, pending) && until_caught_up {
            return Ok(done);
        }
        loop {
            let first = tokio::select! {
                _ = cancel.cancelled() => return Err(EngineError::new(ErrorKind::Cancelled, "cancelled")),
                m = messages.next() => m,
            };
            let Some(first) = first else {
                return Err(EngineError::new(
                    ErrorKind::Unreachable,
                    "the team's stream ended",
                ));
            };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match messages.next().now_or_never() {
                    Some(Some(m)) => batch.push(m),
                    _ => break,
                }
            }
            let mut changes = Vec::with_capacity(batch.len());
            let mut last = None;
            let mut stop = None;
            for m in batch {
                let m = m.map_err(|e| nats_error("reading the team's stream", e))?;
                let info = m
                    .info()
                    .map_err(|e| nats_error("a message of the team's stream", e))?;
                let seq = info.stream_sequence;
                let left = info.pending;
                match self.feed.item(&stream, &m.payload).await {
                    Ok(Some(c)) => changes.push(c),
                    Ok(None) => {}
                    // A newer Baton wrote it: stop before it, so the updated app reads it
                    // (and what follows); never step past it for good.
                    Err(Skip::Record(RecordError::Newer(v))) => {
                        stop = Some(EngineError::new(
                            ErrorKind::InvalidInput,
                            format!("the team's relay writes records in a newer form (schema {v}): update Baton to read them"),
                        ));
                        break;
                    }
                    Err(Skip::Record(e)) => {
                        done.skipped += 1;
                        tracing::warn!(
                            feed = %self.feed.label(),
                            subject = %m.subject,
                            problem = %e,
                            "team record skipped"
                        );
                    }
                    Err(Skip::Stop(e)) => return Err(e),
                }
                last = Some(seq);
                pending = left;
                done.records += 1;
            }
            if let Some(seq) = last {
                done.written += self
                    .feed
                    .apply(changes, format!("{seq}@{stamp}"), self.status.now())
                    .await?;
            }
            if let Some(e) = stop {
                return Err(e);
            }
            if self.progress(&done, pending) && until_caught_up {
                return Ok(done);
            }
        }
    }

    /// Says how far the pass is; true when it has caught up.
    fn progress(&self, done: &Consumed, pending: u64) -> bool {
        if pending == 0 {
            self.status.set(
                SyncState::Synced {
                    at: self.status.now(),
                },
                "team · live",
            );
            return true;
        }
        self.status.set(
            SyncState::Syncing {
                done: done.records,
                total: Some(done.records + pending),
            },
            format!("team: catching up, {pending} to go"),
        );
        false
    }
}

/// The sequence to resume after, from a stored position: `<seq>@<stamp>` where the stamp
/// must be this stream's (its creation, and the feed's context); a bare `<seq>` is a
/// position stored before stamps were.
fn resume_from(stored: &str, stamp: &str) -> Option<u64> {
    match stored.split_once('@') {
        Some((seq, at)) if at == stamp => seq.parse().ok(),
        Some(_) => None,
        None => stored.parse().ok(),
    }
}

pub enum Skip {
    /// This record cannot be used: skip it, keep going.
    Record(RecordError),
    /// NATS failed: try the pass again.
    Stop(EngineError),
}

#[cfg(test)]
mod tests {
    use super::resume_from;

    #[test]
    fn a_position_is_resumed_only_in_the_stream_and_for_what_it_was_read() {
        assert_eq!(
            resume_from("41@1700000000000000000", "1700000000000000000"),
            Some(41)
        );
        assert_eq!(
            resume_from("41@1700000000000000000", "1800000000000000000"),
            None
        );
        assert_eq!(resume_from("41@17acme", "17acme,globex"), None);
        assert_eq!(resume_from("41", "17"), Some(41), "stored before stamps");
        assert_eq!(resume_from("x@17", "17"), None);
    }
}
