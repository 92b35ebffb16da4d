//! Reaching a team's NATS: who logs in and how (a password, or a `.creds` file's
//! content), TLS with an extra CA, WebSocket URLs; and the names of what lives there.

use crate::error::{EngineError, ErrorKind, Result};
use async_nats::jetstream;
use baton_core::Sensitive;
use std::path::PathBuf;
use std::time::Duration;

/// The stream of one account's records.
pub fn stream_name(account: &str) -> String {
    format!("BATON_{account}")
}

/// The team's shared facts (which accounts it serves, where each relay's export stands).
pub const TEAM_BUCKET: &str = "baton_team";
/// The relays' lease: one key whose entries expire unless renewed.
pub const LEASE_BUCKET: &str = "baton_lease";
pub const LEASE_KEY: &str = "relay";
/// The accounts the team serves, in [`TEAM_BUCKET`].
pub const ACCOUNTS_KEY: &str = "accounts";

pub fn cursor_key(account: &str) -> String {
    format!("cursor.{account}")
}

/// An account id as the relay config names it: it becomes part of stream and subject
/// names, so it is kept to letters, digits, `-` and `_`.
pub fn check_account_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(EngineError::invalid(format!(
            "account id {id:?}: use 1 to 64 letters, digits, '-' or '_' (it names the team's stream)"
        )))
    }
}

/// How one NATS user logs in.
#[derive(Clone)]
pub struct NatsLogin {
    /// `nats://`, `tls://`, `ws://` or `wss://` (for networks that pass only HTTPS).
    pub url: String,
    pub user: String,
    /// The user's password, or the content of a `.creds` file (a JWT and its seed).
    pub secret: Sensitive<String>,
    /// A CA to trust for the server's certificate, besides the system's.
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for NatsLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsLogin")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("secret", &self.secret)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

const CREDS_MARK: &str = "-----BEGIN NATS USER JWT-----";

pub async fn connect(login: &NatsLogin, name: &str) -> Result<async_nats::Client> {
    let url = login.url.trim();
    let scheme = url.split("://").next().unwrap_or_default();
    if !url.contains("://") || !["nats", "tls", "ws", "wss"].contains(&scheme) {
        return Err(EngineError::invalid(format!(
            "{url:?} is not a NATS URL: use nats://, tls://, ws:// or wss://"
        )));
    }
    let mut options = if login.secret.expose().contains(CREDS_MARK) {
        async_nats::ConnectOptions::with_credentials(login.secret.expose())
            .map_err(|_| EngineError::invalid("the NATS credentials file does not parse"))?
    } else {
        async_nats::ConnectOptions::with_user_and_password(
            login.user.clone(),
            login.secret.expose().clone(),
        )
    };
    options = options
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        // Reconnects forever: a laptop's network comes and goes.
        .max_reconnects(None);
    if let Some(ca) = &login.ca_file {
        if !ca.exists() {
            return Err(EngineError::invalid(format!(
                "the CA file {} does not exist",
                ca.display()
            )));
        }
        options = options.add_root_certificates(ca.clone());
    }
    if scheme == "tls" {
        options = options.require_tls(true);
    }
    use async_nats::ConnectErrorKind as K;
    options.connect(url).await.map_err(|e| match e.kind() {
        K::AuthorizationViolation | K::Authentication => EngineError::new(
            ErrorKind::Auth,
            format!("NATS at {url} refused the login of {:?}", login.user),
        ),
        K::Tls => EngineError::new(
            ErrorKind::Unreachable,
            format!("TLS with NATS at {url} failed: {e}"),
        ),
        _ => EngineError::new(
            ErrorKind::Unreachable,
            format!("cannot reach NATS at {url}: {e}"),
        ),
    })
}

/// An error from JetStream, in the engine's terms: a permissions violation is `auth`.
pub fn nats_error(what: &str, e: impl std::fmt::Display) -> EngineError {
    let text = e.to_string();
    let kind = if text.contains("ermission") || text.contains("authorization") {
        ErrorKind::Auth
    } else if text.contains("timed out")
        || text.contains("disconnected")
        || text.contains("no responders")
    {
        ErrorKind::Unreachable
    } else {
        ErrorKind::Unavailable
    };
    EngineError::new(kind, format!("{what}: {text}"))
}

pub fn jetstream(client: &async_nats::Client) -> jetstream::Context {
    jetstream::new(client.clone())
}

/// What a rep's NATS user may do, for the team's `accounts` (ids as in relay.toml): read
/// the team's streams and its KV bucket, never publish to them. Only the relay publishes.
pub fn rep_permissions(accounts: &[String]) -> serde_json::Value {
    let mut publish = vec![];
    for a in accounts {
        let s = stream_name(a);
        publish.extend([
            format!("$JS.API.STREAM.INFO.{s}"),
            format!("$JS.API.STREAM.MSG.GET.{s}"),
            format!("$JS.API.CONSUMER.CREATE.{s}"),
            format!("$JS.API.CONSUMER.CREATE.{s}.>"),
            format!("$JS.API.CONSUMER.INFO.{s}.>"),
            format!("$JS.API.CONSUMER.DELETE.{s}.>"),
            format!("$JS.API.CONSUMER.MSG.NEXT.{s}.>"),
        ]);
    }
    let kv = format!("KV_{TEAM_BUCKET}");
    publish.extend([
        format!("$JS.API.STREAM.INFO.{kv}"),
        format!("$JS.API.STREAM.MSG.GET.{kv}"),
        format!("$JS.API.DIRECT.GET.{kv}.>"),
    ]);
    serde_json::json!({
        "publish": { "allow": publish },
        "subscribe": { "allow": ["_INBOX.>"] },
    })
}

/// The `accounts` block of a NATS server's configuration for one team: a JetStream
/// account with the relay's user (all of the account) and each rep's (read only).
/// Passwords are written as given: a bcrypt hash (`nats server passwd`) belongs there in
/// production.
pub fn server_accounts(relay: (&str, &str), reps: &[(&str, &str)], accounts: &[String]) -> String {
    let mut users = vec![serde_json::json!({ "user": relay.0, "password": relay.1 })];
    let permissions = rep_permissions(accounts);
    for (user, password) in reps {
        users.push(serde_json::json!({
            "user": user, "password": password, "permissions": permissions,
        }));
    }
    let block = serde_json::json!({
        "BATON": { "jetstream": "enabled", "users": users },
    });
    format!(
        "accounts: {}\n",
        serde_json::to_string_pretty(&block).expect("json")
    )
}

/// A KV bucket, created if missing. Created as its stream directly: the client's own
/// `create_key_value` first reads account details that the Debian `nats-server` (2.9)
/// answers in an older shape, and fails there.
pub async fn ensure_bucket(
    js: &jetstream::Context,
    bucket: &str,
    max_age: Duration,
    replicas: usize,
) -> Result<jetstream::kv::Store> {
    if let Ok(store) = js.get_key_value(bucket).await {
        return Ok(store);
    }
    use jetstream::stream;
    js.create_or_update_stream(stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age,
        storage: stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .map_err(|e| nats_error(&format!("creating the bucket {bucket}"), e))?;
    js.get_key_value(bucket)
        .await
        .map_err(|e| nats_error(&format!("opening the bucket {bucket}"), e))
}
