//! Zendesk Support (and its messaging conversation log) for Baton: an HTTP client that
//! spends few requests, the mapping of Zendesk's JSON to Baton's domain, and a sync feed.

pub mod accounts;
pub mod client;
pub mod demo;
pub mod error;
pub mod feed;
pub mod mapping;
pub mod poster;
pub mod replies;
pub mod wire;

pub use client::{Auth, Client, Usage};
pub use error::ZendeskError;
pub use feed::{Settings, SuncoSettings, ZendeskFeed};

/// Who the credentials belong to: checks them, and gives the rep's own user id.
pub async fn whoami(client: &Client) -> Result<(String, String), ZendeskError> {
    let me: wire::MeResponse = client.get("/api/v2/users/me", &[]).await?;
    Ok((me.user.id.to_string(), me.user.name))
}

/// The feed for a stored account, with its secret from the keychain. `now_secs` says
/// where a first sync starts (the account's `backfill_days` before it).
/// `sunco_secret` is the Sunshine Conversations key secret, used when the settings name
/// a Sunco app.
pub fn connect(
    account: &baton_core::store::AccountRecord,
    secret: baton_core::Sensitive<String>,
    sunco_secret: Option<baton_core::Sensitive<String>>,
    status: baton_core::sync::StatusHandle,
    now_secs: i64,
) -> Result<ZendeskFeed, ZendeskError> {
    let settings: Settings =
        serde_json::from_value(account.settings.clone()).map_err(|e| ZendeskError::Invalid {
            endpoint: format!("account {}", account.id),
            reason: format!("settings: {e}"),
        })?;
    let auth = match account.auth_kind {
        baton_core::store::AuthKind::Oauth => Auth::OAuth { token: secret },
        baton_core::store::AuthKind::ApiToken => Auth::ApiToken {
            email: account.login.clone().unwrap_or_default(),
            token: secret,
        },
    };
    let client = Client::new(&account.base_url, &account.id, auth)?.with_status(status.clone());
    let sunco = match (&settings.sunco, sunco_secret) {
        (Some(sc), Some(secret)) => {
            let base = sc
                .base_url
                .clone()
                .unwrap_or_else(|| format!("{}/sc", account.base_url.trim_end_matches('/')));
            let auth = Auth::Basic {
                user: sc.key_id.clone(),
                secret,
            };
            Some((
                Client::new(&base, &account.id, auth)?.with_status(status),
                sc.app_id.clone(),
            ))
        }
        _ => None,
    };
    let feed = ZendeskFeed::new(client, settings, now_secs);
    Ok(match sunco {
        Some((client, app)) => feed.with_sunco(client, &app),
        None => feed,
    })
}

/// The syncer for a stored Zendesk account, its secrets read from `secrets`.
pub fn syncer(
    store: &baton_core::Store,
    account: &baton_core::store::AccountRecord,
    secrets: &dyn baton_core::secrets::SecretStore,
    now_secs: i64,
) -> Result<baton_core::sync::Syncer<ZendeskFeed>, String> {
    if account.kind != baton_core::model::SourceKind::Zendesk {
        return Err(format!(
            "{}: {} accounts cannot be synced by this version",
            account.id, account.kind
        ));
    }
    let secret = secrets
        .get(&account.secret_ref)
        .map_err(|e| format!("{}: {e}", account.id))?;
    // The Sunshine Conversations secret, when the account has one, sits beside the token.
    let sunco_secret = secrets.get(&format!("{}:sunco", account.secret_ref)).ok();
    let status = baton_core::sync::StatusHandle::new(
        &account.id,
        std::sync::Arc::new(baton_core::sync::SystemClock),
    );
    let feed = connect(account, secret, sunco_secret, status.clone(), now_secs)
        .map_err(|e| e.to_string())?;
    Ok(baton_core::sync::Syncer::new(
        store.clone(),
        &account.id,
        feed,
        status,
    ))
}

/// The reply poster for a stored Zendesk account, its token read from `secrets`.
pub fn poster(
    account: &baton_core::store::AccountRecord,
    secrets: &dyn baton_core::secrets::SecretStore,
) -> Result<poster::ZendeskPoster, String> {
    let secret = secrets
        .get(&account.secret_ref)
        .map_err(|e| format!("{}: {e}", account.id))?;
    let status = baton_core::sync::StatusHandle::new(
        &account.id,
        std::sync::Arc::new(baton_core::sync::SystemClock),
    );
    let feed = connect(account, secret, None, status, 0).map_err(|e| e.to_string())?;
    Ok(poster::ZendeskPoster::new(feed.client().clone()))
}
