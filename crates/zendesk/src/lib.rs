//! Zendesk Support (and its messaging conversation log) for Baton: an HTTP client that
//! spends few requests, the mapping of Zendesk's JSON to Baton's domain, and a sync feed.

pub mod client;
pub mod error;
pub mod feed;
pub mod mapping;
pub mod wire;

pub use client::{Auth, Client, Usage};
pub use error::ZendeskError;
pub use feed::{Settings, ZendeskFeed};

/// Who the credentials belong to: checks them, and gives the rep's own user id.
pub async fn whoami(client: &Client) -> Result<(String, String), ZendeskError> {
    let me: wire::MeResponse = client.get("/api/v2/users/me", &[]).await?;
    Ok((me.user.id.to_string(), me.user.name))
}
