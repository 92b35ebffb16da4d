//! Connecting, checking, changing and disconnecting accounts, for every host: the vendor
//! of each account decides how (one arm per vendor).

use crate::error::{EngineError, Result};
use baton_core::model::SourceKind;
use baton_core::secrets::SecretStore;
use baton_core::store::AccountRecord;
use baton_core::Store;

use baton_core::model::Unsent;
pub use baton_zendesk::accounts::{NewCredentials, SuncoKey};

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

/// Disconnects; refuses, saying what would be lost, while the account has unsent replies
/// or saved edits, unless `force` (the rep was told and said yes).
pub async fn remove(store: &Store, secrets: &dyn SecretStore, id: &str, force: bool) -> Result<()> {
    let account = store.account(id).await?;
    if !force {
        let unsent = store.unsent(id).await?;
        if !unsent.is_empty() {
            return Err(EngineError::invalid(format!(
                "{id} has {}: removing it deletes them. Send or cancel them first, or remove anyway",
                describe_unsent(&unsent)
            )));
        }
    }
    match account.kind {
        SourceKind::Zendesk => Ok(baton_zendesk::accounts::remove(store, secrets, id).await?),
        other => Err(unsupported(&account.id, other)),
    }
}

/// "2 unsent replies and 1 saved edit": what removing an account would lose.
pub fn describe_unsent(unsent: &Unsent) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![];
    if !unsent.replies.is_empty() {
        parts.push(count(
            unsent.replies.len(),
            "unsent reply",
            "unsent replies",
        ));
    }
    if !unsent.edits.is_empty() {
        parts.push(count(unsent.edits.len(), "saved edit", "saved edits"));
    }
    parts.join(" and ")
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

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::secrets::MemorySecrets;
    use baton_core::Sensitive;

    #[tokio::test]
    async fn removing_an_account_with_unsent_replies_asks_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let account = baton_zendesk::accounts::record("acme", "https://acme.zendesk.com", None);
        store.add_account(&account).await.unwrap();
        let secrets = MemorySecrets::default();
        secrets
            .put(&account.secret_ref, &Sensitive::new("t".into()))
            .unwrap();
        let reply = baton_core::outbox::Reply {
            body: "Hi Maria".into(),
            public: true,
            author_id: None,
            updated_stamp: None,
        };
        store
            .enqueue_reply("acme", "7", None, "k1", &reply, None, 1)
            .await
            .unwrap();
        let err = remove(&store, &secrets, "acme", false).await.unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidInput);
        assert!(err.message.contains("1 unsent reply"), "{err}");
        assert_eq!(store.accounts().await.unwrap().len(), 1, "nothing removed");
        assert!(secrets.get(&account.secret_ref).is_ok());

        remove(&store, &secrets, "acme", true).await.unwrap();
        assert!(store.accounts().await.unwrap().is_empty());
        assert!(
            secrets.get(&account.secret_ref).is_err(),
            "its secret is gone too"
        );
    }

    #[test]
    fn what_would_be_lost_reads_naturally() {
        let text = |state: &str| baton_core::model::UnsentText {
            external_id: "7".into(),
            state: state.into(),
            text: "t".into(),
        };
        let unsent = |replies: usize, edits: usize| Unsent {
            replies: vec![text("queued"); replies],
            edits: vec![text("edit"); edits],
        };
        assert_eq!(describe_unsent(&unsent(1, 0)), "1 unsent reply");
        assert_eq!(
            describe_unsent(&unsent(2, 1)),
            "2 unsent replies and 1 saved edit"
        );
        assert_eq!(describe_unsent(&unsent(0, 3)), "3 saved edits");
    }
}
