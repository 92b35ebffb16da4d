//! What runs behind the window: the engine's run over the real accounts (or the demo when
//! there are none), and the events that tell the UI to re-query. Adding the first account
//! leaves the demo; removing the last one returns to it.

use crate::ipc::AppInfo;
use baton_core::store::Change;
use baton_core::sync::StatusHandle;
use baton_core::{CancellationToken, Store};
use baton_engine::demo::DemoOptions;
use baton_engine::{EngineError, Running};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tauri::{AppHandle, Emitter};

/// The run being shown, and what the window says about it.
pub struct Active {
    pub running: Running,
    pub info: AppInfo,
    /// Ends this run's event forwarding with it.
    forwarding: CancellationToken,
}

impl Active {
    pub fn store(&self) -> &Store {
        &self.running.store
    }
}

pub struct Backend {
    app: AppHandle,
    /// The cache of the real accounts (the demo keeps its own beside it).
    pub db: PathBuf,
    active: RwLock<Arc<Active>>,
}

fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok()?.parse().ok()
}

/// The demo as the environment shapes it (the e2e tests make it livelier and smaller).
fn demo_options() -> DemoOptions {
    let mut options = DemoOptions::default();
    if let Some(s) = env_f64("BATON_DEMO_LIVE_EVERY") {
        options.live_every = Duration::from_secs_f64(s.max(0.2));
    }
    if let Some(n) = env_f64("BATON_DEMO_TICKETS") {
        options.tickets = n as usize;
    }
    options
}

impl Backend {
    /// Opens the cache (`BATON_DB`, or the platform data dir) and starts syncing.
    pub async fn start(app: AppHandle) -> Result<Backend, EngineError> {
        let db = std::env::var_os("BATON_DB")
            .map(PathBuf::from)
            .unwrap_or_else(baton_engine::runtime::default_db);
        let active = Active::open(&app, &db).await?;
        Ok(Backend {
            app,
            db,
            active: RwLock::new(Arc::new(active)),
        })
    }

    pub fn active(&self) -> Arc<Active> {
        self.active.read().expect("backend lock").clone()
    }

    /// Re-reads the accounts and starts over: the demo when there are none.
    pub async fn reload(&self) -> Result<(), EngineError> {
        let next = Arc::new(Active::open(&self.app, &self.db).await?);
        let old = std::mem::replace(&mut *self.active.write().expect("backend lock"), next);
        old.stop();
        let _ = self.app.emit("store-changed", Change::Accounts);
        Ok(())
    }

    pub fn stop(&self) {
        self.active().stop();
    }
}

impl Active {
    async fn open(app: &AppHandle, db: &std::path::Path) -> Result<Active, EngineError> {
        let running = Running::open(db, demo_options()).await?;
        let me_id = match &running.demo {
            Some(demo) => demo.account.me_id.clone(),
            None => running
                .store
                .accounts()
                .await?
                .into_iter()
                .find_map(|a| a.me_id),
        };
        let info = AppInfo {
            demo: running.is_demo(),
            demo_url: running.demo.as_ref().map(|d| d.sim.url()),
            me_id,
            version: env!("CARGO_PKG_VERSION").to_string(),
        };
        let forwarding = CancellationToken::new();
        forward_events(app, &running.store, &running.statuses, &forwarding);
        Ok(Active {
            running,
            info,
            forwarding,
        })
    }

    fn stop(&self) {
        self.running.stop();
        self.forwarding.cancel();
    }
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

pub type Shared = Arc<Backend>;
