//! The shell's own types on the IPC surface, beside the crates' (which generate their
//! own files): what the window asks of the shell itself, and what its forms send. Their
//! TypeScript is `ui/src/lib/bindings/app.ts`, rendered and checked by `baton_core::bindings`.

use baton_core::Sensitive;
use baton_engine::team::desk::TeamView;
use baton_engine::EngineError;
use serde::{Deserialize, Serialize};

/// What the desktop shell tells its UI about itself.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct AppInfo {
    /// Showing the embedded simulator's demo data (no account configured).
    pub demo: bool,
    pub demo_url: Option<String>,
    /// The rep's own user id, for "mine first".
    pub me_id: Option<String>,
    pub version: String,
}

/// The team this desktop reads from, as Settings shows it. Never the NATS secret.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct TeamStatus {
    /// `null`: not in a team. Joined: where and as whom, with the team's accounts when its
    /// NATS answered (none listed when it did not: see `problem`).
    pub team: Option<TeamView>,
    /// Why the team's accounts could not be read just now (offline, login refused, …).
    pub problem: Option<EngineError>,
}

/// What the settings form sends to connect a Salesforce org, as `baton account add
/// salesforce` does: the shell checks the fields are there, then the engine signs in with
/// the key (the OAuth 2.0 JWT bearer flow) before keeping anything. The key is
/// `Sensitive`, so printing the form (a log line, an error) shows `<redacted>`.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct NewSalesforceAccount {
    /// A short name; the My Domain's, or the username's domain's, when empty.
    pub name: Option<String>,
    /// `https://login.salesforce.com`, `https://test.salesforce.com` (a sandbox) or the
    /// org's My Domain.
    pub login_url: String,
    /// The connected app's consumer key (its client id).
    pub consumer_key: String,
    /// The Salesforce user Baton signs in as.
    pub username: String,
    /// The unencrypted RSA private key whose certificate was uploaded to the connected
    /// app, as PEM text (the file the rep picked, read by the window); goes straight to
    /// the OS keychain.
    #[ts(type = "string")]
    pub private_key: Sensitive<String>,
    /// Where the Pub/Sub API is; Salesforce's own endpoint when empty.
    pub pubsub_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::bindings::{check_or_update, config, render, ui_file};
    use ts_rs::TS;

    /// The engine's types this file refers to, imported from their own file.
    const IMPORTS: &str = "import type { EngineError, TeamView } from \"./engine\";\n\n";

    #[test]
    fn bindings_are_current() {
        let cfg = config();
        let rendered = render(
            env!("CARGO_PKG_NAME"),
            &[
                AppInfo::decl(&cfg),
                TeamStatus::decl(&cfg),
                NewSalesforceAccount::decl(&cfg),
            ],
        );
        // After the header line, before the declarations.
        let at = rendered.find("\n\n").expect("a header") + 2;
        let content = format!("{}{IMPORTS}{}", &rendered[..at], &rendered[at..]);
        check_or_update(env!("CARGO_PKG_NAME"), &ui_file("app.ts"), &content);
    }

    #[test]
    fn the_salesforce_forms_key_never_prints() {
        let form = r#"{"name": null, "login_url": "https://login.salesforce.com",
            "consumer_key": "3MVG9-client", "username": "alex@acme.test",
            "private_key": "-----BEGIN PRIVATE KEY-----\nCANARY-key\n-----END PRIVATE KEY-----\n",
            "pubsub_url": null}"#;
        let account: NewSalesforceAccount = serde_json::from_str(form).unwrap();
        let printed = format!("{account:?} {account:#?}");
        assert!(!printed.contains("CANARY"), "{printed}");
        assert!(account.private_key.expose().contains("CANARY-key"));
    }
}
