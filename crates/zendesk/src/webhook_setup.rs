//! Setting up the Zendesk webhook a team's relay listens to, through Zendesk's Webhooks
//! API: one webhook per relay endpoint, subscribed to the ticket events Baton reads, and
//! its signing secret. Running it again finds the webhook it made instead of adding one.

use crate::client::{path_segment, Client};
use crate::error::ZendeskError;
use baton_core::Sensitive;
use serde::Deserialize;
use serde_json::json;

/// The events a relay reads as hints (Zendesk's "Ticket events" and "Messaging events").
pub const EVENT_TYPES: &[&str] = &[
    "zen:event-type:ticket.created",
    "zen:event-type:ticket.comment_added",
    "zen:event-type:ticket.status_changed",
    "zen:event-type:ticket.agent_assignment_changed",
    "zen:event-type:ticket.group_assignment_changed",
    "zen:event-type:ticket.tags_changed",
    "zen:event-type:ticket.custom_field_changed",
    "zen:event-type:ticket.soft_deleted",
    "zen:event-type:ticket.permanently_deleted",
    "zen:event-type:ticket.undeleted",
    "zen:event-type:ticket.merged",
    "zen:event-type:ticket.marked_as_spam",
    "zen:event-type:messaging_ticket.message_added",
];

/// The webhook as it stands after setup.
#[derive(Debug)]
pub struct Installed {
    pub id: String,
    /// False: it was there already (a setup run before).
    pub created: bool,
    pub subscriptions: Vec<String>,
    pub signing_secret: Sensitive<String>,
}

#[derive(Deserialize)]
struct Webhook {
    id: String,
    endpoint: String,
    #[serde(default)]
    subscriptions: Vec<String>,
}

#[derive(Deserialize)]
struct WebhookList {
    webhooks: Vec<Webhook>,
}

#[derive(Deserialize)]
struct Created {
    webhook: Webhook,
}

#[derive(Deserialize)]
struct SigningSecret {
    signing_secret: SecretBody,
}

#[derive(Deserialize)]
struct SecretBody {
    secret: String,
}

/// Finds the webhook named `name` that posts to `endpoint`, or creates it; then reads its
/// signing secret.
pub async fn install(
    client: &Client,
    name: &str,
    endpoint: &str,
) -> Result<Installed, ZendeskError> {
    let query = [
        ("filter[name_contains]", name.to_string()),
        ("page[size]", "100".to_string()),
    ];
    let listed: WebhookList = client.get("/api/v2/webhooks", &query).await?;
    let (webhook, created) = match listed.webhooks.into_iter().find(|w| w.endpoint == endpoint) {
        Some(w) => (w, false),
        None => {
            let body = json!({ "webhook": {
                "name": name,
                "status": "active",
                "endpoint": endpoint,
                "http_method": "POST",
                "request_format": "json",
                "subscriptions": EVENT_TYPES,
                "description": "Baton's team relay: ticket changes as hints, read by the relay",
            }});
            let made: Created = client.post("/api/v2/webhooks", &body).await?;
            (made.webhook, true)
        }
    };
    let path = format!(
        "/api/v2/webhooks/{}/signing_secret",
        path_segment("webhook id", &webhook.id)?
    );
    let secret: SigningSecret = client.get(&path, &[]).await?;
    Ok(Installed {
        id: webhook.id,
        created,
        subscriptions: webhook.subscriptions,
        signing_secret: Sensitive::new(secret.signing_secret.secret),
    })
}
