//! A desktop in a team: joining (the NATS login checked, its secret to the keychain),
//! leaving, and reading the team's streams into the cache in place of polling the
//! vendor. The rep's own credentials still say who the rep is (one `users/me`) and still
//! send the replies.

use super::consume::Consumer;
use super::nats::{self, nats_error, NatsLogin, ACCOUNTS_KEY, TEAM_BUCKET};
use super::relay::TeamAccount;
use super::share::{self, Member, SharedFeed};
use crate::error::{EngineError, ErrorKind, Result};
use crate::vendor::AccountSync;
use async_nats::jetstream;
use baton_core::secrets::SecretStore;
use baton_core::store::{AccountRecord, Membership};
use baton_core::sync::{StatusHandle, SyncState, SystemClock};
use baton_core::{CancellationToken, Sensitive, Store};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the team's NATS password (or `.creds` content) is kept in the keychain.
pub const TEAM_SECRET_REF: &str = "baton-team:nats";

/// What joining found: the team's accounts, each with the local account it feeds.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct TeamView {
    pub nats_url: String,
    pub user_name: String,
    pub accounts: Vec<TeamAccountView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct TeamAccountView {
    pub team_id: String,
    pub vendor: String,
    pub url: String,
    /// The local account it feeds; `None`: add an account for this URL (with your own
    /// credentials, for replies) to see its conversations.
    pub local_id: Option<String>,
}

/// Checks the login (it connects and reads the team's accounts), then keeps it: the
/// membership in the store, the secret in the keychain. A login that fails keeps nothing.
pub async fn join(
    store: &Store,
    secrets: &dyn SecretStore,
    nats_url: &str,
    user: &str,
    secret: Sensitive<String>,
    ca_file: Option<PathBuf>,
    now: i64,
) -> Result<TeamView> {
    if user.trim().is_empty() {
        return Err(EngineError::invalid("a NATS user name is needed"));
    }
    let secret = nats::given_secret(secret);
    if secret.expose().is_empty() {
        return Err(EngineError::invalid("a NATS password is needed"));
    }
    let login = NatsLogin {
        url: nats_url.trim().to_string(),
        user: user.trim().to_string(),
        secret,
        ca_file,
    };
    let (_, team, _) = open(&login).await?;
    secrets.put(TEAM_SECRET_REF, &login.secret)?;
    let membership = Membership {
        nats_url: login.url.clone(),
        user_name: login.user.clone(),
        ca_file: login.ca_file.as_ref().map(|p| p.display().to_string()),
        joined_at: now,
    };
    store.join_team(&membership).await?;
    Ok(view(&membership, &team, &store.accounts().await?))
}

/// Leaves the team: reads go back to the vendor; the secret leaves the keychain.
pub async fn leave(store: &Store, secrets: &dyn SecretStore) -> Result<bool> {
    let was = store.leave_team().await?;
    secrets.delete(TEAM_SECRET_REF)?;
    Ok(was)
}

/// The team as it is now (connecting to ask).
pub async fn describe(store: &Store, secrets: &dyn SecretStore) -> Result<Option<TeamView>> {
    let Some(m) = store.membership().await? else {
        return Ok(None);
    };
    let (_, team, _) = open(&login(&m, secrets)?).await?;
    Ok(Some(view(&m, &team, &store.accounts().await?)))
}

pub fn login(m: &Membership, secrets: &dyn SecretStore) -> Result<NatsLogin> {
    Ok(NatsLogin {
        url: m.nats_url.clone(),
        user: m.user_name.clone(),
        secret: secrets.get(TEAM_SECRET_REF)?,
        ca_file: m.ca_file.as_ref().map(PathBuf::from),
    })
}

/// The team's NATS, its accounts and its leads (none listed: none).
async fn open(login: &NatsLogin) -> Result<(jetstream::Context, Vec<TeamAccount>, Vec<String>)> {
    let client = nats::connect(login, "baton desktop").await?;
    let js = nats::jetstream(&client);
    let bucket = js.get_key_value(TEAM_BUCKET).await.map_err(|e| {
        nats_error(
            "the team's NATS has no Baton relay yet (or this user may not read it)",
            e,
        )
    })?;
    let listed = bucket
        .get(ACCOUNTS_KEY)
        .await
        .map_err(|e| nats_error("reading the team's accounts", e))?
        .ok_or_else(|| {
            EngineError::new(
                ErrorKind::NotFound,
                "the team's relay has not listed its accounts yet",
            )
        })?;
    let team: Vec<TeamAccount> = serde_json::from_slice(&listed).map_err(|e| {
        EngineError::new(
            ErrorKind::Vendor,
            format!("the team's account list does not parse: {e}"),
        )
    })?;
    let leads = share::read_leads(&bucket).await?;
    Ok((js, team, leads))
}

/// The same vendor address, however it is written: scheme, host (any case) and port; a
/// path or a trailing slash does not make another account.
fn same_url(a: &str, b: &str) -> bool {
    let key = |u: &str| {
        url::Url::parse(u.trim()).ok().map(|u| {
            (
                u.scheme().to_string(),
                u.host_str().map(str::to_ascii_lowercase),
                u.port_or_known_default(),
            )
        })
    };
    match (key(a), key(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a
            .trim_end_matches('/')
            .eq_ignore_ascii_case(b.trim_end_matches('/')),
    }
}

fn view(m: &Membership, team: &[TeamAccount], local: &[AccountRecord]) -> TeamView {
    TeamView {
        nats_url: m.nats_url.clone(),
        user_name: m.user_name.clone(),
        accounts: pair(team, local),
    }
}

/// Each team account with the local account (same vendor, same URL) it feeds.
fn pair(team: &[TeamAccount], local: &[AccountRecord]) -> Vec<TeamAccountView> {
    team.iter()
        .map(|t| TeamAccountView {
            team_id: t.id.clone(),
            vendor: t.vendor.clone(),
            url: t.url.clone(),
            local_id: local
                .iter()
                .find(|l| l.kind.as_str() == t.vendor && same_url(&l.base_url, &t.url))
                .map(|l| l.id.clone()),
        })
        .collect()
}

/// The team account that feeds a local one.
fn team_id_for<'a>(paired: &'a [TeamAccountView], local_id: &str) -> Option<&'a str> {
    paired
        .iter()
        .find(|a| a.local_id.as_deref() == Some(local_id))
        .map(|a| a.team_id.as_str())
}

/// Reads the team's streams into the store until cancelled: each local account the team
/// serves, from its stream; an account it does not serve says so on its status. Offline
/// or refused, it says so and tries again.
pub async fn read_team(
    store: Store,
    login: Result<NatsLogin>,
    syncs: Vec<AccountSync>,
    cancel: CancellationToken,
) {
    let login = match login {
        Ok(login) => login,
        Err(e) => {
            for s in &syncs {
                s.status().set(
                    SyncState::AuthFailed,
                    format!("team: {e}; join the team again"),
                );
            }
            return cancel.cancelled().await;
        }
    };
    for s in &syncs {
        // "Mine" and "my groups" need who the rep is; without it the queue still fills.
        if let Err(e) = s.identify(&cancel).await {
            tracing::warn!(account = %s.account_id(), error = %e, "who the rep is could not be read; trying on the next start");
        }
    }
    let mut backoff = Duration::from_millis(500);
    let (js, team, leads) = loop {
        match open(&login).await {
            Ok(opened) => break opened,
            Err(e) => {
                let state = if e.kind == ErrorKind::Auth {
                    SyncState::AuthFailed
                } else {
                    SyncState::Unreachable
                };
                for s in &syncs {
                    s.status()
                        .set(state.clone(), format!("team: {e}; retrying"));
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    };
    let local: Vec<AccountRecord> = match store.accounts().await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the accounts");
            return;
        }
    };
    let paired = pair(&team, &local);
    let mut readers = vec![];
    let mut served = vec![];
    for s in syncs {
        let id = s.account_id();
        let Some(team_id) = team_id_for(&paired, &id) else {
            s.status().set(
                SyncState::Error,
                "team: the team's relay does not serve this account; ask your team lead, or leave the team to sync it yourself",
            );
            continue;
        };
        served.push(s.status().clone());
        let consumer =
            Consumer::account(js.clone(), store.clone(), team_id, &id, s.status().clone());
        let cancel = cancel.clone();
        readers.push(tokio::spawn(async move { consumer.run(&cancel).await }));
    }
    for t in paired.iter().filter(|a| a.local_id.is_none()) {
        tracing::info!(team_account = %t.team_id, url = %t.url, "the team serves an account this desktop has not added");
    }
    // What the team's members share: read into the cache, and this desktop's sent.
    let member = member(&login, &paired, leads);
    let shared = shared_consumer(&js, &store, member.clone());
    let until = cancel.clone();
    readers.push(tokio::spawn(async move { shared.run(&until).await }));
    readers.push(tokio::spawn(share::keep_sending(
        js.clone(),
        store.clone(),
        member,
        cancel.clone(),
    )));
    let watch = tokio::spawn(watch_connection(
        js.client(),
        login.url.clone(),
        served,
        cancel.clone(),
    ));
    for r in readers {
        let _ = r.await;
    }
    let _ = watch.await;
}

/// The connection to the team's NATS, on the served accounts' statuses. async-nats
/// reconnects (and an ordered consumer recreates itself) without a word to the reader,
/// which would go on saying "team · live" with the server gone: while the client is not
/// connected each status says so, and once it is again each says what it said before
/// (unless its reader said something newer meanwhile).
async fn watch_connection(
    client: async_nats::Client,
    url: String,
    statuses: Vec<baton_core::sync::StatusHandle>,
    cancel: CancellationToken,
) {
    use async_nats::connection::State;
    let lost = format!("team: lost the connection to NATS at {url}; retrying");
    let mut before: Option<Vec<baton_core::sync::AccountStatus>> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let connected = client.connection_state() == State::Connected;
        match (connected, before.take()) {
            (false, None) => {
                before = Some(statuses.iter().map(|s| s.current()).collect());
                for s in &statuses {
                    s.set(SyncState::Unreachable, lost.clone());
                }
            }
            (true, Some(was)) => {
                for (s, was) in statuses.iter().zip(was) {
                    if s.current().message == lost {
                        s.set(was.state, was.message);
                    }
                }
            }
            (_, held) => before = held,
        }
    }
}

/// Reads what the team's streams have now into the store, once (`baton sync --once` in
/// a team). Returns conversations written per local account.
pub async fn catch_up(
    store: &Store,
    login: &NatsLogin,
    syncs: &[AccountSync],
    cancel: &CancellationToken,
) -> Result<Vec<(String, u64)>> {
    let (js, team, leads) = open(login).await?;
    let local = store.accounts().await?;
    let paired = pair(&team, &local);
    let mut out = vec![];
    for s in syncs {
        let id = s.account_id();
        s.identify(cancel).await?;
        let Some(team_id) = team_id_for(&paired, &id) else {
            return Err(EngineError::invalid(format!(
                "{id}: the team's relay does not serve this account"
            )));
        };
        let consumed =
            Consumer::account(js.clone(), store.clone(), team_id, &id, s.status().clone())
                .catch_up(cancel)
                .await?;
        out.push((id, consumed.written));
    }
    // What the team shares comes after the conversations, and its trouble does not fail
    // the sync: a NATS user without the rights to it (made before they existed), a relay
    // older than it. The review says what waits.
    let member = member(login, &paired, leads);
    if let Err(e) = share::send_queued(&js, store, &member).await {
        tracing::warn!(error = %e, "sending this desktop's changes to the team");
    }
    if let Err(e) = shared_consumer(&js, store, member).catch_up(cancel).await {
        if e.kind == ErrorKind::Cancelled {
            return Err(e);
        }
        tracing::warn!(error = %e, "reading what the team shares");
    }
    Ok(out)
}

/// This desktop in its team: its NATS user, each team account it has (with its id
/// here), and the team's leads.
fn member(login: &NatsLogin, paired: &[TeamAccountView], leads: Vec<String>) -> Member {
    Member {
        user: login.user.clone(),
        accounts: paired
            .iter()
            .filter_map(|a| Some((a.team_id.clone(), a.local_id.clone()?)))
            .collect(),
        leads,
    }
}

fn shared_consumer(js: &jetstream::Context, store: &Store, member: Member) -> Consumer<SharedFeed> {
    Consumer::new(
        js.clone(),
        SharedFeed::new(store.clone(), member),
        StatusHandle::new("team-shared", Arc::new(SystemClock)),
    )
}

#[cfg(test)]
mod tests {
    use super::same_url;

    #[test]
    fn an_account_matches_its_team_account_however_its_address_is_written() {
        assert!(same_url(
            "https://acme.zendesk.com",
            "https://ACME.zendesk.com/"
        ));
        assert!(same_url(
            "https://acme.zendesk.com:443/",
            "https://acme.zendesk.com"
        ));
        assert!(same_url("http://127.0.0.1:8089", "http://127.0.0.1:8089/"));
        assert!(!same_url(
            "https://acme.zendesk.com",
            "https://globex.zendesk.com"
        ));
        assert!(!same_url("http://127.0.0.1:8089", "http://127.0.0.1:8090"));
    }
}
