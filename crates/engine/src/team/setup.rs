//! `baton relay setup zendesk`: the webhook each account sends its relay, made through
//! the vendor's API with the relay's own credentials, and its signing secret kept where
//! the relay reads it.

use super::config::{RelayConfig, RelaySecrets};
use crate::error::Result;
use std::path::PathBuf;

/// What setup did for one account.
#[derive(Debug)]
pub struct SetUp {
    pub account: String,
    pub webhook_id: String,
    pub endpoint: String,
    pub created: bool,
    pub subscriptions: usize,
    /// Where the signing secret was kept.
    pub secret_in: PathBuf,
}

/// `public_url`: where Zendesk reaches this relay (its `listen` address behind whatever
/// proxy or load balancer is in front of it).
pub async fn zendesk(
    config: &RelayConfig,
    secrets: &mut RelaySecrets,
    public_url: &str,
    only: Option<&str>,
) -> Result<Vec<SetUp>> {
    let public = url::Url::parse(public_url.trim())
        .map_err(|e| crate::EngineError::invalid(format!("--public-url {public_url:?}: {e}")))?;
    let mut done = vec![];
    for a in config
        .accounts
        .iter()
        .filter(|a| only.is_none_or(|o| o == a.id))
    {
        if let Some(name) = secrets.webhook_secret_in_env(&a.id) {
            return Err(crate::EngineError::invalid(format!(
                "{name} is set: setup keeps the webhook's signing secret in the secrets file, and the environment would win over it. Unset it first"
            )));
        }
        let record = a.record()?;
        let client = baton_zendesk::client(&record, secrets.token(&a.id)?)?;
        let endpoint = format!(
            "{}/webhooks/zendesk/{}",
            public.as_str().trim_end_matches('/'),
            a.id
        );
        let name = format!("Baton relay ({}, {})", config.team, a.id);
        let installed = baton_zendesk::webhook_setup::install(&client, &name, &endpoint).await?;
        let secret_in = secrets.save_webhook_secret(config, &a.id, &installed.signing_secret)?;
        done.push(SetUp {
            account: a.id.clone(),
            webhook_id: installed.id,
            endpoint,
            created: installed.created,
            subscriptions: installed.subscriptions.len(),
            secret_in,
        });
    }
    if done.is_empty() {
        return Err(crate::EngineError::invalid(format!(
            "relay.toml has no account {:?}",
            only.unwrap_or_default()
        )));
    }
    Ok(done)
}
