//! What the desktop UI's settings forms send to connect a Zendesk account or change its
//! credentials: the IPC shape (its TypeScript is `ui/src/lib/bindings/zendesk.ts`), turned
//! into `accounts::NewAccount` / `accounts::NewCredentials` by the shell once its fields
//! are checked. The secrets are `Sensitive`, so printing a form (a log line, an error)
//! shows `<redacted>`.

use baton_core::Sensitive;
use serde::Deserialize;

/// What the settings form sends to connect a Zendesk account.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct NewZendeskAccount {
    pub url: String,
    pub email: String,
    /// The API token; goes straight to the OS keychain.
    #[ts(type = "string")]
    pub token: Sensitive<String>,
    /// A short name; the subdomain when empty.
    pub name: Option<String>,
    /// Sunshine Conversations, for messaging transcripts when the conversation log is not
    /// available to the token.
    pub sunco: Option<NewSunco>,
}

/// A Sunshine Conversations app and the API key Baton reads it with.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct NewSunco {
    pub app_id: String,
    pub key_id: String,
    /// The key's secret; goes straight to the OS keychain.
    #[ts(type = "string")]
    pub secret: Sensitive<String>,
}

/// What the settings form sends to change an account's credentials in place: checked
/// with Zendesk before they replace the old ones.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct NewCredentials {
    /// The new API token; goes straight to the OS keychain.
    #[ts(type = "string")]
    pub token: Sensitive<String>,
    /// A new agent email; the stored one when absent.
    pub email: Option<String>,
    /// A new Sunshine Conversations key for the account's app (or a new app and key).
    pub sunco: Option<NewSunco>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_forms_secrets_never_print() {
        let form = r#"{"url": "https://acme.zendesk.com", "email": "a@acme.test",
            "token": "tok-CANARY-1", "name": null,
            "sunco": {"app_id": "app", "key_id": "app_key", "secret": "sc-CANARY-2"}}"#;
        let account: NewZendeskAccount = serde_json::from_str(form).unwrap();
        let creds: NewCredentials = serde_json::from_str(
            r#"{"token": "tok-CANARY-3", "email": null,
                "sunco": {"app_id": "", "key_id": "k", "secret": "sc-CANARY-4"}}"#,
        )
        .unwrap();
        let printed = format!("{account:?} {account:#?} {creds:?}");
        assert!(!printed.contains("CANARY"), "{printed}");
        assert_eq!(account.token.expose(), "tok-CANARY-1");
        assert_eq!(account.sunco.unwrap().secret.expose(), "sc-CANARY-2");
        assert_eq!(creds.token.expose(), "tok-CANARY-3");
    }
}
