//! What runs behind the window: the store, a sync loop per account (or the embedded
//! demo), and the events that tell the UI to re-query.

use baton_core::model::AppInfo;
use baton_core::secrets::Keychain;
use baton_core::sync::{StatusHandle, Syncer};
use baton_core::{CancellationToken, Store};
use baton_zendesk::ZendeskFeed;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Emitter};

/// Keychain service shared with the `baton` CLI, so accounts added there work here.
pub const KEYCHAIN_SERVICE: &str = "baton";

pub struct Engine {
    pub store: Store,
    pub statuses: Vec<StatusHandle>,
    pub info: AppInfo,
    pub cancel: CancellationToken,
    /// Keeps the embedded simulator running while the app is open.
    _sim: Option<baton_zendesk::demo::Sim>,
}

fn data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("baton")
}

fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok()?.parse().ok()
}

impl Engine {
    /// Opens the cache (`BATON_DB`, or the platform data dir) and starts syncing. With no
    /// account configured, runs the embedded simulator and its demo data instead.
    pub async fn start(app: AppHandle) -> Result<Engine, String> {
        let db = std::env::var_os("BATON_DB")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir().join("baton.db"));
        let store = Store::open(&db).await.map_err(|e| e.to_string())?;
        let accounts = store.accounts().await.map_err(|e| e.to_string())?;
        let cancel = CancellationToken::new();
        let mut syncers: Vec<(Syncer<ZendeskFeed>, Duration)> = vec![];
        let (store, info, sim) = if accounts.is_empty() {
            let demo_db = db.with_file_name("demo.db");
            baton_zendesk::demo::reset(&demo_db);
            let demo_store = Store::open(&demo_db).await.map_err(|e| e.to_string())?;
            let mut options = baton_zendesk::demo::DemoOptions::default();
            if let Some(s) = env_f64("BATON_DEMO_LIVE_EVERY") {
                options.live_every = Duration::from_secs_f64(s.max(0.2));
            }
            if let Some(n) = env_f64("BATON_DEMO_TICKETS") {
                options.tickets = n as usize;
            }
            let demo = baton_zendesk::demo::start(&demo_store, options).await?;
            let info = AppInfo {
                demo: true,
                demo_url: Some(demo.sim.url()),
                me_id: demo.account.me_id.clone(),
                version: env!("CARGO_PKG_VERSION").into(),
            };
            syncers.push((demo.syncer, Duration::from_secs(2)));
            (demo_store, info, Some(demo.sim))
        } else {
            let keychain = Keychain::new(KEYCHAIN_SERVICE);
            let now = chrono::Utc::now().timestamp();
            for a in &accounts {
                match baton_zendesk::syncer(&store, a, &keychain, now) {
                    // Zendesk allows 10 incremental exports a minute, shared by every rep.
                    Ok(s) => syncers.push((s, Duration::from_secs(10))),
                    Err(e) => tracing::error!(account = %a.id, error = %e, "cannot sync"),
                }
            }
            let info = AppInfo {
                demo: false,
                demo_url: None,
                me_id: accounts.iter().find_map(|a| a.me_id.clone()),
                version: env!("CARGO_PKG_VERSION").into(),
            };
            (store, info, None)
        };
        let statuses: Vec<StatusHandle> = syncers.iter().map(|(s, _)| s.status().clone()).collect();
        for (syncer, every) in syncers {
            let cancel = cancel.clone();
            tauri::async_runtime::spawn(async move { syncer.run(&cancel, every).await });
        }
        forward_events(&app, &store, &statuses);
        Ok(Engine {
            store,
            statuses,
            info,
            cancel,
            _sim: sim,
        })
    }
}

/// The UI never polls: it re-queries when told the store or an account's status changed.
fn forward_events(app: &AppHandle, store: &Store, statuses: &[StatusHandle]) {
    let mut changes = store.subscribe();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(change) => {
                    let _ = handle.emit("store-changed", &change);
                }
                // Missed some: one refresh covers them all.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let _ = handle.emit("store-changed", serde_json::json!({ "kind": "accounts" }));
                }
                Err(_) => break,
            }
        }
    });
    for status in statuses {
        let mut rx = status.subscribe();
        let handle = app.clone();
        tauri::async_runtime::spawn(async move {
            while rx.changed().await.is_ok() {
                let s = rx.borrow().clone();
                let _ = handle.emit("status", &s);
            }
        });
    }
}

pub type Shared = Arc<Engine>;
