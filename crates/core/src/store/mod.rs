//! The SQLite cache: one file per user, WAL, migrations from `migrations/`.
//! A sync page and the cursor after it are written in one transaction, so a crash
//! anywhere leaves the cache at a page boundary: never a gap, never a duplicate.

mod accounts;
mod copy;
mod drafts;
mod landed;
mod outbox;
mod queries;
mod review;
mod shared;
mod team;

pub use accounts::{AccountRecord, AuthKind};
pub use copy::SyncedRows;
pub use queries::{CacheCounts, QueueFilter};
pub use shared::{Outgoing, SharedChange, SharedItem, SharingStatus};
pub use team::{Membership, Snapshot, TeamChange, Unpublished, TEAM_STREAM};

use crate::error::Result;
use crate::model::{Bundle, Millis};
use crate::review::Rules;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;
use tokio::sync::broadcast;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// What changed in the store, announced after the transaction commits (and forwarded to
/// the UI as the `store-changed` event).
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Conversations {
        account_id: String,
        external_ids: Vec<String>,
    },
    Accounts,
    /// Replies were delivered or failed: a sent reply can take its conversation out of the
    /// queue.
    Outbox,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    changes: broadcast::Sender<Change>,
    /// A relay's store: what its sync writes is queued for its team's stream.
    publishes: bool,
}

/// The stored transcript state of one conversation: what the next sync resumes from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TranscriptState {
    pub version: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageStats {
    pub conversations: usize,
    pub messages: usize,
    pub drafts: usize,
}

impl Store {
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                crate::files::create_private_dir_all(dir).map_err(|e| {
                    crate::Error::Database(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
        crate::files::create_private_database(path).map_err(|e| {
            crate::Error::Database(format!("cannot create {}: {e}", path.display()))
        })?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before the call returns. The outbox marks a reply
            // "may have posted" before its request leaves; under NORMAL a power cut could
            // undo that mark after the vendor got the reply, and it would be posted again.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        landed::repair(&pool, &MIGRATOR).await?;
        MIGRATOR.run(&pool).await?;
        let (changes, _) = broadcast::channel(256);
        Ok(Self {
            pool,
            changes,
            publishes: false,
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) fn announce(&self, change: Change) {
        // No subscriber is fine: the CLI often has none.
        let _ = self.changes.send(change);
    }

    pub async fn cursor(&self, account_id: &str, stream: &str) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT cursor FROM sync_cursors WHERE account_id = ? AND stream = ?")
                .bind(account_id)
                .bind(stream)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Sets a stream's cursor: a relay taking over resumes from where the last holder's
    /// export stood.
    pub async fn set_cursor(
        &self,
        account_id: &str,
        stream: &str,
        cursor: &str,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        save_cursor(&mut tx, account_id, stream, cursor, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The stored transcript state for the given conversations (missing ones are absent).
    pub async fn transcript_states(
        &self,
        account_id: &str,
        external_ids: &[String],
    ) -> Result<HashMap<String, TranscriptState>> {
        let mut out = HashMap::new();
        if external_ids.is_empty() {
            return Ok(out);
        }
        let ids = serde_json::to_string(external_ids).expect("strings serialize");
        let rows = sqlx::query(
            "SELECT external_id, transcript_version, transcript_cursor FROM conversations
             WHERE account_id = ? AND external_id IN (SELECT value FROM json_each(?))",
        )
        .bind(account_id)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            out.insert(
                r.get(0),
                TranscriptState {
                    version: r.get(1),
                    cursor: r.get(2),
                },
            );
        }
        Ok(out)
    }

    /// Writes conversations and, when given, the cursor that follows them, atomically.
    pub async fn commit_page(
        &self,
        account_id: &str,
        stream: &str,
        bundles: &[Bundle],
        cursor: Option<&str>,
        now: Millis,
    ) -> Result<PageStats> {
        let mut stats = PageStats::default();
        // IMMEDIATE: the rules are read first, and a deferred transaction that read could
        // not take the write lock after a rule edit committed; this one waits for it.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let rules = review::load_rules(&mut tx).await?;
        for bundle in bundles {
            let id = upsert_conversation(&mut tx, account_id, bundle).await?;
            stats.conversations += 1;
            upsert_handoff(&mut tx, id, bundle, &rules).await?;
            if let Some(t) = &bundle.transcript {
                stats.messages += upsert_messages(&mut tx, id, &t.messages).await?;
                stats.drafts += add_drafts(&mut tx, id, &t.drafts).await?;
                drafts::settle(&mut tx, id).await?;
            }
        }
        if let Some(cursor) = cursor {
            save_cursor(&mut tx, account_id, stream, cursor, now).await?;
        }
        if self.publishes {
            let ids = bundles.iter().map(|b| &b.conversation.external_id);
            team::queue_unpublished(&mut tx, account_id, ids).await?;
        }
        tx.commit().await?;
        self.announce_conversations(
            account_id,
            bundles.iter().map(|b| &b.conversation.external_id),
        );
        Ok(stats)
    }

    /// Drops conversations the vendor deleted: their messages (and so their search index
    /// rows), handoff and drafts go with them. Returns how many were cached.
    pub async fn forget_conversations(
        &self,
        account_id: &str,
        external_ids: &[String],
    ) -> Result<usize> {
        if external_ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "DELETE FROM conversations
             WHERE account_id = ? AND external_id IN (SELECT value FROM json_each(?))",
        )
        .bind(account_id)
        .bind(serde_json::to_string(external_ids).expect("strings serialize"))
        .execute(&mut *tx)
        .await?;
        if self.publishes {
            team::queue_unpublished(&mut tx, account_id, external_ids.iter()).await?;
        }
        tx.commit().await?;
        self.announce_conversations(account_id, external_ids.iter());
        Ok(done.rows_affected() as usize)
    }

    /// Marks cached conversations whose latest record could not be read, keeping the
    /// last good copy: `(external id, why)`. Conversations not cached yet are left out.
    pub async fn mark_sync_problems(
        &self,
        account_id: &str,
        problems: &[(String, String)],
    ) -> Result<usize> {
        if problems.is_empty() {
            return Ok(0);
        }
        let mut marked = 0;
        let mut tx = self.pool.begin().await?;
        for (external_id, problem) in problems {
            let done = sqlx::query(
                "UPDATE conversations SET sync_problem = ? WHERE account_id = ? AND external_id = ?",
            )
            .bind(problem)
            .bind(account_id)
            .bind(external_id)
            .execute(&mut *tx)
            .await?;
            marked += done.rows_affected() as usize;
        }
        if self.publishes {
            let ids = problems.iter().map(|(id, _)| id);
            team::queue_unpublished(&mut tx, account_id, ids).await?;
        }
        tx.commit().await?;
        self.announce_conversations(account_id, problems.iter().map(|(id, _)| id));
        Ok(marked)
    }

    fn announce_conversations<'a>(
        &self,
        account_id: &str,
        external_ids: impl Iterator<Item = &'a String>,
    ) {
        let external_ids: Vec<String> = external_ids.cloned().collect();
        if !external_ids.is_empty() {
            self.announce(Change::Conversations {
                account_id: account_id.to_string(),
                external_ids,
            });
        }
    }
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

/// Inserts or updates the conversation's own fields; returns its row id. The stored
/// transcript version and cursor move only when a transcript came with it, and its sync
/// problem is replaced only by a fresh verdict (a transcript read, one that failed, or
/// a conversation that needs none): otherwise what the last read found still holds.
async fn upsert_conversation(tx: &mut Tx<'_>, account_id: &str, bundle: &Bundle) -> Result<i64> {
    let c = &bundle.conversation;
    let transcript = bundle.transcript.as_ref();
    let problem = bundle
        .problem
        .as_deref()
        .or(transcript.and_then(|t| t.problem.as_deref()));
    let fresh_verdict = problem.is_some() || transcript.is_some() || !c.wants_transcript;
    // A session, once ended, stays ended as it first ended: a Zendesk session's end is
    // read once, from its transcript, and the ticket's later updates (its closing) neither
    // repeat nor rewrite it.
    let ended = c
        .ended
        .as_ref()
        .or(transcript.and_then(|t| t.session_end.as_ref()));
    let id = sqlx::query_scalar(
        "INSERT INTO conversations (account_id, external_id, source, channel, status, subject,
            requester_name, assignee_id, assignee_name, group_id, group_name, priority,
            created_at, updated_at, ticket_url, session_url, opencx_org_id, opencx_contact_id,
            opencx_session_id, assist_skips, version, transcript_version, transcript_cursor,
            sync_problem, ended_by, ended_at, routing_attributes)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
         ON CONFLICT (account_id, external_id) DO UPDATE SET
            source = excluded.source, channel = excluded.channel, status = excluded.status,
            subject = excluded.subject, requester_name = excluded.requester_name,
            assignee_id = excluded.assignee_id, assignee_name = excluded.assignee_name,
            group_id = excluded.group_id, group_name = excluded.group_name,
            priority = excluded.priority, created_at = excluded.created_at,
            updated_at = excluded.updated_at, ticket_url = excluded.ticket_url,
            session_url = excluded.session_url, opencx_org_id = excluded.opencx_org_id,
            opencx_contact_id = excluded.opencx_contact_id,
            opencx_session_id = excluded.opencx_session_id,
            assist_skips = excluded.assist_skips, version = excluded.version,
            ended_by = COALESCE(conversations.ended_by, excluded.ended_by),
            ended_at = CASE WHEN conversations.ended_by IS NULL THEN excluded.ended_at
                            ELSE conversations.ended_at END,
            routing_attributes = excluded.routing_attributes,
            transcript_version = COALESCE(excluded.transcript_version, conversations.transcript_version),
            transcript_cursor = COALESCE(excluded.transcript_cursor, conversations.transcript_cursor),
            sync_problem = CASE WHEN ? THEN excluded.sync_problem ELSE conversations.sync_problem END
         RETURNING id",
    )
    .bind(account_id)
    .bind(&c.external_id)
    .bind(c.source.as_str())
    .bind(c.channel.as_str())
    .bind(c.status.as_str())
    .bind(&c.subject)
    .bind(&c.requester_name)
    .bind(&c.assignee_id)
    .bind(&c.assignee_name)
    .bind(&c.group_id)
    .bind(&c.group_name)
    .bind(&c.priority)
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(&c.ticket_url)
    .bind(&c.session_url)
    .bind(&c.opencx_org_id)
    .bind(&c.opencx_contact_id)
    .bind(&c.opencx_session_id)
    .bind(serde_json::to_string(&c.assist_skips).expect("strings serialize"))
    .bind(&c.version)
    .bind(transcript.map(|_| c.version.as_str()))
    .bind(transcript.and_then(|t| t.cursor.as_deref()))
    .bind(problem)
    .bind(ended.map(|e| e.by.code()))
    .bind(ended.and_then(|e| e.at))
    .bind(serde_json::to_string(&c.routing_attributes).expect("strings serialize"))
    .bind(fresh_verdict)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// The handoff facts from the conversation's fields, with the reason and time its
/// transcript names; a part of the transcript without them keeps the stored ones. A new
/// reason gets its category by `rules` (none when no rule matches).
/// A conversation whose fields no longer say handoff (its tags were removed) stops being
/// one: its handoff row goes, and with it its place in the handoff queue.
async fn upsert_handoff(
    tx: &mut Tx<'_>,
    conversation_id: i64,
    bundle: &Bundle,
    rules: &Rules,
) -> Result<()> {
    let Some(facts) = &bundle.conversation.handoff else {
        sqlx::query("DELETE FROM handoffs WHERE conversation_id = ?")
            .bind(conversation_id)
            .execute(&mut **tx)
            .await?;
        return Ok(());
    };
    let transcript = bundle.transcript.as_ref();
    let reason = transcript.and_then(|t| t.handoff_reason.as_deref());
    let explicit_at = transcript
        .and_then(|t| t.handoff_at)
        .or(facts.handed_off_at);
    let details = transcript
        .and_then(|t| t.handoff_details.as_ref())
        .map(|d| serde_json::to_string(d).expect("details serialize"));
    sqlx::query(
        "INSERT INTO handoffs (conversation_id, mode, reason, reason_category, handed_off_at,
            details)
         VALUES (?, ?, ?, ?, COALESCE(?, ?), COALESCE(?, '{}'))
         ON CONFLICT (conversation_id) DO UPDATE SET
            mode = excluded.mode,
            reason = COALESCE(excluded.reason, handoffs.reason),
            details = CASE WHEN ? IS NULL THEN handoffs.details ELSE excluded.details END,
            reason_category = CASE WHEN excluded.reason IS NULL THEN handoffs.reason_category
                                   ELSE excluded.reason_category END,
            handed_off_at = COALESCE(?, handoffs.handed_off_at)",
    )
    .bind(conversation_id)
    .bind(facts.mode.as_str())
    .bind(reason)
    .bind(rules.categorise(reason))
    .bind(explicit_at)
    .bind(bundle.conversation.created_at)
    .bind(&details)
    .bind(&details)
    .bind(explicit_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Returns how many messages were written.
async fn upsert_messages(
    tx: &mut Tx<'_>,
    conversation_id: i64,
    messages: &[crate::model::Message],
) -> Result<usize> {
    for m in messages {
        sqlx::query(
            "INSERT INTO messages (conversation_id, external_id, role, author_name, body,
                created_at, attachments, internal)
             VALUES (?,?,?,?,?,?,?,?)
             ON CONFLICT (conversation_id, external_id) DO UPDATE SET
                role = excluded.role, author_name = excluded.author_name,
                body = excluded.body, created_at = excluded.created_at,
                attachments = excluded.attachments, internal = excluded.internal",
        )
        .bind(conversation_id)
        .bind(&m.external_id)
        .bind(m.role.as_str())
        .bind(&m.author_name)
        .bind(&m.body)
        .bind(m.created_at)
        .bind(serde_json::to_string(&m.attachments).expect("attachments serialize"))
        .bind(m.internal)
        .execute(&mut **tx)
        .await?;
    }
    Ok(messages.len())
}

/// Returns how many drafts were added or changed.
async fn add_drafts(
    tx: &mut Tx<'_>,
    conversation_id: i64,
    drafts: &[crate::model::DraftFacts],
) -> Result<usize> {
    let mut changed = 0;
    for d in drafts {
        // The vendor may post the same suggestion twice (webhook retries): one draft per text.
        let done = sqlx::query(
            "INSERT INTO assist_drafts (conversation_id, source_note_id, text, training_url, created_at)
             SELECT ?1, ?2, ?3, ?4, ?5
             WHERE NOT EXISTS (SELECT 1 FROM assist_drafts
                               WHERE conversation_id = ?1 AND text = ?3 AND source_note_id <> ?2)
             ON CONFLICT (conversation_id, source_note_id) DO UPDATE SET
                text = excluded.text, training_url = excluded.training_url",
        )
        .bind(conversation_id)
        .bind(&d.source_note_id)
        .bind(&d.text)
        .bind(&d.training_url)
        .bind(d.created_at)
        .execute(&mut **tx)
        .await?;
        changed += done.rows_affected() as usize;
    }
    Ok(changed)
}

async fn save_cursor(
    tx: &mut Tx<'_>,
    account_id: &str,
    stream: &str,
    cursor: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sync_cursors (account_id, stream, cursor, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (account_id, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(stream)
    .bind(cursor)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
