//! The embedded default: with no account configured, Baton runs its simulator
//! in-process on 127.0.0.1, live, and syncs it over real HTTP like any account.

use crate::error::{EngineError, ErrorKind, Result};
use crate::vendor::AccountSync;
use baton_core::model::SourceKind;
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::store::{AccountRecord, AuthKind};
use baton_core::{Sensitive, Store};
pub use baton_sim::Sim;
use baton_sim::{Limits, SimConfig};
use std::time::Duration;

pub const ACCOUNT: &str = "demo";

/// The running simulator and its account. Dropping it stops the simulator.
pub struct Demo {
    pub sim: Sim,
    pub account: AccountRecord,
    /// The simulator's credentials, held in memory only.
    pub secrets: std::sync::Arc<MemorySecrets>,
}

pub struct DemoOptions {
    pub seed: u64,
    pub tickets: usize,
    pub live_every: Duration,
    /// One conversation this many turns long: how a long transcript reads.
    pub long_transcript: Option<usize>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            tickets: 150,
            live_every: Duration::from_secs(4),
            long_transcript: Some(400),
        }
    }
}

/// Starts the simulator and adds its account to `store` (which should hold demo data
/// only: the simulator is new on every start).
/// Returns the demo and the sync of its account.
pub async fn start(store: &Store, o: DemoOptions) -> Result<(Demo, AccountSync)> {
    let config = SimConfig {
        seed: o.seed,
        tickets: o.tickets,
        live_every: Some(o.live_every),
        long_transcript: o.long_transcript,
        // Zendesk's account budget, with room for a poll every 2 s on the export.
        limits: Limits {
            export_per_window: Some(30),
            ..Limits::default()
        },
        ..Default::default()
    };
    let sim = Sim::start(config.clone()).await.map_err(|e| {
        EngineError::new(
            ErrorKind::Unreachable,
            format!("cannot start the simulator: {e}"),
        )
    })?;
    let account = AccountRecord {
        id: ACCOUNT.into(),
        kind: SourceKind::Zendesk,
        base_url: sim.url(),
        login: Some(config.email.clone()),
        auth_kind: AuthKind::ApiToken,
        secret_ref: "zendesk:demo".into(),
        settings: serde_json::to_value(baton_zendesk::Settings::default()).expect("serializes"),
        me_id: sim.world(|w| Some(w.me.to_string())),
        created_at: chrono::Utc::now().timestamp_millis(),
    };
    let secrets = std::sync::Arc::new(MemorySecrets::default());
    secrets.put(&account.secret_ref, &Sensitive::new(config.token.clone()))?;
    store.add_account(&account).await?;
    let sync = AccountSync::for_account(
        store,
        &account,
        secrets.as_ref(),
        chrono::Utc::now().timestamp(),
    )?;
    Ok((
        Demo {
            sim,
            account,
            secrets,
        },
        sync,
    ))
}

/// Deletes a demo database and its WAL files, so a new demo starts clean.
pub fn reset(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(&p);
    }
}
