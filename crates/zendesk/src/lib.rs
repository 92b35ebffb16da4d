//! Zendesk Support (and its messaging conversation log) for Baton: an HTTP client that
//! spends few requests, the mapping of Zendesk's JSON to Baton's domain, a sync feed and
//! a reply poster; the settings forms the desktop UI sends to connect an account; and the
//! checking and reading of incoming webhooks (`webhooks`, for the relay).
//!
//! It must not know SQL (it talks to `baton_core::Store`), a host, or when to run: the
//! engine schedules it.

pub mod accounts;
// Only its test runs it: it writes the UI's `zendesk.ts`.
#[cfg(test)]
mod bindings;
pub mod client;
pub mod error;
pub mod feed;
pub mod forms;
pub mod mapping;
pub mod poster;
pub mod redactions;
pub mod webhook_setup;
pub mod webhooks;
pub mod wire;

pub use client::{Auth, Client, Usage};
pub use error::ZendeskError;
pub use feed::{Settings, SuncoSettings, ZendeskFeed};

/// Who the credentials belong to: checks them, and gives the rep's own user id.
pub async fn whoami(client: &Client) -> Result<(String, String), ZendeskError> {
    let me: wire::MeResponse = client.get("/api/v2/users/me", &[]).await?;
    Ok((me.user.id.to_string(), me.user.name))
}

/// A client for a stored account's Zendesk, signing with `token` (the keychain's, or one
/// being checked before it is kept).
pub fn client(
    account: &baton_core::store::AccountRecord,
    token: baton_core::Sensitive<String>,
) -> Result<Client, ZendeskError> {
    let auth = match account.auth_kind {
        baton_core::store::AuthKind::Oauth => Auth::OAuth { token },
        baton_core::store::AuthKind::ApiToken => Auth::ApiToken {
            email: account.login.clone().unwrap_or_default(),
            token,
        },
    };
    Client::new(&account.base_url, &account.id, auth)
}

/// A client for the account's Sunshine Conversations app (`{base}/v2/apps/...`).
pub fn sunco_client(
    account: &baton_core::store::AccountRecord,
    sunco: &SuncoSettings,
    secret: baton_core::Sensitive<String>,
) -> Result<Client, ZendeskError> {
    let base = sunco
        .base_url
        .clone()
        .unwrap_or_else(|| format!("{}/sc", account.base_url.trim_end_matches('/')));
    let auth = Auth::Basic {
        user: sunco.key_id.clone(),
        secret,
    };
    Client::new(&base, &account.id, auth)
}

/// Checks Sunshine Conversations credentials: the app they name answers to them.
pub async fn sunco_app(client: &Client, app_id: &str) -> Result<(), ZendeskError> {
    let path = format!("/v2/apps/{}", client::path_segment("Sunco app id", app_id)?);
    let got: wire::SuncoAppResponse = client.get(&path, &[]).await?;
    if got.app.id != app_id {
        return Err(ZendeskError::Invalid {
            endpoint: path,
            reason: format!("answered for app {:?}", got.app.id),
        });
    }
    Ok(())
}

/// Where a Sunco conversation's messages are listed. The conversation id comes from a
/// ticket field anyone with ticket access can fill, so it is one encoded segment or
/// nothing: never a way to other paths signed with the app key.
pub fn sunco_messages_path(app_id: &str, conversation_id: &str) -> Result<String, ZendeskError> {
    Ok(format!(
        "/v2/apps/{}/conversations/{}/messages",
        client::path_segment("Sunco app id", app_id)?,
        client::path_segment("Sunco conversation id", conversation_id)?
    ))
}

/// A Sunco conversation's messages after `known` (a message id; all of them when `None`),
/// oldest first. Sunco pages newest first, so this pages back until it meets `known` or
/// the start; a `before` cursor that comes round again is an error, not another lap.
pub async fn sunco_messages_since(
    client: &Client,
    path: &str,
    known: Option<&str>,
) -> Result<Vec<wire::SuncoMessage>, ZendeskError> {
    let mut newest_first: Vec<wire::SuncoMessage> = vec![];
    let mut before: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    'pages: loop {
        let query: Vec<(&str, String)> =
            before.iter().map(|b| ("page[before]", b.clone())).collect();
        let page: wire::SuncoPage = client.get(path, &query).await?;
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
            Some(b) if page.meta.has_more => {
                if !seen.insert(b.clone()) {
                    return Err(ZendeskError::Invalid {
                        endpoint: path.to_string(),
                        reason: "hasMore with a cursor already read: the list would never end"
                            .into(),
                    });
                }
                before = Some(b);
            }
            _ => break,
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// The account's Zendesk token, from the keychain.
pub fn token(
    account: &baton_core::store::AccountRecord,
    secrets: &dyn baton_core::secrets::SecretStore,
) -> Result<baton_core::Sensitive<String>, ZendeskError> {
    Ok(secrets.get(&account.secret_ref)?)
}

/// Where the Sunshine Conversations key secret sits in the keychain: beside the token.
pub fn sunco_ref(secret_ref: &str) -> String {
    format!("{secret_ref}:sunco")
}

/// The feed for a stored account, with its secrets. `now_secs` says where a first sync
/// starts (the account's `backfill_days` before it). `sunco_secret` is the Sunshine
/// Conversations key secret, used when the settings name a Sunco app.
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
    let client = client(account, secret)?.with_status(status.clone());
    let sunco = match (&settings.sunco, sunco_secret) {
        (Some(sc), Some(secret)) => Some((
            sunco_client(account, sc, secret)?.with_status(status),
            sc.app_id.clone(),
        )),
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
) -> Result<baton_core::sync::Syncer<ZendeskFeed>, ZendeskError> {
    if account.kind != baton_core::model::SourceKind::Zendesk {
        return Err(ZendeskError::input(format!(
            "{}: a {} account, not a Zendesk one",
            account.id, account.kind
        )));
    }
    let secret = token(account, secrets)?;
    let sunco_secret = secrets.get(&sunco_ref(&account.secret_ref)).ok();
    let status = baton_core::sync::StatusHandle::new(
        &account.id,
        std::sync::Arc::new(baton_core::sync::SystemClock),
    );
    let feed = connect(account, secret, sunco_secret, status.clone(), now_secs)?;
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
) -> Result<poster::ZendeskPoster, ZendeskError> {
    let client = client(account, token(account, secrets)?)?;
    Ok(poster::ZendeskPoster::new(client))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_server::{serve, Answer};

    fn sunco(url: &str) -> Client {
        let auth = Auth::Basic {
            user: "app_key".into(),
            secret: baton_core::Sensitive::new("s".into()),
        };
        let mut c = Client::new(url, "acme", auth).unwrap();
        c.max_attempts = 1;
        c
    }

    #[test]
    fn a_conversation_id_stays_inside_its_conversation() {
        assert_eq!(
            sunco_messages_path("app1", "c0ffee").unwrap(),
            "/v2/apps/app1/conversations/c0ffee/messages"
        );
        assert_eq!(
            sunco_messages_path("app1", "../../other/messages?x=").unwrap(),
            "/v2/apps/app1/conversations/..%2F..%2Fother%2Fmessages%3Fx%3D/messages"
        );
        assert!(sunco_messages_path("app1", "..").is_err());
        assert!(sunco_messages_path("..", "c0ffee").is_err());
    }

    #[tokio::test]
    async fn the_request_for_a_hostile_id_goes_where_it_should_or_nowhere() {
        let server = serve(vec![Answer::json(r#"{"messages":[],"meta":{}}"#)]).await;
        let c = sunco(&server.url);
        let path = sunco_messages_path("app1", "x/../../../apps/app2").unwrap();
        sunco_messages_since(&c, &path, None).await.unwrap();
        let seen = server.requests.lock().unwrap().clone();
        assert_eq!(
            seen,
            vec![
                "GET /v2/apps/app1/conversations/x%2F..%2F..%2F..%2Fapps%2Fapp2/messages HTTP/1.1"
            ]
        );
    }

    #[tokio::test]
    async fn a_sunco_cursor_that_comes_round_again_ends_with_an_error() {
        let page = r#"{"messages":[{"id":"m1","received":"2026-11-01T10:00:00Z","author":{"type":"user"},"content":{"type":"text","text":"hi"}}],
                       "meta":{"hasMore":true,"beforeCursor":"same"}}"#;
        let server = serve(vec![Answer::json(page)]).await;
        let c = sunco(&server.url);
        let path = sunco_messages_path("app1", "c1").unwrap();
        let got = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            sunco_messages_since(&c, &path, None),
        )
        .await
        .expect("the walk ends");
        assert!(
            matches!(&got, Err(ZendeskError::Invalid { reason, .. }) if reason.contains("cursor")),
            "{got:?}"
        );
        assert_eq!(server.requests.lock().unwrap().len(), 2);
    }
}
