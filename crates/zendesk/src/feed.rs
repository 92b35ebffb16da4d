//! Zendesk as a sync [`Feed`]: the cursor-based incremental ticket export for changes
//! (with users and groups sideloaded, so names cost no extra requests), and per ticket
//! the conversation log (messaging) or comments, resumed from the stored cursor so an
//! updated ticket costs one request for what is new.

use crate::client::Client;
use crate::error::ZendeskError;
use crate::mapping::{self, Directory, FieldIds, Mapping};
use crate::wire;
use baton_core::model::{Conversation, TranscriptPage};
use baton_core::sync::{ChangePage, Feed, FeedError, Identity, Unreadable};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::OnceCell;

/// An account's Zendesk options, stored as the account's settings JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub mapping: Mapping,
    /// Tickets per export page (Zendesk allows up to 1000).
    pub export_page_size: u32,
    /// Events per transcript page (up to 100).
    pub transcript_page_size: u32,
    /// The first sync starts this many days back.
    pub backfill_days: u32,
    /// Sunshine Conversations, when the account has its credentials: read messaging
    /// transcripts there when the ticket's conversation log is not available.
    pub sunco: Option<SuncoSettings>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuncoSettings {
    pub app_id: String,
    pub key_id: String,
    /// Defaults to `{zendesk url}/sc`.
    #[serde(default)]
    pub base_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mapping: Mapping::default(),
            export_page_size: 1000,
            transcript_page_size: 100,
            backfill_days: 30,
            sunco: None,
        }
    }
}

pub struct ZendeskFeed {
    client: Client,
    settings: Settings,
    /// Unix seconds the first export starts from.
    start_time: i64,
    fields: OnceCell<FieldIds>,
    directory: Mutex<Directory>,
    /// Messaging tickets of the latest export page (their transcripts are fetched next),
    /// with their Sunshine Conversations conversation id when the ticket carries one.
    messaging: Mutex<HashMap<String, Option<String>>>,
    /// The Sunshine Conversations client and app id, when configured.
    sunco: Option<(Client, String)>,
}

fn invalid(endpoint: &str, reason: String) -> FeedError {
    ZendeskError::Invalid {
        endpoint: endpoint.into(),
        reason,
    }
    .into()
}

impl ZendeskFeed {
    /// `now_secs` is passed in (not read here) so tests control where a backfill starts.
    pub fn new(client: Client, settings: Settings, now_secs: i64) -> Self {
        let start_time = now_secs - i64::from(settings.backfill_days) * 86_400;
        Self {
            sunco: None,
            client,
            settings,
            start_time: start_time.max(0),
            fields: OnceCell::new(),
            directory: Mutex::default(),
            messaging: Mutex::default(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Reads messaging transcripts from Sunshine Conversations when the conversation
    /// log is not available (`sunco` is a client for `{base}/v2/apps/...`).
    pub fn with_sunco(mut self, sunco: Client, app_id: &str) -> Self {
        self.sunco = Some((sunco, app_id.to_string()));
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    async fn field_ids(&self) -> Result<&FieldIds, FeedError> {
        self.fields
            .get_or_try_init(|| async {
                let r: wire::TicketFieldsResponse =
                    self.client.get("/api/v2/ticket_fields", &[]).await?;
                Ok::<_, FeedError>(FieldIds::resolve(&self.settings.mapping, &r.ticket_fields))
            })
            .await
    }

    /// Messaging tickets (by `via.channel`, or an AI handoff) keep their transcript in
    /// the conversation log; other tickets in their comments.
    fn is_messaging(&self, c: &Conversation) -> bool {
        c.handoff.is_some()
            || self
                .messaging
                .lock()
                .expect("messaging lock")
                .contains_key(&c.external_id)
    }
}

/// A transcript cursor kept for the Sunshine Conversations path:
/// `sunco:{newest message id}|{comments cursor}`.
const SUNCO_CURSOR: &str = "sunco:";

#[derive(Clone, Copy, PartialEq)]
enum Source {
    ConversationLog,
    Comments,
}

impl ZendeskFeed {
    /// Maps tickets as Zendesk sent them (with the users and groups sideloaded beside
    /// them) to conversations; deleted ones by id; ones that do not parse, marked.
    fn read_tickets(
        &self,
        fields: &FieldIds,
        raw_tickets: &[serde_json::Value],
        raw_users: &[serde_json::Value],
        raw_groups: &[serde_json::Value],
        skipped: &mut Skipped<'_>,
    ) -> (Vec<Conversation>, Vec<String>, Vec<Unreadable>) {
        let users: Vec<wire::User> = raw_users
            .iter()
            .filter_map(|raw| skipped.read("user", raw))
            .collect();
        let groups: Vec<wire::Group> = raw_groups
            .iter()
            .filter_map(|raw| skipped.read("group", raw))
            .collect();
        let mut tickets = vec![];
        let mut deleted = vec![];
        let mut unreadable = vec![];
        for raw in raw_tickets {
            // A deleted ticket needs no more than its id to leave the cache.
            if raw["status"] == "deleted" {
                if let Some(id) = raw["id"].as_i64() {
                    deleted.push(id.to_string());
                    continue;
                }
            }
            match wire::record::<wire::Ticket>(raw) {
                Ok(t) => tickets.push(t),
                Err(bad) => {
                    skipped.bad("ticket", &bad);
                    if let Some(id) = bad.id.clone() {
                        unreadable.push(stale_copy(id, &bad.to_string()));
                    }
                }
            }
        }
        {
            // Kept across pages (not replaced): a webhook's single-ticket read may run
            // beside an export and needs its ticket's entry until its transcript is read.
            let mut messaging = self.messaging.lock().expect("messaging lock");
            for t in &tickets {
                let via = mapping::via_channel(t)
                    .is_some_and(|v| self.settings.mapping.messaging_via.contains(&v));
                let sunco = mapping::field_text(t, fields.sunco);
                if via || sunco.is_some() {
                    messaging.insert(t.id.to_string(), sunco);
                } else {
                    messaging.remove(&t.id.to_string());
                }
            }
        }
        let mut dir = self.directory.lock().expect("directory lock");
        dir.learn(&users, &groups);
        let mut conversations = Vec::with_capacity(tickets.len());
        for t in &tickets {
            let base = self.client.base_url();
            match mapping::conversation(&self.settings.mapping, fields, &dir, base, t) {
                Ok(c) => conversations.push(c),
                Err(why) => {
                    skipped.note("ticket", Some(&t.id.to_string()), "", &why);
                    unreadable.push(stale_copy(t.id.to_string(), &why));
                }
            }
        }
        (conversations, deleted, unreadable)
    }

    /// The ticket whose messaging conversation (Sunshine Conversations id) this is, when
    /// a sync has seen it.
    pub fn ticket_for_sunco(&self, conversation_id: &str) -> Option<String> {
        self.messaging
            .lock()
            .expect("messaging lock")
            .iter()
            .find(|(_, sunco)| sunco.as_deref() == Some(conversation_id))
            .map(|(ticket, _)| ticket.clone())
    }

    /// The ticket's conversation log or comments, from `cursor` to the end, read record
    /// by record: one that does not parse is left out and named in the page's `problem`,
    /// and the cursor stays before its page, so the next read meets it again.
    async fn paged(
        &self,
        c: &Conversation,
        source: Source,
        cursor: Option<&str>,
    ) -> Result<TranscriptPage, ZendeskError> {
        let path = match source {
            Source::ConversationLog => {
                format!("/api/v2/tickets/{}/conversation_log", c.external_id)
            }
            Source::Comments => format!("/api/v2/tickets/{}/comments", c.external_id),
        };
        let mut out = TranscriptPage::default();
        let (size, start) = (
            self.settings.transcript_page_size,
            cursor.map(str::to_string),
        );
        let m = &self.settings.mapping;
        let mut skipped = Skipped::new(&c.external_id);
        // The cursor each page was asked from, and the first one whose page had a bad record.
        let mut page_start = start.clone();
        let mut held_back: Option<Option<String>> = None;
        // At the end of each page: the next one is asked from its cursor (as `each_page`
        // does), and a page that had a bad record holds the stored cursor before it.
        let mut end_page = |skipped: &Skipped, before: usize, next: Option<&String>| {
            let this = page_start.clone();
            if let Some(after) = next {
                page_start = Some(after.clone());
            }
            if skipped.len() > before && held_back.is_none() {
                held_back = Some(this);
            }
        };
        let after = match source {
            Source::ConversationLog => {
                self.client
                    .each_page(&path, &[], size, start, |page: wire::RawLogPage| {
                        let before = skipped.len();
                        for raw in &page.events {
                            let Some(e) = skipped.read::<wire::LogEvent>("event", raw) else {
                                continue;
                            };
                            if skipped.read::<wire::LogEventShape>("event", raw).is_none() {
                                continue;
                            }
                            if let Err(why) =
                                mapping::log_events(m, &mut out, std::slice::from_ref(&e))
                            {
                                skipped.note("event", Some(&e.id), "", &why);
                            }
                        }
                        end_page(&skipped, before, page.meta.after_cursor.as_ref());
                        Ok(true)
                    })
                    .await?
            }
            Source::Comments => {
                let include = [("include", "users".to_string())];
                self.client
                    .each_page(
                        &path,
                        &include,
                        size,
                        start,
                        |page: wire::RawCommentsPage| {
                            let before = skipped.len();
                            let users: Vec<wire::User> = page
                                .users
                                .iter()
                                .filter_map(|raw| skipped.read("user", raw))
                                .collect();
                            let mut dir = self.directory.lock().expect("directory lock");
                            dir.learn(&users, &[]);
                            for raw in &page.comments {
                                let Some(comment) = skipped.read::<wire::Comment>("comment", raw)
                                else {
                                    continue;
                                };
                                if let Err(why) = mapping::comments(
                                    m,
                                    &dir,
                                    &mut out,
                                    std::slice::from_ref(&comment),
                                ) {
                                    skipped.note(
                                        "comment",
                                        Some(&comment.id.to_string()),
                                        "",
                                        &why,
                                    );
                                }
                            }
                            end_page(&skipped, before, page.meta.after_cursor.as_ref());
                            Ok(true)
                        },
                    )
                    .await?
            }
        };
        out.cursor = match held_back {
            Some(start) => start,
            None => after,
        };
        out.problem = skipped.summary();
        Ok(out)
    }

    /// Messages from Sunshine Conversations (newest page first, paging back until the
    /// newest message already stored), and the notes from the ticket's comments.
    async fn sunco_transcript(
        &self,
        c: &Conversation,
        ((client, app), conversation): &(&(Client, String), String),
        cursor: Option<&str>,
    ) -> Result<TranscriptPage, FeedError> {
        let (known, comments_cursor) = match cursor.and_then(|c| c.split_once('|')) {
            Some((m, rest)) => (
                Some(m).filter(|m| !m.is_empty()),
                Some(rest).filter(|r| !r.is_empty()),
            ),
            None => (None, None),
        };
        // The id comes from a ticket field: one that cannot be a path is this ticket's problem.
        let path =
            crate::sunco_messages_path(app, conversation).map_err(|e| FeedError::Unreadable {
                message: format!("its Sunshine Conversations id cannot be used: {e}"),
            })?;
        let newest_first = crate::sunco_messages_since(client, &path, known)
            .await
            .map_err(ticket_error)?;
        let mut out = self
            .paged(c, Source::Comments, comments_cursor)
            .await
            .map_err(ticket_error)?;
        let notes = std::mem::take(&mut out.messages);
        let mut skipped = Skipped::new(&c.external_id);
        for msg in &newest_first {
            if let Err(why) = mapping::sunco_messages(&mut out, std::slice::from_ref(msg)) {
                skipped.note("message", Some(&msg.id), "", &why);
            }
        }
        out.problem = [out.problem.take(), skipped.summary()]
            .into_iter()
            .flatten()
            .reduce(|a, b| format!("{a}; {b}"));
        out.messages.extend(notes);
        let newest = newest_first
            .last()
            .map(|m| m.id.as_str())
            .or(known)
            .unwrap_or("");
        let comments = out.cursor.as_deref().or(comments_cursor).unwrap_or("");
        out.cursor = Some(format!("{SUNCO_CURSOR}{newest}|{comments}"));
        Ok(out)
    }

    /// The transcript from `cursor` (redactions aside: see [`crate::redactions`]).
    async fn transcript_at(
        &self,
        c: &Conversation,
        cursor: Option<&str>,
    ) -> Result<TranscriptPage, FeedError> {
        let sunco_conversation = self
            .messaging
            .lock()
            .expect("messaging lock")
            .get(&c.external_id)
            .cloned()
            .flatten();
        let sunco = self.sunco.as_ref().zip(sunco_conversation);
        if let (Some(rest), Some(sunco)) =
            (cursor.and_then(|c| c.strip_prefix(SUNCO_CURSOR)), &sunco)
        {
            return self.sunco_transcript(c, sunco, Some(rest)).await;
        }
        let source = if self.is_messaging(c) {
            Source::ConversationLog
        } else {
            Source::Comments
        };
        let read = match self.paged(c, source, cursor).await {
            // A stored cursor Zendesk no longer takes: read the transcript from the start.
            Err(ZendeskError::Rejected { status: 400, .. }) if cursor.is_some() => {
                self.paged(c, source, None).await
            }
            other => other,
        };
        match (read, &sunco) {
            // An account without the conversation log: the same transcript from
            // Sunshine Conversations, the notes from the ticket's comments.
            (Err(ZendeskError::NotFound { .. }), Some(sunco))
                if source == Source::ConversationLog =>
            {
                self.sunco_transcript(c, sunco, None).await
            }
            (Err(ZendeskError::NotFound { .. }), None) if source == Source::ConversationLog => {
                Err(FeedError::Unreadable {
                    message: "Zendesk does not show this token the conversation log, and the \
                              account has no Sunshine Conversations key to read it from"
                        .into(),
                })
            }
            (other, _) => other.map_err(ticket_error),
        }
    }
}

impl Feed for ZendeskFeed {
    fn stream(&self) -> &str {
        "zendesk.tickets"
    }

    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, FeedError> {
        let fields = self.field_ids().await?.clone();
        let mut query = vec![
            ("per_page", self.settings.export_page_size.to_string()),
            ("include", "users,groups".to_string()),
        ];
        match cursor {
            Some(c) => query.push(("cursor", c.to_string())),
            None => query.push(("start_time", self.start_time.to_string())),
        }
        const EP: &str = "/api/v2/incremental/tickets/cursor";
        let page: wire::RawExportPage = self.client.get(EP, &query).await?;
        let mut skipped = Skipped::new("export page");
        let (conversations, deleted, unreadable) = self.read_tickets(
            &fields,
            &page.tickets,
            &page.users,
            &page.groups,
            &mut skipped,
        );
        let cursor = page
            .after_cursor
            .or_else(|| cursor.map(str::to_string))
            .ok_or_else(|| invalid(EP, "the export gave no cursor to continue from".into()))?;
        Ok(ChangePage {
            conversations,
            deleted,
            unreadable,
            cursor,
            end_of_stream: page.end_of_stream,
        })
    }

    async fn transcript(
        &self,
        c: &Conversation,
        cursor: Option<&str>,
    ) -> Result<TranscriptPage, FeedError> {
        // Redactions first: a newer one than the cursor has seen means reading it all again.
        let (applied, cursor) = crate::redactions::split(cursor);
        let newest = match cursor {
            Some(_) => match crate::redactions::newest(&self.client, &c.external_id).await {
                Ok(n) => n,
                Err(e @ (ZendeskError::RateLimited { .. } | ZendeskError::Unreachable { .. })) => {
                    return Err(e.into())
                }
                // Audits this token cannot read must not stop the transcript.
                Err(e) => {
                    tracing::warn!(ticket = %c.external_id, error = %e, "redactions not checked");
                    None
                }
            },
            None => None,
        };
        let cursor = if crate::redactions::must_reread(applied, newest) {
            None
        } else {
            cursor
        };
        let mut page = self.transcript_at(c, cursor).await?;
        page.cursor = crate::redactions::join(newest.or(applied), page.cursor);
        keep_own_end(&mut page, c.created_at);
        Ok(page)
    }

    async fn conversation(&self, external_id: &str) -> Result<Option<Conversation>, FeedError> {
        let fields = self.field_ids().await?.clone();
        let path = format!(
            "/api/v2/tickets/{}",
            crate::client::path_segment("ticket id", external_id).map_err(FeedError::from)?
        );
        let query = [("include", "users,groups".to_string())];
        let shown: wire::RawShowTicket = match self.client.get(&path, &query).await {
            Ok(t) => t,
            Err(ZendeskError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(ticket_error(e)),
        };
        let mut skipped = Skipped::new("ticket");
        let (mut conversations, deleted, unreadable) = self.read_tickets(
            &fields,
            std::slice::from_ref(&shown.ticket),
            &shown.users,
            &shown.groups,
            &mut skipped,
        );
        if !deleted.is_empty() {
            return Ok(None);
        }
        match (conversations.pop(), unreadable.into_iter().next()) {
            (Some(c), _) => Ok(Some(c)),
            (None, Some(u)) => Err(FeedError::Unreadable { message: u.problem }),
            (None, None) => Err(invalid(&path, "the answer had no ticket".into())),
        }
    }

    async fn identity(&self) -> Result<Identity, FeedError> {
        let (me_id, _) = crate::whoami(&self.client).await?;
        let path = format!("/api/v2/users/{me_id}/group_memberships");
        let groups: wire::GroupMembershipsResponse = self.client.get(&path, &[]).await?;
        Ok(Identity {
            me_id,
            group_ids: groups
                .group_memberships
                .iter()
                .map(|m| m.group_id.to_string())
                .collect(),
        })
    }

    async fn estimate_total(&self) -> Result<Option<u64>, FeedError> {
        let r: wire::CountResponse = self.client.get("/api/v2/tickets/count", &[]).await?;
        Ok(Some(r.count.value))
    }
}

/// A failed transcript read, as the engine should take it: answers about this ticket
/// alone (gone, forbidden, refused, too large) make it unreadable, and the sync goes on;
/// anything else (offline, rate-limited, server trouble, bad credentials) stops the page.
/// Without multi-conversations a customer's Sunshine conversation outlives its tickets:
/// an end from before this ticket began belongs to an earlier session, not this one.
fn keep_own_end(page: &mut TranscriptPage, ticket_created_at: baton_core::model::Millis) {
    if page
        .session_end
        .as_ref()
        .is_some_and(|e| e.at.is_some_and(|at| at < ticket_created_at))
    {
        page.session_end = None;
    }
}

fn ticket_error(e: ZendeskError) -> FeedError {
    let why = match &e {
        ZendeskError::NotFound { endpoint } => format!("{endpoint} answered 404 (not found)"),
        ZendeskError::Auth { status: 403, .. } => {
            "Zendesk does not let this token read it (HTTP 403)".to_string()
        }
        // `Invalid` here has outlasted the client's retries: an answer for this ticket
        // that does not parse, or paging that comes round again. It is this ticket's, and
        // failing the page for it would stall the account on every retry.
        ZendeskError::Rejected { .. }
        | ZendeskError::TooLarge { .. }
        | ZendeskError::Invalid { .. } => e.to_string(),
        _ => return e.into(),
    };
    FeedError::Unreadable {
        message: format!("its transcript could not be read: {why}"),
    }
}

/// A ticket whose latest record did not parse: a cached copy stays, marked.
fn stale_copy(external_id: String, why: &str) -> Unreadable {
    Unreadable {
        external_id,
        problem: format!("Zendesk's latest version of this ticket could not be read ({why}); showing the last one that could"),
    }
}

/// Records left out of one read, for the log (each with its field) and the rep (a summary).
struct Skipped<'a> {
    whose: &'a str,
    notes: Vec<String>,
}

impl<'a> Skipped<'a> {
    fn new(whose: &'a str) -> Self {
        Self {
            whose,
            notes: vec![],
        }
    }

    fn len(&self) -> usize {
        self.notes.len()
    }

    /// Reads one record, or notes why not.
    fn read<T: serde::de::DeserializeOwned>(
        &mut self,
        kind: &str,
        raw: &serde_json::Value,
    ) -> Option<T> {
        wire::record(raw).map_err(|bad| self.bad(kind, &bad)).ok()
    }

    fn bad(&mut self, kind: &str, bad: &wire::BadRecord) {
        self.note(kind, bad.id.as_deref(), &bad.field, &bad.error);
    }

    fn note(&mut self, kind: &str, id: Option<&str>, field: &str, error: &str) {
        // Mapping errors quote the value they refused: vendor text, kept out of logs.
        let error = wire::without_quoted_text(error);
        tracing::warn!(
            ticket = %self.whose,
            record = kind,
            id = id.unwrap_or("?"),
            field,
            error = %error,
            "skipped a record that does not parse"
        );
        let id = id.map(|i| format!(" {i}")).unwrap_or_default();
        let field = if field.is_empty() {
            String::new()
        } else {
            format!("{field}: ")
        };
        self.notes.push(format!("{kind}{id} ({field}{error})"));
    }

    /// What the rep sees: how many records are missing, and the first few.
    fn summary(&self) -> Option<String> {
        const SHOWN: usize = 3;
        let first = self.notes.first()?;
        let mut text = match self.notes.len() {
            1 => format!("1 record could not be read and is left out: {first}"),
            n => format!(
                "{n} records could not be read and are left out: {}",
                self.notes[..n.min(SHOWN)].join(", ")
            ),
        };
        if self.notes.len() > SHOWN {
            text.push_str(", …");
        }
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::keep_own_end;
    use baton_core::model::{EndedBy, SessionEnd, TranscriptPage};

    #[test]
    fn an_end_from_an_earlier_ticket_of_the_same_conversation_is_not_this_ones() {
        let ended_at = |at| TranscriptPage {
            session_end: Some(SessionEnd {
                by: EndedBy::EndUser,
                at: Some(at),
            }),
            ..Default::default()
        };
        let mut earlier = ended_at(900);
        keep_own_end(&mut earlier, 1_000);
        assert_eq!(earlier.session_end, None);
        let mut own = ended_at(1_500);
        keep_own_end(&mut own, 1_000);
        assert_eq!(own.session_end.map(|e| e.at), Some(Some(1_500)));
    }
}
