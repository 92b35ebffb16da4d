//! Connecting, checking and disconnecting a Zendesk account: the same steps from the
//! CLI and the desktop app. Secrets go to the keychain; the store keeps their names.

use crate::error::ZendeskError;
use crate::{sunco_ref, Settings, SuncoSettings};
use baton_core::model::SourceKind;
use baton_core::secrets::SecretStore;
use baton_core::store::{AccountRecord, AuthKind};
use baton_core::{Sensitive, Store};

pub struct NewAccount {
    /// A short name; the subdomain when `None`.
    pub name: Option<String>,
    pub url: String,
    /// The agent's email, for API token auth.
    pub email: Option<String>,
    /// The secret is an OAuth access token.
    pub oauth: bool,
    pub token: Sensitive<String>,
    pub sunco: Option<(SuncoSettings, Sensitive<String>)>,
}

/// New credentials for an existing account, checked before they replace the old ones.
pub struct NewCredentials {
    pub token: Sensitive<String>,
    /// A new agent email; the stored one when `None`.
    pub email: Option<String>,
    pub sunco: Option<SuncoKey>,
}

/// A new Sunshine Conversations key for the account.
pub struct SuncoKey {
    /// The account's app when `None`.
    pub app_id: Option<String>,
    pub key_id: String,
    /// The stored Sunco URL (or `{url}/sc`) when `None`.
    pub base_url: Option<String>,
    pub secret: Sensitive<String>,
}

/// A Zendesk account with an API token kept under `zendesk:{id}` in the keychain, the
/// default settings, and the rep not yet known: what `add` stores before it fills in the
/// rest, and what tests seed a store with.
pub fn record(id: &str, base_url: &str, login: Option<&str>) -> AccountRecord {
    AccountRecord {
        id: id.to_string(),
        kind: SourceKind::Zendesk,
        base_url: base_url.to_string(),
        login: login.map(str::to_string),
        auth_kind: AuthKind::ApiToken,
        secret_ref: format!("zendesk:{id}"),
        settings: serde_json::json!({}),
        me_id: None,
        created_at: 0,
    }
}

/// `acme.zendesk.com` or a full URL; https, or http to this machine only (the
/// simulator): plain http would send the token in clear.
pub fn parse_url(raw: &str) -> Result<url::Url, ZendeskError> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let url = url::Url::parse(&with_scheme)
        .map_err(|e| ZendeskError::input(format!("{raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(ZendeskError::input(format!(
            "{raw:?} is not an http(s) URL"
        )));
    }
    if let Some(why) = crate::client::refused_for_credentials(&url) {
        return Err(ZendeskError::input(format!("{raw:?}: {why}")));
    }
    Ok(url)
}

/// Sunco ids go into request paths: one path segment each.
fn check_sunco_ids(sc: &SuncoSettings) -> Result<(), ZendeskError> {
    for (what, id) in [("app id", &sc.app_id), ("key id", &sc.key_id)] {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ZendeskError::input(format!(
                "{id:?} is not a Sunshine Conversations {what}"
            )));
        }
    }
    Ok(())
}

/// Asks Sunshine Conversations whether the key opens the app.
async fn check_sunco(
    record: &AccountRecord,
    sc: &SuncoSettings,
    secret: &Sensitive<String>,
) -> Result<(), ZendeskError> {
    let sunco = crate::sunco_client(record, sc, secret.clone())?.without_rate_limit_waits();
    crate::sunco_app(&sunco, &sc.app_id)
        .await
        .map_err(|e| ZendeskError::Sunco {
            app_id: sc.app_id.clone(),
            key_id: sc.key_id.clone(),
            source: Box::new(e),
        })
}

/// Checks the credentials (`users/me`) before keeping anything, then stores the secrets
/// in `secrets` and the account in `store`. Returns the account and the agent's name.
pub async fn add(
    store: &Store,
    secrets: &dyn SecretStore,
    new: NewAccount,
) -> Result<(AccountRecord, String), ZendeskError> {
    let url = parse_url(&new.url)?;
    let name = match new
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
    {
        Some(n) => n,
        None => url
            .host_str()
            .and_then(|h| h.split('.').next())
            .unwrap_or("zendesk")
            .to_string(),
    };
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ZendeskError::input(format!(
            "{name:?}: a name is letters, digits, - and _"
        )));
    }
    let auth_kind = if new.oauth {
        AuthKind::Oauth
    } else {
        AuthKind::ApiToken
    };
    let email = new
        .email
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    if auth_kind == AuthKind::ApiToken && email.is_none() {
        return Err(ZendeskError::input(
            "an email is required with an API token",
        ));
    }
    if store.account(&name).await.is_ok() {
        return Err(ZendeskError::input(format!(
            "an account named {name:?} already exists; pick another name"
        )));
    }
    let (sunco, sunco_secret) = match new.sunco {
        Some((s, secret)) => (Some(s), Some(secret)),
        None => (None, None),
    };
    if let Some(sc) = &sunco {
        check_sunco_ids(sc)?;
    }
    let mut record = AccountRecord {
        auth_kind,
        settings: serde_json::to_value(Settings {
            sunco: sunco.clone(),
            ..Default::default()
        })
        .expect("serializes"),
        created_at: chrono::Utc::now().timestamp_millis(),
        ..record(&name, url.as_str().trim_end_matches('/'), email.as_deref())
    };
    let client = crate::client(&record, new.token.clone())?.without_rate_limit_waits();
    let (me_id, me_name) = crate::whoami(&client).await?;
    record.me_id = Some(me_id);
    if let (Some(sc), Some(secret)) = (&sunco, &sunco_secret) {
        check_sunco(&record, sc, secret).await?;
    }
    let forget = || forget_secrets(&record, secrets);
    secrets.put(&record.secret_ref, &new.token)?;
    if let Some(s) = &sunco_secret {
        if let Err(e) = secrets.put(&sunco_ref(&record.secret_ref), s) {
            forget();
            return Err(e.into());
        }
    }
    if let Err(e) = store.add_account(&record).await {
        forget();
        return Err(e.into());
    }
    Ok((record, me_name))
}

/// Asks Zendesk who the stored credentials belong to.
pub async fn test(
    account: &AccountRecord,
    secrets: &dyn SecretStore,
) -> Result<String, ZendeskError> {
    let client =
        crate::client(account, crate::token(account, secrets)?)?.without_rate_limit_waits();
    crate::whoami(&client).await.map(|(_, name)| name)
}

/// Replaces an account's credentials in place, keeping its cache, its outbox and the
/// rep's saved edits. The new token (and Sunco key) are checked first, as `add` does;
/// they must belong to the same Zendesk user, since queued replies and "mine" name them.
/// Returns the account and the agent's name.
pub async fn update(
    store: &Store,
    secrets: &dyn SecretStore,
    id: &str,
    new: NewCredentials,
) -> Result<(AccountRecord, String), ZendeskError> {
    let old = store.account(id).await?;
    // An account stored before http was refused gets no new token in clear either.
    parse_url(&old.base_url)?;
    let mut record = old.clone();
    if let Some(email) = new
        .email
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
    {
        record.login = Some(email);
    }
    if record.auth_kind == AuthKind::ApiToken && record.login.is_none() {
        return Err(ZendeskError::input(
            "an email is required with an API token",
        ));
    }
    let sunco = match new.sunco {
        None => None,
        Some(key) => {
            let stored: Option<SuncoSettings> = record
                .settings
                .get("sunco")
                .and_then(|v| serde_json::from_value(v.clone()).ok());
            let app_id = match (key.app_id, &stored) {
                (Some(app), _) => app.trim().to_string(),
                (None, Some(s)) => s.app_id.clone(),
                (None, None) => {
                    return Err(ZendeskError::input(format!(
                        "{id} has no Sunshine Conversations app yet: give its app id with the key"
                    )))
                }
            };
            let sc = SuncoSettings {
                app_id,
                key_id: key.key_id.trim().to_string(),
                base_url: key.base_url.or(stored.and_then(|s| s.base_url)),
            };
            check_sunco_ids(&sc)?;
            Some((sc, key.secret))
        }
    };
    if let Some((sc, _)) = &sunco {
        // Only the Sunco entry changes: other settings (the mapping, …) stay as they are.
        if !record.settings.is_object() {
            record.settings = serde_json::json!({});
        }
        record.settings["sunco"] = serde_json::to_value(sc).expect("serializes");
    }
    let client = crate::client(&record, new.token.clone())?.without_rate_limit_waits();
    let (me_id, me_name) = crate::whoami(&client).await?;
    if old.me_id.as_ref().is_some_and(|was| *was != me_id) {
        return Err(ZendeskError::input(format!(
            "the new token of {id} signs in as another Zendesk user ({me_name}); to switch \
             users, remove the account and add it again"
        )));
    }
    record.me_id = Some(me_id);
    if let Some((sc, secret)) = &sunco {
        check_sunco(&record, sc, secret).await?;
    }

    // Replace the secrets, putting the old ones back if a later step fails.
    let token_ref = record.secret_ref.clone();
    let sunco_entry = sunco_ref(&record.secret_ref);
    let kept: Vec<(String, Option<Sensitive<String>>)> = [&token_ref, &sunco_entry]
        .into_iter()
        .map(|r| (r.clone(), secrets.get(r).ok()))
        .collect();
    let restore = || {
        for (entry, was) in &kept {
            let undone = match was {
                Some(secret) => secrets.put(entry, secret),
                None => secrets.delete(entry),
            };
            if let Err(e) = undone {
                tracing::warn!(account = %id, error = %e, "a keychain entry could not be restored");
            }
        }
    };
    let mut writes = vec![(token_ref.as_str(), &new.token)];
    if let Some((_, secret)) = &sunco {
        writes.push((sunco_entry.as_str(), secret));
    }
    for (entry, secret) in writes {
        if let Err(e) = secrets.put(entry, secret) {
            restore();
            return Err(e.into());
        }
    }
    if let Err(e) = store.update_account(&record).await {
        restore();
        return Err(e.into());
    }
    Ok((record, me_name))
}

/// Who may write Assist drafts and handoff summaries on an account (its
/// `mapping.ai_authors`), changed to `set` when given; returns the setting in force. The
/// next sync of the account reads with it.
pub async fn ai_authors(
    store: &Store,
    name: &str,
    set: Option<crate::mapping::AiAuthors>,
) -> Result<crate::mapping::AiAuthors, ZendeskError> {
    let mut record = store.account(name).await?;
    if let Some(ai) = set {
        if !record.settings.is_object() {
            record.settings = serde_json::json!({});
        }
        let mapping = record.settings["mapping"].take();
        let mut mapping = if mapping.is_object() {
            mapping
        } else {
            serde_json::json!({})
        };
        mapping["ai_authors"] = serde_json::to_value(&ai).expect("serializes");
        record.settings["mapping"] = mapping;
        store.update_account(&record).await?;
    }
    let settings: Settings = serde_json::from_value(record.settings)
        .map_err(|e| ZendeskError::input(format!("the settings of {name:?} do not read: {e}")))?;
    Ok(settings.mapping.ai_authors)
}

/// Disconnects: the cached data and every keychain entry of the account. Whether the rep
/// may lose its unsent replies is asked before (the engine does, for every vendor).
pub async fn remove(
    store: &Store,
    secrets: &dyn SecretStore,
    id: &str,
) -> Result<(), ZendeskError> {
    let account = store.account(id).await?;
    store.remove_account(id).await?;
    forget_secrets(&account, secrets);
    Ok(())
}

fn forget_secrets(account: &AccountRecord, secrets: &dyn SecretStore) {
    for entry in [account.secret_ref.clone(), sunco_ref(&account.secret_ref)] {
        if let Err(e) = secrets.delete(&entry) {
            tracing::warn!(account = %account.id, error = %e, "a keychain entry could not be deleted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::secrets::MemorySecrets;
    use baton_sim::{Sim, SimConfig};

    fn new(url: &str, token: &str) -> NewAccount {
        NewAccount {
            name: Some("acme".into()),
            url: url.into(),
            email: Some("alex@acme.test".into()),
            oauth: false,
            token: Sensitive::new(token.into()),
            sunco: None,
        }
    }

    #[tokio::test]
    async fn add_checks_first_test_answers_remove_forgets() {
        let sim = Sim::start(SimConfig {
            tickets: 2,
            ..Default::default()
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let secrets = MemorySecrets::default();

        let err = add(&store, &secrets, new(&sim.url(), "wrong"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("rejected the credentials"), "{err}");
        assert!(
            store.accounts().await.unwrap().is_empty() && secrets.get("zendesk:acme").is_err(),
            "nothing kept"
        );

        let (record, me) = add(&store, &secrets, new(&sim.url(), "sim-token"))
            .await
            .unwrap();
        assert_eq!(me, "Alex Rivera");
        assert_eq!(record.me_id, sim.world(|w| Some(w.me.to_string())));
        assert_eq!(secrets.get("zendesk:acme").unwrap().expose(), "sim-token");
        assert_eq!(test(&record, &secrets).await.unwrap(), "Alex Rivera");
        assert!(add(&store, &secrets, new(&sim.url(), "sim-token"))
            .await
            .unwrap_err()
            .to_string()
            .contains("already exists"));

        remove(&store, &secrets, "acme").await.unwrap();
        assert!(store.accounts().await.unwrap().is_empty());
        assert!(secrets.get("zendesk:acme").is_err());
    }

    #[tokio::test]
    async fn sunshine_conversations_credentials_are_checked_before_anything_is_kept() {
        let config = SimConfig {
            tickets: 2,
            ..Default::default()
        };
        let sim = Sim::start(config.clone()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let secrets = MemorySecrets::default();
        let with = |app: &str, key: &str, secret: &str| NewAccount {
            sunco: Some((
                SuncoSettings {
                    app_id: app.into(),
                    key_id: key.into(),
                    base_url: None,
                },
                Sensitive::new(secret.into()),
            )),
            ..new(&sim.url(), "sim-token")
        };
        let (app, key, secret) = (
            config.sunco_app_id.as_str(),
            config.sunco_key_id.as_str(),
            config.sunco_secret.as_str(),
        );
        let nothing_kept = |secrets: &MemorySecrets| {
            secrets.get("zendesk:acme").is_err() && secrets.get("zendesk:acme:sunco").is_err()
        };

        let err = add(&store, &secrets, with(app, key, "wrong"))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Sunshine Conversations") && err.contains("rejected the credentials"),
            "{err}"
        );
        assert!(!err.contains("wrong"), "the secret is not repeated: {err}");
        let err = add(
            &store,
            &secrets,
            with("5f1e000000000000000000aa", key, secret),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("not found"), "{err}");
        let err = add(&store, &secrets, with("../tickets", key, secret))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is not a Sunshine Conversations app id"),
            "{err}"
        );
        assert!(store.accounts().await.unwrap().is_empty() && nothing_kept(&secrets));

        let (record, _) = add(&store, &secrets, with(app, key, secret)).await.unwrap();
        assert_eq!(secrets.get("zendesk:acme:sunco").unwrap().expose(), secret);
        let settings: Settings = serde_json::from_value(record.settings).unwrap();
        assert_eq!(settings.sunco.unwrap().app_id, app);
    }

    #[test]
    fn urls_and_names_are_checked() {
        assert_eq!(
            parse_url("acme.zendesk.com").unwrap().as_str(),
            "https://acme.zendesk.com/"
        );
        assert!(parse_url("ftp://x")
            .unwrap_err()
            .to_string()
            .contains("http(s)"));
        assert!(parse_url("").is_err());
    }

    #[test]
    fn plain_http_is_only_for_this_machine() {
        for local in [
            "http://127.0.0.1:8089",
            "http://[::1]:8089",
            "http://localhost:8089",
            "http://LOCALHOST",
        ] {
            assert!(parse_url(local).is_ok(), "{local}");
        }
        for remote in [
            "http://acme.zendesk.com",
            "http://10.0.0.5",
            "http://localhost.evil.test",
            "http://127.0.0.1.evil.test",
        ] {
            let err = parse_url(remote).unwrap_err().to_string();
            assert!(
                err.contains("unencrypted") && err.contains("https"),
                "{remote}: {err}"
            );
        }
    }

    /// A store and keychain holding `acme` on the simulator, added the usual way.
    async fn added(sim: &Sim) -> (tempfile::TempDir, Store, MemorySecrets, AccountRecord) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let secrets = MemorySecrets::default();
        let (record, _) = add(&store, &secrets, new(&sim.url(), "sim-token"))
            .await
            .unwrap();
        (dir, store, secrets, record)
    }

    /// A reply waiting in the outbox of `acme` (what removal must not lose silently).
    async fn queue_reply(store: &Store) {
        let reply = baton_core::outbox::Reply {
            body: "Hi Maria".into(),
            public: true,
            author_id: None,
            updated_stamp: None,
        };
        store
            .enqueue_reply("acme", "7", None, "k1", &reply, None, 1)
            .await
            .unwrap();
    }

    fn creds(token: &str) -> NewCredentials {
        NewCredentials {
            token: Sensitive::new(token.into()),
            email: None,
            sunco: None,
        }
    }

    #[tokio::test]
    async fn update_checks_the_new_token_first_and_keeps_everything_else() {
        let config = SimConfig {
            tickets: 2,
            ..Default::default()
        };
        let sim = Sim::start(config.clone()).await.unwrap();
        let (_dir, store, secrets, record) = added(&sim).await;
        queue_reply(&store).await;
        // The token was revoked at Zendesk: the stored one no longer works.
        secrets
            .put("zendesk:acme", &Sensitive::new("revoked".into()))
            .unwrap();
        assert!(test(&record, &secrets).await.is_err());

        let err = update(&store, &secrets, "acme", creds("still-wrong"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("rejected the credentials"), "{err}");
        assert!(!err.contains("still-wrong"), "{err}");
        assert_eq!(secrets.get("zendesk:acme").unwrap().expose(), "revoked");
        let wrong_email = NewCredentials {
            email: Some("nobody@acme.test".into()),
            ..creds("sim-token")
        };
        assert!(update(&store, &secrets, "acme", wrong_email).await.is_err());
        assert_eq!(
            store.account("acme").await.unwrap(),
            record,
            "nothing changed"
        );

        let (updated, me) = update(&store, &secrets, "acme", creds("sim-token"))
            .await
            .unwrap();
        assert_eq!(me, "Alex Rivera");
        assert_eq!(updated, record);
        assert_eq!(secrets.get("zendesk:acme").unwrap().expose(), "sim-token");
        assert_eq!(test(&record, &secrets).await.unwrap(), "Alex Rivera");
        assert_eq!(
            store.unsent("acme").await.unwrap().replies.len(),
            1,
            "the outbox is kept"
        );
        assert!(matches!(
            update(&store, &secrets, "nobody", creds("sim-token")).await,
            Err(e) if e.to_string().contains("no account named")
        ));

        // A Sunshine Conversations key: the app id is needed the first time, then kept.
        let key = |app: Option<&str>, secret: &str| NewCredentials {
            sunco: Some(SuncoKey {
                app_id: app.map(str::to_string),
                key_id: config.sunco_key_id.clone(),
                base_url: None,
                secret: Sensitive::new(secret.into()),
            }),
            ..creds("sim-token")
        };
        let err = update(&store, &secrets, "acme", key(None, &config.sunco_secret))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("no Sunshine Conversations app"), "{err}");
        let err = update(
            &store,
            &secrets,
            "acme",
            key(Some(&config.sunco_app_id), "wrong"),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("Sunshine Conversations"), "{err}");
        assert!(secrets.get("zendesk:acme:sunco").is_err(), "nothing kept");
        update(
            &store,
            &secrets,
            "acme",
            key(Some(&config.sunco_app_id), &config.sunco_secret),
        )
        .await
        .unwrap();
        update(&store, &secrets, "acme", key(None, &config.sunco_secret))
            .await
            .unwrap();
        let settings: Settings =
            serde_json::from_value(store.account("acme").await.unwrap().settings).unwrap();
        assert_eq!(settings.sunco.unwrap().app_id, config.sunco_app_id);
        assert_eq!(
            secrets.get("zendesk:acme:sunco").unwrap().expose(),
            &config.sunco_secret
        );

        // Another Zendesk user's token is not a credentials change.
        let mut other = store.account("acme").await.unwrap();
        other.me_id = Some("someone-else".into());
        store.update_account(&other).await.unwrap();
        let err = update(&store, &secrets, "acme", creds("sim-token"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("another Zendesk user"), "{err}");
    }
}
