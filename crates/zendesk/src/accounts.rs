//! Connecting, checking and disconnecting a Zendesk account: the same steps from the
//! CLI and the desktop app. Secrets go to the keychain; the store keeps their names.

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

/// `acme.zendesk.com` or a full URL; http(s) only.
pub fn parse_url(raw: &str) -> Result<url::Url, String> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(format!("{raw:?} is not an http(s) URL"));
    }
    Ok(url)
}

/// Checks the credentials (`users/me`) before keeping anything, then stores the secrets
/// in `secrets` and the account in `store`. Returns the account and the agent's name.
pub async fn add(
    store: &Store,
    secrets: &dyn SecretStore,
    new: NewAccount,
) -> Result<(AccountRecord, String), String> {
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
        return Err(format!("{name:?}: a name is letters, digits, - and _"));
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
        return Err("an email is required with an API token".into());
    }
    if store.account(&name).await.is_ok() {
        return Err(format!(
            "an account named {name:?} already exists; pick another name"
        ));
    }
    let (sunco, sunco_secret) = match new.sunco {
        Some((s, secret)) => (Some(s), Some(secret)),
        None => (None, None),
    };
    if let Some(sc) = &sunco {
        // They go into request paths: one path segment each.
        for (what, id) in [("app id", &sc.app_id), ("key id", &sc.key_id)] {
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!("{id:?} is not a Sunshine Conversations {what}"));
            }
        }
    }
    let mut record = AccountRecord {
        id: name.clone(),
        kind: SourceKind::Zendesk,
        base_url: url.as_str().trim_end_matches('/').to_string(),
        login: email,
        auth_kind,
        secret_ref: format!("zendesk:{name}"),
        settings: serde_json::to_value(Settings {
            sunco: sunco.clone(),
            ..Default::default()
        })
        .expect("serializes"),
        me_id: None,
        created_at: chrono::Utc::now().timestamp_millis(),
    };
    let client = crate::client(&record, new.token.clone()).map_err(|e| e.to_string())?;
    let (me_id, me_name) = crate::whoami(&client)
        .await
        .map_err(|e| format!("could not add {name}: {e}"))?;
    record.me_id = Some(me_id);
    if let (Some(sc), Some(secret)) = (&sunco, &sunco_secret) {
        let sunco = crate::sunco_client(&record, sc, secret.clone()).map_err(|e| e.to_string())?;
        crate::sunco_app(&sunco, &sc.app_id).await.map_err(|e| {
            format!(
                "could not add {name}: Sunshine Conversations app {:?} with key {:?}: {e}",
                sc.app_id, sc.key_id
            )
        })?;
    }
    let forget = || forget_secrets(&record, secrets);
    secrets
        .put(&record.secret_ref, &new.token)
        .map_err(|e| e.to_string())?;
    if let Some(s) = &sunco_secret {
        if let Err(e) = secrets.put(&sunco_ref(&record.secret_ref), s) {
            forget();
            return Err(e.to_string());
        }
    }
    if let Err(e) = store.add_account(&record).await {
        forget();
        return Err(e.to_string());
    }
    Ok((record, me_name))
}

/// Asks Zendesk who the stored credentials belong to.
pub async fn test(account: &AccountRecord, secrets: &dyn SecretStore) -> Result<String, String> {
    let client =
        crate::client(account, crate::token(account, secrets)?).map_err(|e| e.to_string())?;
    crate::whoami(&client)
        .await
        .map(|(_, name)| name)
        .map_err(|e| e.to_string())
}

/// Disconnects: the cached data and every keychain entry of the account.
pub async fn remove(store: &Store, secrets: &dyn SecretStore, id: &str) -> Result<(), String> {
    let account = store.account(id).await.map_err(|e| e.to_string())?;
    store.remove_account(id).await.map_err(|e| e.to_string())?;
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
            .unwrap_err();
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
            .unwrap_err();
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
        .unwrap_err();
        assert!(err.contains("not found"), "{err}");
        let err = add(&store, &secrets, with("../tickets", key, secret))
            .await
            .unwrap_err();
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
        assert!(parse_url("ftp://x").unwrap_err().contains("http(s)"));
        assert!(parse_url("").is_err());
    }
}
