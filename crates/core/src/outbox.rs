//! Writes to a vendor, made durable first: a reply is a row in `outbox` before any
//! request leaves, and a worker delivers it. A crash at any step leaves a row that the
//! next run finishes, and a retry after a request that may have reached the vendor first
//! looks for the reply there, so nothing is lost and nothing is posted twice.

use crate::error::{Error, Result};
use crate::model::Millis;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::future::Future;

crate::model::string_enum!(
    /// Where a write is in its life.
    OutboxState {
        Queued => "queued", Sending => "sending", Sent => "sent",
        Failed => "failed", Conflict => "conflict", Cancelled => "cancelled",
    }
);

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
    })
}

impl Store {
    /// Records a reply to send. The same key twice is one reply (a double click, a retry
    /// of the command): the existing row is returned.
    pub async fn enqueue_reply(
        &self,
        account_id: &str,
        external_id: &str,
        draft_id: Option<i64>,
        key: &str,
        reply: &Reply,
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
        sqlx::query(
            "INSERT INTO outbox (account_id, conversation_id, external_id, draft_id, idempotency_key, kind,
                                 payload, state, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 'reply', ?, 'queued', ?, ?)
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(account_id)
        .bind(conversation)
        .bind(external_id)
        .bind(draft_id)
        .bind(key)
        .bind(serde_json::to_string(reply).expect("reply serializes"))
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await?;
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

    /// Items to deliver now for an account, oldest first: queued ones whose backoff has
    /// passed (1 s after the first failed attempt, doubling to a minute), and ones a
    /// crash left `sending`.
    pub async fn outbox_due(&self, account_id: &str, now: Millis) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE account_id = ? AND (state = 'sending' OR (state = 'queued' AND
                 (attempts = 0 OR updated_at + MIN(60000, 1000 * (1 << MIN(attempts - 1, 6))) <= ?)))
             ORDER BY id",
        )
        .bind(account_id)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(item).collect()
    }

    /// The rep decided not to send a reply that could not go out as it was.
    pub async fn outbox_cancel(&self, key: &str, now: Millis) -> Result<OutboxItem> {
        let it = self.outbox_item(key).await?;
        if !matches!(
            it.state,
            OutboxState::Failed | OutboxState::Conflict | OutboxState::Queued
        ) {
            return Err(Error::Invalid(format!(
                "the reply is {}: too late to cancel",
                it.state
            )));
        }
        self.outbox_set(
            it.id,
            OutboxState::Cancelled,
            it.last_error.as_deref(),
            false,
            now,
        )
        .await?;
        self.outbox_item(key).await
    }

    pub async fn outbox(&self) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query("SELECT * FROM outbox ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(item).collect()
    }

    async fn outbox_set(
        &self,
        id: i64,
        state: OutboxState,
        error: Option<&str>,
        attempt: bool,
        now: Millis,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = ?, last_error = ?, attempts = attempts + ?, updated_at = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(error)
        .bind(i64::from(attempt))
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sends a failed or conflicting item again (the rep chose to), with a fresh stamp.
    pub async fn outbox_retry(
        &self,
        key: &str,
        updated_stamp: Option<String>,
        now: Millis,
    ) -> Result<OutboxItem> {
        let mut it = self.outbox_item(key).await?;
        if !matches!(it.state, OutboxState::Failed | OutboxState::Conflict) {
            return Err(Error::Invalid(format!(
                "the reply is {}, not failed",
                it.state
            )));
        }
        it.reply.updated_stamp = updated_stamp;
        sqlx::query("UPDATE outbox SET state = 'queued', payload = ?, updated_at = ? WHERE id = ?")
            .bind(serde_json::to_string(&it.reply).expect("reply serializes"))
            .bind(now)
            .bind(it.id)
            .execute(self.pool())
            .await?;
        self.outbox_item(key).await
    }
}

/// How a vendor delivers replies.
pub trait Poster: Send + Sync {
    /// Posts the reply. `Ok` only when the vendor confirmed it.
    fn post(&self, item: &OutboxItem) -> impl Future<Output = Result<(), PostError>> + Send;
    /// Whether the vendor already has this reply (an earlier attempt reached it).
    fn already_posted(
        &self,
        item: &OutboxItem,
    ) -> impl Future<Output = Result<bool, PostError>> + Send;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PostError {
    /// The conversation changed since the rep read it; the message says how.
    #[error("the ticket changed since you read it: {0}")]
    Conflict(String),
    /// Worth retrying later (offline, rate-limited, 5xx, a timeout).
    #[error("{0}")]
    Transient(String),
    /// Will not succeed as it is (refused, not found).
    #[error("{0}")]
    Rejected(String),
}

/// Delivers one item: marked `sending` (and the attempt counted) before the request, so
/// a crash during it is known; after an attempt that may have reached the vendor, the
/// vendor is asked first, so a retry never posts twice.
pub async fn deliver<P: Poster>(
    store: &Store,
    poster: &P,
    it: &OutboxItem,
    now: Millis,
) -> Result<OutboxState> {
    let maybe_sent_before = it.state == OutboxState::Sending || it.attempts > 0;
    store
        .outbox_set(
            it.id,
            OutboxState::Sending,
            it.last_error.as_deref(),
            true,
            now,
        )
        .await?;
    crate::crash::point("sending");
    if maybe_sent_before {
        match poster.already_posted(it).await {
            Ok(true) => {
                store
                    .outbox_set(it.id, OutboxState::Sent, None, false, now)
                    .await?;
                return Ok(OutboxState::Sent);
            }
            Ok(false) => {}
            Err(e) => {
                store
                    .outbox_set(it.id, OutboxState::Queued, Some(&e.to_string()), false, now)
                    .await?;
                return Ok(OutboxState::Queued);
            }
        }
    }
    let result = poster.post(it).await;
    crate::crash::point("posted");
    let (state, error) = match result {
        Ok(()) => (OutboxState::Sent, None),
        Err(PostError::Conflict(m)) => (OutboxState::Conflict, Some(m)),
        Err(PostError::Transient(m)) => (OutboxState::Queued, Some(m)),
        Err(PostError::Rejected(m)) => (OutboxState::Failed, Some(m)),
    };
    store
        .outbox_set(it.id, state, error.as_deref(), false, now)
        .await?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AccountRecord;
    use std::sync::Mutex;

    /// A vendor in memory: what it holds, and how its next answers go.
    #[derive(Default)]
    struct Vendor {
        posted: Mutex<Vec<Reply>>,
        /// Answer each `post` with these, in order, then Ok.
        answers: Mutex<Vec<PostError>>,
        /// The request reaches the vendor, but the answer is lost (a timeout).
        lose_answer_once: Mutex<bool>,
    }

    impl Poster for Vendor {
        async fn post(&self, it: &OutboxItem) -> Result<(), PostError> {
            if let Some(e) = self.answers.lock().unwrap().pop() {
                return Err(e);
            }
            self.posted.lock().unwrap().push(it.reply.clone());
            if std::mem::take(&mut *self.lose_answer_once.lock().unwrap()) {
                return Err(PostError::Transient("timed out".into()));
            }
            Ok(())
        }
        async fn already_posted(&self, it: &OutboxItem) -> Result<bool, PostError> {
            Ok(self
                .posted
                .lock()
                .unwrap()
                .iter()
                .any(|r| r.body == it.reply.body))
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

    fn reply(body: &str) -> Reply {
        Reply {
            body: body.into(),
            public: true,
            author_id: Some("7".into()),
            updated_stamp: None,
        }
    }

    #[tokio::test]
    async fn the_same_key_is_one_reply() {
        let (_d, s) = store().await;
        let a = s
            .enqueue_reply("acme", "12", None, "k1", &reply("Hi"), 1)
            .await
            .unwrap();
        let b = s
            .enqueue_reply("acme", "12", None, "k1", &reply("Hi"), 2)
            .await
            .unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(s.outbox().await.unwrap().len(), 1);
        assert!(s
            .enqueue_reply("acme", "12", None, "k2", &reply("  "), 1)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_crash_at_any_step_ends_in_exactly_one_post() {
        // After the row is written: the next run posts it.
        let (_d, s) = store().await;
        let v = Vendor::default();
        let it = s
            .enqueue_reply("acme", "12", None, "a", &reply("one"), 1)
            .await
            .unwrap();
        let due = s.outbox_due("acme", LATER).await.unwrap();
        assert_eq!(due[0].id, it.id);
        assert_eq!(
            deliver(&s, &v, &due[0], 2).await.unwrap(),
            OutboxState::Sent
        );
        assert_eq!(v.posted.lock().unwrap().len(), 1);
        assert!(s.outbox_due("acme", LATER).await.unwrap().is_empty());

        // During the request, or after the response but before it was marked sent: the
        // row says `sending`; the next run finds the reply at the vendor and posts nothing.
        let (_d, s) = store().await;
        let v = Vendor::default();
        s.enqueue_reply("acme", "12", None, "b", &reply("two"), 1)
            .await
            .unwrap();
        let it = s.outbox_due("acme", LATER).await.unwrap().remove(0);
        s.outbox_set(it.id, OutboxState::Sending, None, true, 2)
            .await
            .unwrap(); // crashed here…
        v.posted.lock().unwrap().push(it.reply.clone()); // …after the vendor got it
        let again = s.outbox_due("acme", LATER).await.unwrap().remove(0);
        assert_eq!(deliver(&s, &v, &again, 3).await.unwrap(), OutboxState::Sent);
        assert_eq!(v.posted.lock().unwrap().len(), 1, "not posted twice");

        // …or before the vendor got it: the next run posts it, once.
        let (_d, s) = store().await;
        let v = Vendor::default();
        s.enqueue_reply("acme", "12", None, "c", &reply("three"), 1)
            .await
            .unwrap();
        let it = s.outbox_due("acme", LATER).await.unwrap().remove(0);
        s.outbox_set(it.id, OutboxState::Sending, None, true, 2)
            .await
            .unwrap();
        let again = s.outbox_due("acme", LATER).await.unwrap().remove(0);
        assert_eq!(deliver(&s, &v, &again, 3).await.unwrap(), OutboxState::Sent);
        assert_eq!(v.posted.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_timeout_after_the_vendor_got_it_is_not_posted_again() {
        let (_d, s) = store().await;
        let v = Vendor {
            lose_answer_once: Mutex::new(true),
            ..Default::default()
        };
        s.enqueue_reply("acme", "12", None, "t", &reply("hello"), 1)
            .await
            .unwrap();
        let it = s.outbox_due("acme", LATER).await.unwrap().remove(0);
        assert_eq!(
            deliver(&s, &v, &it, 2).await.unwrap(),
            OutboxState::Queued,
            "retried later"
        );
        let it = s.outbox_due("acme", LATER).await.unwrap().remove(0);
        assert_eq!(it.last_error.as_deref(), Some("timed out"));
        assert_eq!(deliver(&s, &v, &it, 3).await.unwrap(), OutboxState::Sent);
        assert_eq!(v.posted.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn conflicts_and_refusals_wait_for_the_rep() {
        let (_d, s) = store().await;
        let v = Vendor::default();
        v.answers
            .lock()
            .unwrap()
            .push(PostError::Conflict("a customer wrote again".into()));
        s.enqueue_reply("acme", "12", None, "x", &reply("r"), 1)
            .await
            .unwrap();
        let it = s.outbox_due("acme", LATER).await.unwrap().remove(0);
        assert_eq!(
            deliver(&s, &v, &it, 2).await.unwrap(),
            OutboxState::Conflict
        );
        assert!(
            s.outbox_due("acme", LATER).await.unwrap().is_empty(),
            "not retried by itself"
        );
        let again = s
            .outbox_retry("x", Some("2026-11-22T10:00:00Z".into()), 3)
            .await
            .unwrap();
        assert_eq!(
            again.reply.updated_stamp.as_deref(),
            Some("2026-11-22T10:00:00Z")
        );
        assert_eq!(deliver(&s, &v, &again, 4).await.unwrap(), OutboxState::Sent);
        assert!(
            s.outbox_retry("x", None, 5).await.is_err(),
            "a sent reply is not re-sent"
        );
    }
}
