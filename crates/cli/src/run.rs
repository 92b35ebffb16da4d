//! Long-running commands: `sync` and `demo`.

use crate::render;
use baton_core::secrets::SecretStore;
use baton_core::store::{AccountRecord, QueueFilter};
use baton_core::sync::{StatusHandle, SyncState, SystemClock};
use baton_core::{CancellationToken, Store};
use baton_engine::replies;
use baton_engine::runtime::account_syncs;
use baton_engine::team::desk;
use baton_engine::vendor::AccountSync;
use baton_engine::Running;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("BATON_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// A progress bar fed by the account's status: counts on a first sync, and words
/// ("rate-limited by Zendesk, retrying in 40 s") while it waits.
fn progress(status: &StatusHandle) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_prefix(status.current().account_id);
    let mut rx = status.subscribe();
    let b = bar.clone();
    let task = tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let s = rx.borrow().clone();
            match s.state {
                SyncState::Syncing { done, total } => {
                    b.set_length(total.unwrap_or(done).max(done));
                    b.set_position(done);
                }
                // Said out loud even when no bar is drawn (not a terminal).
                SyncState::RateLimited { .. } if b.is_hidden() => {
                    eprintln!("{}: {}", s.account_id, s.message);
                }
                _ => {}
            }
            b.set_message(s.message.clone());
        }
    });
    (bar, task)
}

pub async fn sync(
    store: &Store,
    secrets: Arc<dyn SecretStore>,
    only: Option<&str>,
    once: bool,
) -> Result<(), String> {
    let accounts: Vec<AccountRecord> = store
        .accounts()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|a| only.is_none_or(|o| o == a.id))
        .collect();
    if accounts.is_empty() {
        return Err(match only {
            Some(o) => format!("no account named {o:?} (see `baton account list`)"),
            None => "no accounts yet: add one with `baton account add zendesk --url … --email …`, or try `baton demo`".into(),
        });
    }
    let (syncs, failed) = account_syncs(store, &accounts, secrets.as_ref());
    if let Some((account, e)) = failed.first() {
        return Err(format!("{account}: {e}"));
    }
    if let Some(m) = store.membership().await.map_err(|e| e.to_string())? {
        return team_sync(store, secrets, &m, syncs, once).await;
    }
    if once {
        return sync_once(store, secrets.as_ref(), &syncs).await;
    }
    let reports: Vec<_> = syncs.iter().map(|s| report_status(s.status())).collect();
    let running = Running::accounts(store.clone(), syncs, secrets);
    stop_on_ctrl_c(&running, None);
    running.stopped().await;
    for r in reports {
        r.abort();
    }
    Ok(())
}

/// In a team: the team's streams into the cache (once: what they have now), replies out.
async fn team_sync(
    store: &Store,
    secrets: Arc<dyn SecretStore>,
    m: &baton_core::store::Membership,
    syncs: Vec<AccountSync>,
    once: bool,
) -> Result<(), String> {
    let login = desk::login(m, secrets.as_ref());
    if !once {
        let reports: Vec<_> = syncs.iter().map(|s| report_status(s.status())).collect();
        let running = Running::team(store.clone(), syncs, secrets, login);
        stop_on_ctrl_c(&running, None);
        running.stopped().await;
        for r in reports {
            r.abort();
        }
        return Ok(());
    }
    let login = login.map_err(|e| e.to_string())?;
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let read = desk::catch_up(store, &login, &syncs, &cancel)
        .await
        .map_err(|e| format!("team: {e}"))?;
    for (account, n) in read {
        println!(
            "{account}: {n} conversations from the team in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    match replies::deliver_due(store, secrets.as_ref(), &SystemClock).await {
        Ok(0) => Ok(()),
        Ok(n) => {
            println!("sent {n} queued repl{}", if n == 1 { "y" } else { "ies" });
            Ok(())
        }
        Err(e) => Err(format!("outbox: {e}")),
    }
}

/// Each account to the end of its stream, with a progress bar, then what waits in the
/// outbox.
async fn sync_once(
    store: &Store,
    secrets: &dyn SecretStore,
    syncs: &[AccountSync],
) -> Result<(), String> {
    let cancel = CancellationToken::new();
    let on_ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            cancel.cancel();
        })
    };
    let mut failures = vec![];
    for s in syncs {
        let (bar, task) = progress(s.status());
        let started = Instant::now();
        let result = s.run_once(&cancel).await;
        task.abort();
        bar.finish_and_clear();
        match result {
            Ok(r) => println!(
                "{}: {} conversations, {} transcripts, {} messages, {} drafts in {:.1} s ({} requests)",
                s.account_id(),
                r.conversations,
                r.transcripts,
                r.messages,
                r.drafts,
                started.elapsed().as_secs_f64(),
                s.requests()
            ),
            Err(e) => failures.push(format!("{}: {e}", s.account_id())),
        }
    }
    // Replies that waited (Zendesk was down, a timeout) go out now.
    match replies::deliver_due(store, secrets, &SystemClock).await {
        Ok(0) => {}
        Ok(n) => println!("sent {n} queued repl{}", if n == 1 { "y" } else { "ies" }),
        Err(e) => failures.push(format!("outbox: {e}")),
    }
    on_ctrl_c.abort();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Says what an account's sync is doing, except its page counts, on stderr.
pub(crate) fn report_status(status: &StatusHandle) -> tokio::task::JoinHandle<()> {
    let mut rx = status.subscribe();
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let st = rx.borrow().clone();
            if !matches!(st.state, SyncState::Syncing { .. }) {
                eprintln!("{}: {}", st.account_id, st.message);
            }
        }
    })
}

/// Stops `running` on Ctrl-C, or after `limit`.
fn stop_on_ctrl_c(running: &Running, limit: Option<Duration>) {
    let cancel = running.cancelled();
    tokio::spawn(async move {
        match limit {
            Some(limit) => tokio::select! {
                _ = tokio::time::sleep(limit) => {}
                _ = tokio::signal::ctrl_c() => {}
            },
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        cancel.cancel();
    });
}

#[derive(Args)]
pub struct DemoArgs {
    /// Seeded tickets in the simulated account.
    #[arg(long, default_value_t = 150)]
    pub tickets: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds between new live handoffs and messages.
    #[arg(long, default_value_t = 4.0)]
    pub live_every: f64,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long = "for")]
    pub duration: Option<f64>,
}

pub async fn demo(path: &Path, args: DemoArgs) -> Result<(), String> {
    let options = baton_engine::demo::DemoOptions {
        seed: args.seed,
        tickets: args.tickets,
        live_every: Duration::from_secs_f64(args.live_every.max(0.2)),
        ..Default::default()
    };
    let running = Running::demo(path, options)
        .await
        .map_err(|e| e.to_string())?;
    let store = running.store.clone();
    let status = running.statuses[0].clone();
    let url = running
        .demo
        .as_ref()
        .map(|d| d.sim.url())
        .unwrap_or_default();
    stop_on_ctrl_c(&running, args.duration.map(Duration::from_secs_f64));
    let cancel = running.cancelled();
    let tty = std::io::stdout().is_terminal();
    let screen = async {
        let mut changes = store.subscribe();
        let mut status_rx = status.subscribe();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last = String::new();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = changes.recv() => {}
                _ = status_rx.changed() => {}
                _ = tick.tick() => {}
            }
            let filter = QueueFilter {
                limit: Some(25),
                ..Default::default()
            };
            let Ok(items) = store.queue(&filter).await else {
                continue;
            };
            let now = chrono::Utc::now().timestamp_millis();
            let body = render::queue(&items, now);
            let st = status.current();
            if tty {
                print!(
                    "\x1b[2J\x1b[H Baton demo — showing DEMO DATA from the built-in Zendesk simulator at {url}\n Zendesk demo: {}\n\n{body}\n Ctrl-C to quit. Try in another terminal: baton --db {} show <TICKET>\n",
                    st.message,
                    path.display()
                );
            } else if render::queue(&items, 0) != last {
                // Piped: print only when the queue itself changed, not every tick.
                last = render::queue(&items, 0);
                println!(
                    "--- demo data · {} · {} in queue ---\n{body}",
                    st.message,
                    items.len()
                );
            }
        }
    };
    screen.await;
    running.stopped().await;
    Ok(())
}
