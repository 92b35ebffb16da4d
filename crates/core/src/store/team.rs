//! What a team shares: a relay's cache reads each conversation whole (a [`Snapshot`]) to
//! publish it, and a desktop writes the snapshots it receives with its stream position in
//! one transaction. Which transport carries them is the engine's business, not this file's.

use super::queries::{enum_col, messages_of, session_end};
use super::{add_drafts, save_cursor, upsert_conversation, upsert_handoff, upsert_messages, Store};
use crate::error::{Error, Result};
use crate::model::{
    Bundle, Channel, Conversation, DraftFacts, HandoffDetails, HandoffFacts, HandoffMode, Message,
    Millis, SourceKind, Status, TranscriptPage,
};
use sqlx::Row;

/// A conversation as a relay's cache holds it, whole: everything a desktop needs to show
/// it without asking the vendor.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub conversation: Conversation,
    pub handoff_reason: Option<String>,
    /// The rest of the handoff summary (`None`: no handoff, or a relay too old to say).
    pub handoff_details: Option<HandoffDetails>,
    /// The conversation version the stored transcript was read at (`None`: never read).
    pub transcript_version: Option<String>,
    pub transcript_cursor: Option<String>,
    pub sync_problem: Option<String>,
    pub messages: Vec<Message>,
    pub drafts: Vec<DraftFacts>,
}

/// One change a team's stream carries.
#[derive(Debug, Clone, PartialEq)]
pub enum TeamChange {
    Upsert(Box<Snapshot>),
    /// The vendor deleted the conversation (by external id).
    Deleted(String),
}

/// What a relay changed and has not published yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpublished {
    pub seq: i64,
    pub account_id: String,
    pub external_id: String,
}

/// The team a desktop has joined. The secret that goes with it is in the keychain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct Membership {
    pub nats_url: String,
    pub user_name: String,
    /// A CA certificate to trust for the NATS server's TLS, besides the system's.
    pub ca_file: Option<String>,
    pub joined_at: Millis,
}

/// The cursor name a desktop's position in its team's stream is stored under.
pub const TEAM_STREAM: &str = "team";

impl Store {
    /// This store belongs to a relay: what its sync writes is queued for publishing in
    /// the same transaction.
    pub fn publishing(mut self) -> Self {
        self.publishes = true;
        self
    }

    /// The conversation whole, or `None` when the cache does not have it (deleted).
    pub async fn snapshot(&self, account_id: &str, external_id: &str) -> Result<Option<Snapshot>> {
        let mut tx = self.pool().begin().await?;
        let Some(r) = sqlx::query(
            "SELECT c.*, h.mode AS handoff_mode, h.reason AS handoff_reason,
                    h.handed_off_at AS handed_off_at, h.details AS handoff_details
             FROM conversations c LEFT JOIN handoffs h ON h.conversation_id = c.id
             WHERE c.account_id = ? AND c.external_id = ?",
        )
        .bind(account_id)
        .bind(external_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let id: i64 = r.get("id");
        let handoff = match r.get::<Option<String>, _>("handoff_mode") {
            Some(_) => Some(HandoffFacts {
                mode: enum_col(&r, "handoff_mode", HandoffMode::parse)?,
                handed_off_at: r.get("handed_off_at"),
            }),
            None => None,
        };
        let skips: String = r.get("assist_skips");
        let routing: String = r.get("routing_attributes");
        let transcript_version: Option<String> = r.get("transcript_version");
        let conversation = Conversation {
            external_id: r.get("external_id"),
            source: enum_col(&r, "source", SourceKind::parse)?,
            channel: enum_col(&r, "channel", Channel::parse)?,
            status: enum_col(&r, "status", Status::parse)?,
            subject: r.get("subject"),
            requester_name: r.get("requester_name"),
            assignee_id: r.get("assignee_id"),
            assignee_name: r.get("assignee_name"),
            group_id: r.get("group_id"),
            group_name: r.get("group_name"),
            priority: r.get("priority"),
            created_at: r.get("created_at"),
            updated_at: r.get("updated_at"),
            ticket_url: r.get("ticket_url"),
            session_url: r.get("session_url"),
            opencx_org_id: r.get("opencx_org_id"),
            opencx_contact_id: r.get("opencx_contact_id"),
            opencx_session_id: r.get("opencx_session_id"),
            assist_skips: serde_json::from_str(&skips)
                .map_err(|e| Error::Database(format!("assist_skips of {external_id}: {e}")))?,
            handoff,
            version: r.get("version"),
            wants_transcript: transcript_version.is_some(),
            ended: session_end(&r),
            routing_attributes: serde_json::from_str(&routing).map_err(|e| {
                Error::Database(format!("routing_attributes of {external_id}: {e}"))
            })?,
        };
        let messages = messages_of(&mut tx, id).await?;
        let drafts = sqlx::query(
            "SELECT source_note_id, text, training_url, created_at FROM assist_drafts
             WHERE conversation_id = ? ORDER BY created_at, id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|d| DraftFacts {
            source_note_id: d.get("source_note_id"),
            text: d.get("text"),
            training_url: d.get("training_url"),
            created_at: d.get("created_at"),
        })
        .collect();
        Ok(Some(Snapshot {
            conversation,
            handoff_reason: r.get("handoff_reason"),
            handoff_details: r
                .get::<Option<&str>, _>("handoff_details")
                .and_then(|d| serde_json::from_str(d).ok()),
            transcript_version,
            transcript_cursor: r.get("transcript_cursor"),
            sync_problem: r.get("sync_problem"),
            messages,
            drafts,
        }))
    }

    /// Every conversation of an account the cache holds, by the vendor's id.
    pub async fn external_ids(&self, account_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT external_id FROM conversations WHERE account_id = ? ORDER BY external_id",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Writes what a team's stream said, and the position after it, in one transaction.
    /// A snapshot older than the stored copy (by the vendor's `updated_at`) is skipped: a
    /// relay that lost its lease may still publish one late. Applying the same snapshot
    /// twice changes nothing. Returns how many conversations were written or dropped.
    pub async fn apply_team(
        &self,
        account_id: &str,
        changes: &[TeamChange],
        position: &str,
        now: Millis,
    ) -> Result<usize> {
        // IMMEDIATE: as in `commit_page`, the rules are read before the first write.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let rules = super::review::load_rules(&mut tx).await?;
        let mut written = 0;
        let mut touched = vec![];
        for change in changes {
            match change {
                TeamChange::Deleted(external_id) => {
                    let done = sqlx::query(
                        "DELETE FROM conversations WHERE account_id = ? AND external_id = ?",
                    )
                    .bind(account_id)
                    .bind(external_id)
                    .execute(&mut *tx)
                    .await?;
                    written += done.rows_affected() as usize;
                    touched.push(external_id.clone());
                }
                TeamChange::Upsert(s) => {
                    let c = &s.conversation;
                    let stored: Option<Millis> = sqlx::query_scalar(
                        "SELECT updated_at FROM conversations WHERE account_id = ? AND external_id = ?",
                    )
                    .bind(account_id)
                    .bind(&c.external_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if stored.is_some_and(|at| at > c.updated_at) {
                        continue;
                    }
                    let bundle = Bundle {
                        conversation: c.clone(),
                        transcript: Some(TranscriptPage {
                            messages: s.messages.clone(),
                            drafts: s.drafts.clone(),
                            handoff_reason: s.handoff_reason.clone(),
                            handoff_at: c.handoff.as_ref().and_then(|h| h.handed_off_at),
                            handoff_details: s.handoff_details.clone(),
                            ..Default::default()
                        }),
                        problem: None,
                    };
                    let id = upsert_conversation(&mut tx, account_id, &bundle).await?;
                    upsert_handoff(&mut tx, id, &bundle, &rules).await?;
                    upsert_messages(&mut tx, id, &s.messages).await?;
                    add_drafts(&mut tx, id, &s.drafts).await?;
                    super::drafts::settle(&mut tx, id).await?;
                    // The relay's verdicts, exactly: this cache never reads the vendor itself.
                    sqlx::query(
                        "UPDATE conversations SET transcript_version = ?, transcript_cursor = ?,
                            sync_problem = ? WHERE id = ?",
                    )
                    .bind(&s.transcript_version)
                    .bind(&s.transcript_cursor)
                    .bind(&s.sync_problem)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    written += 1;
                    touched.push(c.external_id.clone());
                }
            }
        }
        save_cursor(&mut tx, account_id, TEAM_STREAM, position, now).await?;
        tx.commit().await?;
        self.announce_conversations(account_id, touched.iter());
        Ok(written)
    }

    /// Conversations changed by this relay's sync and not yet published, oldest first.
    pub async fn unpublished(&self, limit: i64) -> Result<Vec<Unpublished>> {
        let rows = sqlx::query(
            "SELECT seq, account_id, external_id FROM team_unpublished ORDER BY seq LIMIT ?",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Unpublished {
                seq: r.get(0),
                account_id: r.get(1),
                external_id: r.get(2),
            })
            .collect())
    }

    /// The stream has everything queued up to `seq`: a change queued after it (the same
    /// conversation changed again meanwhile) stays queued.
    pub async fn published(&self, up_to_seq: i64) -> Result<()> {
        sqlx::query("DELETE FROM team_unpublished WHERE seq <= ?")
            .bind(up_to_seq)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn membership(&self) -> Result<Option<Membership>> {
        let row = sqlx::query(
            "SELECT nats_url, user_name, ca_file, joined_at FROM team_membership WHERE id = 1",
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| Membership {
            nats_url: r.get(0),
            user_name: r.get(1),
            ca_file: r.get(2),
            joined_at: r.get(3),
        }))
    }

    /// Joins a team (replacing any other): positions in a previous team's stream mean
    /// nothing in this one, so they go.
    pub async fn join_team(&self, m: &Membership) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM sync_cursors WHERE stream = ?")
            .bind(TEAM_STREAM)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO team_membership (id, nats_url, user_name, ca_file, joined_at)
             VALUES (1, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET nats_url = excluded.nats_url,
                user_name = excluded.user_name, ca_file = excluded.ca_file,
                joined_at = excluded.joined_at, shared_position = NULL, shared_refusal = NULL",
        )
        .bind(&m.nats_url)
        .bind(&m.user_name)
        .bind(&m.ca_file)
        .bind(m.joined_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.announce(super::Change::Accounts);
        Ok(())
    }

    /// Leaves the team: the cache stays (the next sync, team or not, brings it up to
    /// date); the position in the team's stream goes.
    pub async fn leave_team(&self) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("DELETE FROM team_membership")
            .execute(&mut *tx)
            .await?;
        // What never reached the team stays this desktop's.
        sqlx::query("DELETE FROM team_outgoing")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sync_cursors WHERE stream = ?")
            .bind(TEAM_STREAM)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.announce(super::Change::Accounts);
        Ok(done.rows_affected() > 0)
    }
}

pub(super) async fn queue_unpublished<'a>(
    tx: &mut super::Tx<'_>,
    account_id: &str,
    external_ids: impl Iterator<Item = &'a String>,
) -> Result<()> {
    for id in external_ids {
        sqlx::query("INSERT INTO team_unpublished (account_id, external_id) VALUES (?, ?)")
            .bind(account_id)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{conversation, message, store_with_account};
    use super::*;

    fn bundle(id: &str, updated: Millis, messages: Vec<Message>) -> Bundle {
        Bundle {
            conversation: conversation(id, updated),
            transcript: Some(TranscriptPage {
                messages,
                drafts: vec![DraftFacts {
                    source_note_id: format!("note-{id}"),
                    text: "We can refund you today.".into(),
                    training_url: None,
                    created_at: 1_500,
                }],
                handoff_reason: Some("wants a refund".into()),
                handoff_at: Some(1_200),
                cursor: Some("t1".into()),
                problem: None,
                ..Default::default()
            }),
            problem: None,
        }
    }

    #[tokio::test]
    async fn a_relays_snapshot_makes_the_same_conversation_in_a_desktops_cache() {
        let (_relay_dir, relay) = store_with_account().await;
        let relay = relay.publishing();
        let mut page = vec![bundle(
            "7",
            2_000,
            vec![
                message("m1", "hello", 1_100),
                message("m2", "refund?", 1_150),
            ],
        )];
        // How it ended and its routing attributes travel with it.
        page[0].conversation.ended = Some(crate::model::SessionEnd {
            by: crate::model::EndedBy::Agent,
            at: Some(1_900),
        });
        page[0].conversation.routing_attributes = vec![crate::model::RoutingAttribute {
            label: "customer".into(),
            value: "authenticated".into(),
        }];
        relay
            .commit_page("acme", "tickets", &page, Some("c1"), 1)
            .await
            .unwrap();
        let queued = relay.unpublished(10).await.unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].external_id, "7");
        let snapshot = relay.snapshot("acme", "7").await.unwrap().unwrap();
        assert_eq!(snapshot.messages.len(), 2);
        assert_eq!(snapshot.transcript_cursor.as_deref(), Some("t1"));
        assert_eq!(snapshot.handoff_reason.as_deref(), Some("wants a refund"));
        assert_eq!(snapshot.conversation.ended, page[0].conversation.ended);
        assert_eq!(
            snapshot.conversation.routing_attributes,
            page[0].conversation.routing_attributes
        );

        let (_desk_dir, desk) = store_with_account().await;
        let changes = [TeamChange::Upsert(Box::new(snapshot.clone()))];
        assert_eq!(desk.apply_team("acme", &changes, "41", 5).await.unwrap(), 1);
        // Twice is once: same rows, one draft.
        desk.apply_team("acme", &changes, "41", 5).await.unwrap();
        assert_eq!(desk.snapshot("acme", "7").await.unwrap().unwrap(), snapshot);
        assert_eq!(
            desk.cursor("acme", TEAM_STREAM).await.unwrap().as_deref(),
            Some("41")
        );
        let id = desk.conversation_id(Some("acme"), "7").await.unwrap();
        let detail = desk.detail(id).await.unwrap();
        assert_eq!(detail.drafts.len(), 1);
        assert_eq!(
            detail.item.ended.map(|e| e.by.sentence()).as_deref(),
            Some("ended by the agent")
        );
        assert_eq!(detail.routing_attributes[0].value, "authenticated");
        assert_eq!(
            detail.handoff.unwrap().reason.as_deref(),
            Some("wants a refund")
        );
        // A desktop's own writes are never queued for publishing.
        assert!(desk.unpublished(10).await.unwrap().is_empty());

        relay.published(queued[0].seq).await.unwrap();
        assert!(relay.unpublished(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_older_snapshot_arriving_late_does_not_undo_a_newer_one() {
        let (_dir, desk) = store_with_account().await;
        let newer = Snapshot {
            conversation: conversation("7", 3_000),
            handoff_reason: None,
            handoff_details: None,
            transcript_version: Some("3000".into()),
            transcript_cursor: None,
            sync_problem: None,
            messages: vec![message("m1", "newest words", 2_900)],
            drafts: vec![],
        };
        let mut older = newer.clone();
        older.conversation = conversation("7", 2_000);
        older.conversation.subject = "old subject".into();
        desk.apply_team(
            "acme",
            &[TeamChange::Upsert(Box::new(newer.clone()))],
            "1",
            1,
        )
        .await
        .unwrap();
        desk.apply_team("acme", &[TeamChange::Upsert(Box::new(older))], "2", 1)
            .await
            .unwrap();
        let kept = desk.snapshot("acme", "7").await.unwrap().unwrap();
        assert_eq!(kept.conversation.subject, newer.conversation.subject);
        // The position still moved past it.
        assert_eq!(
            desk.cursor("acme", TEAM_STREAM).await.unwrap().as_deref(),
            Some("2")
        );
        desk.apply_team("acme", &[TeamChange::Deleted("7".into())], "3", 1)
            .await
            .unwrap();
        assert!(desk.snapshot("acme", "7").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_change_queued_while_publishing_stays_queued() {
        let (_dir, relay) = store_with_account().await;
        let relay = relay.publishing();
        let page = vec![bundle("7", 2_000, vec![])];
        relay
            .commit_page("acme", "tickets", &page, None, 1)
            .await
            .unwrap();
        let first = relay.unpublished(10).await.unwrap();
        relay
            .commit_page("acme", "tickets", &page, None, 1)
            .await
            .unwrap();
        relay
            .forget_conversations("acme", &["8".into()])
            .await
            .unwrap();
        relay.published(first.last().unwrap().seq).await.unwrap();
        let left: Vec<String> = relay
            .unpublished(10)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.external_id)
            .collect();
        assert_eq!(left, ["7", "8"]);
    }

    #[tokio::test]
    async fn joining_another_team_forgets_the_position_in_the_last_one() {
        let (_dir, desk) = store_with_account().await;
        let m = Membership {
            nats_url: "nats://127.0.0.1:4222".into(),
            user_name: "maria".into(),
            ca_file: None,
            joined_at: 1,
        };
        desk.join_team(&m).await.unwrap();
        desk.apply_team("acme", &[], "99", 1).await.unwrap();
        assert_eq!(desk.membership().await.unwrap(), Some(m.clone()));
        desk.join_team(&Membership {
            nats_url: "nats://other:4222".into(),
            ..m
        })
        .await
        .unwrap();
        assert_eq!(desk.cursor("acme", TEAM_STREAM).await.unwrap(), None);
        assert!(desk.leave_team().await.unwrap());
        assert_eq!(desk.membership().await.unwrap(), None);
        assert!(!desk.leave_team().await.unwrap());
    }
}
