//! What a rep does with an Assist draft, from the CLI or the app: send it (as it is or
//! edited) through the outbox, or reject it; and delivering what the outbox holds.

pub use baton_core::drafts::{ActionResult, DraftAction, Seen};
use baton_core::model::DraftState;
use baton_core::outbox::{self, this_process, OutboxState, Reply};
use baton_core::secrets::SecretStore;
use baton_core::sync::Clock;
use baton_core::Store;

use crate::error::{EngineError, Result};
use crate::vendor::AccountPoster;

/// Acts on the draft the rep read (`seen`). A reply goes out on the version they saw
/// (Zendesk's `safe_update` refuses it if the ticket moved); if the cache already shows
/// it moved (a newer draft, the customer wrote), the reply is held as a conflict for the
/// rep to send anyway or not, never sent unseen. Acting twice is one reply.
pub async fn act(
    store: &Store,
    secrets: &dyn SecretStore,
    conversation: i64,
    seen: &Seen,
    action: DraftAction,
    clock: &dyn Clock,
) -> Result<ActionResult> {
    let now = clock.now();
    // One reply per draft, however often the action runs.
    let key = format!("draft-{}", seen.draft_id);
    match store.outbox_item(&key).await {
        Ok(it) => {
            // A crash between recording the reply and its outcome: the outcome now.
            if let Ok(found) = store.draft_as_seen(conversation, seen).await {
                if found.draft.state == DraftState::Pending {
                    let state = if it.reply.body == found.draft.text {
                        DraftState::Accepted
                    } else {
                        DraftState::Edited
                    };
                    let actor = actor(&store.account(&it.account_id).await?);
                    store
                        .record_outcome(
                            found.draft.id,
                            state,
                            Some(&it.reply.body),
                            None,
                            &actor,
                            now,
                        )
                        .await?;
                }
            }
            return Ok(ActionResult {
                external_id: it.external_id,
                key: Some(key),
                state: Some(it.state),
                message: it.last_error,
            });
        }
        Err(baton_core::Error::NotFound(_)) => {}
        Err(err) => return Err(err.into()),
    }
    let found = store.draft_as_seen(conversation, seen).await?;
    if found.draft.state != DraftState::Pending {
        return Err(EngineError::invalid(format!(
            "this draft was already {} on #{}",
            found.draft.state, found.external_id
        )));
    }
    let account = store.account(&found.account_id).await?;
    let actor = actor(&account);
    let (state, body) = match action {
        DraftAction::Reject { reason } => {
            store
                .record_outcome(
                    found.draft.id,
                    DraftState::Rejected,
                    None,
                    Some(&reason),
                    &actor,
                    now,
                )
                .await?;
            return Ok(ActionResult {
                external_id: found.external_id,
                key: None,
                state: None,
                message: None,
            });
        }
        DraftAction::Accept => (DraftState::Accepted, found.draft.text.clone()),
        DraftAction::Send { text } => (DraftState::Edited, text),
    };
    // A reply to the customer: public, said explicitly, as the rep, on the version seen.
    let reply = Reply {
        body: body.clone(),
        public: true,
        author_id: account.me_id.clone(),
        updated_stamp: Some(seen.version.clone()),
    };
    store
        .enqueue_reply(
            &found.account_id,
            &found.external_id,
            Some(found.draft.id),
            &key,
            &reply,
            found.changed.as_deref(),
            now,
        )
        .await?;
    store
        .record_outcome(found.draft.id, state, Some(&body), None, &actor, now)
        .await?;
    baton_core::crash::point("enqueued");
    let item = send_now(store, secrets, &key, clock).await?;
    Ok(ActionResult {
        external_id: found.external_id,
        key: Some(key),
        state: Some(item.0),
        message: item.1,
    })
}

/// Who acted, for the leads' report: the rep's login, else their vendor id.
fn actor(a: &baton_core::store::AccountRecord) -> String {
    a.login
        .clone()
        .or_else(|| a.me_id.clone())
        .unwrap_or_else(|| a.id.clone())
}

/// Delivers one reply at once (the rep is waiting on it): claims it and sends it, unless
/// another deliverer holds it or it waits for the rep. Returns its state and why.
pub async fn send_now(
    store: &Store,
    secrets: &dyn SecretStore,
    key: &str,
    clock: &dyn Clock,
) -> Result<(OutboxState, Option<String>)> {
    // The poster first: a keychain that cannot answer must not leave a claim behind.
    let account = store
        .account(&store.outbox_item(key).await?.account_id)
        .await?;
    let poster = AccountPoster::for_account(&account, secrets)?;
    if let Some(claimed) = store.outbox_claim(key, this_process(), clock.now()).await? {
        outbox::deliver(store, &poster, &claimed, this_process(), clock).await?;
    }
    let it = store.outbox_item(key).await?;
    Ok((it.state, it.last_error))
}

/// Puts a conflicting or failed reply back in line without the stamp ("send anyway",
/// whatever changed) and sends it now.
pub async fn send_anyway(
    store: &Store,
    secrets: &dyn SecretStore,
    key: &str,
    clock: &dyn Clock,
) -> Result<(OutboxState, Option<String>)> {
    store.outbox_retry(key, None, clock.now()).await?;
    send_now(store, secrets, key, clock).await
}

/// Delivers what is due for every account, as this process; returns how many went out.
pub async fn deliver_due(
    store: &Store,
    secrets: &dyn SecretStore,
    clock: &dyn Clock,
) -> Result<usize> {
    let mut sent = 0;
    for account in store.accounts().await? {
        if store.outbox_due(&account.id, clock.now()).await?.is_empty() {
            continue;
        }
        // One account whose credentials cannot be read must not hold up the others'.
        let poster = match AccountPoster::for_account(&account, secrets) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(account = %account.id, error = %e, "cannot deliver replies");
                continue;
            }
        };
        sent += outbox::deliver_due(store, &poster, &account.id, this_process(), clock).await?;
    }
    Ok(sent)
}
