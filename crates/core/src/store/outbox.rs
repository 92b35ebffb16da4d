//! The `outbox` table: replies recorded before any request leaves, and the claims
//! deliverers hold on them. Why every transition is conditional on the claim is told in
//! `crate::outbox`, which drives these steps.

use super::{Change, Store};
use crate::error::{Error, Result};
use crate::model::Millis;
use crate::outbox::{claimant_is_gone, OutboxItem, OutboxState, Reply, LEASE_MS, SETTLE_MS};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

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

/// Rows due for delivery now (SQL over `?1`, the time): queued ones whose backoff has
/// passed (1 s after the first failed attempt, doubling to a minute; at least `SETTLE_MS`
/// after an attempt that may have reached the vendor, so a write it was still committing
/// shows up before Baton looks for it), and `sending` ones whose claim has lapsed.
fn due() -> String {
    format!(
        "(state = 'queued' AND (attempts = 0 OR updated_at
            + MAX(MIN(60000, 1000 * (1 << MIN(attempts - 1, 6))), CASE WHEN maybe_posted THEN {SETTLE_MS} ELSE 0 END) <= ?1))
         OR (state = 'sending' AND (lease_until IS NULL OR lease_until <= ?1))"
    )
}

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
            self.announce(Change::Outbox);
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
    pub(crate) async fn outbox_finish(
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
            self.announce(Change::Outbox);
        }
        Ok(n == 1)
    }

    /// Records that a request for the item may reach the vendor from now on, and renews
    /// the claim to outlive it, before the request leaves. False if the claim is no
    /// longer `owner`'s: then the request must not be sent.
    pub(crate) async fn outbox_mark_maybe_posted(
        &self,
        id: i64,
        owner: &str,
        now: Millis,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE outbox SET maybe_posted = 1, lease_until = ? WHERE id = ? AND state = 'sending' AND claimed_by = ?",
        )
        .bind(now + LEASE_MS)
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?
        .rows_affected();
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
        self.announce(Change::Outbox);
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
        self.announce(Change::Outbox);
        self.outbox_item(key).await
    }
}

#[cfg(test)]
mod tests {
    use crate::outbox::tests::{enqueue, reply, store, LATER, ME, OTHER};
    use crate::outbox::{this_process, OutboxState, LEASE_MS};

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
