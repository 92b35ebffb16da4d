//! What the desktops of a team share besides the vendor's conversations: a lead's
//! verdicts and category rules, and the outcomes reps record for Assist drafts. A change
//! made here is queued (`team_outgoing`) in its own transaction while the desktop is in a
//! team; the engine sends it to the team's relay, which checks it and republishes it to
//! every desktop, where [`Store::apply_shared`] writes it. Account ids here are this
//! cache's: the engine maps them to the team's on the way out and back.

use super::{Store, Tx};
use crate::error::Result;
use crate::model::{DraftState, Millis};
use crate::review::{NewRule, Rules, Verdict};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// One change a desktop shares with its team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SharedChange {
    /// A lead's verdict on a handoff; `None` takes it off.
    Mark {
        account_id: String,
        external_id: String,
        verdict: Option<Verdict>,
        note: Option<String>,
        at: Millis,
    },
    /// A lead's whole rule set, in the order it is tried.
    Rules { rules: Vec<NewRule>, at: Millis },
    /// What a rep did with an Assist draft in Baton.
    Outcome {
        account_id: String,
        external_id: String,
        source_note_id: String,
        state: DraftState,
        edited_text: Option<String>,
        edit_distance: Option<i64>,
        reason: Option<String>,
        /// Who did it, as the helpdesk names the rep (what the drafts report groups by).
        acted_by: String,
        at: Millis,
    },
}

impl SharedChange {
    pub fn kind(&self) -> &'static str {
        match self {
            SharedChange::Mark { .. } => "mark",
            SharedChange::Rules { .. } => "rules",
            SharedChange::Outcome { .. } => "outcome",
        }
    }

    /// The account it is about (rules are the team's, of no one account).
    pub fn account_id(&self) -> Option<&str> {
        match self {
            SharedChange::Mark { account_id, .. } | SharedChange::Outcome { account_id, .. } => {
                Some(account_id)
            }
            SharedChange::Rules { .. } => None,
        }
    }

    /// The same change about the account `id` names elsewhere (the team's id for it, or
    /// this cache's).
    pub fn for_account(mut self, id: &str) -> Self {
        match &mut self {
            SharedChange::Mark { account_id, .. } | SharedChange::Outcome { account_id, .. } => {
                *account_id = id.to_string();
            }
            SharedChange::Rules { .. } => {}
        }
        self
    }
}

/// A change queued for the team.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub seq: i64,
    /// Names it on NATS, so a copy sent twice is stored once.
    pub msg_id: String,
    pub change: SharedChange,
}

/// What the team's shared stream says.
#[derive(Debug, Clone, PartialEq)]
pub enum SharedItem {
    /// A change the relay accepted, from the team member `by`.
    Change { by: String, change: SharedChange },
    /// The relay refused a change this desktop sent, and says why.
    Refused { reason: String, at: Millis },
}

/// How this desktop's sharing stands, for the review screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SharingStatus {
    /// In a team: what this desktop changes reaches the others.
    pub in_team: bool,
    /// Changes made here that have not reached the team's NATS yet.
    pub waiting: i64,
    /// The relay's refusal of the last change this desktop sent, in words.
    pub refusal: Option<String>,
}

/// Queues `change` for the team in the transaction that makes it, when this desktop is
/// in one; otherwise it stays this desktop's.
pub(super) async fn queue(tx: &mut Tx<'_>, change: &SharedChange, now: Millis) -> Result<()> {
    sqlx::query(
        "INSERT INTO team_outgoing (kind, body, created_at)
         SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM team_membership)",
    )
    .bind(change.kind())
    .bind(serde_json::to_string(change).expect("shared changes serialize"))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes a verdict (`None`: takes it off), by the vendor's ids.
pub(super) async fn put_mark(
    tx: &mut Tx<'_>,
    account_id: &str,
    external_id: &str,
    verdict: Option<Verdict>,
    note: Option<&str>,
    by: Option<&str>,
    at: Millis,
) -> Result<()> {
    let Some(verdict) = verdict else {
        sqlx::query("DELETE FROM review_marks WHERE account_id = ? AND external_id = ?")
            .bind(account_id)
            .bind(external_id)
            .execute(&mut **tx)
            .await?;
        return Ok(());
    };
    let note = note.filter(|n| !n.trim().is_empty());
    sqlx::query(
        "INSERT INTO review_marks (account_id, external_id, verdict, note, marked_at, marked_by)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_id, external_id) DO UPDATE SET verdict = excluded.verdict,
            note = excluded.note, marked_at = excluded.marked_at, marked_by = excluded.marked_by",
    )
    .bind(account_id)
    .bind(external_id)
    .bind(verdict.as_str())
    .bind(note)
    .bind(at)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives the conversation's pending drafts the outcomes reps recorded for them on other
/// desktops: a draft's outcome may arrive before the draft itself.
pub(super) async fn apply_shared_outcomes(tx: &mut Tx<'_>, conversation_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE assist_drafts AS d SET state = o.state, edited_text = o.edited_text,
            edit_distance = o.edit_distance, outcome_reason = o.reason,
            acted_by = o.acted_by, acted_at = o.acted_at
         FROM shared_outcomes o JOIN conversations c
           ON c.account_id = o.account_id AND c.external_id = o.external_id
         WHERE c.id = ?1 AND d.conversation_id = ?1 AND d.source_note_id = o.source_note_id
           AND d.state = 'pending'",
    )
    .bind(conversation_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The relay refused a change of this desktop's (or this desktop knows it would): the
/// review says so until one of its changes comes back accepted. A refusal from before
/// this desktop joined (read again from the stream) is not this membership's.
async fn set_refusal(tx: &mut Tx<'_>, reason: &str, at: Millis) -> Result<()> {
    let said = format!(
        "{reason} ({})",
        chrono::DateTime::from_timestamp_millis(at)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    );
    sqlx::query("UPDATE team_membership SET shared_refusal = ? WHERE id = 1 AND joined_at <= ?")
        .bind(said)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// This desktop will not send a change, and says why (see [`SharedItem::Refused`]).
    /// The same reason again (the sender's next pass) keeps the first one's time and
    /// writes nothing.
    pub async fn note_refusal(&self, reason: &str, at: Millis) -> Result<()> {
        let said = self.sharing_status().await?.refusal;
        if said.is_some_and(|s| s.starts_with(&format!("{reason} ("))) {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        set_refusal(&mut tx, reason, at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The changes waiting to reach the team queued after `after` (a `seq`; 0: all),
    /// oldest first.
    pub async fn team_outgoing(&self, after: i64, limit: i64) -> Result<Vec<Outgoing>> {
        let rows = sqlx::query(
            "SELECT seq, msg_id, body FROM team_outgoing WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = vec![];
        for r in rows {
            let seq: i64 = r.get(0);
            let body: String = r.get(2);
            match serde_json::from_str(&body) {
                Ok(change) => out.push(Outgoing {
                    seq,
                    msg_id: r.get(1),
                    change,
                }),
                // Written by this code; a row that does not read is dropped, not retried forever.
                Err(e) => {
                    tracing::warn!(seq, error = %e, "a queued team change does not parse; dropped");
                    self.sent_to_team(seq).await?;
                }
            }
        }
        Ok(out)
    }

    /// The team's NATS has the change: it leaves the queue.
    pub async fn sent_to_team(&self, seq: i64) -> Result<()> {
        sqlx::query("DELETE FROM team_outgoing WHERE seq = ?")
            .bind(seq)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn sharing_status(&self) -> Result<SharingStatus> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM team_membership),
                    (SELECT COUNT(*) FROM team_outgoing),
                    (SELECT shared_refusal FROM team_membership WHERE id = 1)",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(SharingStatus {
            in_team: row.get::<i64, _>(0) > 0,
            waiting: row.get(1),
            refusal: row.get(2),
        })
    }

    /// Where this desktop is in the team's shared stream.
    pub async fn shared_position(&self) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT shared_position FROM team_membership WHERE id = 1")
                .fetch_optional(self.pool())
                .await?
                .flatten(),
        )
    }

    /// Writes what the team's shared stream said and the position after it, in one
    /// transaction. Account ids are this cache's; changes about an account it does not
    /// have are the caller's to leave out. Applying an item twice changes nothing.
    pub async fn apply_shared(&self, items: &[SharedItem], position: &str) -> Result<()> {
        // IMMEDIATE: a rule set is compared with the stored one before it is written.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let me: Option<String> =
            sqlx::query_scalar("SELECT user_name FROM team_membership WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await?;
        let mut touched = vec![];
        for item in items {
            let (by, change) = match item {
                SharedItem::Refused { reason, at } => {
                    set_refusal(&mut tx, reason, *at).await?;
                    continue;
                }
                SharedItem::Change { by, change } => (by, change),
            };
            if me.as_deref() == Some(by.as_str()) {
                // One of ours came back accepted: an older refusal no longer stands.
                sqlx::query("UPDATE team_membership SET shared_refusal = NULL WHERE id = 1")
                    .execute(&mut *tx)
                    .await?;
            }
            match change {
                SharedChange::Rules { rules, .. } => {
                    let stored: Vec<NewRule> = super::review::load_stored_rules(&mut tx)
                        .await?
                        .iter()
                        .map(NewRule::from)
                        .collect();
                    if &stored != rules {
                        // The relay compiled them; a set this build cannot read is skipped.
                        match Rules::compile(rules) {
                            Ok(compiled) => {
                                super::review::replace_rules(&mut tx, rules, &compiled).await?;
                            }
                            Err(e) => {
                                tracing::warn!(by = %by, error = %e, "the team's rules do not compile here; kept this desktop's");
                            }
                        }
                    }
                }
                SharedChange::Mark {
                    account_id,
                    external_id,
                    verdict,
                    note,
                    at,
                } => {
                    put_mark(
                        &mut tx,
                        account_id,
                        external_id,
                        *verdict,
                        note.as_deref(),
                        Some(by.as_str()),
                        *at,
                    )
                    .await?;
                    touched.push((account_id.clone(), external_id.clone()));
                }
                SharedChange::Outcome {
                    account_id,
                    external_id,
                    source_note_id,
                    state,
                    edited_text,
                    edit_distance,
                    reason,
                    acted_by,
                    at,
                } => {
                    // The first member's outcome stands: another's never replaces it.
                    sqlx::query(
                        "INSERT INTO shared_outcomes (account_id, external_id, source_note_id,
                            state, edited_text, edit_distance, reason, acted_by, acted_at,
                            shared_by)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                         ON CONFLICT (account_id, external_id, source_note_id) DO UPDATE SET
                            state = excluded.state, edited_text = excluded.edited_text,
                            edit_distance = excluded.edit_distance, reason = excluded.reason,
                            acted_by = excluded.acted_by, acted_at = excluded.acted_at
                         WHERE shared_outcomes.shared_by IN (excluded.shared_by, '')",
                    )
                    .bind(account_id)
                    .bind(external_id)
                    .bind(source_note_id)
                    .bind(state.as_str())
                    .bind(edited_text)
                    .bind(edit_distance)
                    .bind(reason)
                    .bind(acted_by)
                    .bind(at)
                    .bind(by)
                    .execute(&mut *tx)
                    .await?;
                    let id: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM conversations WHERE account_id = ? AND external_id = ?",
                    )
                    .bind(account_id)
                    .bind(external_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(id) = id {
                        apply_shared_outcomes(&mut tx, id).await?;
                        touched.push((account_id.clone(), external_id.clone()));
                    }
                }
            }
        }
        sqlx::query("UPDATE team_membership SET shared_position = ? WHERE id = 1")
            .bind(position)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        for (account_id, external_id) in touched {
            self.announce_conversations(&account_id, std::iter::once(&external_id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{commit_one, conversation, store_with_account};
    use super::*;
    use crate::model::{DraftFacts, HandoffFacts, HandoffMode, TranscriptPage};
    use crate::review::{HandoffFilter, RuleKind};
    use crate::store::Membership;

    async fn join(store: &Store) {
        store
            .join_team(&Membership {
                nats_url: "nats://127.0.0.1:4222".into(),
                user_name: "lee".into(),
                ca_file: None,
                joined_at: 1,
            })
            .await
            .unwrap();
    }

    /// Conversation "7": a handoff with a pending draft (note "n1").
    async fn with_draft(store: &Store) -> i64 {
        let mut c = conversation("7", 2_000);
        c.handoff = Some(HandoffFacts {
            mode: HandoffMode::LiveChat,
            handed_off_at: Some(1_000),
        });
        let transcript = TranscriptPage {
            drafts: vec![DraftFacts {
                source_note_id: "n1".into(),
                text: "We can refund you today.".into(),
                training_url: None,
                created_at: 1_500,
            }],
            handoff_reason: Some("wants a refund".into()),
            handoff_at: Some(1_000),
            ..Default::default()
        };
        commit_one(store, c, transcript).await
    }

    fn rejection(by: &str) -> SharedItem {
        SharedItem::Change {
            by: by.into(),
            change: SharedChange::Outcome {
                account_id: "acme".into(),
                external_id: "7".into(),
                source_note_id: "n1".into(),
                state: DraftState::Rejected,
                edited_text: None,
                edit_distance: None,
                reason: Some("wrong policy".into()),
                acted_by: "maria@acme.test".into(),
                at: 3_000,
            },
        }
    }

    #[tokio::test]
    async fn changes_are_queued_for_the_team_only_while_in_one_and_with_the_change() {
        let (_dir, store) = store_with_account().await;
        let id = with_draft(&store).await;
        store
            .mark_handoff(id, Verdict::Needed, None, 10)
            .await
            .unwrap();
        assert!(
            store.team_outgoing(0, 10).await.unwrap().is_empty(),
            "alone"
        );
        assert!(!store.sharing_status().await.unwrap().in_team);

        join(&store).await;
        store
            .mark_handoff(id, Verdict::Avoidable, Some("FAQ".into()), 11)
            .await
            .unwrap();
        store.unmark_handoff(id, 12).await.unwrap();
        let rules = vec![NewRule {
            category: "upset".into(),
            kind: RuleKind::Keyword,
            pattern: "refund".into(),
        }];
        store.save_category_rules(rules.clone(), 13).await.unwrap();
        let draft = store.detail(id).await.unwrap().drafts[0].id;
        store
            .record_outcome(
                draft,
                DraftState::Rejected,
                None,
                Some("tone"),
                "lee@acme.test",
                14,
            )
            .await
            .unwrap();
        // A refused rule set is not queued either.
        let bad = vec![NewRule {
            category: "nope".into(),
            kind: RuleKind::Keyword,
            pattern: "x".into(),
        }];
        assert!(store.save_category_rules(bad, 15).await.is_err());

        let queued = store.team_outgoing(0, 10).await.unwrap();
        let kinds: Vec<&str> = queued.iter().map(|q| q.change.kind()).collect();
        assert_eq!(kinds, ["mark", "mark", "rules", "outcome"]);
        assert!(matches!(
            &queued[1].change,
            SharedChange::Mark { verdict: None, .. }
        ));
        assert_eq!(queued[2].change, SharedChange::Rules { rules, at: 13 });
        assert!(matches!(
            &queued[3].change,
            SharedChange::Outcome { source_note_id, state: DraftState::Rejected, acted_by, .. }
                if source_note_id == "n1" && acted_by == "lee@acme.test"
        ));
        // Each has its own message id, so NATS can drop a copy sent twice.
        let mut ids: Vec<&str> = queued.iter().map(|q| q.msg_id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 4);
        assert_eq!(store.sharing_status().await.unwrap().waiting, 4);
        store.sent_to_team(queued[0].seq).await.unwrap();
        assert_eq!(store.team_outgoing(0, 10).await.unwrap().len(), 3);
        // Leaving keeps the changes here and forgets sending them.
        store.leave_team().await.unwrap();
        assert_eq!(store.sharing_status().await.unwrap().waiting, 0);
    }

    #[tokio::test]
    async fn what_the_team_shares_is_written_once_and_an_outcome_may_come_before_its_draft() {
        let (_dir, store) = store_with_account().await;
        join(&store).await;
        // The rejection first: the draft is not here yet.
        store
            .apply_shared(&[rejection("maria")], "1")
            .await
            .unwrap();
        let id = with_draft(&store).await;
        let d = store.detail(id).await.unwrap();
        assert_eq!(d.drafts[0].state, DraftState::Rejected);
        let report = store.draft_report(0).await.unwrap();
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].rep, "maria@acme.test");
        assert_eq!(report[0].rejection_reasons, "wrong policy (1)");

        let mark = SharedItem::Change {
            by: "lee".into(),
            change: SharedChange::Mark {
                account_id: "acme".into(),
                external_id: "7".into(),
                verdict: Some(Verdict::Avoidable),
                note: Some("FAQ".into()),
                at: 4_000,
            },
        };
        let rules = SharedItem::Change {
            by: "lee".into(),
            change: SharedChange::Rules {
                rules: vec![NewRule {
                    category: "upset".into(),
                    kind: RuleKind::Keyword,
                    pattern: "refund".into(),
                }],
                at: 5_000,
            },
        };
        // Another member's outcome for the same draft does not replace the first.
        let other = match rejection("omar") {
            SharedItem::Change {
                by,
                change:
                    SharedChange::Outcome {
                        account_id,
                        external_id,
                        source_note_id,
                        ..
                    },
            } => SharedItem::Change {
                by,
                change: SharedChange::Outcome {
                    account_id,
                    external_id,
                    source_note_id,
                    state: DraftState::Accepted,
                    edited_text: None,
                    edit_distance: None,
                    reason: None,
                    acted_by: "omar@acme.test".into(),
                    at: 3_500,
                },
            },
            other => other,
        };
        let items = [mark, rules, rejection("maria"), other];
        // Twice is once; nothing shared is queued to be sent back.
        store.apply_shared(&items, "4").await.unwrap();
        store.apply_shared(&items, "4").await.unwrap();
        assert!(store.team_outgoing(0, 10).await.unwrap().is_empty());
        assert_eq!(store.shared_position().await.unwrap().as_deref(), Some("4"));
        let all = HandoffFilter {
            since: 0,
            until: i64::MAX,
            ..Default::default()
        };
        let rows = store.review_handoffs(&all).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].verdict, Some(Verdict::Avoidable));
        assert_eq!(rows[0].marked_by.as_deref(), Some("lee"));
        assert_eq!(rows[0].category.as_deref(), Some("upset"), "recategorised");
        assert_eq!(store.category_rules().await.unwrap().len(), 1);
        assert_eq!(store.draft_report(0).await.unwrap()[0].drafts, 1);
        let kept: Vec<String> = sqlx::query_scalar("SELECT acted_by FROM shared_outcomes")
            .fetch_all(store.pool())
            .await
            .unwrap();
        assert_eq!(
            kept,
            ["maria@acme.test"],
            "the first member's outcome stands"
        );

        // A verdict taken off on another desktop goes here too.
        let unmark = SharedItem::Change {
            by: "lee".into(),
            change: SharedChange::Mark {
                account_id: "acme".into(),
                external_id: "7".into(),
                verdict: None,
                note: None,
                at: 6_000,
            },
        };
        store.apply_shared(&[unmark], "5").await.unwrap();
        assert_eq!(store.review_handoffs(&all).await.unwrap()[0].verdict, None);
    }

    #[tokio::test]
    async fn a_refusal_stands_until_one_of_this_desktops_changes_comes_back_accepted() {
        let (_dir, store) = store_with_account().await;
        join(&store).await;
        // One from before this desktop joined (read again from the stream) is not its.
        let before = SharedItem::Refused {
            reason: "an old refusal".into(),
            at: 0,
        };
        store.apply_shared(&[before], "1").await.unwrap();
        assert_eq!(store.sharing_status().await.unwrap().refusal, None);
        let refused = SharedItem::Refused {
            reason: "only the team's leads share verdicts".into(),
            at: 60_000,
        };
        store.apply_shared(&[refused], "1").await.unwrap();
        let status = store.sharing_status().await.unwrap();
        assert!(status.in_team);
        assert_eq!(
            status.refusal.as_deref(),
            Some("only the team's leads share verdicts (1970-01-01 00:01 UTC)")
        );
        // Someone else's accepted change does not answer for this desktop's.
        store
            .apply_shared(&[rejection("maria")], "2")
            .await
            .unwrap();
        assert!(store.sharing_status().await.unwrap().refusal.is_some());
        store.apply_shared(&[rejection("lee")], "3").await.unwrap();
        assert_eq!(store.sharing_status().await.unwrap().refusal, None);
        // This desktop's own word (a verdict a rep may not share): said once, at its first
        // time, however often the sender passes over it.
        store.note_refusal("not a lead", 120_000).await.unwrap();
        store.note_refusal("not a lead", 180_000).await.unwrap();
        assert_eq!(
            store.sharing_status().await.unwrap().refusal.as_deref(),
            Some("not a lead (1970-01-01 00:02 UTC)")
        );
        // Joining anew starts the shared stream from its beginning.
        join(&store).await;
        assert_eq!(store.shared_position().await.unwrap(), None);
    }
}
