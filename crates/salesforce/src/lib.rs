//! Salesforce (Messaging for In-App and Web) for Baton: signing in (OAuth 2.0 JWT
//! bearer, or a refresh token), a REST client that spends few requests and keeps the
//! org's API usage, the mapping of MessagingSessions and Connect conversation entries
//! to Baton's domain, and a sync feed.
//!
//! Salesforce conversations are read-only in Baton: reps answer in the Service Console,
//! and the card links to the MessagingSession record there. The poster here refuses.
//!
//! It must not know SQL (it talks to `baton_core::Store`), a host, or when to run: the
//! engine schedules it. Secrets (the private key, refresh token, client secret) come
//! from the keychain through `baton_core::secrets::SecretStore` and stay in memory.

pub mod auth;
pub mod client;
pub mod cursor;
pub mod error;
pub mod feed;
pub mod mapping;
pub mod pubsub;
pub mod wire;

pub use auth::{Authenticator, Grant};
pub use client::{Client, Usage};
pub use error::SalesforceError;
pub use feed::{AuthFlow, SalesforceFeed, Settings, TranscriptScope};
pub use mapping::{EndedBy, Mapping, RoutingAttribute, SessionFacts};

use baton_core::model::{Millis, SourceKind};
use baton_core::outbox::{OutboxItem, PostError, Poster};
use baton_core::secrets::SecretStore;
use baton_core::store::{AccountRecord, AuthKind};
use baton_core::sync::{Identity, StatusHandle, Syncer, SystemClock};
use baton_core::{Sensitive, Store};
use std::sync::Arc;

/// Where the client secret of a refresh-token account sits in the keychain: beside the
/// refresh token (which is at the account's `secret_ref`, as the JWT key would be).
pub fn client_secret_ref(secret_ref: &str) -> String {
    format!("{secret_ref}:client_secret")
}

/// A Salesforce account whose key (or refresh token) is kept under `salesforce:{id}`,
/// with default settings and the rep not yet known. `login_url` is where the token
/// endpoint is (`https://login.salesforce.com`, `https://test.salesforce.com`, or the
/// org's My Domain); `username` the Salesforce username the JWT names.
pub fn record(
    id: &str,
    login_url: &str,
    username: &str,
    consumer_key: &str,
    flow: AuthFlow,
) -> AccountRecord {
    let settings = Settings {
        consumer_key: consumer_key.to_string(),
        auth_flow: flow,
        ..Default::default()
    };
    AccountRecord {
        id: id.to_string(),
        kind: SourceKind::Salesforce,
        base_url: login_url.trim_end_matches('/').to_string(),
        login: Some(username.to_string()),
        // Core has no JWT kind yet: both flows are OAuth; which one is in the settings.
        auth_kind: AuthKind::Oauth,
        secret_ref: format!("salesforce:{id}"),
        settings: serde_json::to_value(settings).expect("settings serialize"),
        me_id: None,
        created_at: 0,
    }
}

/// The account's settings, checked: a field name that could change a query is refused.
pub fn settings(account: &AccountRecord) -> Result<Settings, SalesforceError> {
    if account.kind != SourceKind::Salesforce {
        return Err(SalesforceError::input(format!(
            "{}: a {} account, not a Salesforce one",
            account.id, account.kind
        )));
    }
    let s: Settings = serde_json::from_value(account.settings.clone()).map_err(|e| {
        SalesforceError::input(format!("{}: the settings do not read: {e}", account.id))
    })?;
    s.mapping
        .check()
        .map_err(|why| SalesforceError::input(format!("{}: mapping: {why}", account.id)))?;
    if s.consumer_key.trim().is_empty() {
        return Err(SalesforceError::input(format!(
            "{}: no consumer key: copy it from the connected app's consumer details",
            account.id
        )));
    }
    Ok(s)
}

/// The grant for a stored account, its secrets read from the keychain.
pub fn grant(
    account: &AccountRecord,
    settings: &Settings,
    secrets: &dyn SecretStore,
) -> Result<Grant, SalesforceError> {
    let secret: Sensitive<String> = secrets.get(&account.secret_ref)?;
    Ok(match settings.auth_flow {
        AuthFlow::JwtBearer => Grant::JwtBearer {
            consumer_key: settings.consumer_key.clone(),
            username: account
                .login
                .clone()
                .filter(|u| !u.trim().is_empty())
                .ok_or_else(|| {
                    SalesforceError::input(format!(
                        "{}: no username: the JWT bearer flow signs in as a named user",
                        account.id
                    ))
                })?,
            audience: settings
                .audience
                .clone()
                .unwrap_or_else(|| feed::default_audience(&account.base_url)),
            private_key: secret,
        },
        AuthFlow::RefreshToken => Grant::RefreshToken {
            client_id: settings.consumer_key.clone(),
            client_secret: secrets.get(&client_secret_ref(&account.secret_ref)).ok(),
            refresh_token: secret,
        },
    })
}

/// A client for a stored account. A rotated refresh token goes back to the keychain
/// when `keep_rotated` is given (the engine passes its store).
pub fn client(
    account: &AccountRecord,
    secrets: &dyn SecretStore,
    keep_rotated: Option<Arc<dyn SecretStore>>,
) -> Result<Client, SalesforceError> {
    let s = settings(account)?;
    let mut auth =
        Authenticator::new(&account.base_url, &account.id, grant(account, &s, secrets)?)?;
    if let Some(store) = keep_rotated {
        let key = account.secret_ref.clone();
        auth = auth.on_rotated(Arc::new(move |token: &Sensitive<String>| {
            if let Err(e) = store.put(&key, token) {
                tracing::warn!(error = %e, "could not keep the rotated refresh token");
            }
        }));
    }
    let mut client = Client::new(Arc::new(auth), &s.api_version)?;
    client.query_batch_size = Some(s.query_batch_size.clamp(200, 2000));
    Ok(client)
}

/// The feed for a stored account. `now_ms` says where a first sync starts (the
/// account's `backfill_days` before it).
pub fn connect(
    account: &AccountRecord,
    secrets: &dyn SecretStore,
    status: StatusHandle,
    now_ms: Millis,
) -> Result<SalesforceFeed, SalesforceError> {
    let s = settings(account)?;
    let client = client(account, secrets, None)?.with_status(status);
    Ok(SalesforceFeed::new(client, s, now_ms))
}

/// The syncer for a stored Salesforce account, its secrets read from `secrets`
/// (`now_secs` as for Zendesk's: where a first sync starts, less `backfill_days`).
pub fn syncer(
    store: &Store,
    account: &AccountRecord,
    secrets: &dyn SecretStore,
    now_secs: i64,
) -> Result<Syncer<SalesforceFeed>, SalesforceError> {
    let status = StatusHandle::new(&account.id, Arc::new(SystemClock));
    let feed = connect(account, secrets, status.clone(), now_secs * 1000)?;
    Ok(Syncer::new(store.clone(), &account.id, feed, status))
}

/// Checks an account's credentials: signs in, and says who they belong to and their
/// queues (what adding an account shows before it keeps anything).
pub async fn check(
    account: &AccountRecord,
    secrets: &dyn SecretStore,
) -> Result<Identity, SalesforceError> {
    use baton_core::sync::Feed;
    let feed = connect(
        account,
        secrets,
        StatusHandle::new(&account.id, Arc::new(SystemClock)),
        0,
    )?;
    // Signing in first keeps a refusal's own sentence.
    feed.client().session().await?;
    feed.identity()
        .await
        .map_err(|e| SalesforceError::input(e.to_string()))
}

/// Salesforce conversations are answered in the Service Console, not from Baton: this
/// poster refuses every reply, so an outbox row can never reach a customer by accident.
#[derive(Debug, Clone, Default)]
pub struct SalesforcePoster;

pub const READ_ONLY: &str = "Salesforce conversations are answered in the Service Console; \
                             Baton shows them read-only (open the session with \"Open ↗\")";

impl Poster for SalesforcePoster {
    async fn post(&self, _item: &OutboxItem) -> Result<(), PostError> {
        Err(PostError::Rejected(READ_ONLY.into()))
    }

    async fn already_posted(&self, _item: &OutboxItem, _since: Millis) -> Result<bool, PostError> {
        Ok(false)
    }
}

/// The reply poster for a stored Salesforce account: it refuses (see [`SalesforcePoster`]).
pub fn poster(
    account: &AccountRecord,
    _secrets: &dyn SecretStore,
) -> Result<SalesforcePoster, SalesforceError> {
    if account.kind != SourceKind::Salesforce {
        return Err(SalesforceError::input(format!(
            "{}: a {} account, not a Salesforce one",
            account.id, account.kind
        )));
    }
    Ok(SalesforcePoster)
}

#[cfg(test)]
mod test_org;

/// Keys and canned answers for the crate's tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A throwaway RSA key made for these tests (and its public half): it signs
    /// nothing anywhere else.
    pub const KEY: &str = include_str!("../tests/fixtures/test-only-key.pem");
    pub const PUBLIC_KEY: &str = include_str!("../tests/fixtures/test-only-key.pub.pem");

    pub fn jwt_auth(url: &str) -> Arc<Authenticator> {
        let mut a = Authenticator::new(
            url,
            "acme",
            Grant::JwtBearer {
                consumer_key: "baton-demo-client".into(),
                username: "alex@acme.test".into(),
                audience: url.into(),
                private_key: Sensitive::new(KEY.into()),
            },
        )
        .unwrap();
        a.max_attempts = 1;
        Arc::new(a)
    }

    /// A token answer whose instance is the test server itself (the test server puts
    /// its own URL in place of `INSTANCE`).
    pub fn token_answer(token: &str) -> String {
        serde_json::json!({
            "access_token": token,
            "instance_url": "INSTANCE",
            "id": "https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA",
            "token_type": "Bearer",
            "scope": "api"
        })
        .to_string()
    }
}
