//! The embedded default: with no account configured, Baton runs its simulator
//! in-process on 127.0.0.1, live, and syncs it over real HTTP like any account.

use crate::error::{EngineError, ErrorKind, Result};
use crate::vendor::AccountSync;
use baton_core::model::SourceKind;
use baton_core::review::Verdict;
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::store::{AccountRecord, AuthKind};
use baton_core::{Sensitive, Store};
pub use baton_sim::Sim;
use baton_sim::{Limits, SimConfig};
use std::time::Duration;

pub const ACCOUNT: &str = "demo";
/// The demo's Salesforce org, on the same simulator.
pub const SALESFORCE_ACCOUNT: &str = "demo-sf";

/// The running simulator and its account. Dropping it stops the simulator.
pub struct Demo {
    pub sim: Sim,
    pub account: AccountRecord,
    /// The Salesforce org beside it, when the demo shows both vendors.
    pub salesforce: Option<AccountRecord>,
    /// The simulator's credentials, held in memory only.
    pub secrets: std::sync::Arc<MemorySecrets>,
}

pub struct DemoOptions {
    pub seed: u64,
    pub tickets: usize,
    pub live_every: Duration,
    /// One conversation this many turns long: how a long transcript reads.
    pub long_transcript: Option<usize>,
    /// A Salesforce org beside the Zendesk account (its changes through Pub/Sub).
    pub salesforce: bool,
    /// Handled conversations over the four weeks before the open ones (inside the 30 days
    /// a first sync reads back), some reviewed by
    /// a lead: what the review and the drafts report show on a first launch.
    pub history: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            tickets: 150,
            live_every: Duration::from_secs(4),
            long_transcript: Some(400),
            salesforce: true,
            history: 200,
        }
    }
}

/// A lead's verdicts on some of the history's handoffs, with notes, as a lead who
/// reviewed last weeks' handoffs would have left them.
async fn seed_review_marks(
    store: &Store,
    sim: &Sim,
    base: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let history_before = base - chrono::Duration::days(3);
    let reviewed: Vec<(String, String)> = sim.world(|w| {
        w.tickets
            .values()
            .filter(|t| t.kind.is_handoff() && t.created_at < history_before)
            .step_by(4)
            .take(16)
            .map(|t| (t.id.to_string(), t.subject.clone()))
            .collect()
    });
    for (k, (id, subject)) in reviewed.iter().enumerate() {
        // What the AI could have answered from the help center, it should have.
        let (verdict, note) = if ["Refund", "Login", "App crashes"]
            .iter()
            .any(|s| subject.starts_with(s))
        {
            (
                Verdict::Avoidable,
                "The help center answers this: add the article to the AI's knowledge.",
            )
        } else {
            (
                Verdict::Needed,
                "Needs a person: only an agent can change billing or orders.",
            )
        };
        let at = base.timestamp_millis() - (k as i64 + 1) * 3_600_000;
        store
            .mark(ACCOUNT, id, verdict, Some(note.to_string()), at)
            .await?;
    }
    Ok(())
}

/// Starts the simulator and adds its account to `store` (which should hold demo data
/// only: the simulator is new on every start).
/// Returns the demo and the syncs of its accounts (Zendesk first).
pub async fn start(store: &Store, o: DemoOptions) -> Result<(Demo, Vec<AccountSync>)> {
    let config = SimConfig {
        seed: o.seed,
        tickets: o.tickets,
        live_every: Some(o.live_every),
        long_transcript: o.long_transcript,
        history_tickets: o.history,
        history_days: 25,
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
    seed_review_marks(store, &sim, config.base_time).await?;
    let now = chrono::Utc::now().timestamp();
    let mut syncs = vec![AccountSync::for_account(
        store,
        &account,
        secrets.as_ref(),
        now,
    )?];
    let salesforce = match o.salesforce {
        false => None,
        true => {
            let sf = salesforce_account(&sim)?;
            secrets.put(
                &sf.secret_ref,
                &Sensitive::new(baton_sim::salesforce::DEMO_KEY_PEM.to_string()),
            )?;
            store.add_account(&sf).await?;
            syncs.push(AccountSync::for_account(store, &sf, secrets.as_ref(), now)?);
            Some(sf)
        }
    };
    Ok((
        Demo {
            sim,
            account,
            salesforce,
            secrets,
        },
        syncs,
    ))
}

/// The simulator's org as an account: the demo connected app, its public demo key, and
/// the simulator's Pub/Sub.
fn salesforce_account(sim: &Sim) -> Result<AccountRecord> {
    let sf = baton_sim::salesforce::SfConfig::default();
    let mut record = baton_salesforce::record(
        SALESFORCE_ACCOUNT,
        &sim.url(),
        &sf.username,
        &sf.client_id,
        baton_salesforce::AuthFlow::JwtBearer,
    );
    let mut settings = baton_salesforce::settings(&record)?;
    settings.pubsub_url = Some(sim.pubsub_url());
    record.settings = serde_json::to_value(settings).expect("serializes");
    record.me_id = sim.org(|o| Some(o.me.clone()));
    record.created_at = chrono::Utc::now().timestamp_millis();
    Ok(record)
}

/// Deletes a demo database and its WAL files, so a new demo starts clean.
pub fn reset(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(&p);
    }
}
