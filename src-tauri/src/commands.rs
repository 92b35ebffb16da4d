//! The UI's commands. Arguments are validated here; answers are the core's types and
//! errors the engine's `{kind, message}`, whose kind the UI switches on. Secrets come in
//! (an account's token or key, a new token, a team's password) and never go out.

use crate::backend::Shared;
use crate::ipc::{AppInfo, NewSalesforceAccount, TeamStatus};
use baton_core::drafts::{ActionResult, DraftAction, DraftReportRow, ReplyStatus, Seen};
use baton_core::model::{AccountSummary, ConversationDetail, QueueItem, SearchHit, Unsent};
use baton_core::outbox::OutboxItem;
use baton_core::review::{
    self, CategoryRule, HandoffFilter, HandoffRow, NewRule, ReviewQuery, ReviewSummary, Verdict,
};
use baton_core::store::{QueueFilter, SharingStatus};
use baton_core::sync::AccountStatus;
use baton_core::sync::SystemClock;
use baton_core::Sensitive;
use baton_core::Store;
use baton_engine::accounts::NewAccount;
use baton_engine::team::desk::{self, TeamView};
use baton_engine::{keychain, EngineError as Error};
use baton_zendesk::forms::{NewCredentials, NewZendeskAccount};
use tauri::State;
use tauri_plugin_opener::OpenerExt;

const MAX_QUEUE: i64 = 100_000;
const MAX_IDS: usize = 1_000;
const MAX_ID_CHARS: usize = 200;
const MAX_SEARCH_CHARS: usize = 500;
const MAX_FIELD_CHARS: usize = 2_000;
/// A PEM private key: an RSA-4096 key is about 3,300 characters.
const MAX_KEY_CHARS: usize = 16_384;

#[tauri::command]
pub async fn queue(
    engine: State<'_, Shared>,
    filter: QueueFilter,
) -> Result<Vec<QueueItem>, Error> {
    if filter.limit.is_some_and(|l| !(1..=MAX_QUEUE).contains(&l)) {
        return Err(Error::invalid(format!("limit must be 1 to {MAX_QUEUE}")));
    }
    if let Some(ids) = &filter.external_ids {
        if ids.len() > MAX_IDS || ids.iter().any(|id| id.len() > MAX_ID_CHARS) {
            return Err(Error::invalid(format!(
                "at most {MAX_IDS} conversation ids of up to {MAX_ID_CHARS} characters"
            )));
        }
    }
    Ok(engine.active().store().queue(&filter).await?)
}

#[tauri::command]
pub async fn detail(engine: State<'_, Shared>, id: i64) -> Result<ConversationDetail, Error> {
    Ok(engine.active().store().detail(id).await?)
}

#[tauri::command]
pub async fn search(engine: State<'_, Shared>, text: String) -> Result<Vec<SearchHit>, Error> {
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(Error::invalid(format!(
            "search text is limited to {MAX_SEARCH_CHARS} characters"
        )));
    }
    Ok(engine.active().store().search(&text, 200).await?)
}

#[tauri::command]
pub fn statuses(engine: State<'_, Shared>) -> Vec<AccountStatus> {
    engine
        .active()
        .running
        .statuses
        .iter()
        .map(|s| s.current())
        .collect()
}

#[tauri::command]
pub fn app_info(engine: State<'_, Shared>) -> AppInfo {
    engine.active().info.clone()
}

/// Opens a ticket or session link in the default browser. Links come from vendor data,
/// so only what a rep's link can legitimately be opens: https to a public host, or the
/// origin of a configured account (or of the demo's simulator on this machine). Never
/// another scheme's handler, a local file, plain http elsewhere, a `user@host` link
/// (which shows one host and opens another) or a private or loopback address.
#[tauri::command]
pub async fn open_link(
    app: tauri::AppHandle,
    engine: State<'_, Shared>,
    url: String,
) -> Result<(), Error> {
    let active = engine.active();
    let mut own: Vec<String> = active
        .store()
        .accounts()
        .await?
        .into_iter()
        .map(|a| a.base_url)
        .collect();
    own.extend(active.info.demo_url.clone());
    let parsed = openable(&url, &own)?;
    app.opener()
        .open_url(parsed.as_str(), None::<&str>)
        .map_err(|e| Error::invalid(format!("cannot open the link: {e}")))
}

/// The link, if Baton may open it (see `open_link`); `own` are the base URLs of the
/// configured accounts and the demo.
fn openable(link: &str, own: &[String]) -> Result<url::Url, Error> {
    let parsed =
        url::Url::parse(link.trim()).map_err(|e| Error::invalid(format!("not a link: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid("only http(s) links open from Baton"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid(
            "a link with a user name in it (user@host) does not open from Baton",
        ));
    }
    let origin = parsed.origin();
    if own
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .any(|u| u.origin() == origin)
    {
        return Ok(parsed);
    }
    if parsed.scheme() != "https" {
        return Err(Error::invalid(
            "only https links open from Baton (plain http is readable on the way)",
        ));
    }
    if !parsed.host().is_some_and(is_public) {
        return Err(Error::invalid(
            "a link to this machine or a private network does not open from Baton",
        ));
    }
    Ok(parsed)
}

/// A host on the public internet, as far as the link shows: not loopback, private,
/// link-local, carrier-grade NAT, multicast or unspecified, and a name with a dot that
/// is not a local-only name. (A public name can still resolve to a private address;
/// the browser's own protections apply there.)
fn is_public(host: url::Host<&str>) -> bool {
    use std::net::{Ipv4Addr, Ipv6Addr};
    fn v4(ip: Ipv4Addr) -> bool {
        let [a, b, ..] = ip.octets();
        !(ip.is_private()
            || ip.is_loopback()
            || ip.is_link_local()
            || ip.is_unspecified()
            || ip.is_broadcast()
            || ip.is_multicast()
            || ip.is_documentation()
            || a == 0
            || (a == 100 && (64..128).contains(&b)))
    }
    fn v6(ip: Ipv6Addr) -> bool {
        if let Some(mapped) = ip.to_ipv4_mapped() {
            return v4(mapped);
        }
        let first = ip.segments()[0];
        !(ip.is_loopback()
            || ip.is_unspecified()
            || ip.is_multicast()
            || first & 0xfe00 == 0xfc00 // unique local
            || first & 0xffc0 == 0xfe80) // link-local
    }
    match host {
        url::Host::Ipv4(ip) => v4(ip),
        url::Host::Ipv6(ip) => v6(ip),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name.contains('.')
                && ![".localhost", ".local", ".internal", ".lan", ".home.arpa"]
                    .iter()
                    .any(|local| name.ends_with(local))
        }
    }
}

/// The real accounts' cache (not the demo's).
async fn accounts_store(engine: &Shared) -> Result<Store, Error> {
    Ok(Store::open(&engine.db).await?)
}

fn summary(a: &baton_core::store::AccountRecord) -> AccountSummary {
    AccountSummary {
        id: a.id.clone(),
        kind: a.kind,
        base_url: a.base_url.clone(),
        login: a.login.clone(),
    }
}

#[tauri::command]
pub async fn accounts(engine: State<'_, Shared>) -> Result<Vec<AccountSummary>, Error> {
    Ok(accounts_store(&engine)
        .await?
        .accounts()
        .await?
        .iter()
        .map(summary)
        .collect())
}

/// Checks the token with Zendesk, keeps it in the OS keychain, and starts syncing.
#[tauri::command]
pub async fn add_account(
    engine: State<'_, Shared>,
    account: NewZendeskAccount,
) -> Result<AccountSummary, Error> {
    let sunco = account.sunco.as_ref();
    check_fields(&[
        ("url", Some(&account.url)),
        ("email", Some(&account.email)),
        ("token", Some(account.token.expose())),
        ("Sunshine Conversations app id", sunco.map(|s| &s.app_id)),
        ("Sunshine Conversations key id", sunco.map(|s| &s.key_id)),
        (
            "Sunshine Conversations key secret",
            sunco.map(|s| s.secret.expose()),
        ),
    ])?;
    let store = accounts_store(&engine).await?;
    let new = baton_zendesk::accounts::NewAccount {
        name: account.name,
        url: account.url,
        email: Some(account.email),
        oauth: false,
        token: account.token,
        sunco: account.sunco.map(|s| {
            (
                baton_zendesk::SuncoSettings {
                    app_id: s.app_id.trim().to_string(),
                    key_id: s.key_id.trim().to_string(),
                    base_url: None,
                },
                s.secret,
            )
        }),
    };
    let (record, _) =
        baton_engine::accounts::add(&store, &keychain(), NewAccount::Zendesk(new)).await?;
    engine.reload().await?;
    Ok(summary(&record))
}

/// Signs in to the Salesforce org with the key (the JWT bearer flow), keeps the key in the
/// OS keychain, and starts syncing; as `baton account add salesforce`.
#[tauri::command]
pub async fn add_salesforce_account(
    engine: State<'_, Shared>,
    account: NewSalesforceAccount,
) -> Result<AccountSummary, Error> {
    let new = salesforce_account(account)?;
    let store = accounts_store(&engine).await?;
    let (record, _) = baton_engine::accounts::add_salesforce(&store, &keychain(), new).await?;
    engine.reload().await?;
    Ok(summary(&record))
}

/// The form as the engine takes it, once each field is there and not too long (the
/// engine checks what they say: the URLs, the name, the key's kind).
fn salesforce_account(
    a: NewSalesforceAccount,
) -> Result<baton_engine::accounts::NewSalesforceAccount, Error> {
    let given = |v: &Option<String>| v.as_ref().filter(|v| !v.trim().is_empty()).cloned();
    let (name, pubsub_url) = (given(&a.name), given(&a.pubsub_url));
    check_fields(&[
        ("login URL", Some(&a.login_url)),
        ("consumer key", Some(&a.consumer_key)),
        ("username", Some(&a.username)),
        ("name", name.as_ref()),
        ("Pub/Sub URL", pubsub_url.as_ref()),
    ])?;
    let key = a.private_key.expose();
    if key.trim().is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(Error::invalid(
            "the private key is missing or too long: give the .pem file of the key whose \
             certificate was uploaded to the connected app",
        ));
    }
    Ok(baton_engine::accounts::NewSalesforceAccount {
        name,
        login_url: a.login_url,
        username: a.username,
        consumer_key: a.consumer_key,
        private_key: a.private_key,
        pubsub_url,
    })
}

/// Who the stored credentials belong to, according to the account's vendor.
#[tauri::command]
pub async fn test_account(engine: State<'_, Shared>, id: String) -> Result<String, Error> {
    let store = accounts_store(&engine).await?;
    baton_engine::accounts::test(&store, &keychain(), &id).await
}

/// Each given field is there and not too long.
fn check_fields(fields: &[(&str, Option<&String>)]) -> Result<(), Error> {
    for (field, v) in fields {
        let Some(v) = v else { continue };
        if v.trim().is_empty() || v.chars().count() > MAX_FIELD_CHARS {
            return Err(Error::invalid(format!(
                "the {field} is missing or too long"
            )));
        }
    }
    Ok(())
}

/// Replaces an account's credentials in place, once Zendesk accepts them; its cache,
/// unsent replies and saved edits stay. The syncs restart with the new token.
#[tauri::command]
pub async fn update_account(
    engine: State<'_, Shared>,
    id: String,
    credentials: NewCredentials,
) -> Result<AccountSummary, Error> {
    let sunco = credentials.sunco.as_ref();
    check_fields(&[
        ("token", Some(credentials.token.expose())),
        (
            "email",
            credentials.email.as_ref().filter(|e| !e.trim().is_empty()),
        ),
        ("Sunshine Conversations key id", sunco.map(|s| &s.key_id)),
        (
            "Sunshine Conversations key secret",
            sunco.map(|s| s.secret.expose()),
        ),
    ])?;
    if sunco.is_some_and(|s| s.app_id.chars().count() > MAX_FIELD_CHARS) {
        return Err(Error::invalid(
            "the Sunshine Conversations app id is too long",
        ));
    }
    let store = accounts_store(&engine).await?;
    let new = baton_engine::accounts::NewCredentials {
        token: credentials.token,
        email: credentials.email,
        sunco: credentials.sunco.map(|s| baton_engine::accounts::SuncoKey {
            // Empty: the account's app.
            app_id: Some(s.app_id.trim().to_string()).filter(|a| !a.is_empty()),
            key_id: s.key_id,
            base_url: None,
            secret: s.secret,
        }),
    };
    let (record, _) = baton_engine::accounts::update(&store, &keychain(), &id, new).await?;
    engine.reload().await?;
    Ok(summary(&record))
}

/// What removing the account would lose: its unsent replies and saved edits.
#[tauri::command]
pub async fn account_unsent(engine: State<'_, Shared>, id: String) -> Result<Unsent, Error> {
    Ok(accounts_store(&engine).await?.unsent(&id).await?)
}

/// Removes the account; refused while it has unsent replies or saved edits unless
/// `force` (the rep saw what would be lost and confirmed).
#[tauri::command]
pub async fn remove_account(
    engine: State<'_, Shared>,
    id: String,
    force: bool,
) -> Result<(), Error> {
    let store = accounts_store(&engine).await?;
    baton_engine::accounts::remove(&store, &keychain(), &id, force).await?;
    engine.reload().await
}

/// The team this desktop reads from: where, as whom, and which local account each of the
/// team's accounts feeds (asked of the team's NATS; when it does not answer, where and
/// as whom, and why).
#[tauri::command]
pub async fn team_status(engine: State<'_, Shared>) -> Result<TeamStatus, Error> {
    let store = accounts_store(&engine).await?;
    let Some(m) = store.membership().await? else {
        return Ok(TeamStatus {
            team: None,
            problem: None,
        });
    };
    Ok(match desk::describe(&store, &keychain()).await {
        Ok(team) => TeamStatus {
            team,
            problem: None,
        },
        Err(e) => TeamStatus {
            team: Some(TeamView {
                nats_url: m.nats_url,
                user_name: m.user_name,
                accounts: vec![],
            }),
            problem: Some(e),
        },
    })
}

/// Joins a team once its NATS accepts the login: the secret goes to the keychain, and
/// reads switch to the team's streams without a restart.
#[tauri::command]
pub async fn team_join(
    engine: State<'_, Shared>,
    url: String,
    user: String,
    secret: Sensitive<String>,
    ca_file: Option<String>,
) -> Result<TeamView, Error> {
    let ca_file = ca_file.filter(|c| !c.trim().is_empty());
    check_fields(&[
        ("NATS URL", Some(&url)),
        ("NATS user", Some(&user)),
        ("password", Some(secret.expose())),
        ("CA file", ca_file.as_ref()),
    ])?;
    let store = accounts_store(&engine).await?;
    let view = desk::join(
        &store,
        &keychain(),
        url.trim(),
        user.trim(),
        secret,
        ca_file.map(|c| std::path::PathBuf::from(c.trim())),
        chrono::Utc::now().timestamp_millis(),
    )
    .await?;
    engine.reload().await?;
    Ok(view)
}

/// Leaves the team: reads go back to the vendor, the secret leaves the keychain. False
/// when this desktop was not in a team.
#[tauri::command]
pub async fn team_leave(engine: State<'_, Shared>) -> Result<bool, Error> {
    let store = accounts_store(&engine).await?;
    let was = desk::leave(&store, &keychain()).await?;
    engine.reload().await?;
    Ok(was)
}

/// Accept, send edited, or reject the Assist draft the rep read (`seen`: the draft and
/// the conversation's version on screen), so nothing goes out that they did not see.
#[tauri::command]
pub async fn draft_action(
    engine: State<'_, Shared>,
    conversation_id: i64,
    seen: Seen,
    action: DraftAction,
) -> Result<ActionResult, Error> {
    if seen.version.len() > MAX_ID_CHARS {
        return Err(Error::invalid("the version is too long"));
    }
    if let DraftAction::Send { text } | DraftAction::Reject { reason: text } = &action {
        if text.trim().is_empty() || text.chars().count() > 65_536 {
            return Err(Error::invalid("the text is empty or too long"));
        }
    }
    let active = engine.active();
    baton_engine::replies::act(
        active.store(),
        active.running.secrets.as_ref(),
        conversation_id,
        &seen,
        action,
        &SystemClock,
    )
    .await
}

/// Keeps the text a rep is editing, as they type.
#[tauri::command]
pub async fn save_edit(
    engine: State<'_, Shared>,
    draft_id: i64,
    text: String,
) -> Result<(), Error> {
    if text.chars().count() > 65_536 {
        return Err(Error::invalid("the text is too long"));
    }
    Ok(engine
        .active()
        .store()
        .save_edit(draft_id, &text, chrono::Utc::now().timestamp_millis())
        .await?)
}

#[tauri::command]
pub async fn saved_edit(engine: State<'_, Shared>, draft_id: i64) -> Result<Option<String>, Error> {
    Ok(engine.active().store().saved_edit(draft_id).await?)
}

/// The replies in the outbox for a conversation: sending, sent, or needing the rep.
#[tauri::command]
pub async fn replies(
    engine: State<'_, Shared>,
    account_id: String,
    external_id: String,
) -> Result<Vec<ReplyStatus>, Error> {
    let items = engine.active().store().outbox().await?;
    Ok(replies_of(items, &account_id, &external_id))
}

/// A conversation's replies. Ticket numbers repeat across accounts: both must match.
fn replies_of(items: Vec<OutboxItem>, account_id: &str, external_id: &str) -> Vec<ReplyStatus> {
    items
        .into_iter()
        .filter(|i| i.account_id == account_id && i.external_id == external_id)
        .map(|i| ReplyStatus {
            key: i.idempotency_key,
            draft_id: i.draft_id,
            state: i.state,
            message: i.last_error,
        })
        .collect()
}

/// Sends a conflicting or failed reply again, whatever changed ("send anyway").
#[tauri::command]
pub async fn retry_reply(engine: State<'_, Shared>, key: String) -> Result<(), Error> {
    let active = engine.active();
    baton_engine::replies::send_anyway(
        active.store(),
        active.running.secrets.as_ref(),
        &key,
        &SystemClock,
    )
    .await?;
    Ok(())
}

/// Acceptance, edit and rejection of Assist drafts by rep and topic, since a time.
#[tauri::command]
pub async fn draft_report(
    engine: State<'_, Shared>,
    since: i64,
) -> Result<Vec<DraftReportRow>, Error> {
    Ok(engine.active().store().draft_report(since).await?)
}

/// At most this many handoffs in one list or export.
const MAX_HANDOFFS: i64 = 100_000;
/// How many handoffs a rule's preview shows.
const PREVIEW_ROWS: usize = 50;
/// Time-zone offsets run from UTC-12 to UTC+14.
const TZ_OFFSETS: std::ops::RangeInclusive<i32> = -12 * 60..=14 * 60;

fn check_period(since: i64, until: i64) -> Result<(), Error> {
    if since > until {
        return Err(Error::invalid("the period ends before it starts"));
    }
    Ok(())
}

fn check_filter(filter: &HandoffFilter) -> Result<(), Error> {
    check_period(filter.since, filter.until)?;
    if filter
        .limit
        .is_some_and(|l| !(1..=MAX_HANDOFFS).contains(&l))
    {
        return Err(Error::invalid(format!("limit must be 1 to {MAX_HANDOFFS}")));
    }
    if filter
        .category
        .as_ref()
        .is_some_and(|c| c.0.len() > MAX_ID_CHARS)
    {
        return Err(Error::invalid("not a category"));
    }
    Ok(())
}

/// The review's aggregates over a period, the trend in the user's time zone
/// (`tz_offset_minutes` east of UTC: what `-new Date().getTimezoneOffset()` says).
#[tauri::command]
pub async fn review_summary(
    engine: State<'_, Shared>,
    query: ReviewQuery,
    tz_offset_minutes: i32,
) -> Result<ReviewSummary, Error> {
    check_period(query.since, query.until)?;
    if !TZ_OFFSETS.contains(&tz_offset_minutes) {
        return Err(Error::invalid("a time-zone offset is -720 to 840 minutes"));
    }
    Ok(engine
        .active()
        .store()
        .review_summary(&query, tz_offset_minutes)
        .await?)
}

/// The handoffs behind a number or a bar of the review, newest first.
#[tauri::command]
pub async fn review_handoffs(
    engine: State<'_, Shared>,
    filter: HandoffFilter,
) -> Result<Vec<HandoffRow>, Error> {
    check_filter(&filter)?;
    Ok(engine.active().store().review_handoffs(&filter).await?)
}

/// A lead's verdict on a handoff, with an optional note; marked now.
#[tauri::command]
pub async fn mark_handoff(
    engine: State<'_, Shared>,
    conversation_id: i64,
    verdict: Verdict,
    note: Option<String>,
) -> Result<(), Error> {
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_FIELD_CHARS)
    {
        return Err(Error::invalid(format!(
            "a note is limited to {MAX_FIELD_CHARS} characters"
        )));
    }
    engine
        .active()
        .store()
        .mark_handoff(
            conversation_id,
            verdict,
            note,
            chrono::Utc::now().timestamp_millis(),
        )
        .await?;
    Ok(())
}

#[tauri::command]
pub async fn unmark_handoff(engine: State<'_, Shared>, conversation_id: i64) -> Result<(), Error> {
    engine
        .active()
        .store()
        .unmark_handoff(conversation_id, chrono::Utc::now().timestamp_millis())
        .await?;
    Ok(())
}

/// Whether this desktop's verdicts, rules and draft outcomes reach its team, and what the
/// team's relay last refused.
#[tauri::command]
pub async fn sharing_status(engine: State<'_, Shared>) -> Result<SharingStatus, Error> {
    Ok(engine.active().store().sharing_status().await?)
}

/// The rules that categorise handoffs, in the order they are tried.
#[tauri::command]
pub async fn category_rules(engine: State<'_, Shared>) -> Result<Vec<CategoryRule>, Error> {
    Ok(engine.active().store().category_rules().await?)
}

/// Replaces the rules (in this order) and recategorises every cached handoff; answers
/// how many changed category. A set with a bad rule is refused whole, naming it.
#[tauri::command]
pub async fn save_category_rules(
    engine: State<'_, Shared>,
    rules: Vec<NewRule>,
) -> Result<u64, Error> {
    Ok(engine
        .active()
        .store()
        .save_category_rules(rules, chrono::Utc::now().timestamp_millis())
        .await?)
}

/// The cached handoffs a rule would match now (newest first, at most 50).
#[tauri::command]
pub async fn preview_rule(
    engine: State<'_, Shared>,
    rule: NewRule,
) -> Result<Vec<HandoffRow>, Error> {
    Ok(engine
        .active()
        .store()
        .preview_rule(rule, PREVIEW_ROWS)
        .await?)
}

/// The handoffs `filter` names as `csv` or `json` (an array of rows), for the UI to save.
#[tauri::command]
pub async fn export_handoffs(
    engine: State<'_, Shared>,
    filter: HandoffFilter,
    format: String,
) -> Result<String, Error> {
    check_filter(&filter)?;
    let rows = engine.active().store().review_handoffs(&filter).await?;
    match format.as_str() {
        "csv" => Ok(review::to_csv(&rows)),
        "json" => Ok(serde_json::to_string_pretty(&rows).expect("rows serialize")),
        _ => Err(Error::invalid("an export is csv or json")),
    }
}

/// The review's aggregates as `csv` or `json`, for the UI to save.
#[tauri::command]
pub async fn export_summary(
    engine: State<'_, Shared>,
    query: ReviewQuery,
    tz_offset_minutes: i32,
    format: String,
) -> Result<String, Error> {
    let summary = review_summary(engine, query, tz_offset_minutes).await?;
    match format.as_str() {
        "csv" => Ok(review::summary_csv(&summary)),
        "json" => Ok(serde_json::to_string_pretty(&summary).expect("summary serializes")),
        _ => Err(Error::invalid("an export is csv or json")),
    }
}

/// Drops a reply that could not go out as it was (the rep decided not to send it).
#[tauri::command]
pub async fn cancel_reply(engine: State<'_, Shared>, key: String) -> Result<(), Error> {
    engine
        .active()
        .store()
        .outbox_cancel(&key, chrono::Utc::now().timestamp_millis())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_are_the_conversations_own_not_another_accounts_same_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.db")).await.unwrap();
        for (id, key) in [("acme", "k-acme"), ("globex", "k-globex")] {
            store
                .add_account(&baton_zendesk::accounts::record(
                    id,
                    "https://x.zendesk.com",
                    None,
                ))
                .await
                .unwrap();
            let reply = baton_core::outbox::Reply {
                body: "hi".into(),
                public: true,
                author_id: None,
                updated_stamp: None,
            };
            store
                .enqueue_reply(id, "42", None, key, &reply, None, 1)
                .await
                .unwrap();
        }
        let items = store.outbox().await.unwrap();
        let keys = |account: &str| -> Vec<String> {
            replies_of(items.clone(), account, "42")
                .into_iter()
                .map(|r| r.key)
                .collect()
        };
        assert_eq!(keys("acme"), ["k-acme"]);
        assert_eq!(keys("globex"), ["k-globex"]);
        assert!(keys("initech").is_empty());
    }

    fn salesforce_form(key: &str) -> NewSalesforceAccount {
        NewSalesforceAccount {
            name: Some("  ".into()),
            login_url: "https://login.salesforce.com".into(),
            consumer_key: "3MVG9-client".into(),
            username: "alex@acme.test".into(),
            private_key: Sensitive::new(key.into()),
            pubsub_url: Some(String::new()),
        }
    }

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nCANARY\n-----END PRIVATE KEY-----\n";

    #[test]
    fn a_salesforce_form_reaches_the_engine_with_empty_options_as_none() {
        let new = salesforce_account(salesforce_form(PEM)).unwrap();
        assert_eq!(new.name, None, "an empty name: the engine picks one");
        assert_eq!(new.pubsub_url, None, "empty: Salesforce's own Pub/Sub");
        assert_eq!(new.private_key.expose(), PEM);
        assert_eq!(new.username, "alex@acme.test");
        let mut named = salesforce_form(PEM);
        named.name = Some("acme".into());
        named.pubsub_url = Some("http://127.0.0.1:7443".into());
        let new = salesforce_account(named).unwrap();
        assert_eq!(new.name.as_deref(), Some("acme"));
        assert_eq!(new.pubsub_url.as_deref(), Some("http://127.0.0.1:7443"));
    }

    #[test]
    fn a_salesforce_form_missing_a_field_is_refused_naming_it_never_the_key() {
        let mut no_user = salesforce_form(PEM);
        no_user.username = " ".into();
        let mut no_client = salesforce_form(PEM);
        no_client.consumer_key = String::new();
        let mut long_url = salesforce_form(PEM);
        long_url.pubsub_url = Some("h".repeat(MAX_FIELD_CHARS + 1));
        for (form, field) in [
            (no_user, "username"),
            (no_client, "consumer key"),
            (long_url, "Pub/Sub URL"),
            (salesforce_form(" \n"), "private key"),
            (
                salesforce_form(&"K".repeat(MAX_KEY_CHARS + 1)),
                "private key",
            ),
        ] {
            let Err(e) = salesforce_account(form) else {
                panic!("{field}: accepted");
            };
            assert_eq!(e.kind, baton_engine::ErrorKind::InvalidInput);
            assert!(e.message.contains(field), "{field}: {}", e.message);
            assert!(!e.message.contains("KKK"), "{}", e.message);
        }
        // A 4096-bit key fits.
        assert!(
            salesforce_account(salesforce_form(&format!("{PEM}{}", "K".repeat(3_300)))).is_ok()
        );
    }

    #[test]
    fn only_https_links_to_public_hosts_or_the_accounts_own_open() {
        let own = [
            "https://acme.zendesk.com".to_string(),
            "http://127.0.0.1:8089".to_string(),
        ];
        for good in [
            "https://app.opencx.ai/sessions/s-1",
            "https://acme.zendesk.com/agent/tickets/7",
            "http://127.0.0.1:8089/agent/tickets/7",
            "https://93.184.215.14/x",
        ] {
            assert!(openable(good, &own).is_ok(), "{good}");
        }
        for bad in [
            "http://app.opencx.ai/sessions/s-1",
            "https://acme.zendesk.com@evil.example/",
            "https://user:pw@app.opencx.ai/",
            "https://127.0.0.1/",
            "http://127.0.0.1:9999/",
            "https://localhost/",
            "https://printer.local/",
            "https://10.0.0.5/",
            "https://192.168.1.1/admin",
            "https://172.16.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://0x7f.1/",
            "https://intranet/",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ] {
            assert!(openable(bad, &own).is_err(), "{bad}");
        }
    }
}
