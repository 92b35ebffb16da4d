//! Connecting, checking, changing and disconnecting accounts, for every host: the vendor
//! of each account decides how (one arm per vendor).

use crate::error::{EngineError, Result};
use baton_core::model::SourceKind;
use baton_core::secrets::SecretStore;
use baton_core::store::AccountRecord;
use baton_core::Store;

pub use baton_zendesk::accounts::{describe_unsent, NewCredentials, SuncoKey};

/// A new account, as its vendor describes one.
pub enum NewAccount {
    Zendesk(baton_zendesk::accounts::NewAccount),
}

/// Checks the credentials with the vendor before keeping anything, then keeps the secrets
/// in `secrets` and the account in `store`. Returns it and who the credentials belong to.
pub async fn add(
    store: &Store,
    secrets: &dyn SecretStore,
    new: NewAccount,
) -> Result<(AccountRecord, String)> {
    match new {
        NewAccount::Zendesk(new) => Ok(baton_zendesk::accounts::add(store, secrets, new).await?),
    }
}

/// Who the stored credentials belong to, according to the vendor.
pub async fn test(store: &Store, secrets: &dyn SecretStore, id: &str) -> Result<String> {
    let account = store.account(id).await?;
    match account.kind {
        SourceKind::Zendesk => Ok(baton_zendesk::accounts::test(&account, secrets).await?),
        other => Err(unsupported(&account.id, other)),
    }
}

/// New credentials in place, checked first; the cache, outbox and edits stay.
pub async fn update(
    store: &Store,
    secrets: &dyn SecretStore,
    id: &str,
    new: NewCredentials,
) -> Result<(AccountRecord, String)> {
    let account = store.account(id).await?;
    match account.kind {
        SourceKind::Zendesk => Ok(baton_zendesk::accounts::update(store, secrets, id, new).await?),
        other => Err(unsupported(&account.id, other)),
    }
}

/// Disconnects; refuses while unsent replies or saved edits would be lost, unless `force`.
pub async fn remove(store: &Store, secrets: &dyn SecretStore, id: &str, force: bool) -> Result<()> {
    let account = store.account(id).await?;
    match account.kind {
        SourceKind::Zendesk => {
            Ok(baton_zendesk::accounts::remove(store, secrets, id, force).await?)
        }
        other => Err(unsupported(&account.id, other)),
    }
}

/// Who may write drafts and handoff summaries on a Zendesk account (`set` changes it).
pub async fn ai_authors(
    store: &Store,
    id: &str,
    set: Option<baton_zendesk::mapping::AiAuthors>,
) -> Result<baton_zendesk::mapping::AiAuthors> {
    Ok(baton_zendesk::accounts::ai_authors(store, id, set).await?)
}

fn unsupported(id: &str, kind: SourceKind) -> EngineError {
    EngineError::invalid(format!(
        "{id}: {kind} accounts are not supported by this version"
    ))
}
