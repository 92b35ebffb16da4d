//! Writes to a vendor, made durable first: a reply is a row in `outbox` before any
//! request leaves, and a deliverer that has *claimed* the row sends it. The app, `baton
//! sync`, `baton draft` and a relay may all deliver over one outbox at once, so nothing
//! here assumes a row is its own: a claim is one conditional UPDATE with a lease, every
//! later transition is conditional on the claim still being held, and a retry after a
//! request that may have reached the vendor first looks for the reply there. So a reply
//! is never lost and never posted twice, across crashes, timeouts and processes.

use crate::error::{Error, Result};
use crate::model::Millis;
use crate::store::Store;
use crate::sync::Clock;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::future::Future;
use std::sync::OnceLock;

crate::model::string_enum!(
    /// Where a write is in its life.
    OutboxState {
        Queued => "queued", Sending => "sending", Sent => "sent",
        Failed => "failed", Conflict => "conflict", Cancelled => "cancelled",
    }
);

/// How long a claim holds. It must outlive everything a deliverer does between renewing
/// it and finishing: one request (the HTTP client's 60 s timeout plus its 10 s connect)
/// and the reads that explain a conflict. Taking a row over sooner could post twice.
pub const LEASE_MS: Millis = 180_000;

/// How far the vendor's clock may be behind ours when "did it already post?" looks for
/// comments made after the first attempt.
pub const CLOCK_SKEW_MS: Millis = 60_000;

/// A public reply (or internal note) to post on a conversation. `public` is always
/// stated: a reply is never made public, or kept internal, by a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub body: String,
    pub public: bool,
    /// The rep, as the vendor knows them.
    pub author_id: Option<String>,
    /// The conversation's version the rep saw; the vendor refuses the write if it moved.
    pub updated_stamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub account_id: String,
    pub external_id: String,
    pub draft_id: Option<i64>,
    pub idempotency_key: String,
    pub reply: Reply,
    pub state: OutboxState,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Millis,
    /// When the first request for it left (none yet: never tried).
    pub first_attempt_at: Option<Millis>,
    /// A request may have reached the vendor without a definite answer.
    pub maybe_posted: bool,
}

fn item(r: &SqliteRow) -> Result<OutboxItem> {
    let state: String = r.get("state");
    let payload: String = r.get("payload");
    Ok(OutboxItem {
        id: r.get("id"),
        account_id: r.get("account_id"),
        external_id: r
            .get::<Option<String>, _>("external_id")
            .unwrap_or_default(),
        draft_id: r.get("draft_id"),
        idempotency_key: r.get("idempotency_key"),
        reply: serde_json::from_str(&payload)
            .map_err(|e| Error::Database(format!("outbox payload: {e}")))?,
        state: OutboxState::parse(&state)
            .ok_or_else(|| Error::Database(format!("outbox state {state:?}")))?,
        attempts: r.get("attempts"),
        last_error: r.get("last_error"),
        created_at: r.get("created_at"),
        first_attempt_at: r.get("first_attempt_at"),
        maybe_posted: r.get("maybe_posted"),
    })
}

/// Who delivers: this process, as `"pid:start"`. The pid tells whether a claimant still
/// runs (one database file is only ever shared on one machine); the start time keeps
/// two processes that had the same pid from holding one claim.
pub fn this_process() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| {
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{}:{start}", std::process::id())
    })
}

/// Whether the process behind a claim is gone for certain. Unknown counts as running, and
/// so does a reused pid: such a claim lapses with its lease.
fn claimant_is_gone(owner: &str) -> bool {
    if owner == this_process() {
        return false;
    }
    let Some(pid) = owner.split(':').next().and_then(|p| p.parse::<i32>().ok()) else {
        return false;
    };
    process_is_gone(pid)
}

#[cfg(unix)]
fn process_is_gone(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // Signal 0 checks only that the process exists.
    // SAFETY: kill with signal 0 sends nothing and touches no memory.
    let r = unsafe { libc::kill(pid, 0) };
    r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_is_gone(_pid: i32) -> bool {
    false
}

/// Rows due for delivery now (SQL over `?1`, the time): queued ones whose backoff has passed (1 s after the first
/// failed attempt, doubling to a minute; at least `SETTLE_MS` after an attempt that may
/// have reached the vendor, so a write it was still committing shows up before Baton
/// looks for it), and `sending` ones whose claim has lapsed.
fn due() -> String {
    format!(
        "(state = 'queued' AND (attempts = 0 OR updated_at
            + MAX(MIN(60000, 1000 * (1 << MIN(attempts - 1, 6))), CASE WHEN maybe_posted THEN {SETTLE_MS} ELSE 0 END) <= ?1))
         OR (state = 'sending' AND (lease_until IS NULL OR lease_until <= ?1))"
    )
}

/// How long after an attempt that may have reached the vendor Baton waits before looking
/// for it there.
pub const SETTLE_MS: Millis = 10_000;

/// What a claim sets: the owner, the lease, the attempt counted.
const CLAIM: &str = "UPDATE outbox SET state = 'sending', claimed_by = ?2, lease_until = ?1 + ?3,
        attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ?1),
        updated_at = ?1";

impl Store {
    /// Records a reply to send. The same key twice is one reply (a double click, a retry
    /// of the command): the existing row is returned. A `held` reply starts as a conflict
    /// with that message: it waits for the rep's "send anyway" or "don't send".
    #[allow(clippy::too_many_arguments)]
    pub async fn enqueue_reply(
        &self,
        account_id: &str,
        external_id: &str,
        draft_id: Option<i64>,
        key: &str,
        reply: &Reply,
        held: Option<&str>,
        now: Millis,
    ) -> Result<OutboxItem> {
        if reply.body.trim().is_empty() {
            return Err(Error::Invalid("a reply needs text".into()));
        }
        let conversation: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE account_id = ? AND external_id = ?",
        )
        .bind(account_id)
        .bind(external_id)
        .fetch_optional(self.pool())
        .await?;
        let state = if held.is_some() {
            OutboxState::Conflict
        } else {
            OutboxState::Queued
        };
        let inserted = sqlx::query(
            "INSERT INTO outbox (account_id, conversation_id, external_id, draft_id, idempotency_key, kind,
                                 payload, state, last_error, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 'reply', ?, ?, ?, ?, ?)
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(account_id)
        .bind(conversation)
        .bind(external_id)
        .bind(draft_id)
        .bind(key)
        .bind(serde_json::to_string(reply).expect("reply serializes"))
        .bind(state.as_str())
        .bind(held)
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        if inserted > 0 {
            self.announce(crate::store::Change::Outbox);
        }
        self.outbox_item(key).await
    }

    pub async fn outbox_item(&self, key: &str) -> Result<OutboxItem> {
        let r = sqlx::query("SELECT * FROM outbox WHERE idempotency_key = ?")
            .bind(key)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::NotFound(format!("no outbox item {key:?}")))?;
        item(&r)
    }

    /// Items due for an account now, oldest first, without claiming them (what a
    /// deliverer would take). Claims of deliverers that are gone are let go first.
    pub async fn outbox_due(&self, account_id: &str, now: Millis) -> Result<Vec<OutboxItem>> {
        self.release_gone_claims(Some(account_id)).await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM outbox WHERE account_id = ?2 AND ({due}) ORDER BY id",
            due = due()
        ))
        .bind(now)
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(item).collect()
    }

    /// Lets go of the claims of deliverers that are gone (a crash, a kill), so their rows
    /// are due at once instead of after the lease.
    async fn release_gone_claims(&self, account_id: Option<&str>) -> Result<()> {
        let held: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, claimed_by FROM outbox WHERE state = 'sending' AND claimed_by IS NOT NULL
               AND (?1 IS NULL OR account_id = ?1)",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?;
        for (id, owner) in held {
            if claimant_is_gone(&owner) {
                tracing::info!(
                    outbox_id = id,
                    owner,
                    "taking over a reply whose deliverer is gone"
                );
                sqlx::query(
                    "UPDATE outbox SET lease_until = NULL WHERE id = ? AND state = 'sending' AND claimed_by = ?",
                )
                .bind(id)
                .bind(&owner)
                .execute(self.pool())
                .await?;
            }
        }
        Ok(())
    }

    /// Claims the oldest due item of an account after `after_id` for `owner`, or none if
    /// nothing is due. One statement: of two deliverers asking at once, one gets it.
    pub async fn outbox_claim_next(
        &self,
        account_id: &str,
        owner: &str,
        after_id: i64,
        now: Millis,
    ) -> Result<Option<OutboxItem>> {
        self.release_gone_claims(Some(account_id)).await?;
        let r = sqlx::query(&format!(
            "{CLAIM} WHERE id = (SELECT id FROM outbox WHERE account_id = ?4 AND id > ?5 AND ({due}) ORDER BY id LIMIT 1)
               AND ({due})
             RETURNING *",
            due = due()
        ))
        .bind(now)
        .bind(owner)
        .bind(LEASE_MS)
        .bind(account_id)
        .bind(after_id)
        .fetch_optional(self.pool())
        .await?;
        r.as_ref().map(item).transpose()
    }

    /// Claims one item now, whatever its backoff (the rep is waiting on it): if it is
    /// queued, or `sending` under a lapsed claim. None if it is not there to take: sent,
    /// cancelled, waiting for the rep, or being sent by another deliverer.
    pub async fn outbox_claim(
        &self,
        key: &str,
        owner: &str,
        now: Millis,
    ) -> Result<Option<OutboxItem>> {
        self.release_gone_claims(None).await?;
        let r = sqlx::query(&format!(
            "{CLAIM} WHERE idempotency_key = ?4
               AND (state = 'queued' OR (state = 'sending' AND (lease_until IS NULL OR lease_until <= ?1)))
             RETURNING *"
        ))
        .bind(now)
        .bind(owner)
        .bind(LEASE_MS)
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        r.as_ref().map(item).transpose()
    }

    /// Ends a claim with the outcome. False if the claim was no longer ours, in which
    /// case nothing is written: the row belongs to whoever holds it now.
    async fn outbox_finish(
        &self,
        id: i64,
        owner: &str,
        state: OutboxState,
        error: Option<&str>,
        maybe_posted: bool,
        now: Millis,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE outbox SET state = ?, last_error = ?, maybe_posted = ?, claimed_by = NULL,
                    lease_until = NULL, updated_at = ?
             WHERE id = ? AND state = 'sending' AND claimed_by = ?",
        )
        .bind(state.as_str())
        .bind(error)
        .bind(maybe_posted)
        .bind(now)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?
        .rows_affected();
        if n == 1 {
            self.announce(crate::store::Change::Outbox);
        }
        Ok(n == 1)
    }

    /// The rep decided not to send a reply that could not go out as it was. Only from a
    /// state no deliverer holds, and never once a request for it may have reached the
    /// vendor: "cancelled" must mean the customer did not get it.
    pub async fn outbox_cancel(&self, key: &str, now: Millis) -> Result<OutboxItem> {
        let n = sqlx::query(
            "UPDATE outbox SET state = 'cancelled', updated_at = ?
             WHERE idempotency_key = ? AND (state IN ('failed', 'conflict') OR (state = 'queued' AND NOT maybe_posted))",
        )
        .bind(now)
        .bind(key)
        .execute(self.pool())
        .await?
        .rows_affected();
        let it = self.outbox_item(key).await?;
        if n == 0 {
            return Err(Error::Invalid(
                if it.maybe_posted && it.state == OutboxState::Queued {
                    "too late to cancel: an earlier attempt may have reached the customer; Baton checks before it sends again, so it will not go twice".into()
                } else {
                    format!("the reply is {}: too late to cancel", it.state)
                },
            ));
        }
        self.announce(crate::store::Change::Outbox);
        Ok(it)
    }

    pub async fn outbox(&self) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query("SELECT * FROM outbox ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(item).collect()
    }

    /// Puts a failed or conflicting item back in line (the rep chose to send it), with
    /// the stamp it should carry now (none: "send anyway", whatever changed).
    pub async fn outbox_retry(
        &self,
        key: &str,
        updated_stamp: Option<String>,
        now: Millis,
    ) -> Result<OutboxItem> {
        let mut it = self.outbox_item(key).await?;
        it.reply.updated_stamp = updated_stamp;
        let n = sqlx::query(
            "UPDATE outbox SET state = 'queued', payload = ?, updated_at = ?
             WHERE id = ? AND state IN ('failed', 'conflict')",
        )
        .bind(serde_json::to_string(&it.reply).expect("reply serializes"))
        .bind(now)
        .bind(it.id)
        .execute(self.pool())
        .await?
        .rows_affected();
        if n == 0 {
            let now_state = self.outbox_item(key).await?.state;
            return Err(Error::Invalid(format!(
                "the reply is {now_state}, not failed"
            )));
        }
        self.announce(crate::store::Change::Outbox);
        self.outbox_item(key).await
    }
}

/// How a vendor delivers replies.
pub trait Poster: Send + Sync {
    /// Posts the reply. `Ok` only when the vendor confirmed it.
    fn post(&self, item: &OutboxItem) -> impl Future<Output = Result<(), PostError>> + Send;
    /// Whether the vendor already has this reply from an earlier attempt: only a comment
    /// by the reply's author, with its text, made since `since` (the first attempt, less
    /// the clock skew allowed) counts.
    fn already_posted(
        &self,
        item: &OutboxItem,
        since: Millis,
    ) -> impl Future<Output = Result<bool, PostError>> + Send;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PostError {
    /// The conversation changed since the rep read it; the message says how.
    #[error("the ticket changed since you read it: {0}")]
    Conflict(String),
    /// Worth retrying later; the vendor may have acted on it (a timeout, a 500, a
    /// connection broken mid-request), so the next attempt looks first.
    #[error("{0}")]
    Transient(String),
    /// Worth retrying later; the vendor certainly did not act on it (no connection, a
    /// rate limit, maintenance), so it can still be cancelled.
    #[error("{0}")]
    NotSent(String),
    /// Will not succeed as it is (refused, not found).
    #[error("{0}")]
    Rejected(String),
}

/// Delivers one item that `owner` has claimed. Before a request the claim is renewed (so
/// it outlives the request); if an earlier attempt may have reached the vendor, the vendor
/// is asked first, so a retry never posts twice. Returns where the item is now; if the
/// claim was lost on the way, nothing is written and the row's current state is returned.
pub async fn deliver<P: Poster>(
    store: &Store,
    poster: &P,
    it: &OutboxItem,
    owner: &str,
    clock: &dyn Clock,
) -> Result<OutboxState> {
    crate::crash::point("sending");
    if it.maybe_posted {
        let since = it.first_attempt_at.unwrap_or(it.created_at) - CLOCK_SKEW_MS;
        match poster.already_posted(it, since).await {
            Ok(true) => {
                store
                    .outbox_finish(it.id, owner, OutboxState::Sent, None, false, clock.now())
                    .await?;
                return Ok(store.outbox_item(&it.idempotency_key).await?.state);
            }
            Ok(false) => {}
            Err(e) => {
                store
                    .outbox_finish(
                        it.id,
                        owner,
                        OutboxState::Queued,
                        Some(&e.to_string()),
                        true,
                        clock.now(),
                    )
                    .await?;
                return Ok(store.outbox_item(&it.idempotency_key).await?.state);
            }
        }
    }
    // From here the request may reach the vendor: that is recorded (durably: the store
    // syncs every commit) before it leaves, and the claim is renewed to outlive it.
    let marked = sqlx::query(
        "UPDATE outbox SET maybe_posted = 1, lease_until = ? WHERE id = ? AND state = 'sending' AND claimed_by = ?",
    )
    .bind(clock.now() + LEASE_MS)
    .bind(it.id)
    .bind(owner)
    .execute(store.pool())
    .await?
    .rows_affected();
    if marked == 0 {
        tracing::warn!(
            outbox_id = it.id,
            "lost the claim on a reply before sending it"
        );
        return Ok(store.outbox_item(&it.idempotency_key).await?.state);
    }
    let result = poster.post(it).await;
    crate::crash::point("posted");
    // A definite refusal means nothing was posted; only an unknown outcome may have been.
    let (state, error, maybe_posted) = match result {
        Ok(()) => (OutboxState::Sent, None, false),
        Err(PostError::Conflict(m)) => (OutboxState::Conflict, Some(m), false),
        Err(PostError::Transient(m)) => (OutboxState::Queued, Some(m), true),
        Err(PostError::NotSent(m)) => (OutboxState::Queued, Some(m), false),
        Err(PostError::Rejected(m)) => (OutboxState::Failed, Some(m), false),
    };
    if !store
        .outbox_finish(
            it.id,
            owner,
            state,
            error.as_deref(),
            maybe_posted,
            clock.now(),
        )
        .await?
    {
        tracing::warn!(
            outbox_id = it.id,
            "a reply's claim lapsed while it was being sent"
        );
    }
    Ok(store.outbox_item(&it.idempotency_key).await?.state)
}

/// Claims and delivers, one at a time, everything due for an account; returns how many
/// went out.
pub async fn deliver_due<P: Poster>(
    store: &Store,
    poster: &P,
    account_id: &str,
    owner: &str,
    clock: &dyn Clock,
) -> Result<usize> {
    // One pass in id order: a row that fails goes to the back of its backoff, and a slow
    // vendor cannot keep this call going round for ever.
    let (mut sent, mut after) = (0, 0);
    while let Some(it) = store
        .outbox_claim_next(account_id, owner, after, clock.now())
        .await?
    {
        after = it.id;
        if deliver(store, poster, &it, owner, clock).await? == OutboxState::Sent {
            sent += 1;
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AccountRecord;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Mutex;

    /// A clock the test moves.
    #[derive(Default)]
    struct TestClock(AtomicI64);
    impl Clock for TestClock {
        fn now(&self) -> Millis {
            self.0.load(Ordering::SeqCst)
        }
    }
    impl TestClock {
        fn at(t: Millis) -> Self {
            Self(AtomicI64::new(t))
        }
        fn set(&self, t: Millis) {
            self.0.store(t, Ordering::SeqCst)
        }
    }

    /// A vendor in memory: what it holds (reply, when), and how its next answers go.
    #[derive(Default)]
    struct Vendor {
        posted: Mutex<Vec<(Reply, Millis)>>,
        /// Answer each `post` with these, in order, then Ok.
        answers: Mutex<Vec<PostError>>,
        /// The request reaches the vendor, but the answer is lost (a timeout).
        lose_answer_once: Mutex<bool>,
        /// The vendor's clock.
        now: AtomicI64,
        looked: AtomicI64,
    }

    impl Poster for Vendor {
        async fn post(&self, it: &OutboxItem) -> Result<(), PostError> {
            if let Some(e) = self.answers.lock().unwrap().pop() {
                return Err(e);
            }
            let now = self.now.load(Ordering::SeqCst);
            self.posted.lock().unwrap().push((it.reply.clone(), now));
            if std::mem::take(&mut *self.lose_answer_once.lock().unwrap()) {
                return Err(PostError::Transient("timed out".into()));
            }
            Ok(())
        }
        async fn already_posted(&self, it: &OutboxItem, since: Millis) -> Result<bool, PostError> {
            self.looked.fetch_add(1, Ordering::SeqCst);
            Ok(self.posted.lock().unwrap().iter().any(|(r, at)| {
                r.body == it.reply.body && r.author_id == it.reply.author_id && *at >= since
            }))
        }
    }

    impl Vendor {
        fn count(&self) -> usize {
            self.posted.lock().unwrap().len()
        }
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("o.db")).await.unwrap();
        store
            .add_account(&AccountRecord::zendesk("acme", "http://127.0.0.1:1", None))
            .await
            .unwrap();
        (dir, store)
    }

    /// Well after any backoff.
    const LATER: Millis = 10_000_000;
    const ME: &str = "1:1";
    const OTHER: &str = "2:2";

    fn reply(body: &str) -> Reply {
        Reply {
            body: body.into(),
            public: true,
            author_id: Some("7".into()),
            updated_stamp: None,
        }
    }

    async fn enqueue(s: &Store, key: &str, body: &str) -> OutboxItem {
        s.enqueue_reply("acme", "12", None, key, &reply(body), None, 1)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_same_key_is_one_reply() {
        let (_d, s) = store().await;
        let a = enqueue(&s, "k1", "Hi").await;
        let b = enqueue(&s, "k1", "Hi").await;
        assert_eq!(a.id, b.id);
        assert_eq!(s.outbox().await.unwrap().len(), 1);
        assert!(s
            .enqueue_reply("acme", "12", None, "k2", &reply("  "), None, 1)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn one_claim_per_row_until_its_lease_lapses() {
        let (_d, s) = store().await;
        enqueue(&s, "a", "one").await;
        let mine = s.outbox_claim_next("acme", ME, 0, LATER).await.unwrap();
        assert!(mine.is_some());
        assert!(
            s.outbox_claim_next("acme", OTHER, 0, LATER)
                .await
                .unwrap()
                .is_none(),
            "a claimed row is not due to anyone else"
        );
        assert!(s.outbox_claim("a", OTHER, LATER).await.unwrap().is_none());
        assert!(s
            .outbox_claim("a", OTHER, LATER + LEASE_MS - 1)
            .await
            .unwrap()
            .is_none());
        // The claimant is gone for good (its lease lapsed): the row is taken over.
        let taken = s
            .outbox_claim_next("acme", OTHER, 0, LATER + LEASE_MS)
            .await
            .unwrap()
            .expect("due after the lease");
        assert_eq!(taken.attempts, 2);
        // The first claimant comes back late: its outcome is not written.
        assert!(!s
            .outbox_finish(taken.id, ME, OutboxState::Conflict, Some("x"), false, LATER)
            .await
            .unwrap());
        assert_eq!(
            s.outbox_item("a").await.unwrap().state,
            OutboxState::Sending
        );
    }

    #[tokio::test]
    async fn a_claim_of_a_process_that_is_gone_is_taken_over_at_once() {
        let (_d, s) = store().await;
        enqueue(&s, "a", "one").await;
        // A pid that cannot be running: the kernel's limit is far below it.
        let gone = format!("{}:1", i32::MAX - 1);
        assert!(s
            .outbox_claim_next("acme", &gone, 0, LATER)
            .await
            .unwrap()
            .is_some());
        assert!(
            s.outbox_claim_next("acme", OTHER, 0, LATER + 1)
                .await
                .unwrap()
                .is_some(),
            "not left waiting for the lease"
        );
        // This process is running: its claim holds.
        enqueue(&s, "b", "two").await;
        assert!(s
            .outbox_claim_next("acme", this_process(), 0, LATER)
            .await
            .unwrap()
            .is_some());
        assert!(s
            .outbox_claim("b", OTHER, LATER + 1)
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn a_crash_at_any_step_ends_in_exactly_one_post() {
        let clock = TestClock::at(LATER);
        // After the row is written: the next run posts it.
        let (_d, s) = store().await;
        let v = Vendor::default();
        enqueue(&s, "a", "one").await;
        assert_eq!(deliver_due(&s, &v, "acme", ME, &clock).await.unwrap(), 1);
        assert_eq!(v.count(), 1);
        assert!(s.outbox_due("acme", LATER).await.unwrap().is_empty());

        // After the claim, before any request: nothing may have posted, so nothing is
        // looked up; the next deliverer (after the lease) posts it once.
        let (_d, s) = store().await;
        let v = Vendor::default();
        enqueue(&s, "b", "two").await;
        s.outbox_claim_next("acme", OTHER, 0, LATER).await.unwrap(); // crashed here
        clock.set(LATER + LEASE_MS);
        assert_eq!(deliver_due(&s, &v, "acme", ME, &clock).await.unwrap(), 1);
        assert_eq!(v.count(), 1);
        assert_eq!(v.looked.load(Ordering::SeqCst), 0);

        // After the request left (marked "may have posted"), whether or not the vendor got
        // it: the next deliverer looks first, and posts only if it is not there.
        for vendor_got_it in [true, false] {
            let (_d, s) = store().await;
            let v = Vendor::default();
            v.now.store(LATER, Ordering::SeqCst);
            enqueue(&s, "c", "three").await;
            clock.set(LATER);
            let it = s
                .outbox_claim_next("acme", OTHER, 0, LATER)
                .await
                .unwrap()
                .unwrap();
            sqlx::query("UPDATE outbox SET maybe_posted = 1 WHERE id = ?")
                .bind(it.id)
                .execute(s.pool())
                .await
                .unwrap(); // crashed after this mark…
            if vendor_got_it {
                v.posted.lock().unwrap().push((it.reply.clone(), LATER));
            }
            clock.set(LATER + LEASE_MS);
            assert_eq!(deliver_due(&s, &v, "acme", ME, &clock).await.unwrap(), 1);
            assert_eq!(v.count(), 1, "vendor got it first: {vendor_got_it}");
            assert_eq!(v.looked.load(Ordering::SeqCst), 1);
        }
    }

    #[tokio::test]
    async fn a_timeout_after_the_vendor_got_it_is_not_posted_again() {
        let clock = TestClock::at(LATER);
        let (_d, s) = store().await;
        let v = Vendor {
            lose_answer_once: Mutex::new(true),
            now: AtomicI64::new(LATER),
            ..Default::default()
        };
        enqueue(&s, "t", "hello").await;
        assert_eq!(deliver_due(&s, &v, "acme", ME, &clock).await.unwrap(), 0);
        let it = s.outbox_item("t").await.unwrap();
        assert_eq!(it.state, OutboxState::Queued, "retried later");
        assert!(it.maybe_posted);
        assert_eq!(it.last_error.as_deref(), Some("timed out"));
        clock.set(LATER * 2);
        assert_eq!(deliver_due(&s, &v, "acme", ME, &clock).await.unwrap(), 1);
        assert_eq!(v.count(), 1);
    }

    #[tokio::test]
    async fn an_identical_earlier_comment_is_not_taken_for_this_reply() {
        let clock = TestClock::at(LATER);
        let (_d, s) = store().await;
        let v = Vendor {
            lose_answer_once: Mutex::new(true),
            ..Default::default()
        };
        // The rep wrote "Thanks!" an hour before this reply's first attempt.
        v.posted
            .lock()
            .unwrap()
            .push((reply("Thanks!"), LATER - 3_600_000));
        // Another author wrote it just now.
        let mut theirs = reply("Thanks!");
        theirs.author_id = Some("99".into());
        v.posted.lock().unwrap().push((theirs, LATER));
        enqueue(&s, "t", "Thanks!").await;
        sqlx::query("UPDATE outbox SET maybe_posted = 1, first_attempt_at = ?")
            .bind(LATER)
            .execute(s.pool())
            .await
            .unwrap();
        v.now.store(LATER, Ordering::SeqCst);
        *v.lose_answer_once.lock().unwrap() = false;
        assert_eq!(deliver_due(&s, &v, "acme", ME, &clock).await.unwrap(), 1);
        assert_eq!(
            v.count(),
            3,
            "posted: neither earlier comment was this reply"
        );
    }

    #[tokio::test]
    async fn conflicts_and_refusals_wait_for_the_rep_and_send_anyway_really_sends() {
        let clock = TestClock::at(LATER);
        let (_d, s) = store().await;
        let v = Vendor::default();
        // The same text is already on the ticket, by the rep, from long ago.
        v.posted.lock().unwrap().push((reply("r"), 0));
        v.answers
            .lock()
            .unwrap()
            .push(PostError::Conflict("a customer wrote again".into()));
        enqueue(&s, "x", "r").await;
        assert_eq!(deliver_due(&s, &v, "acme", ME, &clock).await.unwrap(), 0);
        let it = s.outbox_item("x").await.unwrap();
        assert_eq!(it.state, OutboxState::Conflict);
        assert!(!it.maybe_posted, "a 409 is a definite no");
        assert!(
            s.outbox_due("acme", LATER * 2).await.unwrap().is_empty(),
            "not retried by itself"
        );
        let again = s.outbox_retry("x", None, LATER).await.unwrap();
        assert_eq!(again.reply.updated_stamp, None);
        let claimed = s.outbox_claim("x", ME, LATER).await.unwrap().unwrap();
        assert_eq!(
            deliver(&s, &v, &claimed, ME, &clock).await.unwrap(),
            OutboxState::Sent
        );
        assert_eq!(v.count(), 2, "sent, not mistaken for the old comment");
        assert_eq!(v.looked.load(Ordering::SeqCst), 0, "no look after a 409");
        assert!(
            s.outbox_retry("x", None, LATER).await.is_err(),
            "a sent reply is not re-sent"
        );
    }

    #[tokio::test]
    async fn a_cancel_wins_over_a_deliverer_holding_an_older_copy() {
        let clock = TestClock::at(LATER);
        let (_d, s) = store().await;
        let v = Vendor::default();
        v.answers
            .lock()
            .unwrap()
            .push(PostError::Conflict("changed".into()));
        enqueue(&s, "x", "r").await;
        deliver_due(&s, &v, "acme", ME, &clock).await.unwrap();
        // A deliverer read the row while it was queued…
        let stale = s.outbox_retry("x", None, LATER).await.unwrap();
        // …the rep cancels…
        let cancelled = s.outbox_cancel("x", LATER).await.unwrap();
        assert_eq!(cancelled.state, OutboxState::Cancelled);
        // …and the deliverer can neither claim it nor write over it.
        assert!(s.outbox_claim("x", ME, LATER).await.unwrap().is_none());
        assert!(!s
            .outbox_finish(stale.id, ME, OutboxState::Sent, None, false, LATER)
            .await
            .unwrap());
        assert_eq!(
            deliver(&s, &v, &stale, ME, &clock).await.unwrap(),
            OutboxState::Cancelled
        );
        assert_eq!(v.count(), 0, "a cancelled reply is never sent");
        assert!(s.outbox_cancel("x", LATER).await.is_err(), "once");
        // A reply being sent is too late to cancel.
        enqueue(&s, "y", "y").await;
        s.outbox_claim("y", ME, LATER).await.unwrap().unwrap();
        assert!(s.outbox_cancel("y", LATER).await.is_err());
    }

    /// A vendor that takes two minutes to time out on each write: longer than any backoff.
    struct Slow<'a>(&'a TestClock, AtomicI64);
    impl Poster for Slow<'_> {
        async fn post(&self, _: &OutboxItem) -> Result<(), PostError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.set(self.0.now() + 120_000);
            Err(PostError::Transient("timed out".into()))
        }
        async fn already_posted(&self, _: &OutboxItem, _: Millis) -> Result<bool, PostError> {
            Ok(false)
        }
    }

    #[tokio::test]
    async fn a_slow_vendor_cannot_keep_one_delivery_pass_going() {
        let clock = TestClock::at(LATER);
        let (_d, s) = store().await;
        enqueue(&s, "a", "one").await;
        enqueue(&s, "b", "two").await;
        let v = Slow(&clock, AtomicI64::new(0));
        let pass = deliver_due(&s, &v, "acme", ME, &clock);
        tokio::time::timeout(std::time::Duration::from_secs(10), pass)
            .await
            .expect("the pass ends")
            .unwrap();
        assert_eq!(v.1.load(Ordering::SeqCst), 2, "each row once per pass");
    }

    #[tokio::test]
    async fn a_reply_that_may_have_reached_the_customer_cannot_be_cancelled() {
        let clock = TestClock::at(LATER);
        let (_d, s) = store().await;
        let v = Vendor {
            answers: Mutex::new(vec![PostError::Transient("timed out".into())]),
            ..Default::default()
        };
        enqueue(&s, "t", "hello").await;
        deliver_due(&s, &v, "acme", ME, &clock).await.unwrap();
        let it = s.outbox_item("t").await.unwrap();
        assert_eq!((it.state, it.maybe_posted), (OutboxState::Queued, true));
        let e = s.outbox_cancel("t", LATER).await.unwrap_err().to_string();
        assert!(e.contains("may have reached"), "{e}");
        assert!(
            s.outbox_due("acme", LATER + SETTLE_MS - 1)
                .await
                .unwrap()
                .is_empty(),
            "not looked for before a write still in flight could show"
        );
        assert_eq!(
            s.outbox_due("acme", LATER + SETTLE_MS).await.unwrap().len(),
            1
        );
        // One the vendor certainly did not act on (no connection, a rate limit) can be.
        let v = Vendor {
            answers: Mutex::new(vec![PostError::NotSent("rate limited".into())]),
            ..Default::default()
        };
        enqueue(&s, "n", "not taken").await;
        deliver_due(&s, &v, "acme", ME, &clock).await.unwrap();
        let it = s.outbox_item("n").await.unwrap();
        assert_eq!((it.state, it.maybe_posted), (OutboxState::Queued, false));
        assert_eq!(
            s.outbox_cancel("n", LATER).await.unwrap().state,
            OutboxState::Cancelled
        );
        // And one that never left.
        enqueue(&s, "u", "unsent").await;
        assert_eq!(
            s.outbox_cancel("u", LATER).await.unwrap().state,
            OutboxState::Cancelled
        );
    }

    #[tokio::test]
    async fn a_held_reply_waits_for_the_rep() {
        let (_d, s) = store().await;
        let it = s
            .enqueue_reply(
                "acme",
                "12",
                None,
                "h",
                &reply("r"),
                Some("a newer draft"),
                1,
            )
            .await
            .unwrap();
        assert_eq!(it.state, OutboxState::Conflict);
        assert_eq!(it.last_error.as_deref(), Some("a newer draft"));
        assert!(s.outbox_claim("h", ME, LATER).await.unwrap().is_none());
        assert!(s.outbox_due("acme", LATER).await.unwrap().is_empty());
    }
}
