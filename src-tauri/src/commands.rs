//! The UI's commands. Arguments are validated here; answers are the core's types and
//! errors its serializable `Error`.

use crate::engine::Shared;
use baton_core::model::{AppInfo, ConversationDetail, QueueItem, SearchHit};
use baton_core::store::QueueFilter;
use baton_core::sync::AccountStatus;
use baton_core::Error;
use tauri::State;
use tauri_plugin_opener::OpenerExt;

const MAX_QUEUE: i64 = 100_000;
const MAX_SEARCH_CHARS: usize = 500;

#[tauri::command]
pub async fn queue(
    engine: State<'_, Shared>,
    mut filter: QueueFilter,
) -> Result<Vec<QueueItem>, Error> {
    if filter.limit.is_some_and(|l| !(1..=MAX_QUEUE).contains(&l)) {
        return Err(Error::Invalid(format!("limit must be 1 to {MAX_QUEUE}")));
    }
    filter.me_id = engine.info.me_id.clone();
    engine.store.queue(&filter).await
}

#[tauri::command]
pub async fn detail(engine: State<'_, Shared>, id: i64) -> Result<ConversationDetail, Error> {
    engine.store.detail(id).await
}

#[tauri::command]
pub async fn search(engine: State<'_, Shared>, text: String) -> Result<Vec<SearchHit>, Error> {
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(Error::Invalid(format!(
            "search text is limited to {MAX_SEARCH_CHARS} characters"
        )));
    }
    engine.store.search(&text, 200).await
}

#[tauri::command]
pub fn statuses(engine: State<'_, Shared>) -> Vec<AccountStatus> {
    engine.statuses.iter().map(|s| s.current()).collect()
}

#[tauri::command]
pub fn app_info(engine: State<'_, Shared>) -> AppInfo {
    engine.info.clone()
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
