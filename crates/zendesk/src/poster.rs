//! Delivering outbox replies to Zendesk: `PUT /api/v2/tickets/{id}` with the comment's
//! `public` flag always stated, the rep as `author_id`, and `safe_update` with the
//! `updated_stamp` the rep saw, so a ticket that moved is not answered blind.

use crate::client::Client;
use crate::error::ZendeskError;
use crate::wire;
use baton_core::outbox::{OutboxItem, PostError, Poster};
use serde_json::json;

pub struct ZendeskPoster {
    client: Client,
}

impl ZendeskPoster {
    pub fn new(client: Client) -> Self {
        Self { client }
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
        e if e.is_transient() => PostError::Transient(e.to_string()),
        e => PostError::Rejected(e.to_string()),
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
        let _: serde_json::Value = self
            .client
            .put(&path, &json!({ "ticket": ticket }))
            .await
            .map_err(post_error)?;
        Ok(())
    }

    /// Looks through the ticket's comments for this reply: same text, same visibility.
    async fn already_posted(&self, it: &OutboxItem) -> Result<bool, PostError> {
        let path = format!("/api/v2/tickets/{}/comments", it.external_id);
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("page[size]", "100".to_string())];
            if let Some(a) = &after {
                query.push(("page[after]", a.clone()));
            }
            let page: wire::CommentsPage =
                self.client.get(&path, &query).await.map_err(post_error)?;
            if page.comments.iter().any(|c| {
                c.public.unwrap_or(true) == it.reply.public
                    && c.body.as_deref().map(str::trim) == Some(it.reply.body.trim())
            }) {
                return Ok(true);
            }
            match (page.meta.has_more, page.meta.after_cursor) {
                (true, Some(a)) => after = Some(a),
                _ => return Ok(false),
            }
        }
    }
}
