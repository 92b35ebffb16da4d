//! What reps do with Assist drafts: the text being edited (saved as they type), the
//! outcome (accepted, edited with how much, rejected with why), and the leads' report.

use crate::error::{Error, Result};
use crate::model::{AssistDraft, DraftState, Millis};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DraftAction {
    /// Post the draft as it is.
    Accept,
    /// Post the rep's edited text.
    Send { text: String },
    /// Reject it, saying why.
    Reject { reason: String },
}

/// What the rep acted on: the draft they read, and the conversation's version as they
/// saw it (`ConversationDetail.version`).
#[derive(Debug, Clone, PartialEq, Deserialize, ts_rs::TS)]
pub struct Seen {
    pub draft_id: i64,
    pub version: String,
}

/// A draft as the rep saw it, against the conversation now.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftAsSeen {
    pub account_id: String,
    pub external_id: String,
    pub draft: AssistDraft,
    /// Why the reply must wait for the rep: what changed since they read it.
    pub changed: Option<String>,
}

/// "who: “text”", cut to a glance: how a change since the rep read the conversation is
/// quoted back to them.
pub fn glance(who: &str, text: &str) -> String {
    let short: String = text.chars().take(80).collect();
    let cut = if text.chars().count() > 80 { "…" } else { "" };
    format!("{who}: “{short}{cut}”")
}

/// What came of an action: for a reply, where it is now and why.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ActionResult {
    pub external_id: String,
    /// The outbox key of the reply (none for a rejection).
    pub key: Option<String>,
    pub state: Option<crate::outbox::OutboxState>,
    pub message: Option<String>,
}

/// A reply's place in the outbox, for the draft panel.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ReplyStatus {
    pub key: String,
    pub draft_id: Option<i64>,
    pub state: crate::outbox::OutboxState,
    pub message: Option<String>,
}

/// One line of the drafts report: a rep and a topic over a period.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct DraftReportRow {
    pub rep: String,
    pub topic: String,
    pub drafts: i64,
    pub accepted: i64,
    pub edited: i64,
    pub rejected: i64,
    pub acceptance_rate: f64,
    pub edit_rate: f64,
    /// Mean edit distance of the edited ones, in characters.
    pub mean_edit_distance: Option<f64>,
    /// The rejection reasons, "reason (count)" joined by "; ".
    pub rejection_reasons: String,
}

impl Store {
    /// The pending draft on a conversation (the newest, if several) and the version the
    /// conversation is at: what a rep who has not seen the conversation (a script) acts on.
    pub async fn current_draft(&self, conversation_id: i64) -> Result<(AssistDraft, Seen)> {
        let d = self.detail(conversation_id).await?;
        let draft = d
            .drafts
            .into_iter()
            .rev()
            .find(|d| d.state == DraftState::Pending)
            .ok_or_else(|| {
                Error::NotFound(format!("no pending Assist draft on {}", d.item.external_id))
            })?;
        let seen = Seen {
            draft_id: draft.id,
            version: d.version,
        };
        Ok((draft, seen))
    }

    /// The draft the rep read, checked against what the conversation holds now: where the
    /// reply goes, and, if the conversation moved on since (a newer draft, the customer
    /// wrote), why the reply must wait for the rep instead of going out unseen.
    pub async fn draft_as_seen(&self, conversation_id: i64, seen: &Seen) -> Result<DraftAsSeen> {
        let d = self.detail(conversation_id).await?;
        let draft = d
            .drafts
            .iter()
            .find(|x| x.id == seen.draft_id)
            .cloned()
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "draft {} is not on conversation {}",
                    seen.draft_id, d.item.external_id
                ))
            })?;
        let newer = d.drafts.iter().any(|x| {
            x.state == DraftState::Pending && x.id != draft.id && x.created_at >= draft.created_at
        });
        let changed = if newer {
            Some("a newer Assist draft arrived since you read this one".to_string())
        } else if let Some(problem) = &d.item.sync_problem {
            // What the rep read may be missing what the customer wrote last.
            Some(format!(
                "Baton could not read all of this conversation ({problem}): read it in the helpdesk first"
            ))
        } else if d.version != seen.version {
            // What the customer wrote after the version the rep saw (when the version is a
            // time, as Zendesk's is; otherwise after the draft).
            let since = chrono::DateTime::parse_from_rfc3339(&seen.version)
                .map(|t| t.timestamp_millis())
                .unwrap_or(draft.created_at);
            let news: Vec<String> = d
                .messages
                .iter()
                .filter(|m| {
                    m.role == crate::model::Role::Customer && !m.internal && m.created_at > since
                })
                .map(|m| glance(m.author_name.as_deref().unwrap_or("the customer"), &m.body))
                .collect();
            Some(if news.is_empty() {
                "the conversation changed since you read it".to_string()
            } else {
                format!("since you read it: {}", news.join(" · "))
            })
        } else {
            None
        };
        Ok(DraftAsSeen {
            account_id: d.item.account_id.clone(),
            external_id: d.item.external_id.clone(),
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
        let original: String = sqlx::query_scalar("SELECT text FROM assist_drafts WHERE id = ?")
            .bind(draft_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::NotFound(format!("no draft {draft_id}")))?;
        let distance = match (state, sent_text) {
            (DraftState::Edited, Some(t)) => Some(strsim::levenshtein(&original, t) as i64),
            _ => None,
        };
        if state == DraftState::Rejected && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(Error::Invalid("a rejection needs a reason".into()));
        }
        sqlx::query(
            "UPDATE assist_drafts SET state = ?, edited_text = ?, edit_distance = ?, outcome_reason = ?,
                    acted_by = ?, acted_at = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(sent_text.filter(|_| state == DraftState::Edited))
        .bind(distance)
        .bind(reason)
        .bind(actor)
        .bind(now)
        .bind(draft_id)
        .execute(self.pool())
        .await?;
        sqlx::query("DELETE FROM draft_edits WHERE draft_id = ?")
            .bind(draft_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Acceptance, edit and rejection by rep and topic (the handoff's reason category, or
    /// the ticket's subject) for drafts acted on since `since`.
    pub async fn draft_report(&self, since: Millis) -> Result<Vec<DraftReportRow>> {
        let rows = sqlx::query(
            "SELECT d.acted_by AS rep, COALESCE(h.reason_category, c.subject) AS topic,
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
                          AND COALESCE(z.reason_category, y.subject) = COALESCE(h.reason_category, c.subject)
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
