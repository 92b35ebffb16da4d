//! What runs behind the window: the store, a sync loop per account (or the embedded
//! demo), and the events that tell the UI to re-query. Adding the first account leaves
//! the demo; removing the last one returns to it.

use baton_core::model::AppInfo;
use baton_core::secrets::{Keychain, SecretStore};
use baton_core::store::Change;
use baton_core::sync::{StatusHandle, Syncer};
use baton_core::{CancellationToken, Store};
use baton_zendesk::ZendeskFeed;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tauri::{AppHandle, Emitter};

/// Keychain service shared with the `baton` CLI, so accounts added there work here.
pub const KEYCHAIN_SERVICE: &str = "baton";

/// The cache being shown and the syncs feeding it.
pub struct Active {
    pub store: Store,
    pub statuses: Vec<StatusHandle>,
    pub info: AppInfo,
    /// Where this mode's secrets are: the keychain, or the demo's memory.
    pub secrets: Arc<dyn SecretStore>,
    cancel: CancellationToken,
    /// Keeps the embedded simulator running while the demo is shown.
    _sim: Option<baton_zendesk::demo::Sim>,
}

pub struct Engine {
    app: AppHandle,
    /// The cache of the real accounts (the demo keeps its own beside it).
    pub db: PathBuf,
    active: RwLock<Arc<Active>>,
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
    /// Opens the cache (`BATON_DB`, or the platform data dir) and starts syncing.
    pub async fn start(app: AppHandle) -> Result<Engine, String> {
        let db = std::env::var_os("BATON_DB")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir().join("baton.db"));
        let active = Active::open(&app, &db).await?;
        Ok(Engine {
            app,
            db,
            active: RwLock::new(Arc::new(active)),
        })
    }

    pub fn active(&self) -> Arc<Active> {
        self.active.read().expect("engine lock").clone()
    }

    /// Re-reads the accounts and starts over: the demo when there are none.
    pub async fn reload(&self) -> Result<(), String> {
        let next = Arc::new(Active::open(&self.app, &self.db).await?);
        let old = std::mem::replace(&mut *self.active.write().expect("engine lock"), next);
        old.cancel.cancel();
        let _ = self.app.emit("store-changed", Change::Accounts);
        Ok(())
    }

    pub fn stop(&self) {
        self.active().cancel.cancel();
    }
}

impl Active {
    async fn open(app: &AppHandle, db: &std::path::Path) -> Result<Active, String> {
        let store = Store::open(db).await.map_err(|e| e.to_string())?;
        let accounts = store.accounts().await.map_err(|e| e.to_string())?;
        let cancel = CancellationToken::new();
        let mut syncers: Vec<(Syncer<ZendeskFeed>, Duration)> = vec![];
        let version = env!("CARGO_PKG_VERSION").to_string();
        let (store, info, sim, secrets): (
            Store,
            AppInfo,
            Option<baton_zendesk::demo::Sim>,
            Arc<dyn SecretStore>,
        ) = if accounts.is_empty() {
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
                version,
            };
            syncers.push((demo.syncer, Duration::from_secs(2)));
            (demo_store, info, Some(demo.sim), demo.secrets)
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
            let me_id = accounts.iter().find_map(|a| a.me_id.clone());
            (
                store,
                AppInfo {
                    demo: false,
                    demo_url: None,
                    me_id,
                    version,
                },
                None,
                Arc::new(keychain),
            )
        };
        let statuses: Vec<StatusHandle> = syncers.iter().map(|(s, _)| s.status().clone()).collect();
        for (syncer, every) in syncers {
            let cancel = cancel.clone();
            tauri::async_runtime::spawn(async move { syncer.run(&cancel, every).await });
        }
        forward_events(app, &store, &statuses, &cancel);
        deliver_replies(app, &store, &secrets, &cancel);
        Ok(Active {
            store,
            statuses,
            info,
            secrets,
            cancel,
            _sim: sim,
        })
    }
}

/// Replies that wait (Zendesk was down, a timeout) go out as soon as it answers again.
fn deliver_replies(
    app: &AppHandle,
    store: &Store,
    secrets: &Arc<dyn SecretStore>,
    cancel: &CancellationToken,
) {
    let (store, secrets, stop, handle) =
        (store.clone(), secrets.clone(), cancel.clone(), app.clone());
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            match baton_zendesk::replies::deliver_due(
                &store,
                secrets.as_ref(),
                &baton_core::sync::SystemClock,
            )
            .await
            {
                Ok(0) => {}
                Ok(_) => {
                    let _ = handle.emit("store-changed", Change::Outbox);
                }
                Err(e) => tracing::warn!(error = %e, "outbox"),
            }
        }
    });
}

/// The UI never polls: it re-queries when told the store or an account's status changed.
fn forward_events(
    app: &AppHandle,
    store: &Store,
    statuses: &[StatusHandle],
    cancel: &CancellationToken,
) {
    let mut changes = store.subscribe();
    let (handle, stop) = (app.clone(), cancel.clone());
    tauri::async_runtime::spawn(async move {
        loop {
            let change = tokio::select! {
                _ = stop.cancelled() => break,
                c = changes.recv() => c,
            };
            match change {
                Ok(change) => {
                    let _ = handle.emit("store-changed", &change);
                }
                // Missed some: one refresh covers them all.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let _ = handle.emit("store-changed", Change::Accounts);
                }
                Err(_) => break,
            }
        }
    });
    for status in statuses {
        let mut rx = status.subscribe();
        let (handle, stop) = (app.clone(), cancel.clone());
        tauri::async_runtime::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    r = rx.changed() => if r.is_err() { break },
                }
                let s = rx.borrow().clone();
                let _ = handle.emit("status", &s);
            }
        });
    }
}

pub type Shared = Arc<Engine>;
