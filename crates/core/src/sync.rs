//! The vendor-neutral sync engine: a [`Feed`] says what changed since a cursor and
//! fetches a conversation's transcript; the engine decides what to fetch, writes each
//! page with its cursor in one transaction, and reports status and progress.

use crate::error::{Error, Result};
use crate::model::{Bundle, Conversation, Millis, TranscriptPage};
use crate::store::{Store, TranscriptState};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What went wrong talking to a vendor, in terms a rep can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeedError {
    #[error("credentials rejected: {message}")]
    Auth { message: String },
    #[error("cannot reach {message}")]
    Unreachable { message: String },
    #[error("rate-limited: {message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("server error: {message}")]
    Server { message: String },
    #[error("unexpected response: {message}")]
    Invalid { message: String },
    /// One conversation cannot be read (its transcript answers 404 or 403, say): the
    /// engine marks it with this and goes on; nothing else waits for it.
    #[error("cannot read this conversation: {message}")]
    Unreadable { message: String },
}

/// One page of changes, in the vendor's order, and the cursor after it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangePage {
    pub conversations: Vec<Conversation>,
    /// Conversations the vendor deleted (by external id): they leave the cache.
    pub deleted: Vec<String>,
    /// Records on this page that could not be read, and why: a cached conversation keeps
    /// its last good copy, marked with the reason.
    pub unreadable: Vec<Unreadable>,
    pub cursor: String,
    pub end_of_stream: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub external_id: String,
    pub problem: String,
}

/// A vendor's view of one account. Implementations own HTTP, paging and retries of
/// single requests; the engine owns what to fetch and when to commit.
pub trait Feed: Send + Sync {
    /// The name under which this feed's cursor is stored.
    fn stream(&self) -> &str;

    fn changes(
        &self,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<ChangePage, FeedError>> + Send;

    /// The conversation's transcript from `cursor` on (from the start when `None`).
    fn transcript(
        &self,
        conversation: &Conversation,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<TranscriptPage, FeedError>> + Send;

    /// One conversation as the vendor has it now (`None`: it was deleted), for a hint
    /// (a webhook) that it changed. A record that cannot be read is `Unreadable`.
    fn conversation(
        &self,
        external_id: &str,
    ) -> impl Future<Output = Result<Option<Conversation>, FeedError>> + Send;

    /// How many conversations a backfill will see, if the vendor can tell cheaply.
    fn estimate_total(&self) -> impl Future<Output = Result<Option<u64>, FeedError>> + Send;

    /// Who the credentials belong to, and their groups.
    fn identity(&self) -> impl Future<Output = Result<Identity, FeedError>> + Send;

    /// Resolves when the vendor pushed something the next `changes` returns (a
    /// subscription's event), so the sync runs then rather than at its next interval.
    fn changed(&self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }

    /// How changes arrive now, in a few words for the status line ("changes arrive
    /// live"), when the feed has more than one way.
    fn note(&self) -> Option<String> {
        None
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub me_id: String,
    pub group_ids: Vec<String>,
}

pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        chrono::Utc::now().timestamp_millis()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncState {
    Idle,
    Syncing { done: u64, total: Option<u64> },
    Synced { at: Millis },
    RateLimited { until: Millis },
    AuthFailed,
    Unreachable,
    Error,
}

/// An account's status: the state and a sentence a rep understands.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct AccountStatus {
    pub account_id: String,
    #[serde(flatten)]
    pub state: SyncState,
    pub message: String,
}

/// Where a sync and its clients report what they are doing. Cheap to clone.
#[derive(Clone)]
pub struct StatusHandle {
    account_id: Arc<str>,
    tx: Arc<watch::Sender<AccountStatus>>,
    clock: Arc<dyn Clock>,
}

impl StatusHandle {
    pub fn new(account_id: &str, clock: Arc<dyn Clock>) -> Self {
        let (tx, _) = watch::channel(AccountStatus {
            account_id: account_id.to_string(),
            state: SyncState::Idle,
            message: "not synced yet".into(),
        });
        Self {
            account_id: account_id.into(),
            tx: Arc::new(tx),
            clock,
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<AccountStatus> {
        self.tx.subscribe()
    }

    pub fn current(&self) -> AccountStatus {
        self.tx.borrow().clone()
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn set(&self, state: SyncState, message: impl Into<String>) {
        self.tx.send_replace(AccountStatus {
            account_id: self.account_id.to_string(),
            state,
            message: message.into(),
        });
    }

    /// A client is waiting out a rate limit before its next request.
    pub fn rate_limited(&self, wait: Duration, vendor: &str) {
        let until = self.clock.now() + wait.as_millis() as i64;
        self.set(
            SyncState::RateLimited { until },
            format!(
                "rate-limited by {vendor}, retrying in {} s",
                wait.as_secs_f64().ceil() as u64
            ),
        );
    }

    pub fn failed(&self, e: &FeedError) {
        let (state, message) = match e {
            FeedError::Auth { message } => (
                SyncState::AuthFailed,
                format!(
                    "{} rejected the credentials: {message}. Update the token in settings.",
                    self.account_id
                ),
            ),
            FeedError::Unreachable { message } => (
                SyncState::Unreachable,
                format!("offline: cannot reach {message}; retrying"),
            ),
            FeedError::RateLimited {
                retry_after_secs, ..
            } => (
                SyncState::RateLimited {
                    until: self.clock.now() + *retry_after_secs as i64 * 1000,
                },
                format!("rate-limited, retrying in {retry_after_secs} s"),
            ),
            other => (SyncState::Error, format!("sync failed: {other}; retrying")),
        };
        self.set(state, message);
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub pages: u64,
    pub conversations: u64,
    pub transcripts: u64,
    pub messages: u64,
    pub drafts: u64,
    /// Conversations the vendor deleted, dropped from the cache.
    pub deleted: u64,
    /// Conversations (or their transcripts) that could not be read: marked and skipped.
    pub unreadable: u64,
}

pub struct Syncer<F> {
    store: Store,
    account_id: String,
    feed: F,
    status: StatusHandle,
    /// Transcript fetches in flight at once: enough to hide latency, few enough to
    /// leave the account's shared rate budget to the other reps' copies.
    pub concurrency: usize,
    /// Conversations per commit within a page.
    pub chunk: usize,
    /// The rep's identity was read in this process (once: it rarely changes).
    identified: std::sync::atomic::AtomicBool,
}

impl<F: Feed> Syncer<F> {
    pub fn new(store: Store, account_id: &str, feed: F, status: StatusHandle) -> Self {
        Self {
            store,
            account_id: account_id.to_string(),
            feed,
            status,
            concurrency: 4,
            chunk: 50,
            identified: Default::default(),
        }
    }

    pub fn status(&self) -> &StatusHandle {
        &self.status
    }

    pub fn feed(&self) -> &F {
        &self.feed
    }

    /// Reads who the credentials belong to and their groups (for "mine" and "my groups"),
    /// once per process: it rarely changes.
    pub async fn identify(&self, cancel: &CancellationToken) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.identified.load(Ordering::Relaxed) {
            return Ok(());
        }
        let who = match cancellable(cancel, self.feed.identity()).await? {
            Ok(who) => who,
            Err(e) => return Err(self.fail(e)),
        };
        self.store
            .set_identity(&self.account_id, &who.me_id, &who.group_ids)
            .await?;
        self.identified.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Syncs from the stored cursor to the end of the stream.
    pub async fn run_once(&self, cancel: &CancellationToken) -> Result<SyncReport> {
        self.identify(cancel).await?;
        let stream = self.feed.stream().to_string();
        let mut cursor = self.store.cursor(&self.account_id, &stream).await?;
        let total = if cursor.is_none() {
            match cancellable(cancel, self.feed.estimate_total()).await? {
                Ok(total) => total,
                Err(e) => return Err(self.fail(e)),
            }
        } else {
            None
        };
        let mut report = SyncReport::default();
        self.status.set(
            SyncState::Syncing { done: 0, total },
            if cursor.is_none() {
                "first sync"
            } else {
                "syncing"
            },
        );
        loop {
            let page = match cancellable(cancel, self.feed.changes(cursor.as_deref())).await? {
                Ok(p) => p,
                Err(e) => return Err(self.fail(e)),
            };
            // Before the page's cursor moves: a restart mid-page does this again, harmlessly.
            report.deleted += self
                .store
                .forget_conversations(&self.account_id, &page.deleted)
                .await? as u64;
            report.unreadable += page.unreadable.len() as u64;
            let marks: Vec<(String, String)> = page
                .unreadable
                .iter()
                .map(|u| (u.external_id.clone(), u.problem.clone()))
                .collect();
            self.store
                .mark_sync_problems(&self.account_id, &marks)
                .await?;
            // Commit in chunks, so a rep sees conversations as they arrive even when a
            // page's transcripts take minutes under the account's rate limit. Only the
            // last chunk moves the cursor; a restart mid-page fetches the page again but
            // not the transcripts already stored (their version matches).
            let chunks: Vec<Vec<Conversation>> = page
                .conversations
                .chunks(self.chunk)
                .map(<[_]>::to_vec)
                .collect();
            let last = chunks.len().saturating_sub(1);
            if chunks.is_empty() {
                self.store
                    .commit_page(
                        &self.account_id,
                        &stream,
                        &[],
                        Some(&page.cursor),
                        self.status.now(),
                    )
                    .await?;
            }
            for (i, chunk) in chunks.into_iter().enumerate() {
                let next = (i == last).then_some(page.cursor.as_str());
                self.store_chunk(&stream, chunk, next, cancel, &mut report)
                    .await?;
                self.status.set(
                    SyncState::Syncing {
                        done: report.conversations,
                        total: total.map(|t| t.max(report.conversations)),
                    },
                    format!("synced {} conversations", report.conversations),
                );
            }
            report.pages += 1;
            let repeated = cursor.as_deref() == Some(page.cursor.as_str());
            cursor = Some(page.cursor);
            if page.end_of_stream || repeated {
                break;
            }
        }
        let now = self.status.now();
        let message = match self.feed.note() {
            Some(note) => format!("up to date · {note}"),
            None => "up to date".to_string(),
        };
        self.status.set(SyncState::Synced { at: now }, message);
        Ok(report)
    }

    /// Syncs until cancelled: incremental runs every `interval`, backing off after errors.
    pub async fn run(&self, cancel: &CancellationToken, interval: Duration) {
        let mut backoff = interval;
        loop {
            let mut pushed = false;
            let wait = match self.run_once(cancel).await {
                Ok(_) => {
                    backoff = interval;
                    pushed = true;
                    interval
                }
                Err(Error::Cancelled) => return,
                Err(Error::Feed(FeedError::RateLimited {
                    retry_after_secs, ..
                })) => Duration::from_secs(retry_after_secs.max(1)),
                Err(e) => {
                    tracing::warn!(account = %self.account_id, error = %e, "sync failed");
                    if !matches!(e, Error::Feed(_)) {
                        self.status
                            .set(SyncState::Error, format!("sync failed: {e}"));
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    backoff
                }
            };
            // After a failure the backoff holds even when the vendor pushes changes.
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
                _ = self.feed.changed(), if pushed => {}
            }
        }
    }

    /// Reads the given conversations again (a webhook said they changed) and stores them;
    /// the change stream's cursor does not move. A conversation the vendor deleted leaves
    /// the cache; one it cannot read is marked, and the others go on.
    pub async fn refresh(
        &self,
        external_ids: &[String],
        cancel: &CancellationToken,
    ) -> Result<SyncReport> {
        let stream = self.feed.stream().to_string();
        let found: Vec<Result<Option<Conversation>, FeedError>> = cancellable(
            cancel,
            futures::stream::iter(external_ids.to_vec())
                .map(|id| async move { self.feed.conversation(&id).await })
                .buffered(self.concurrency)
                .collect(),
        )
        .await?;
        let mut report = SyncReport::default();
        let (mut current, mut deleted, mut marks) = (vec![], vec![], vec![]);
        for (id, found) in external_ids.iter().zip(found) {
            match found {
                Ok(Some(c)) => current.push(c),
                Ok(None) => deleted.push(id.clone()),
                Err(FeedError::Unreadable { message }) => marks.push((id.clone(), message)),
                Err(e) => return Err(self.fail(e)),
            }
        }
        report.deleted += self
            .store
            .forget_conversations(&self.account_id, &deleted)
            .await? as u64;
        report.unreadable += marks.len() as u64;
        self.store
            .mark_sync_problems(&self.account_id, &marks)
            .await?;
        for chunk in current.chunks(self.chunk) {
            self.store_chunk(&stream, chunk.to_vec(), None, cancel, &mut report)
                .await?;
        }
        Ok(report)
    }

    /// Fetches what a chunk of conversations needs and commits it, with `next` as the
    /// stream's cursor when given.
    async fn store_chunk(
        &self,
        stream: &str,
        chunk: Vec<Conversation>,
        next: Option<&str>,
        cancel: &CancellationToken,
        report: &mut SyncReport,
    ) -> Result<()> {
        // Read here, not in `bundles`: a failure of the cache is the cache's, never
        // passed off as the vendor's.
        let ids: Vec<String> = chunk.iter().map(|c| c.external_id.clone()).collect();
        let states = self.store.transcript_states(&self.account_id, &ids).await?;
        let bundles = match cancellable(cancel, self.bundles(chunk, states)).await? {
            Ok(b) => b,
            Err(e) => return Err(self.fail(e)),
        };
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let stats = self
            .store
            .commit_page(&self.account_id, stream, &bundles, next, self.status.now())
            .await?;
        report.conversations += stats.conversations as u64;
        report.transcripts += bundles.iter().filter(|b| b.transcript.is_some()).count() as u64;
        report.unreadable += bundles
            .iter()
            .filter(|b| {
                b.problem.is_some() || b.transcript.as_ref().is_some_and(|t| t.problem.is_some())
            })
            .count() as u64;
        report.messages += stats.messages as u64;
        report.drafts += stats.drafts as u64;
        Ok(())
    }

    fn fail(&self, e: FeedError) -> Error {
        self.status.failed(&e);
        Error::Feed(e)
    }

    /// Fetches the transcripts a page needs: only conversations that want one and whose
    /// content changed since the stored transcript, each from its stored cursor.
    async fn bundles(
        &self,
        conversations: Vec<Conversation>,
        states: HashMap<String, TranscriptState>,
    ) -> Result<Vec<Bundle>, FeedError> {
        futures::stream::iter(conversations)
            .map(|conversation| {
                let state = states
                    .get(&conversation.external_id)
                    .cloned()
                    .unwrap_or_default();
                async move {
                    let stale = state.version.as_deref() != Some(conversation.version.as_str());
                    if !(conversation.wants_transcript && stale) {
                        return Ok(Bundle {
                            conversation,
                            transcript: None,
                            problem: None,
                        });
                    }
                    let (transcript, problem) = match self
                        .feed
                        .transcript(&conversation, state.cursor.as_deref())
                        .await
                    {
                        Ok(t) => (Some(t), None),
                        Err(FeedError::Unreadable { message }) => {
                            tracing::warn!(
                                account = %self.account_id,
                                conversation = %conversation.external_id,
                                problem = %message,
                                "transcript skipped"
                            );
                            (None, Some(message))
                        }
                        Err(e) => return Err(e),
                    };
                    Ok(Bundle {
                        conversation,
                        transcript,
                        problem,
                    })
                }
            })
            .buffered(self.concurrency)
            .try_collect()
            .await
    }
}

async fn cancellable<T>(cancel: &CancellationToken, f: impl Future<Output = T>) -> Result<T> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Error::Cancelled),
        v = f => Ok(v),
    }
}
