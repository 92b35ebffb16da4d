//! Writes to a vendor, made durable first: a reply is a row in `outbox` before any
//! request leaves, and a deliverer that has *claimed* the row sends it. The app, `baton
//! sync`, `baton draft` and a relay may all deliver over one outbox at once, so nothing
//! here assumes a row is its own: a claim is one conditional UPDATE with a lease, every
//! later transition is conditional on the claim still being held, and a retry after a
//! request that may have reached the vendor first looks for the reply there. So a reply
//! is never lost and never posted twice, across crashes, timeouts and processes.

use crate::error::Result;
use crate::model::Millis;
use crate::store::Store;
use crate::sync::Clock;
use serde::{Deserialize, Serialize};
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
pub(crate) fn claimant_is_gone(owner: &str) -> bool {
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

/// How long after an attempt that may have reached the vendor Baton waits before looking
/// for it there.
pub const SETTLE_MS: Millis = 10_000;

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
    if !store
        .outbox_mark_maybe_posted(it.id, owner, clock.now())
        .await?
    {
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
pub(crate) mod tests {
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

    pub(crate) async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("o.db")).await.unwrap();
        store
            .add_account(&AccountRecord::for_test("acme", "http://127.0.0.1:1", None))
            .await
            .unwrap();
        (dir, store)
    }

    /// Well after any backoff.
    pub(crate) const LATER: Millis = 10_000_000;
    pub(crate) const ME: &str = "1:1";
    pub(crate) const OTHER: &str = "2:2";

    pub(crate) fn reply(body: &str) -> Reply {
        Reply {
            body: body.into(),
            public: true,
            author_id: Some("7".into()),
            updated_stamp: None,
        }
    }

    pub(crate) async fn enqueue(s: &Store, key: &str, body: &str) -> OutboxItem {
        s.enqueue_reply("acme", "12", None, key, &reply(body), None, 1)
            .await
            .unwrap()
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
            assert!(s
                .outbox_mark_maybe_posted(it.id, OTHER, LATER)
                .await
                .unwrap());
            // …crashed here, after the mark.
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
            answers: Mutex::new(vec![PostError::Transient("timed out".into())]),
            now: AtomicI64::new(LATER),
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
        // The first attempt times out, so the next one looks at the vendor first.
        assert_eq!(deliver_due(&s, &v, "acme", ME, &clock).await.unwrap(), 0);
        clock.set(LATER + SETTLE_MS);
        assert_eq!(deliver_due(&s, &v, "acme", ME, &clock).await.unwrap(), 1);
        assert_eq!(v.looked.load(Ordering::SeqCst), 1);
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
}
