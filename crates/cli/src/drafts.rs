//! `baton draft`, `baton outbox` and `baton report drafts`.

use crate::{DraftCommand, KEYCHAIN_SERVICE};
use baton_core::model::{DraftState, Millis};
use baton_core::outbox::{deliver, OutboxState, Reply};
use baton_core::secrets::Keychain;
use baton_core::Store;

/// A conversation from what the user typed: `4812`, `#4812` or `acme:4812`.
pub async fn resolve(store: &Store, arg: &str) -> Result<i64, String> {
    let (account, ext) = match arg.split_once(':') {
        Some((a, x)) => (Some(a), x),
        None => (None, arg.trim_start_matches('#')),
    };
    store
        .conversation_id(account, ext)
        .await
        .map_err(|e| e.to_string())
}

pub async fn act(store: &Store, command: DraftCommand, now: Millis) -> Result<(), String> {
    let e = |e: baton_core::Error| e.to_string();
    let (arg, state, text, reason) = match &command {
        DraftCommand::Accept { id } => (id, DraftState::Accepted, None, None),
        DraftCommand::Send { id, text } => (id, DraftState::Edited, Some(text.clone()), None),
        DraftCommand::Reject { id, reason } => {
            (id, DraftState::Rejected, None, Some(reason.as_str()))
        }
    };
    let conversation = resolve(store, arg).await?;
    let draft = store.pending_draft(conversation).await.map_err(e)?;
    let (account_id, external_id, version) =
        store.conversation_ref(conversation).await.map_err(e)?;
    let account = store.account(&account_id).await.map_err(e)?;
    let actor = account
        .login
        .clone()
        .or(account.me_id.clone())
        .unwrap_or_else(|| account_id.clone());
    if state == DraftState::Rejected {
        store
            .record_outcome(draft.id, state, None, reason, &actor, now)
            .await
            .map_err(e)?;
        println!("Rejected the draft on #{external_id}.");
        return Ok(());
    }
    let body = text.unwrap_or_else(|| draft.text.clone());
    let reply = Reply {
        body: body.clone(),
        // A reply to the customer: public, said explicitly.
        public: true,
        author_id: account.me_id.clone(),
        updated_stamp: Some(version),
    };
    // One reply per draft, however often the command runs.
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
    let poster = baton_zendesk::poster(&account, &Keychain::new(KEYCHAIN_SERVICE))?;
    match deliver(store, &poster, &item, now).await.map_err(e)? {
        OutboxState::Sent => println!("Sent to the customer on #{external_id}."),
        OutboxState::Conflict => {
            let why = store
                .outbox_item(&key)
                .await
                .map_err(e)?
                .last_error
                .unwrap_or_default();
            println!("Not sent: {why}. Read the ticket again, then `baton outbox --retry {key}` to send anyway.");
        }
        OutboxState::Queued => {
            println!("Queued: Zendesk cannot take it now; `baton sync` sends it when it can.")
        }
        other => {
            let why = store
                .outbox_item(&key)
                .await
                .map_err(e)?
                .last_error
                .unwrap_or_default();
            return Err(format!("the reply {other}: {why}"));
        }
    }
    Ok(())
}

/// Delivers what is due for every account (called by `baton sync`).
pub async fn deliver_due(store: &Store, now: Millis) -> Result<usize, String> {
    let keychain = Keychain::new(KEYCHAIN_SERVICE);
    let mut sent = 0;
    for account in store.accounts().await.map_err(|e| e.to_string())? {
        let due = store
            .outbox_due(&account.id)
            .await
            .map_err(|e| e.to_string())?;
        if due.is_empty() {
            continue;
        }
        let poster = baton_zendesk::poster(&account, &keychain)?;
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

pub async fn outbox(
    store: &Store,
    json: bool,
    retry: Option<String>,
    now: Millis,
) -> Result<(), String> {
    let e = |e: baton_core::Error| e.to_string();
    if let Some(key) = retry {
        // "Send anyway": without the stamp, Zendesk takes it whatever changed.
        store.outbox_retry(&key, None, now).await.map_err(e)?;
        deliver_due(store, now).await?;
    }
    let items = store.outbox().await.map_err(e)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&items).expect("serializes")
        );
        return Ok(());
    }
    if items.is_empty() {
        println!("The outbox is empty.");
    }
    for i in items {
        println!(
            "{:<10} #{:<8} {:<18} {}{}",
            i.state,
            i.external_id,
            i.idempotency_key,
            crate::render::one_line(&i.reply.body, 50),
            i.last_error.map(|e| format!("  ({e})")).unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn report(store: &Store, since: Option<&str>, format: &str) -> Result<(), String> {
    let since = match since {
        None => 0,
        Some(day) => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| format!("--since {day:?}: give a day as YYYY-MM-DD"))?
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp_millis(),
    };
    let rows = store.draft_report(since).await.map_err(|e| e.to_string())?;
    match format {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("serializes")
        ),
        "csv" => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            for r in &rows {
                w.serialize(r).map_err(|e| e.to_string())?;
            }
            w.flush().map_err(|e| e.to_string())?;
        }
        "table" => {
            println!(
                "{:<22} {:<28} {:>6} {:>9} {:>7} {:>9}  REJECTED BECAUSE",
                "REP", "TOPIC", "DRAFTS", "ACCEPTED", "EDITED", "REJECTED"
            );
            for r in &rows {
                println!(
                    "{:<22} {:<28} {:>6} {:>8.0}% {:>6.0}% {:>9}  {}",
                    crate::render::one_line(&r.rep, 22),
                    crate::render::one_line(&r.topic, 28),
                    r.drafts,
                    r.acceptance_rate * 100.0,
                    r.edit_rate * 100.0,
                    r.rejected,
                    crate::render::one_line(&r.rejection_reasons, 60)
                );
            }
        }
        other => return Err(format!("unknown format {other:?}: csv, json or table")),
    }
    Ok(())
}
