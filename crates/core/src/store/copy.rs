//! The rows a sync writes, copied from one database into another by bare inserts: the
//! floor `baton-bench` holds the sync's own writes against, so the copy must stay the
//! cheapest way to write those rows (one prepared INSERT per row, one transaction).

use super::Store;
use crate::error::Result;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// Every conversation, handoff, message and Assist draft of a cache as stored, read for
/// writing elsewhere. What reps did (outcomes, edits, the outbox) is not in it.
pub struct SyncedRows {
    conversations: Vec<SqliteRow>,
    handoffs: Vec<SqliteRow>,
    messages: Vec<SqliteRow>,
    drafts: Vec<SqliteRow>,
}

impl SyncedRows {
    pub fn len(&self) -> usize {
        self.conversations.len() + self.handoffs.len() + self.messages.len() + self.drafts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Store {
    pub async fn synced_rows(&self) -> Result<SyncedRows> {
        let all = |sql| sqlx::query(sql).fetch_all(self.pool());
        Ok(SyncedRows {
            conversations: all("SELECT * FROM conversations ORDER BY id").await?,
            handoffs: all("SELECT * FROM handoffs ORDER BY conversation_id").await?,
            messages: all("SELECT * FROM messages ORDER BY id").await?,
            drafts: all("SELECT * FROM assist_drafts ORDER BY id").await?,
        })
    }

    /// Writes rows read from another cache, keeping conversation ids: plain INSERTs in one
    /// transaction, with no conflict handling and no change announced, so it is meant for
    /// a database that has their accounts and none of their conversations.
    pub async fn insert_synced_rows(&self, rows: &SyncedRows) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for r in &rows.conversations {
            sqlx::query(
                "INSERT INTO conversations (id, account_id, external_id, source, channel, status,
                    subject, requester_name, assignee_id, assignee_name, group_id, group_name,
                    priority, created_at, updated_at, ticket_url, session_url, opencx_org_id,
                    opencx_contact_id, opencx_session_id, assist_skips, version,
                    transcript_version, transcript_cursor, sync_problem, ended_by, ended_at,
                    routing_attributes)
                 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            )
            .bind(r.get::<i64, _>("id"))
            .bind(r.get::<String, _>("account_id"))
            .bind(r.get::<String, _>("external_id"))
            .bind(r.get::<String, _>("source"))
            .bind(r.get::<String, _>("channel"))
            .bind(r.get::<String, _>("status"))
            .bind(r.get::<String, _>("subject"))
            .bind(r.get::<Option<String>, _>("requester_name"))
            .bind(r.get::<Option<String>, _>("assignee_id"))
            .bind(r.get::<Option<String>, _>("assignee_name"))
            .bind(r.get::<Option<String>, _>("group_id"))
            .bind(r.get::<Option<String>, _>("group_name"))
            .bind(r.get::<Option<String>, _>("priority"))
            .bind(r.get::<i64, _>("created_at"))
            .bind(r.get::<i64, _>("updated_at"))
            .bind(r.get::<Option<String>, _>("ticket_url"))
            .bind(r.get::<Option<String>, _>("session_url"))
            .bind(r.get::<Option<String>, _>("opencx_org_id"))
            .bind(r.get::<Option<String>, _>("opencx_contact_id"))
            .bind(r.get::<Option<String>, _>("opencx_session_id"))
            .bind(r.get::<String, _>("assist_skips"))
            .bind(r.get::<String, _>("version"))
            .bind(r.get::<Option<String>, _>("transcript_version"))
            .bind(r.get::<Option<String>, _>("transcript_cursor"))
            .bind(r.get::<Option<String>, _>("sync_problem"))
            .bind(r.get::<Option<String>, _>("ended_by"))
            .bind(r.get::<Option<i64>, _>("ended_at"))
            .bind(r.get::<String, _>("routing_attributes"))
            .execute(&mut *tx)
            .await?;
        }
        for r in &rows.handoffs {
            sqlx::query(
                "INSERT INTO handoffs (conversation_id, mode, reason, reason_category, handed_off_at)
                 VALUES (?,?,?,?,?)",
            )
            .bind(r.get::<i64, _>("conversation_id"))
            .bind(r.get::<String, _>("mode"))
            .bind(r.get::<Option<String>, _>("reason"))
            .bind(r.get::<Option<String>, _>("reason_category"))
            .bind(r.get::<i64, _>("handed_off_at"))
            .execute(&mut *tx)
            .await?;
        }
        for r in &rows.messages {
            sqlx::query(
                "INSERT INTO messages (conversation_id, external_id, role, author_name, body,
                    created_at, attachments, internal)
                 VALUES (?,?,?,?,?,?,?,?)",
            )
            .bind(r.get::<i64, _>("conversation_id"))
            .bind(r.get::<String, _>("external_id"))
            .bind(r.get::<String, _>("role"))
            .bind(r.get::<Option<String>, _>("author_name"))
            .bind(r.get::<String, _>("body"))
            .bind(r.get::<i64, _>("created_at"))
            .bind(r.get::<String, _>("attachments"))
            .bind(r.get::<bool, _>("internal"))
            .execute(&mut *tx)
            .await?;
        }
        for r in &rows.drafts {
            sqlx::query(
                "INSERT INTO assist_drafts (conversation_id, source_note_id, text, training_url, created_at)
                 VALUES (?,?,?,?,?)",
            )
            .bind(r.get::<i64, _>("conversation_id"))
            .bind(r.get::<String, _>("source_note_id"))
            .bind(r.get::<String, _>("text"))
            .bind(r.get::<Option<String>, _>("training_url"))
            .bind(r.get::<i64, _>("created_at"))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{conversation, message, store_with_account};
    use crate::model::*;

    #[tokio::test]
    async fn a_copy_reads_back_as_the_cache_it_came_from() {
        let (_a, from) = store_with_account().await;
        let page: Vec<Bundle> = ["5", "6"]
            .into_iter()
            .map(|id| Bundle {
                conversation: Conversation {
                    // One ended, with routing attributes: the copy keeps them.
                    ended: (id == "6").then_some(SessionEnd {
                        by: EndedBy::Bot,
                        at: Some(1_900),
                    }),
                    routing_attributes: vec![RoutingAttribute {
                        label: "customer".into(),
                        value: format!("c{id}"),
                    }],
                    ..conversation(id, 2_000)
                },
                transcript: Some(TranscriptPage {
                    messages: vec![message("m1", "My order wombat", 1_100)],
                    drafts: vec![DraftFacts {
                        source_note_id: "n1".into(),
                        text: format!("Hello {id}"),
                        training_url: None,
                        created_at: 1_200,
                    }],
                    handoff_reason: Some("wants a human".into()),
                    ..Default::default()
                }),
                problem: (id == "6").then(|| "403".into()),
            })
            .collect();
        from.commit_page("acme", "tickets", &page, None, 1)
            .await
            .unwrap();
        let rows = from.synced_rows().await.unwrap();
        assert_eq!(
            rows.len(),
            2 * 4,
            "two conversations, handoffs, messages, drafts"
        );

        let (_b, to) = store_with_account().await;
        to.insert_synced_rows(&rows).await.unwrap();
        for id in ["5", "6"] {
            let c = from.conversation_id(Some("acme"), id).await.unwrap();
            assert_eq!(to.conversation_id(Some("acme"), id).await.unwrap(), c);
            let copied = to.detail(c).await.unwrap();
            assert_eq!(copied, from.detail(c).await.unwrap());
            assert_eq!(copied.routing_attributes[0].value, format!("c{id}"));
            assert_eq!(copied.item.ended.is_some(), id == "6");
        }
        assert_eq!(to.search("wombat", 10).await.unwrap().len(), 2);
        assert_eq!(to.counts().await.unwrap(), from.counts().await.unwrap());
    }
}
