//! Delivering outbox replies to Zendesk: `PUT /api/v2/tickets/{id}` with the comment's
//! `public` flag always stated, the rep as `author_id`, and `safe_update` with the
//! `updated_stamp` the rep saw, so a ticket that moved is not answered blind.

use crate::client::Client;
use crate::error::ZendeskError;
use crate::wire;
use baton_core::model::Millis;
use baton_core::outbox::{OutboxItem, PostError, Poster};
use serde_json::json;

pub struct ZendeskPoster {
    client: Client,
}

impl ZendeskPoster {
    pub fn new(client: Client) -> Self {
        // A deliverer holds a claim on the reply for a bounded lease: a 429 hands the reply
        // back to the outbox's backoff rather than sleeping out Retry-After inside it.
        Self {
            client: client.without_rate_limit_waits(),
        }
    }
}

fn post_error(e: ZendeskError) -> PostError {
    match e {
        ZendeskError::Conflict { current_updated_at } => {
            PostError::Conflict(if current_updated_at.is_empty() {
                "someone updated the ticket".into()
            } else {
                format!("the ticket was updated at {current_updated_at}")
            })
        }
        e if e.not_acted_on() => PostError::NotSent(e.to_string()),
        e if e.is_transient() => PostError::Transient(e.to_string()),
        e => PostError::Rejected(e.to_string()),
    }
}

impl ZendeskPoster {
    /// What was written on the ticket after `since` (an RFC 3339 time), newest last, as
    /// "who: text" lines cut to a glance.
    async fn written_since(&self, ticket: &str, since: &str) -> Result<Vec<String>, ZendeskError> {
        let since = crate::mapping::parse_time("updated_stamp", since).map_err(|reason| {
            ZendeskError::Invalid {
                endpoint: "updated_stamp".into(),
                reason,
            }
        })?;
        let path = format!("/api/v2/tickets/{ticket}/conversation_log");
        let mut out = vec![];
        self.client
            .each_page(&path, &[], 100, None, |page: wire::LogPage| {
                for e in &page.events {
                    if crate::mapping::parse_time("created_at", &e.created_at).unwrap_or(0) <= since
                    {
                        continue;
                    }
                    let text = crate::mapping::event_text(e);
                    let who = e.author.display_name.as_deref().unwrap_or("someone");
                    out.push(baton_core::drafts::glance(who, &text));
                }
                Ok(true)
            })
            .await?;
        Ok(out)
    }
}

impl Poster for ZendeskPoster {
    async fn post(&self, it: &OutboxItem) -> Result<(), PostError> {
        let mut comment = json!({ "body": it.reply.body, "public": it.reply.public });
        if let Some(author) = &it.reply.author_id {
            let id: i64 = author.parse().map_err(|_| {
                PostError::Rejected(format!("author {author:?} is not a Zendesk user id"))
            })?;
            comment["author_id"] = json!(id);
        }
        let mut ticket = json!({ "comment": comment });
        if let Some(stamp) = &it.reply.updated_stamp {
            ticket["safe_update"] = json!(true);
            ticket["updated_stamp"] = json!(stamp);
        }
        let path = format!("/api/v2/tickets/{}", it.external_id);
        match self
            .client
            .put::<serde_json::Value>(&path, &json!({ "ticket": ticket }))
            .await
        {
            Ok(_) => Ok(()),
            Err(e @ ZendeskError::Conflict { .. }) => {
                // Say what changed: what was written after the version the rep saw.
                let since = it.reply.updated_stamp.as_deref().unwrap_or("");
                match self.written_since(&it.external_id, since).await {
                    Ok(news) if !news.is_empty() => Err(PostError::Conflict(format!(
                        "since you read it: {}",
                        news.join(" · ")
                    ))),
                    _ => Err(post_error(e)),
                }
            }
            Err(e) => Err(post_error(e)),
        }
    }

    /// Looks through the ticket's comments for this reply: by the rep (the reply's
    /// author), made since the first attempt, same text, same visibility. Anything else
    /// with the same words (an earlier reply, a colleague's) is not this reply.
    async fn already_posted(&self, it: &OutboxItem, since: Millis) -> Result<bool, PostError> {
        let author: Option<i64> = it.reply.author_id.as_deref().and_then(|a| a.parse().ok());
        let path = format!("/api/v2/tickets/{}/comments", it.external_id);
        let mut found = false;
        self.client
            // Record by record: one comment that does not parse must not keep this
            // reply from ever settling.
            .each_page(&path, &[], 100, None, |page: wire::RawCommentsPage| {
                let comments = page
                    .comments
                    .iter()
                    .filter_map(|c| wire::record::<wire::Comment>(c).ok());
                found = comments.into_iter().any(|c| {
                    c.author_id == author
                        && crate::mapping::parse_time("created_at", &c.created_at)
                            .is_ok_and(|t| t >= since)
                        && c.public.unwrap_or(true) == it.reply.public
                        && c.body.as_deref().map(str::trim) == Some(it.reply.body.trim())
                });
                Ok(!found)
            })
            .await
            .map_err(post_error)?;
        Ok(found)
    }
}
