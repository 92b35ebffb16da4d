//! The UI's commands. Arguments are validated here; answers are the core's types and
//! errors its serializable `Error`. Secrets come in (add account) and never go out.

use crate::engine::{Shared, KEYCHAIN_SERVICE};
use baton_core::drafts::{ActionResult, DraftAction, DraftReportRow, ReplyStatus};
use baton_core::model::{
    AccountSummary, AppInfo, ConversationDetail, NewZendeskAccount, QueueItem, SearchHit,
};
use baton_core::secrets::Keychain;
use baton_core::store::QueueFilter;
use baton_core::sync::AccountStatus;
use baton_core::{Error, Sensitive, Store};
use tauri::State;
use tauri_plugin_opener::OpenerExt;

const MAX_QUEUE: i64 = 100_000;
const MAX_IDS: usize = 1_000;
const MAX_ID_CHARS: usize = 200;
const MAX_SEARCH_CHARS: usize = 500;
const MAX_FIELD_CHARS: usize = 2_000;

#[tauri::command]
pub async fn queue(
    engine: State<'_, Shared>,
    filter: QueueFilter,
) -> Result<Vec<QueueItem>, Error> {
    if filter.limit.is_some_and(|l| !(1..=MAX_QUEUE).contains(&l)) {
        return Err(Error::Invalid(format!("limit must be 1 to {MAX_QUEUE}")));
    }
    if let Some(ids) = &filter.external_ids {
        if ids.len() > MAX_IDS || ids.iter().any(|id| id.len() > MAX_ID_CHARS) {
            return Err(Error::Invalid(format!(
                "at most {MAX_IDS} conversation ids of up to {MAX_ID_CHARS} characters"
            )));
        }
    }
    engine.active().store.queue(&filter).await
}

#[tauri::command]
pub async fn detail(engine: State<'_, Shared>, id: i64) -> Result<ConversationDetail, Error> {
    engine.active().store.detail(id).await
}

#[tauri::command]
pub async fn search(engine: State<'_, Shared>, text: String) -> Result<Vec<SearchHit>, Error> {
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(Error::Invalid(format!(
            "search text is limited to {MAX_SEARCH_CHARS} characters"
        )));
    }
    engine.active().store.search(&text, 200).await
}

#[tauri::command]
pub fn statuses(engine: State<'_, Shared>) -> Vec<AccountStatus> {
    engine
        .active()
        .statuses
        .iter()
        .map(|s| s.current())
        .collect()
}

#[tauri::command]
pub fn app_info(engine: State<'_, Shared>) -> AppInfo {
    engine.active().info.clone()
}

/// Opens a ticket or session link in the default browser: http(s) only, so a crafted
/// link in vendor data cannot launch a local file or another scheme's handler.
#[tauri::command]
pub fn open_link(app: tauri::AppHandle, url: String) -> Result<(), Error> {
    let parsed = url::Url::parse(&url).map_err(|e| Error::Invalid(format!("not a link: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Invalid("only http(s) links open from Baton".into()));
    }
    app.opener()
        .open_url(parsed.as_str(), None::<&str>)
        .map_err(|e| Error::Invalid(format!("cannot open the link: {e}")))
}

/// The real accounts' cache (not the demo's).
async fn accounts_store(engine: &Shared) -> Result<Store, Error> {
    Store::open(&engine.db).await
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
    for (field, v) in [
        ("url", Some(&account.url)),
        ("email", Some(&account.email)),
        ("token", Some(&account.token)),
        ("Sunshine Conversations app id", sunco.map(|s| &s.app_id)),
        ("Sunshine Conversations key id", sunco.map(|s| &s.key_id)),
        (
            "Sunshine Conversations key secret",
            sunco.map(|s| &s.secret),
        ),
    ] {
        let Some(v) = v else { continue };
        if v.trim().is_empty() || v.chars().count() > MAX_FIELD_CHARS {
            return Err(Error::Invalid(format!(
                "the {field} is missing or too long"
            )));
        }
    }
    let store = accounts_store(&engine).await?;
    let new = baton_zendesk::accounts::NewAccount {
        name: account.name,
        url: account.url,
        email: Some(account.email),
        oauth: false,
        token: Sensitive::new(account.token),
        sunco: account.sunco.map(|s| {
            (
                baton_zendesk::SuncoSettings {
                    app_id: s.app_id.trim().to_string(),
                    key_id: s.key_id.trim().to_string(),
                    base_url: None,
                },
                Sensitive::new(s.secret),
            )
        }),
    };
    let (record, _) = baton_zendesk::accounts::add(&store, &Keychain::new(KEYCHAIN_SERVICE), new)
        .await
        .map_err(Error::Invalid)?;
    engine.reload().await.map_err(Error::Invalid)?;
    Ok(summary(&record))
}

/// Who the stored credentials belong to, according to Zendesk.
#[tauri::command]
pub async fn test_account(engine: State<'_, Shared>, id: String) -> Result<String, Error> {
    let account = accounts_store(&engine).await?.account(&id).await?;
    baton_zendesk::accounts::test(&account, &Keychain::new(KEYCHAIN_SERVICE))
        .await
        .map_err(Error::Invalid)
}

#[tauri::command]
pub async fn remove_account(engine: State<'_, Shared>, id: String) -> Result<(), Error> {
    let store = accounts_store(&engine).await?;
    baton_zendesk::accounts::remove(&store, &Keychain::new(KEYCHAIN_SERVICE), &id)
        .await
        .map_err(Error::Invalid)?;
    engine.reload().await.map_err(Error::Invalid)
}

/// Accept, send edited, or reject a conversation's pending Assist draft.
#[tauri::command]
pub async fn draft_action(
    engine: State<'_, Shared>,
    conversation_id: i64,
    action: DraftAction,
) -> Result<ActionResult, Error> {
    if let DraftAction::Send { text } | DraftAction::Reject { reason: text } = &action {
        if text.trim().is_empty() || text.chars().count() > 65_536 {
            return Err(Error::Invalid("the text is empty or too long".into()));
        }
    }
    let active = engine.active();
    let now = chrono::Utc::now().timestamp_millis();
    baton_zendesk::replies::act(
        &active.store,
        active.secrets.as_ref(),
        conversation_id,
        action,
        now,
    )
    .await
    .map_err(Error::Invalid)
}

/// Keeps the text a rep is editing, as they type.
#[tauri::command]
pub async fn save_edit(
    engine: State<'_, Shared>,
    draft_id: i64,
    text: String,
) -> Result<(), Error> {
    if text.chars().count() > 65_536 {
        return Err(Error::Invalid("the text is too long".into()));
    }
    engine
        .active()
        .store
        .save_edit(draft_id, &text, chrono::Utc::now().timestamp_millis())
        .await
}

#[tauri::command]
pub async fn saved_edit(engine: State<'_, Shared>, draft_id: i64) -> Result<Option<String>, Error> {
    engine.active().store.saved_edit(draft_id).await
}

/// The replies in the outbox for a conversation: sending, sent, or needing the rep.
#[tauri::command]
pub async fn replies(
    engine: State<'_, Shared>,
    external_id: String,
) -> Result<Vec<ReplyStatus>, Error> {
    Ok(engine
        .active()
        .store
        .outbox()
        .await?
        .into_iter()
        .filter(|i| i.external_id == external_id)
        .map(|i| ReplyStatus {
            key: i.idempotency_key,
            draft_id: i.draft_id,
            state: i.state,
            message: i.last_error,
        })
        .collect())
}

/// Sends a conflicting or failed reply again, whatever changed ("send anyway").
#[tauri::command]
pub async fn retry_reply(engine: State<'_, Shared>, key: String) -> Result<(), Error> {
    let active = engine.active();
    let now = chrono::Utc::now().timestamp_millis();
    active.store.outbox_retry(&key, None, now).await?;
    baton_zendesk::replies::deliver_due(&active.store, active.secrets.as_ref(), now)
        .await
        .map_err(Error::Invalid)?;
    Ok(())
}

/// Acceptance, edit and rejection of Assist drafts by rep and topic, since a time.
#[tauri::command]
pub async fn draft_report(
    engine: State<'_, Shared>,
    since: i64,
) -> Result<Vec<DraftReportRow>, Error> {
    engine.active().store.draft_report(since).await
}

/// Drops a reply that could not go out as it was (the rep decided not to send it).
#[tauri::command]
pub async fn cancel_reply(engine: State<'_, Shared>, key: String) -> Result<(), Error> {
    engine
        .active()
        .store
        .outbox_cancel(&key, chrono::Utc::now().timestamp_millis())
        .await
        .map(|_| ())
}
