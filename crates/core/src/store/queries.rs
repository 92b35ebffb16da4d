//! Read paths for the queue, a conversation's detail and transcript search.

use super::drafts::{assist_draft, DRAFT_SELECT};
use super::Store;
use crate::error::{Error, Result};
use crate::model::*;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// Which conversations the queue shows. The default is what a rep works: open handoffs
/// and conversations with a pending Assist draft, longest waiting first, mine on top.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, ts_rs::TS)]
#[serde(default)]
pub struct QueueFilter {
    pub account_id: Option<String>,
    /// Include solved and closed conversations, and sessions that ended (whose tickets
    /// may stay open for a follow-up by email).
    pub include_done: bool,
    pub channel: Option<Channel>,
    pub limit: Option<i64>,
    /// Only mine and my groups' unassigned: what the tray counts and notifications announce.
    pub my_scope: bool,
    /// Only these conversations (by the vendor's id, with `account_id`): the rows a change
    /// touched, for a UI that merges them rather than re-reading the whole queue.
    pub external_ids: Option<Vec<String>>,
}

/// How many rows a cache holds, table by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheCounts {
    pub conversations: i64,
    pub handoffs: i64,
    pub messages: i64,
    pub drafts: i64,
}

const QUEUE_SELECT: &str = "
    SELECT c.id, c.account_id, c.external_id, c.source, c.channel, c.status, c.subject,
           c.requester_name, c.assignee_id, c.assignee_name, c.group_id, c.group_name,
           CASE WHEN c.assignee_id IS NOT NULL AND c.assignee_id = a.me_id THEN 'mine'
                WHEN c.assignee_id IS NULL
                     AND c.group_id IN (SELECT value FROM json_each(a.me_group_ids)) THEN 'my_groups'
                ELSE 'other' END AS scope,
           h.mode AS handoff_mode, h.reason, COALESCE(h.handed_off_at, c.created_at) AS waiting_since,
           d.conversation_id IS NOT NULL AS has_pending_draft, c.sync_problem,
           c.ended_by, c.ended_at,
           json_extract(h.details, '$.transfer_to') AS transfer_to,
           json_extract(h.details, '$.follow_up') AS follow_up
    FROM conversations c
    JOIN accounts a ON a.id = c.account_id
    LEFT JOIN handoffs h ON h.conversation_id = c.id
    LEFT JOIN (SELECT DISTINCT conversation_id FROM assist_drafts WHERE state = 'pending') d
           ON d.conversation_id = c.id";

pub(super) fn enum_col<T>(r: &SqliteRow, col: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let s: String = r.get(col);
    parse(&s).ok_or_else(|| Error::Database(format!("unexpected {col} {s:?} in the cache")))
}

/// How the session ended, from a row's `ended_by` and `ended_at` (`None`: not ended).
pub(super) fn session_end(r: &SqliteRow) -> Option<SessionEnd> {
    let by: Option<String> = r.get("ended_by");
    by.map(|by| SessionEnd {
        by: EndedBy::from_code(&by),
        at: r.get("ended_at"),
    })
}

fn queue_item(r: &SqliteRow) -> Result<QueueItem> {
    let mode: Option<String> = r.get("handoff_mode");
    Ok(QueueItem {
        id: r.get("id"),
        account_id: r.get("account_id"),
        external_id: r.get("external_id"),
        source: enum_col(r, "source", SourceKind::parse)?,
        channel: enum_col(r, "channel", Channel::parse)?,
        status: enum_col(r, "status", Status::parse)?,
        subject: r.get("subject"),
        requester_name: r.get("requester_name"),
        assignee_id: r.get("assignee_id"),
        assignee_name: r.get("assignee_name"),
        group_id: r.get("group_id"),
        group_name: r.get("group_name"),
        scope: enum_col(r, "scope", Scope::parse)?,
        is_handoff: mode.is_some(),
        handoff_mode: mode.as_deref().and_then(HandoffMode::parse),
        reason: r.get("reason"),
        waiting_since: r.get("waiting_since"),
        has_pending_draft: r.get("has_pending_draft"),
        sync_problem: r.get("sync_problem"),
        ended: session_end(r),
        transfer_to: r.get("transfer_to"),
        follow_up: r.get("follow_up"),
    })
}

impl Store {
    pub async fn queue(&self, f: &QueueFilter) -> Result<Vec<QueueItem>> {
        let sql = format!(
            "{QUEUE_SELECT}
             WHERE (h.conversation_id IS NOT NULL OR d.conversation_id IS NOT NULL)
               AND (?1 IS NULL OR c.account_id = ?1)
               AND (?2 OR (c.status NOT IN ('solved', 'closed') AND c.ended_by IS NULL))
               AND (?3 IS NULL OR c.channel = ?3)
               AND (NOT ?5 OR scope != 'other')
               AND (?6 IS NULL OR c.external_id IN (SELECT value FROM json_each(?6)))
             ORDER BY CASE scope WHEN 'mine' THEN 0 WHEN 'my_groups' THEN 1 ELSE 2 END,
                      waiting_since ASC, c.id ASC
             LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(&f.account_id)
            .bind(f.include_done)
            .bind(f.channel.map(|c| c.as_str()))
            .bind(f.limit.unwrap_or(-1))
            .bind(f.my_scope)
            .bind(
                f.external_ids
                    .as_ref()
                    .map(|ids| serde_json::to_string(ids).expect("strings serialize")),
            )
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(queue_item).collect()
    }

    pub async fn counts(&self) -> Result<CacheCounts> {
        let (conversations, handoffs, messages, drafts) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM conversations), (SELECT COUNT(*) FROM handoffs),
                    (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM assist_drafts)",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(CacheCounts {
            conversations,
            handoffs,
            messages,
            drafts,
        })
    }

    /// The cached conversations of an account that Baton could not read whole, and why,
    /// by the vendor's id.
    pub async fn sync_problems(&self, account_id: &str) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT external_id, sync_problem FROM conversations
             WHERE account_id = ? AND sync_problem IS NOT NULL ORDER BY external_id",
        )
        .bind(account_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Looks a conversation up by the vendor's id (e.g. the ticket number).
    pub async fn conversation_id(
        &self,
        account_id: Option<&str>,
        external_id: &str,
    ) -> Result<i64> {
        sqlx::query_scalar(
            "SELECT id FROM conversations WHERE external_id = ? AND (? IS NULL OR account_id = ?)
             ORDER BY id LIMIT 1",
        )
        .bind(external_id)
        .bind(account_id)
        .bind(account_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| Error::NotFound(format!("no conversation {external_id} in the cache")))
    }

    pub async fn detail(&self, id: i64) -> Result<ConversationDetail> {
        // One read transaction: the version, messages and drafts are one snapshot, so the
        // version a rep acts on never claims more than they were shown.
        let mut tx = self.pool().begin().await?;
        let r = sqlx::query(&format!("{QUEUE_SELECT} WHERE c.id = ?"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no conversation with id {id}")))?;
        let item = queue_item(&r)?;
        let c = sqlx::query(
            "SELECT c.priority, c.created_at, c.updated_at, c.ticket_url, c.session_url,
                    c.opencx_org_id, c.opencx_contact_id, c.opencx_session_id, c.assist_skips,
                    h.mode, h.reason, h.reason_category, h.handed_off_at, h.details, c.version,
                    c.routing_attributes, c.account_id
             FROM conversations c LEFT JOIN handoffs h ON h.conversation_id = c.id WHERE c.id = ?",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let skips: String = c.get("assist_skips");
        let routing: String = c.get("routing_attributes");
        let handoff = match c.get::<Option<String>, _>("mode") {
            Some(mode) => Some(Handoff {
                mode: HandoffMode::parse(&mode)
                    .ok_or_else(|| Error::Database(format!("unexpected mode {mode:?}")))?,
                reason: c.get("reason"),
                reason_category: c.get("reason_category"),
                handed_off_at: c.get("handed_off_at"),
                // Written by this store from the type itself: unreadable only if mended by
                // hand, and then the card shows the reason without the details.
                details: serde_json::from_str(c.get::<&str, _>("details")).unwrap_or_default(),
            }),
            None => None,
        };
        let contact: Option<String> = c.get("opencx_contact_id");
        let related = match contact.as_deref().filter(|c| !c.is_empty()) {
            Some(contact) => sqlx::query(
                "SELECT id, external_id, channel, status, subject, created_at, ended_by, ended_at
                 FROM conversations
                 WHERE account_id = ? AND opencx_contact_id = ? AND id != ?
                 ORDER BY created_at DESC, id DESC LIMIT 10",
            )
            .bind(c.get::<String, _>("account_id"))
            .bind(contact)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                Ok(RelatedConversation {
                    id: r.get("id"),
                    external_id: r.get("external_id"),
                    channel: enum_col(r, "channel", Channel::parse)?,
                    status: enum_col(r, "status", Status::parse)?,
                    subject: r.get("subject"),
                    created_at: r.get("created_at"),
                    ended: session_end(r),
                })
            })
            .collect::<Result<Vec<_>>>()?,
            None => vec![],
        };
        // OpenCX merges a caller it matched by number into the existing support user; one
        // it did not know becomes a contact with just the number, so its name is the number.
        let caller = (item.channel == Channel::Phone).then(|| Caller {
            known: item
                .requester_name
                .as_deref()
                .is_some_and(|n| !looks_like_a_phone_number(n)),
            name: item.requester_name.clone(),
            contact_id: contact.clone(),
        });
        let messages = messages_of(&mut tx, id).await?;
        let drafts = sqlx::query(&format!(
            "{DRAFT_SELECT} WHERE conversation_id = ? ORDER BY created_at, id"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(assist_draft)
        .collect::<Result<Vec<_>>>()?;
        Ok(ConversationDetail {
            item,
            priority: c.get("priority"),
            created_at: c.get("created_at"),
            updated_at: c.get("updated_at"),
            ticket_url: c.get("ticket_url"),
            session_url: c.get("session_url"),
            opencx_org_id: c.get("opencx_org_id"),
            opencx_contact_id: c.get("opencx_contact_id"),
            opencx_session_id: c.get("opencx_session_id"),
            assist_skips: serde_json::from_str(&skips).unwrap_or_default(),
            routing_attributes: serde_json::from_str(&routing).unwrap_or_default(),
            handoff,
            caller,
            related,
            messages,
            drafts,
            version: c.get("version"),
        })
    }

    /// Full-text search over transcripts. The user's words are matched as terms (all of
    /// them, prefix on the last), never as FTS query syntax, so any input is safe.
    pub async fn search(&self, text: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let Some(query) = fts_query(text) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT c.id AS conversation_id, c.external_id, c.subject, m.role, m.created_at,
                    snippet(messages_fts, 0, '[', ']', '…', 12) AS snippet
             FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
             JOIN conversations c ON c.id = m.conversation_id
             WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
        )
        .bind(query)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SearchHit {
                    conversation_id: r.get("conversation_id"),
                    external_id: r.get("external_id"),
                    subject: r.get("subject"),
                    role: enum_col(r, "role", Role::parse)?,
                    snippet: r.get("snippet"),
                    created_at: r.get("created_at"),
                })
            })
            .collect()
    }
}

/// A name that is only a phone number (`+1 (415) 555-0142`), or empty.
fn looks_like_a_phone_number(name: &str) -> bool {
    let digits = name.chars().filter(char::is_ascii_digit).count();
    name.chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && (digits >= 5 || name.trim().is_empty())
}

fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| format!("\"{t}\""))
        .collect();
    let last = terms.len().checked_sub(1)?;
    Some(
        terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i == last {
                    format!("{t}*")
                } else {
                    t.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A conversation's messages in the order a rep reads them.
pub(super) async fn messages_of(
    conn: &mut sqlx::SqliteConnection,
    conversation_id: i64,
) -> Result<Vec<Message>> {
    sqlx::query(
        "SELECT external_id, role, author_name, body, created_at, attachments, internal
         FROM messages WHERE conversation_id = ? ORDER BY created_at, id",
    )
    .bind(conversation_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|m| {
        let attachments: String = m.get("attachments");
        Ok(Message {
            external_id: m.get("external_id"),
            role: enum_col(m, "role", Role::parse)?,
            author_name: m.get("author_name"),
            body: m.get("body"),
            created_at: m.get("created_at"),
            attachments: serde_json::from_str(&attachments).unwrap_or_default(),
            internal: m.get("internal"),
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::{fts_query, looks_like_a_phone_number};

    #[test]
    fn a_caller_known_only_by_number_is_told_from_a_named_one() {
        for n in ["+1 (415) 555-0142", "4155550142", "+44 20 7946 0958", " "] {
            assert!(looks_like_a_phone_number(n), "{n:?}");
        }
        for n in ["Maria Lopez", "555", "Agent 007", "R2-D2 +1"] {
            assert!(!looks_like_a_phone_number(n), "{n:?}");
        }
    }

    #[test]
    fn user_text_never_becomes_fts_syntax() {
        assert_eq!(
            fts_query("refund OR \"x"),
            Some("\"refund\" \"OR\" \"x\"*".into())
        );
        assert_eq!(fts_query("  ** () "), None);
        assert_eq!(fts_query("café"), Some("\"café\"*".into()));
    }
}
