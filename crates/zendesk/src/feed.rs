//! Zendesk as a sync [`Feed`]: the cursor-based incremental ticket export for changes
//! (with users and groups sideloaded, so names cost no extra requests), and per ticket
//! the conversation log (messaging) or comments, resumed from the stored cursor so an
//! updated ticket costs one request for what is new.

use crate::client::Client;
use crate::error::ZendeskError;
use crate::mapping::{self, Directory, FieldIds, Mapping};
use crate::wire;
use baton_core::model::{Conversation, TranscriptPage};
use baton_core::sync::{ChangePage, Feed, FeedError};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mapping: Mapping::default(),
            export_page_size: 1000,
            transcript_page_size: 100,
            backfill_days: 30,
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
    /// Messaging tickets of the latest export page (their transcripts are fetched next).
    messaging: Mutex<HashSet<String>>,
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
                .contains(&c.external_id)
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
            .filter(|t| {
                mapping::via_channel(t)
                    .is_some_and(|v| self.settings.mapping.messaging_via.contains(&v))
            })
            .map(|t| t.id.to_string())
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
        let messaging = self.is_messaging(c);
        let path = if messaging {
            format!("/api/v2/tickets/{}/conversation_log", c.external_id)
        } else {
            format!("/api/v2/tickets/{}/comments", c.external_id)
        };
        let mut out = TranscriptPage::default();
        let mut after = cursor.map(str::to_string);
        loop {
            let mut query = vec![("page[size]", self.settings.transcript_page_size.to_string())];
            if let Some(a) = &after {
                query.push(("page[after]", a.clone()));
            }
            let meta = if messaging {
                let page: wire::LogPage = self.client.get(&path, &query).await?;
                mapping::log_events(&self.settings.mapping, &mut out, &page.events)
                    .map_err(|e| invalid(&path, e))?;
                page.meta
            } else {
                query.push(("include", "users".into()));
                let page: wire::CommentsPage = self.client.get(&path, &query).await?;
                let mut dir = self.directory.lock().expect("directory lock");
                dir.learn(&page.users, &[]);
                mapping::comments(&self.settings.mapping, &dir, &mut out, &page.comments)
                    .map_err(|e| invalid(&path, e))?;
                page.meta
            };
            if let Some(a) = meta.after_cursor {
                after = Some(a);
            }
            if !meta.has_more {
                break;
            }
        }
        out.cursor = after;
        Ok(out)
    }

    async fn estimate_total(&self) -> Result<Option<u64>, FeedError> {
        let r: wire::CountResponse = self.client.get("/api/v2/tickets/count", &[]).await?;
        Ok(Some(r.count.value))
    }
}
