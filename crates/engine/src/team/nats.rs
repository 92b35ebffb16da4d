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
/// The team's leads (relay.toml's `leads`), in [`TEAM_BUCKET`].
pub const LEADS_KEY: &str = "leads";

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
    /// A CA to trust for the server's certificate, in place of the system's: with it,
    /// async-nats trusts this file only.
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

/// A secret as a person gives it: a `.creds` file's content as it is; a password as its
/// first line, without the spaces or line end a paste brings along.
pub fn given_secret(raw: Sensitive<String>) -> Sensitive<String> {
    if raw.expose().contains(CREDS_MARK) {
        return raw;
    }
    Sensitive::new(
        raw.expose()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
    )
}

pub async fn connect(login: &NatsLogin, name: &str) -> Result<async_nats::Client> {
    let url = login.url.trim();
    check_url(url)?;
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
        .custom_inbox_prefix(inbox_prefix(&login.user))
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
    // A cluster's servers, comma-separated: any one of them will do to start.
    let servers: Vec<&str> = url
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect();
    options.connect(servers).await.map_err(|e| match e.kind() {
        K::AuthorizationViolation | K::Authentication => EngineError::new(
            ErrorKind::Auth,
            format!("NATS at {url} refused the login of {:?}", login.user),
        ),
        K::Tls => EngineError::new(
            ErrorKind::Unreachable,
            format!("TLS with NATS at {url} failed: {e}"),
        ),
        _ => match tls_refusal(&e) {
            Some(why) => EngineError::new(
                ErrorKind::Unreachable,
                format!(
                    "TLS with NATS at {url} failed: {why}{}",
                    tls_hint(&why, login)
                ),
            ),
            None => EngineError::new(
                ErrorKind::Unreachable,
                format!("cannot reach NATS at {url}: {e}"),
            ),
        },
    })
}

/// The TLS handshake's own error, when that is what refused the connection. async-nats
/// reports a failed handshake (an untrusted certificate, a server that does not speak
/// TLS) as an IO error with rustls's error inside, for `tls://` and `wss://` alike;
/// only a TLS setup it cannot build is `ConnectErrorKind::Tls`.
fn tls_refusal(e: &async_nats::ConnectError) -> Option<String> {
    use async_nats::rustls;
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        // An io::Error's `source` skips the error it wraps.
        if let Some(tls) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls.to_string());
        }
        next = err.source();
    }
    None
}

/// What to do about it, when the handshake's error says.
fn tls_hint(why: &str, login: &NatsLogin) -> &'static str {
    if why.contains("InvalidContentType") {
        " (the server does not answer in TLS: does it take TLS on this port?)"
    } else if !why.contains("certificate") {
        ""
    } else if login.ca_file.is_some() {
        " (the server's certificate is not signed by the CA file given, or is not for this host name)"
    } else {
        " (the server's certificate is not signed by a CA this computer trusts: give the team's CA file)"
    }
}

/// A NATS URL (or a comma-separated list) without a login in it: the URL is stored,
/// shown and put in error messages, so a password there would end up in the database,
/// the logs and the window.
pub fn check_url(url: &str) -> Result<()> {
    let with_login = url.split(',').any(|u| {
        let rest = u.trim().split_once("://").map_or(u, |(_, r)| r);
        rest.split(['/', '?', '#'])
            .next()
            .unwrap_or("")
            .contains('@')
    });
    if with_login {
        return Err(EngineError::invalid(
            "put the user name and password in their own fields, not in the NATS URL",
        ));
    }
    Ok(())
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

/// Where a user's replies come: its own inbox prefix, so a rep may subscribe to its own
/// replies and never read another user's (the relay's KV answers, say).
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX_{}", super::records::token(user))
}

/// What a rep's NATS user may do, for the team's `accounts` (ids as in relay.toml): read
/// the team's streams and its KV bucket, never publish to them; send what it shares to
/// its own subject only: draft outcomes, and verdicts and rules too when it is a `lead`.
/// Only the relay publishes to the team.
pub fn rep_permissions(user: &str, accounts: &[String], lead: bool) -> serde_json::Value {
    use super::share;
    let mut publish = share::in_subjects_of(user, lead);
    let streams = accounts
        .iter()
        .map(|a| stream_name(a))
        .chain([share::SHARED_STREAM.to_string()]);
    for s in streams {
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
        "subscribe": { "allow": [format!("{}.>", inbox_prefix(user))] },
    })
}

/// The `accounts` block of a NATS server's configuration for one team: a JetStream
/// account with the relay's user (all of the account) and each rep's (read only, and its
/// own subject; a lead's, as [`rep_permissions`] says, when `leads` names it).
/// Passwords are written as given: a bcrypt hash (`nats server passwd`) belongs there in
/// production.
pub fn server_accounts(
    relay: (&str, &str),
    reps: &[(&str, &str)],
    leads: &[String],
    accounts: &[String],
) -> String {
    let mut users = vec![serde_json::json!({ "user": relay.0, "password": relay.1 })];
    for (user, password) in reps {
        users.push(serde_json::json!({
            "user": user, "password": password,
            "permissions": rep_permissions(user, accounts, leads.iter().any(|l| l == user)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nats_url_with_a_login_in_it_is_refused_before_it_is_stored_or_shown() {
        for good in [
            "nats://127.0.0.1:4222",
            "tls://nats.example.com:4222",
            "wss://nats.example.com/ws?x=a@b",
            "nats://a:4222,nats://b:4222",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "nats://maria:s3cret@127.0.0.1:4222",
            "nats://token@127.0.0.1:4222",
            "maria:s3cret@nats.example.com:4222",
            "nats://a:4222, tls://u:p@b:4222",
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(!e.message.contains("s3cret"), "{e}");
            assert_eq!(e.kind, ErrorKind::InvalidInput);
        }
    }
}
