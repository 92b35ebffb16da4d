//! `relay.toml`: the vendor accounts a team's relay serves, its NATS, and where it takes
//! webhooks. Secrets are never in it: they come from the environment, or from a secrets
//! file only its owner can read.
//!
//! ```toml
//! team = "support-emea"
//! listen = "0.0.0.0:8787"          # webhooks: POST /webhooks/zendesk/<account>
//! state_dir = "/var/lib/baton-relay"
//! secrets_file = "/etc/baton/relay.secrets"   # optional; mode 0600
//! leads = ["lee"]                  # whose verdicts and rules the team shares
//!
//! [nats]
//! url = "tls://nats.internal:4222"   # or wss://… where only HTTPS passes
//! user = "relay"
//! ca_file = "/etc/baton/nats-ca.pem" # optional
//! replicas = 3                       # 3 on a three-node cluster
//!
//! [[accounts]]
//! id = "acme"
//! vendor = "zendesk"
//! url = "https://acme.zendesk.com"
//! login = "relay-bot@acme.com"
//! ```
//!
//! A Salesforce org (the relay then holds the org's one Pub/Sub subscription):
//!
//! ```toml
//! [[accounts]]
//! id = "acme-sf"
//! vendor = "salesforce"
//! url = "https://login.salesforce.com"   # or test.salesforce.com, or the My Domain
//! login = "relay-bot@acme.com"           # the integration user the JWT names
//! [accounts.settings]
//! consumer_key = "3MVG9…"                # the connected app's
//! ```
//!
//! Secrets, by environment variable or as keys of the secrets file (TOML):
//! `BATON_NATS_PASSWORD` / `nats_password` (a password, or a `.creds` file's content);
//! per account `acme`: `BATON_ACME_TOKEN` / `acme.token` (the API token),
//! `BATON_ACME_WEBHOOK_SECRET` / `acme.webhook_secret` (the Zendesk webhook's signing
//! secret), `BATON_ACME_SUNCO_SECRET` / `acme.sunco_secret` and
//! `BATON_ACME_SUNCO_WEBHOOK_SECRET` / `acme.sunco_webhook_secret`; for a Salesforce org
//! `acme-sf`: `BATON_ACME_SF_PRIVATE_KEY` / `acme-sf.private_key` (the JWT signing key, PEM).

use super::nats::check_account_id;
use crate::error::{EngineError, Result};
use baton_core::Sensitive;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    pub team: String,
    pub listen: SocketAddr,
    /// Where the relay keeps its cache (default: the user's data directory).
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    #[serde(default)]
    pub secrets_file: Option<PathBuf>,
    /// How often the incremental export runs to catch what a lost webhook missed.
    #[serde(default = "default_export_every")]
    pub export_every_secs: u64,
    /// The team's leads, by NATS user: the members whose verdicts on handoffs and
    /// category rules the relay shares with the team (and whose NATS users may send
    /// them). Without any, those stay on each desktop; draft outcomes are every rep's.
    #[serde(default)]
    pub leads: Vec<String>,
    pub nats: NatsConfig,
    pub accounts: Vec<AccountConfig>,
}

fn default_export_every() -> u64 {
    30
}

fn default_replicas() -> usize {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    pub url: String,
    pub user: String,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_replicas")]
    pub replicas: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub id: String,
    pub vendor: String,
    pub url: String,
    pub login: String,
    /// The vendor's options, as `baton account add` stores them (e.g. `[accounts.settings.sunco]`).
    #[serde(default)]
    pub settings: Option<toml::Table>,
}

impl AccountConfig {
    /// The account as the engine stores it (secrets apart).
    pub fn record(&self) -> Result<baton_core::store::AccountRecord> {
        if self.vendor == SALESFORCE {
            return self.salesforce_record();
        }
        let url = baton_zendesk::accounts::parse_url(&self.url)?;
        let mut record = baton_zendesk::accounts::record(
            &self.id,
            url.as_str().trim_end_matches('/'),
            Some(&self.login),
        );
        if let Some(settings) = &self.settings {
            record.settings = serde_json::to_value(settings).map_err(|e| {
                EngineError::invalid(format!("relay.toml: settings of {}: {e}", self.id))
            })?;
        }
        Ok(record)
    }

    /// A Salesforce org: the settings are the account's (`consumer_key` required), and
    /// the relay reads every session's transcript unless they say otherwise, since it
    /// serves the whole team.
    fn salesforce_record(&self) -> Result<baton_core::store::AccountRecord> {
        let invalid =
            |why: String| EngineError::invalid(format!("relay.toml: account {:?}: {why}", self.id));
        let url = url::Url::parse(&self.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| invalid(format!("{:?} is not a login URL", self.url)))?;
        let mut settings = serde_json::to_value(baton_salesforce::Settings {
            transcripts_for: baton_salesforce::TranscriptScope::All,
            ..Default::default()
        })
        .expect("settings serialize");
        if let Some(given) = &self.settings {
            let given = serde_json::to_value(given).map_err(|e| invalid(e.to_string()))?;
            for (k, v) in given.as_object().into_iter().flatten() {
                settings[k] = v.clone();
            }
        }
        let parsed: baton_salesforce::Settings =
            serde_json::from_value(settings).map_err(|e| invalid(format!("settings: {e}")))?;
        let mut record = baton_salesforce::record(
            &self.id,
            url.as_str().trim_end_matches('/'),
            &self.login,
            &parsed.consumer_key,
            parsed.auth_flow,
        );
        record.settings = serde_json::to_value(&parsed).expect("settings serialize");
        baton_salesforce::settings(&record).map_err(|e| invalid(e.to_string()))?;
        if parsed.auth_flow != baton_salesforce::AuthFlow::JwtBearer {
            return Err(invalid(
                "a relay signs in with the JWT bearer flow (its key from the environment or the \
                 secrets file); auth_flow must be jwt_bearer"
                    .into(),
            ));
        }
        if let Some(url) = &parsed.pubsub_url {
            baton_salesforce::feed::check_pubsub_url(url).map_err(|e| invalid(e.to_string()))?;
        }
        Ok(record)
    }
}

const ZENDESK: &str = "zendesk";
const SALESFORCE: &str = "salesforce";

impl RelayConfig {
    pub fn parse(text: &str) -> Result<Self> {
        let config: RelayConfig = toml::from_str(text).map_err(|e| {
            let hint = if e.message().contains("unknown field") {
                " (secrets never go in relay.toml: use the environment or secrets_file)"
            } else {
                ""
            };
            EngineError::invalid(format!("relay.toml: {}{hint}", e.message()))
        })?;
        if config.accounts.is_empty() {
            return Err(EngineError::invalid("relay.toml: no [[accounts]]"));
        }
        let mut seen = std::collections::HashSet::new();
        for a in &config.accounts {
            check_account_id(&a.id)?;
            if !seen.insert(&a.id) {
                return Err(EngineError::invalid(format!(
                    "relay.toml: account {:?} is listed twice",
                    a.id
                )));
            }
            if a.vendor != ZENDESK && a.vendor != SALESFORCE {
                return Err(EngineError::invalid(format!(
                    "relay.toml: account {:?}: vendor {:?} is not served by this version (zendesk and salesforce are)",
                    a.id, a.vendor
                )));
            }
        }
        if !(1..=5).contains(&config.nats.replicas) {
            return Err(EngineError::invalid("relay.toml: nats.replicas is 1 to 5"));
        }
        if config.export_every_secs < 12 {
            // Zendesk allows 10 exports a minute for the whole account, its other
            // integrations included: the relay keeps to half of that at most.
            return Err(EngineError::invalid(
                "relay.toml: export_every_secs below 12 would take more than half of Zendesk's export limit",
            ));
        }
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EngineError::invalid(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    pub fn export_every(&self) -> Duration {
        Duration::from_secs(self.export_every_secs)
    }
}

/// The relay's secrets, from the environment first, then the secrets file.
pub struct RelaySecrets {
    env: HashMap<String, String>,
    file: toml::Table,
}

impl RelaySecrets {
    /// `env` is passed in (the process's environment in `baton relay`), so tests do not
    /// share one.
    pub fn load(config: &RelayConfig, env: HashMap<String, String>) -> Result<Self> {
        let file = match &config.secrets_file {
            None => toml::Table::new(),
            Some(path) => {
                baton_core::files::refuse_if_readable_by_others(path)
                    .map_err(|e| EngineError::invalid(e.to_string()))?;
                let text = std::fs::read_to_string(path).map_err(|e| {
                    EngineError::invalid(format!("cannot read {}: {e}", path.display()))
                })?;
                // toml's messages may quote the line; only say where.
                toml::from_str(&text).map_err(|e| {
                    EngineError::invalid(format!(
                        "{} does not parse as TOML (at {:?})",
                        path.display(),
                        e.span()
                    ))
                })?
            }
        };
        Ok(Self { env, file })
    }

    fn get(&self, env_name: &str, path: &[&str]) -> Option<Sensitive<String>> {
        if let Some(v) = self.env.get(env_name).filter(|v| !v.is_empty()) {
            return Some(Sensitive::new(v.clone()));
        }
        let mut at = self.file.get(path[0])?;
        for key in &path[1..] {
            at = at.get(key)?;
        }
        at.as_str()
            .filter(|v| !v.is_empty())
            .map(|v| Sensitive::new(v.to_string()))
    }

    fn env_name(account: &str, what: &str) -> String {
        format!(
            "BATON_{}_{what}",
            account.to_ascii_uppercase().replace('-', "_")
        )
    }

    pub fn nats_password(&self) -> Result<Sensitive<String>> {
        self.get("BATON_NATS_PASSWORD", &["nats_password"])
            .ok_or_else(|| {
                EngineError::invalid(
                    "no NATS password: set BATON_NATS_PASSWORD or nats_password in the secrets file",
                )
            })
    }

    /// What signs the relay in to an account's vendor: Zendesk's API token, or the
    /// Salesforce connected app's private key.
    pub fn vendor_secret(&self, account: &AccountConfig) -> Result<Sensitive<String>> {
        if account.vendor != SALESFORCE {
            return self.token(&account.id);
        }
        let id = &account.id;
        self.get(&Self::env_name(id, "PRIVATE_KEY"), &[id, "private_key"])
            .ok_or_else(|| {
                EngineError::invalid(format!(
                    "no private key for {id}: set {} or {id}.private_key in the secrets file",
                    Self::env_name(id, "PRIVATE_KEY")
                ))
            })
    }

    pub fn token(&self, account: &str) -> Result<Sensitive<String>> {
        self.get(&Self::env_name(account, "TOKEN"), &[account, "token"])
            .ok_or_else(|| {
                EngineError::invalid(format!(
                    "no API token for {account}: set {} or {account}.token in the secrets file",
                    Self::env_name(account, "TOKEN")
                ))
            })
    }

    /// The webhook's signing secret is set in the environment (which wins over the file).
    pub fn webhook_secret_in_env(&self, account: &str) -> Option<String> {
        let name = Self::env_name(account, "WEBHOOK_SECRET");
        self.env.contains_key(&name).then_some(name)
    }

    pub fn webhook_secret(&self, account: &str) -> Option<Sensitive<String>> {
        self.get(
            &Self::env_name(account, "WEBHOOK_SECRET"),
            &[account, "webhook_secret"],
        )
    }

    pub fn sunco_secret(&self, account: &str) -> Option<Sensitive<String>> {
        self.get(
            &Self::env_name(account, "SUNCO_SECRET"),
            &[account, "sunco_secret"],
        )
    }

    /// Keeps an account's webhook signing secret in the secrets file (which stays its
    /// owner's alone). Without a secrets file, says where to put it instead.
    pub fn save_webhook_secret(
        &mut self,
        config: &RelayConfig,
        account: &str,
        secret: &Sensitive<String>,
    ) -> Result<PathBuf> {
        let Some(path) = &config.secrets_file else {
            return Err(EngineError::invalid(format!(
                "relay.toml has no secrets_file to keep the webhook's signing secret in: add one (mode 0600), or set {} to the secret Zendesk shows for the webhook",
                Self::env_name(account, "WEBHOOK_SECRET")
            )));
        };
        let table = self
            .file
            .entry(account.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(table) = table.as_table_mut() else {
            return Err(EngineError::invalid(format!(
                "{}: {account} is not a table",
                path.display()
            )));
        };
        table.insert(
            "webhook_secret".into(),
            toml::Value::String(secret.expose().clone()),
        );
        let text = toml::to_string(&self.file).expect("a table serializes");
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| EngineError::invalid(format!("cannot write in {}: {e}", dir.display())))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .map_err(|e| EngineError::invalid(format!("cannot write {}: {e}", path.display())))?;
        // A temporary file is created 0600: it replaces the old one as private as it was.
        file.persist(path)
            .map_err(|e| EngineError::invalid(format!("cannot write {}: {e}", path.display())))?;
        Ok(path.clone())
    }

    pub fn sunco_webhook_secret(&self, account: &str) -> Option<Sensitive<String>> {
        self.get(
            &Self::env_name(account, "SUNCO_WEBHOOK_SECRET"),
            &[account, "sunco_webhook_secret"],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
team = "emea"
listen = "127.0.0.1:0"
[nats]
url = "nats://127.0.0.1:4222"
user = "relay"
[[accounts]]
id = "acme"
vendor = "zendesk"
url = "https://acme.zendesk.com"
login = "bot@acme.com"
"#;

    #[test]
    fn a_secret_in_the_toml_is_refused_and_the_message_says_where_secrets_go() {
        let with_token = CONFIG.replace("login = ", "token = \"t0ps3cret\"\nlogin = ");
        let e = RelayConfig::parse(&with_token).unwrap_err();
        assert!(e.message.contains("secrets never go in relay.toml"), "{e}");
        assert!(!e.message.contains("t0ps3cret"), "{e}");
    }

    #[test]
    fn an_account_id_that_would_break_a_subject_is_refused() {
        let bad = CONFIG.replace("id = \"acme\"", "id = \"ac.me\"");
        assert!(RelayConfig::parse(&bad).is_err());
        assert_eq!(RelayConfig::parse(CONFIG).unwrap().accounts[0].id, "acme");
    }

    #[test]
    fn secrets_come_from_the_environment_before_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.secrets");
        std::fs::write(
            &path,
            "nats_password = \"from-file\"\n[acme]\ntoken = \"file-token\"\n",
        )
        .unwrap();
        let mut config = RelayConfig::parse(CONFIG).unwrap();
        config.secrets_file = Some(path.clone());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = RelaySecrets::load(&config, HashMap::new()).err().unwrap();
            assert!(e.message.contains("readable"), "{e}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let env = HashMap::from([("BATON_ACME_TOKEN".to_string(), "env-token".to_string())]);
        let secrets = RelaySecrets::load(&config, env).unwrap();
        assert_eq!(secrets.token("acme").unwrap().expose(), "env-token");
        assert_eq!(secrets.nats_password().unwrap().expose(), "from-file");
        assert!(secrets.webhook_secret("acme").is_none());
        let e = RelaySecrets::load(&config, HashMap::new())
            .unwrap()
            .token("other")
            .unwrap_err();
        assert!(e.message.contains("BATON_OTHER_TOKEN"), "{e}");
    }
}
