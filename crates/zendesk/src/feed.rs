//! Zendesk as a sync [`Feed`]: the cursor-based incremental ticket export for changes
//! (with users and groups sideloaded, so names cost no extra requests), and per ticket
//! the conversation log (messaging) or comments, resumed from the stored cursor so an
//! updated ticket costs one request for what is new.

use crate::client::Client;
use crate::error::ZendeskError;
use crate::mapping::{self, Directory, FieldIds, Mapping};
use crate::wire;
use baton_core::model::{Conversation, TranscriptPage};
use baton_core::sync::{ChangePage, Feed, FeedError, Identity};
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
    /// The ticket's conversation log or comments, from `cursor` to the end.
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
        let bad = |reason: String| ZendeskError::Invalid {
            endpoint: path.clone(),
            reason,
        };
        let mut out = TranscriptPage::default();
        let (size, start) = (
            self.settings.transcript_page_size,
            cursor.map(str::to_string),
        );
        let m = &self.settings.mapping;
        let after = match source {
            Source::ConversationLog => {
                self.client
                    .each_page(&path, &[], size, start, |page: wire::LogPage| {
                        mapping::log_events(m, &mut out, &page.events).map_err(bad)?;
                        Ok(true)
                    })
                    .await?
            }
            Source::Comments => {
                let include = [("include", "users".to_string())];
                self.client
                    .each_page(&path, &include, size, start, |page: wire::CommentsPage| {
                        let mut dir = self.directory.lock().expect("directory lock");
                        dir.learn(&page.users, &[]);
                        mapping::comments(m, &dir, &mut out, &page.comments).map_err(bad)?;
                        Ok(true)
                    })
                    .await?
            }
        };
        out.cursor = after;
        Ok(out)
    }

    /// Messages from Sunshine Conversations (newest page first, paging back until the
    /// newest message already stored), and the notes from the ticket's comments.
    async fn sunco_transcript(
        &self,
        c: &Conversation,
        ((client, app), conversation): &(&(Client, String), String),
        cursor: Option<&str>,
    ) -> Result<TranscriptPage, ZendeskError> {
        let (known, comments_cursor) = match cursor.and_then(|c| c.split_once('|')) {
            Some((m, rest)) => (
                Some(m).filter(|m| !m.is_empty()),
                Some(rest).filter(|r| !r.is_empty()),
            ),
            None => (None, None),
        };
        let path = format!("/v2/apps/{app}/conversations/{conversation}/messages");
        let mut newest_first: Vec<wire::SuncoMessage> = vec![];
        let mut before: Option<String> = None;
        'pages: loop {
            let query: Vec<(&str, String)> =
                before.iter().map(|b| ("page[before]", b.clone())).collect();
            let page: wire::SuncoPage = client.get(&path, &query).await?;
            for m in page.messages.iter().rev() {
                if Some(m.id.as_str()) == known {
                    break 'pages;
                }
                newest_first.push(m.clone());
            }
            let next = page
                .meta
                .before_cursor
                .or_else(|| page.messages.first().map(|m| m.id.clone()));
            match next {
                Some(b) if page.meta.has_more => before = Some(b),
                _ => break,
            }
        }
        newest_first.reverse();
        let mut out = self.paged(c, Source::Comments, comments_cursor).await?;
        let notes = std::mem::take(&mut out.messages);
        mapping::sunco_messages(&mut out, &newest_first).map_err(|reason| {
            ZendeskError::Invalid {
                endpoint: path.clone(),
                reason,
            }
        })?;
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
        let page: wire::ExportPage = self.client.get(EP, &query).await?;
        *self.messaging.lock().expect("messaging lock") = page
            .tickets
            .iter()
            .filter_map(|t| {
                let via = mapping::via_channel(t)
                    .is_some_and(|v| self.settings.mapping.messaging_via.contains(&v));
                let sunco = mapping::field_text(t, fields.sunco);
                (via || sunco.is_some()).then(|| (t.id.to_string(), sunco))
            })
            .collect();
        let mut dir = self.directory.lock().expect("directory lock");
        dir.learn(&page.users, &page.groups);
        let conversations = page
            .tickets
            .iter()
            .map(|t| {
                mapping::conversation(
                    &self.settings.mapping,
                    &fields,
                    &dir,
                    self.client.base_url(),
                    t,
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(EP, e))?;
        let cursor = page
            .after_cursor
            .or_else(|| cursor.map(str::to_string))
            .ok_or_else(|| invalid(EP, "the export gave no cursor to continue from".into()))?;
        Ok(ChangePage {
            conversations,
            cursor,
            end_of_stream: page.end_of_stream,
        })
    }

    async fn transcript(
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
            return Ok(self.sunco_transcript(c, sunco, Some(rest)).await?);
        }
        if !self.is_messaging(c) {
            return Ok(self.paged(c, Source::Comments, cursor).await?);
        }
        match (self.paged(c, Source::ConversationLog, cursor).await, &sunco) {
            // An account without the conversation log: the same transcript from
            // Sunshine Conversations, the notes from the ticket's comments.
            (Err(ZendeskError::NotFound { .. }), Some(sunco)) => {
                Ok(self.sunco_transcript(c, sunco, None).await?)
            }
            (other, _) => Ok(other?),
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
