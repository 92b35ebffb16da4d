//! What a rep does with an Assist draft, from the CLI or the app: send it (as it is or
//! edited) through the outbox, or reject it; and delivering what the outbox holds.

pub use baton_core::drafts::{ActionResult, DraftAction};
use baton_core::model::{DraftState, Millis};
use baton_core::outbox::{deliver, OutboxState, Reply};
use baton_core::secrets::SecretStore;
use baton_core::Store;

pub async fn act(
    store: &Store,
    secrets: &dyn SecretStore,
    conversation: i64,
    action: DraftAction,
    now: Millis,
) -> Result<ActionResult, String> {
    let e = |e: baton_core::Error| e.to_string();
    let draft = store.pending_draft(conversation).await.map_err(e)?;
    let (account_id, external_id, version) =
        store.conversation_ref(conversation).await.map_err(e)?;
    let account = store.account(&account_id).await.map_err(e)?;
    let actor = account
        .login
        .clone()
        .or(account.me_id.clone())
        .unwrap_or_else(|| account_id.clone());
    let (state, body) = match action {
        DraftAction::Reject { reason } => {
            store
                .record_outcome(
                    draft.id,
                    DraftState::Rejected,
                    None,
                    Some(&reason),
                    &actor,
                    now,
                )
                .await
                .map_err(e)?;
            return Ok(ActionResult {
                external_id,
                key: None,
                state: None,
                message: None,
            });
        }
        DraftAction::Accept => (DraftState::Accepted, draft.text.clone()),
        DraftAction::Send { text } => (DraftState::Edited, text),
    };
    // A reply to the customer: public, said explicitly, as the rep, on the version seen.
    let reply = Reply {
        body: body.clone(),
        public: true,
        author_id: account.me_id.clone(),
        updated_stamp: Some(version),
    };
    // One reply per draft, however often the action runs.
    let key = format!("draft-{}", draft.id);
    let item = store
        .enqueue_reply(&account_id, &external_id, Some(draft.id), &key, &reply, now)
        .await
        .map_err(e)?;
    store
        .record_outcome(draft.id, state, Some(&body), None, &actor, now)
        .await
        .map_err(e)?;
    baton_core::crash::point("enqueued");
    let poster = crate::poster(&account, secrets)?;
    let state = deliver(store, &poster, &item, now).await.map_err(e)?;
    let message = store.outbox_item(&key).await.map_err(e)?.last_error;
    Ok(ActionResult {
        external_id,
        key: Some(key),
        state: Some(state),
        message,
    })
}

/// Delivers what is due for every account; returns how many went out.
pub async fn deliver_due(
    store: &Store,
    secrets: &dyn SecretStore,
    now: Millis,
) -> Result<usize, String> {
    let mut sent = 0;
    for account in store.accounts().await.map_err(|e| e.to_string())? {
        let due = store
            .outbox_due(&account.id, now)
            .await
            .map_err(|e| e.to_string())?;
        if due.is_empty() {
            continue;
        }
        let poster = crate::poster(&account, secrets)?;
        for item in due {
            if deliver(store, &poster, &item, now)
                .await
                .map_err(|e| e.to_string())?
                == OutboxState::Sent
            {
                sent += 1;
            }
        }
    }
    Ok(sent)
}
