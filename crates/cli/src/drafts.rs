//! `baton draft`, `baton outbox` and `baton report drafts`.

use crate::DraftCommand;
use baton_core::model::Millis;
use baton_core::outbox::OutboxState;
use baton_core::sync::SystemClock;
use baton_core::Store;
use baton_engine::keychain;
use baton_engine::replies::{self, DraftAction, Seen};

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

pub async fn act(store: &Store, command: DraftCommand) -> Result<(), String> {
    let (arg, seen, action) = match command {
        DraftCommand::Accept { id, seen } => (id, seen, DraftAction::Accept),
        DraftCommand::Send { id, text, seen } => (id, seen, DraftAction::Send { text }),
        DraftCommand::Reject { id, reason, seen } => (id, seen, DraftAction::Reject { reason }),
    };
    let conversation = resolve(store, &arg).await?;
    let seen = match (seen.draft_id, seen.version) {
        // As `baton show` printed it: nothing else to read.
        (Some(draft_id), Some(version)) => Seen { draft_id, version },
        (named, _) => {
            let (current, now_seen) = store
                .current_draft(conversation)
                .await
                .map_err(|e| e.to_string())?;
            match named {
                // A draft named without a version: that draft, on the conversation as it
                // is now.
                Some(draft_id) => Seen {
                    draft_id,
                    version: now_seen.version,
                },
                None => {
                    eprintln!(
                        "Draft {}: {}",
                        current.id,
                        crate::render::one_line(&current.text, 60)
                    );
                    now_seen
                }
            }
        }
    };
    let r = replies::act(
        store,
        &keychain(),
        conversation,
        &seen,
        action,
        &SystemClock,
    )
    .await
    .map_err(|e| e.to_string())?;
    let why = r.message.unwrap_or_default();
    match (r.state, r.key) {
        (None, _) => println!("Rejected the draft on #{}.", r.external_id),
        (Some(OutboxState::Sent), _) => println!("Sent to the customer on #{}.", r.external_id),
        (Some(OutboxState::Conflict), Some(key)) => {
            println!("Not sent: {why}. Read the ticket again, then `baton outbox --retry {key}` to send anyway.")
        }
        (Some(OutboxState::Queued), _) => {
            println!("Queued: Zendesk cannot take it now; `baton sync` sends it when it can.")
        }
        // Another Baton (the app, `baton sync`) claimed it first: it goes out once, from there.
        (Some(OutboxState::Sending), _) => println!(
            "Sending from another Baton process (the app or `baton sync`); `baton outbox` shows when it is sent."
        ),
        (Some(other), _) => return Err(format!("the reply {other}: {why}")),
    }
    Ok(())
}

pub async fn outbox(
    store: &Store,
    json: bool,
    retry: Option<String>,
    cancel: Option<String>,
    now: Millis,
) -> Result<(), String> {
    let e = |e: baton_core::Error| e.to_string();
    if let Some(key) = cancel {
        store.outbox_cancel(&key, now).await.map_err(e)?;
    }
    if let Some(key) = retry {
        // "Send anyway": without the stamp, Zendesk takes it whatever changed; now, not at
        // the next tick of a sync.
        replies::send_anyway(store, &keychain(), &key, &SystemClock)
            .await
            .map_err(|e| e.to_string())?;
    }
    let items = store.outbox().await.map_err(e)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&items).expect("serializes")
        );
        return Ok(());
    }
    print!("{}", crate::render::outbox(&items));
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
