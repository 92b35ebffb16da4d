//! The `assist_drafts` and `draft_edits` tables: the drafts a rep acts on, what they
//! were editing, what they did, and the leads' report over it.

use super::queries::enum_col;
use super::{Store, Tx};
use crate::drafts::{read_at, DraftAsSeen, DraftReportRow, Moved, ReplyOutcome, Seen};
use crate::error::{Error, Result};
use crate::model::{AssistDraft, DraftState, Millis, Role};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

pub(super) const DRAFT_SELECT: &str =
    "SELECT id, source_note_id, text, training_url, state, created_at FROM assist_drafts";

/// Settles what the conversation's drafts became: first as reps on other desktops of the
/// team recorded it, then, for those still pending, as the helpdesk's replies say.
pub(super) async fn settle(tx: &mut Tx<'_>, conversation_id: i64) -> Result<()> {
    super::shared::apply_shared_outcomes(tx, conversation_id).await?;
    settle_answered_drafts(tx, conversation_id).await?;
    Ok(())
}

/// Settles the conversation's pending drafts that a public agent reply followed: the rep
/// answered in the helpdesk, so the reply says what became of the newest draft before it
/// (see [`crate::drafts::outcome_of_reply`]), and the drafts report counts it like a reply
/// sent through Baton; older drafts it passed over were superseded. A draft Baton already
/// settled (sent through the outbox) is that reply's draft, and its older ones superseded.
/// The replier is the rep, as the helpdesk names the reply's author; the reply's time is
/// when they acted. A draft the rep sent through Baton takes the same name once its reply
/// is read back, so the drafts report counts each rep once, however they answered.
async fn settle_answered_drafts(tx: &mut Tx<'_>, conversation_id: i64) -> Result<usize> {
    let drafts: Vec<(i64, String, String, Millis)> = sqlx::query_as(
        "SELECT id, COALESCE(edited_text, text), state, created_at FROM assist_drafts
         WHERE conversation_id = ? ORDER BY created_at, id",
    )
    .bind(conversation_id)
    .fetch_all(&mut **tx)
    .await?;
    if drafts.is_empty() {
        return Ok(0);
    }
    let replies: Vec<(String, Option<String>, Millis)> = sqlx::query_as(
        "SELECT body, author_name, created_at FROM messages
         WHERE conversation_id = ? AND role = 'agent' AND internal = 0
         ORDER BY created_at, id",
    )
    .bind(conversation_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut settled = 0;
    let mut next = 0;
    for (body, author, at) in &replies {
        // The drafts this reply answers: those written since the previous reply.
        let before = drafts[next..].iter().take_while(|d| d.3 < *at).count();
        let answered = &drafts[next..next + before];
        next += before;
        let Some((newest, older)) = answered.split_last() else {
            continue;
        };
        let acted_by = author
            .clone()
            .unwrap_or_else(|| "an agent in the helpdesk".into());
        // Sent through Baton: the reply is that draft's (as sent), and names who sent it.
        let sent_by_baton = matches!(newest.2.as_str(), "accepted" | "edited" | "sent")
            && crate::drafts::outcome_of_reply(&newest.1, body) == ReplyOutcome::Accepted;
        if sent_by_baton && author.is_some() {
            sqlx::query("UPDATE assist_drafts SET acted_by = ? WHERE id = ?")
                .bind(&acted_by)
                .bind(newest.0)
                .execute(&mut **tx)
                .await?;
        }
        let superseded = |id| Settled {
            id,
            state: DraftState::Rejected,
            distance: None,
            edited: None,
            reason: Some(SUPERSEDED),
        };
        let mut outcomes: Vec<Settled> = older.iter().map(|d| superseded(d.0)).collect();
        let plain = |state| Settled {
            id: newest.0,
            state,
            distance: None,
            edited: None,
            reason: None,
        };
        outcomes.push(match crate::drafts::outcome_of_reply(&newest.1, body) {
            ReplyOutcome::Accepted => plain(DraftState::Accepted),
            ReplyOutcome::Edited { distance } => Settled {
                distance: Some(distance),
                edited: Some(body),
                ..plain(DraftState::Edited)
            },
            ReplyOutcome::OwnAnswer => Settled {
                reason: Some(crate::drafts::ANSWERED_OTHERWISE),
                ..plain(DraftState::Rejected)
            },
        });
        for Settled {
            id,
            state,
            distance,
            edited,
            reason,
        } in outcomes
        {
            // Only a draft still pending: what a rep did through Baton stands.
            let done = sqlx::query(
                "UPDATE assist_drafts SET state = ?, edited_text = ?, edit_distance = ?,
                        outcome_reason = ?, acted_by = ?, acted_at = ?
                 WHERE id = ? AND state = 'pending'",
            )
            .bind(state.as_str())
            .bind(edited)
            .bind(distance)
            .bind(reason)
            .bind(&acted_by)
            .bind(at)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            settled += done.rows_affected() as usize;
        }
    }
    Ok(settled)
}

/// What became of one draft.
struct Settled<'a> {
    id: i64,
    state: DraftState,
    distance: Option<i64>,
    edited: Option<&'a str>,
    reason: Option<&'static str>,
}

/// Why a draft the rep passed over for a newer one counts as not used.
const SUPERSEDED: &str = "superseded by a newer draft";

pub(super) fn assist_draft(d: &SqliteRow) -> Result<AssistDraft> {
    Ok(AssistDraft {
        id: d.get("id"),
        source_note_id: d.get("source_note_id"),
        text: d.get("text"),
        training_url: d.get("training_url"),
        state: enum_col(d, "state", DraftState::parse)?,
        created_at: d.get("created_at"),
    })
}

/// The conversation's row, or `NotFound` as `detail` words it.
async fn conversation_row(tx: &mut Tx<'_>, id: i64) -> Result<SqliteRow> {
    sqlx::query(
        "SELECT account_id, external_id, version, sync_problem FROM conversations WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::NotFound(format!("no conversation with id {id}")))
}

impl Store {
    /// The pending draft on a conversation (the newest, if several) and the version the
    /// conversation is at: what a rep who has not seen the conversation (a script) acts on.
    pub async fn current_draft(&self, conversation_id: i64) -> Result<(AssistDraft, Seen)> {
        // One read transaction: the version returned is the one the draft was current at.
        let mut tx = self.pool().begin().await?;
        let c = conversation_row(&mut tx, conversation_id).await?;
        let draft = sqlx::query(&format!(
            "{DRAFT_SELECT} WHERE conversation_id = ? AND state = ?
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(conversation_id)
        .bind(DraftState::Pending.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no pending Assist draft on {}",
                c.get::<String, _>("external_id")
            ))
        })?;
        let draft = assist_draft(&draft)?;
        let seen = Seen {
            draft_id: draft.id,
            version: c.get("version"),
        };
        Ok((draft, seen))
    }

    /// The draft the rep read, checked against what the conversation holds now: where the
    /// reply goes, and, if the conversation moved on since (a newer draft, the customer
    /// wrote), why the reply must wait for the rep instead of going out unseen.
    pub async fn draft_as_seen(&self, conversation_id: i64, seen: &Seen) -> Result<DraftAsSeen> {
        // One read transaction: the version, drafts and messages compared are one snapshot.
        let mut tx = self.pool().begin().await?;
        let c = conversation_row(&mut tx, conversation_id).await?;
        let external_id: String = c.get("external_id");
        let draft = sqlx::query(&format!(
            "{DRAFT_SELECT} WHERE id = ? AND conversation_id = ?"
        ))
        .bind(seen.draft_id)
        .bind(conversation_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "draft {} is not on conversation {external_id}",
                seen.draft_id
            ))
        })?;
        let draft = assist_draft(&draft)?;
        let newer_draft: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM assist_drafts
                            WHERE conversation_id = ? AND state = ? AND id <> ? AND created_at >= ?)",
        )
        .bind(conversation_id)
        .bind(DraftState::Pending.as_str())
        .bind(draft.id)
        .bind(draft.created_at)
        .fetch_one(&mut *tx)
        .await?;
        let version_moved = c.get::<String, _>("version") != seen.version;
        let customer_news = if version_moved {
            sqlx::query_as(
                "SELECT author_name, body FROM messages
                 WHERE conversation_id = ? AND role = ? AND NOT internal AND created_at > ?
                 ORDER BY created_at, id",
            )
            .bind(conversation_id)
            .bind(Role::Customer.as_str())
            .bind(read_at(seen, &draft))
            .fetch_all(&mut *tx)
            .await?
        } else {
            vec![]
        };
        let changed = Moved {
            newer_draft,
            sync_problem: c.get("sync_problem"),
            version_moved,
            customer_news,
        }
        .why_wait();
        Ok(DraftAsSeen {
            account_id: c.get("account_id"),
            external_id,
            draft,
            changed,
        })
    }

    /// Saves the text being edited: called as the rep types.
    pub async fn save_edit(&self, draft_id: i64, text: &str, now: Millis) -> Result<()> {
        sqlx::query(
            "INSERT INTO draft_edits (draft_id, text, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (draft_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
        )
        .bind(draft_id)
        .bind(text)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn saved_edit(&self, draft_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT text FROM draft_edits WHERE draft_id = ?")
                .bind(draft_id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Records what the rep did. `sent_text` is what went out (edited or not);
    /// `reason` why it was rejected.
    pub async fn record_outcome(
        &self,
        draft_id: i64,
        state: DraftState,
        sent_text: Option<&str>,
        reason: Option<&str>,
        actor: &str,
        now: Millis,
    ) -> Result<()> {
        // IMMEDIATE: the draft is read, then written; the app and the CLI may both act.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let (original, account_id, external_id, source_note_id): (String, String, String, String) =
            sqlx::query_as(
                "SELECT d.text, c.account_id, c.external_id, d.source_note_id
                 FROM assist_drafts d JOIN conversations c ON c.id = d.conversation_id
                 WHERE d.id = ?",
            )
            .bind(draft_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no draft {draft_id}")))?;
        let distance = match (state, sent_text) {
            (DraftState::Edited, Some(t)) => Some(strsim::levenshtein(&original, t) as i64),
            _ => None,
        };
        if state == DraftState::Rejected && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(Error::Invalid("a rejection needs a reason".into()));
        }
        let edited_text = sent_text
            .filter(|_| state == DraftState::Edited)
            .map(str::to_string);
        sqlx::query(
            "UPDATE assist_drafts SET state = ?, edited_text = ?, edit_distance = ?, outcome_reason = ?,
                    acted_by = ?, acted_at = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(&edited_text)
        .bind(distance)
        .bind(reason)
        .bind(actor)
        .bind(now)
        .bind(draft_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM draft_edits WHERE draft_id = ?")
            .bind(draft_id)
            .execute(&mut *tx)
            .await?;
        if matches!(
            state,
            DraftState::Accepted | DraftState::Edited | DraftState::Rejected
        ) {
            let change = super::shared::SharedChange::Outcome {
                account_id,
                external_id,
                source_note_id,
                state,
                edited_text,
                edit_distance: distance,
                reason: reason.map(str::to_string),
                acted_by: actor.to_string(),
                at: now,
            };
            super::shared::queue(&mut tx, &change, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Acceptance, edit and rejection by rep and topic (the handoff's reason category,
    /// "uncategorised" for a reason no rule matches, or the ticket's subject when there is
    /// no reason) for drafts acted on since `since`.
    pub async fn draft_report(&self, since: Millis) -> Result<Vec<DraftReportRow>> {
        let rows = sqlx::query(
            "SELECT d.acted_by AS rep, COALESCE(h.reason_category, CASE WHEN h.reason IS NOT NULL THEN 'uncategorised' END, c.subject) AS topic,
                    COUNT(*) AS drafts,
                    SUM(d.state = 'accepted') AS accepted,
                    SUM(d.state = 'edited') AS edited,
                    SUM(d.state = 'rejected') AS rejected,
                    AVG(d.edit_distance) AS mean_edit_distance,
                    (SELECT group_concat(r, '; ') FROM (
                        SELECT x.outcome_reason || ' (' || COUNT(*) || ')' AS r
                        FROM assist_drafts x JOIN conversations y ON y.id = x.conversation_id
                        LEFT JOIN handoffs z ON z.conversation_id = y.id
                        WHERE x.state = 'rejected' AND x.acted_by = d.acted_by AND x.acted_at >= ?1
                          AND COALESCE(z.reason_category, CASE WHEN z.reason IS NOT NULL THEN 'uncategorised' END, y.subject) = COALESCE(h.reason_category, CASE WHEN h.reason IS NOT NULL THEN 'uncategorised' END, c.subject)
                        GROUP BY x.outcome_reason ORDER BY COUNT(*) DESC, x.outcome_reason)) AS reasons
             FROM assist_drafts d JOIN conversations c ON c.id = d.conversation_id
             LEFT JOIN handoffs h ON h.conversation_id = c.id
             WHERE d.acted_at >= ?1 AND d.state IN ('accepted', 'edited', 'rejected')
             GROUP BY rep, topic ORDER BY rep, topic",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let drafts: i64 = r.get("drafts");
                let (accepted, edited): (i64, i64) = (r.get("accepted"), r.get("edited"));
                DraftReportRow {
                    rep: r.get("rep"),
                    topic: r.get("topic"),
                    drafts,
                    accepted,
                    edited,
                    rejected: r.get("rejected"),
                    acceptance_rate: accepted as f64 / drafts as f64,
                    edit_rate: edited as f64 / drafts as f64,
                    mean_edit_distance: r.get("mean_edit_distance"),
                    rejection_reasons: r.get::<Option<String>, _>("reasons").unwrap_or_default(),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{commit_one, conversation, message, store_with_account};
    use crate::drafts::Seen;
    use crate::model::*;
    use crate::Store;

    const DRAFT_AT: Millis = 1_500;

    /// Conversation "9" at `version`, with these messages and drafts (text, when).
    async fn commit(
        store: &Store,
        version: &str,
        messages: Vec<Message>,
        drafts: &[(&str, Millis)],
    ) -> i64 {
        let mut c = conversation("9", 2_000);
        c.version = version.into();
        let transcript = TranscriptPage {
            messages,
            drafts: drafts
                .iter()
                .map(|(text, at)| DraftFacts {
                    source_note_id: format!("n-{text}"),
                    text: text.to_string(),
                    training_url: None,
                    created_at: *at,
                })
                .collect(),
            ..Default::default()
        };
        commit_one(store, c, transcript).await
    }

    #[tokio::test]
    async fn a_draft_answered_in_the_helpdesk_is_settled_by_the_reply_and_counted() {
        let (_dir, store) = store_with_account().await;
        let agent = |id: &str, body: &str, at: Millis, internal: bool| Message {
            role: Role::Agent,
            author_name: Some("Alex Rivera".into()),
            internal,
            ..message(id, body, at)
        };
        // A draft, then only an internal note and a reply from before it: still pending.
        let id = commit(
            &store,
            "v1",
            vec![
                agent("a0", "Hello again", 1_000, false),
                agent("a1", "Looking into it", 1_600, true),
            ],
            &[("Your refund is on its way.", DRAFT_AT)],
        )
        .await;
        let detail = store.detail(id).await.unwrap();
        assert_eq!(detail.drafts[0].state, DraftState::Pending);
        assert!(detail.item.has_pending_draft);

        // The rep answers in the Agent Workspace with the draft, lightly edited.
        commit(
            &store,
            "v2",
            vec![agent(
                "a2",
                "Your refund is on its way today.",
                1_700,
                false,
            )],
            &[],
        )
        .await;
        let detail = store.detail(id).await.unwrap();
        assert_eq!(detail.drafts[0].state, DraftState::Edited);
        assert!(!detail.item.has_pending_draft, "it leaves the drafts queue");
        let report = store.draft_report(0).await.unwrap();
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].rep.as_str(), "Alex Rivera");
        assert_eq!((report[0].drafts, report[0].edited), (1, 1));
        assert_eq!(report[0].mean_edit_distance, Some(6.0));

        // A later draft answered with something else entirely counts as set aside.
        commit(
            &store,
            "v3",
            vec![agent(
                "a3",
                "Could you send a photo of the parcel?",
                2_600,
                false,
            )],
            &[("Sorry for the delay, a new parcel ships today.", 2_500)],
        )
        .await;
        let report = store.draft_report(0).await.unwrap();
        assert_eq!((report[0].drafts, report[0].rejected), (2, 1));
        assert_eq!(
            report[0].rejection_reasons,
            format!("{} (1)", crate::drafts::ANSWERED_OTHERWISE)
        );

        // Two drafts, then a reply sending the newer one: the older was passed over.
        commit(
            &store,
            "v4",
            vec![agent("a4", "A new parcel ships today.", 3_600, false)],
            &[
                ("Old suggestion.", 3_100),
                ("A new parcel ships today.", 3_200),
            ],
        )
        .await;
        let states: Vec<DraftState> = store
            .detail(id)
            .await
            .unwrap()
            .drafts
            .iter()
            .map(|d| d.state)
            .collect();
        assert_eq!(
            states,
            vec![
                DraftState::Edited,
                DraftState::Rejected,
                DraftState::Rejected,
                DraftState::Accepted
            ]
        );
        let report = store.draft_report(0).await.unwrap();
        assert!(
            report[0]
                .rejection_reasons
                .contains("superseded by a newer draft (1)"),
            "{}",
            report[0].rejection_reasons
        );

        // The rep sends the next draft through Baton (recorded under their login); once
        // the reply is read back, the report counts them once, by the helpdesk's name.
        commit(&store, "v5", vec![], &[("Your parcel is here.", 4_000)]).await;
        let (draft, _) = store.current_draft(id).await.unwrap();
        store
            .record_outcome(
                draft.id,
                DraftState::Accepted,
                None,
                None,
                "rep@acme.test",
                4_100,
            )
            .await
            .unwrap();
        assert!(store
            .draft_report(0)
            .await
            .unwrap()
            .iter()
            .any(|r| r.rep == "rep@acme.test"));
        commit(
            &store,
            "v6",
            vec![agent("a5", "Your parcel is here.", 4_200, false)],
            &[],
        )
        .await;
        let report = store.draft_report(0).await.unwrap();
        assert_eq!(
            report.iter().map(|r| r.rep.as_str()).collect::<Vec<_>>(),
            vec!["Alex Rivera"]
        );
        assert_eq!((report[0].drafts, report[0].accepted), (5, 2));
    }

    fn seen(draft_id: i64, version: &str) -> Seen {
        Seen {
            draft_id,
            version: version.into(),
        }
    }

    #[tokio::test]
    async fn the_current_draft_is_the_newest_pending_one_at_the_current_version() {
        let (_d, store) = store_with_account().await;
        let id = commit(
            &store,
            "v1",
            vec![],
            &[("old", 1_000), ("new", 1_000), ("first", 900)],
        )
        .await;
        let (draft, seen) = store.current_draft(id).await.unwrap();
        assert_eq!(draft.text, "new", "the later of two at the same time");
        assert_eq!((seen.draft_id, seen.version.as_str()), (draft.id, "v1"));

        store
            .record_outcome(
                draft.id,
                DraftState::Rejected,
                None,
                Some("wrong"),
                "rep",
                2,
            )
            .await
            .unwrap();
        assert_eq!(store.current_draft(id).await.unwrap().0.text, "old");
        for d in store.detail(id).await.unwrap().drafts {
            store
                .record_outcome(d.id, DraftState::Accepted, None, None, "rep", 3)
                .await
                .unwrap();
        }
        let e = store.current_draft(id).await.unwrap_err().to_string();
        assert!(e.contains("no pending Assist draft on 9"), "{e}");
        assert!(store.current_draft(id + 1).await.is_err());
    }

    #[tokio::test]
    async fn a_draft_as_seen_goes_out_only_if_nothing_moved() {
        let (_d, store) = store_with_account().await;
        let id = commit(&store, "v1", vec![], &[("Hello", DRAFT_AT)]).await;
        let draft = store.detail(id).await.unwrap().drafts[0].clone();
        let found = store
            .draft_as_seen(id, &seen(draft.id, "v1"))
            .await
            .unwrap();
        assert_eq!(
            (found.account_id.as_str(), found.external_id.as_str()),
            ("acme", "9")
        );
        assert_eq!(found.draft, draft);
        assert_eq!(found.changed, None);

        let e = store
            .draft_as_seen(id, &seen(draft.id + 1, "v1"))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not on conversation 9"), "{e}");
        assert!(store
            .draft_as_seen(id + 1, &seen(draft.id, "v1"))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn what_the_customer_wrote_since_the_rep_read_it_is_quoted_back() {
        let (_d, store) = store_with_account().await;
        let read = "2024-05-01T10:00:00Z";
        let read_ms = chrono::DateTime::parse_from_rfc3339(read)
            .unwrap()
            .timestamp_millis();
        let mut internal = message("m3", "internal", read_ms + 3);
        internal.internal = true;
        let mut agent = message("m4", "agent", read_ms + 4);
        agent.role = Role::Agent;
        let mut named = message("m5", "Any news?", read_ms + 5);
        named.author_name = Some("Maria".into());
        let messages = vec![
            message("m1", "before", read_ms),
            message("m2", "Still broken", read_ms + 2),
            internal,
            agent,
            named,
        ];
        let id = commit(
            &store,
            "2024-05-01T10:05:00Z",
            messages,
            &[("Hello", DRAFT_AT)],
        )
        .await;
        let draft = store.detail(id).await.unwrap().drafts[0].id;
        let found = store.draft_as_seen(id, &seen(draft, read)).await.unwrap();
        assert_eq!(
            found.changed.as_deref(),
            Some("since you read it: the customer: “Still broken” · Maria: “Any news?”")
        );
        // A version that is not a time: what came after the draft.
        let found = store.draft_as_seen(id, &seen(draft, "v0")).await.unwrap();
        assert!(
            found.changed.as_deref().unwrap().contains("“before”"),
            "{:?}",
            found.changed
        );
        // Read after everything the customer wrote: only that it changed.
        let found = store
            .draft_as_seen(id, &seen(draft, "2024-05-01T11:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            found.changed.as_deref(),
            Some("the conversation changed since you read it")
        );
    }

    #[tokio::test]
    async fn a_newer_draft_or_an_unread_part_holds_the_reply_whatever_the_version() {
        let (_d, store) = store_with_account().await;
        let id = commit(
            &store,
            "v1",
            vec![],
            &[("Hello", DRAFT_AT), ("Hello again", DRAFT_AT)],
        )
        .await;
        let drafts = store.detail(id).await.unwrap().drafts;
        let found = store
            .draft_as_seen(id, &seen(drafts[0].id, "v1"))
            .await
            .unwrap();
        assert_eq!(
            found.changed.as_deref(),
            Some("a newer Assist draft arrived since you read this one")
        );
        // Once the other is acted on, it no longer holds this one.
        store
            .record_outcome(drafts[1].id, DraftState::Accepted, None, None, "rep", 2)
            .await
            .unwrap();
        let found = store
            .draft_as_seen(id, &seen(drafts[0].id, "v1"))
            .await
            .unwrap();
        assert_eq!(found.changed, None);

        store
            .mark_sync_problems("acme", &[("9".into(), "403".into())])
            .await
            .unwrap();
        let found = store
            .draft_as_seen(id, &seen(drafts[0].id, "v1"))
            .await
            .unwrap();
        assert!(
            found
                .changed
                .as_deref()
                .unwrap()
                .contains("could not read all of this conversation (403)"),
            "{:?}",
            found.changed
        );
    }
}
