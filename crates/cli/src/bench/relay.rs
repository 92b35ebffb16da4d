//! `baton-bench relay --config relay.toml`: the team benchmark's relay in a process of
//! its own, so its CPU and memory are read apart from the desktops'. It runs the engine's
//! relay as `baton relay` does (secrets from the environment), and says on stdout when
//! its first export is in the cache and published (`relay: published N`). It stops when
//! its stdin closes: the benchmark that started it is gone.

use baton_core::sync::SyncState;
use baton_core::CancellationToken;
use baton_engine::team::config::{RelayConfig, RelaySecrets};
use baton_engine::team::relay::Relay;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    config: PathBuf,
}

pub async fn run(args: Args) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,baton_zendesk::mapping=error")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = RelayConfig::load(&args.config).unwrap_or_else(|e| panic!("{e}"));
    let secrets =
        RelaySecrets::load(&config, std::env::vars().collect()).unwrap_or_else(|e| panic!("{e}"));
    let relay = Arc::new(
        Relay::start(config, secrets, "bench-relay")
            .await
            .unwrap_or_else(|e| panic!("relay: {e}")),
    );
    println!("relay: webhooks on {}", relay.webhook_addr());
    let cancel = CancellationToken::new();
    let running = {
        let (relay, cancel) = (relay.clone(), cancel.clone());
        tokio::spawn(async move { relay.run(cancel).await })
    };
    let mut stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = vec![];
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    });
    tokio::select! {
        // The relay works on until the benchmark is gone.
        _ = announce_published(&relay) => { let _ = (&mut stdin_closed).await; }
        _ = &mut stdin_closed => {}
    }
    cancel.cancel();
    let _ = running.await;
}

/// Prints `relay: published N` once the relay works, every account's first export is
/// done, and nothing it wrote waits to be published.
async fn announce_published(relay: &Relay) {
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !relay.is_active() {
            continue;
        }
        let synced = relay
            .statuses()
            .iter()
            .all(|s| matches!(s.current().state, SyncState::Synced { .. }));
        if !synced {
            continue;
        }
        let Ok(queued) = relay.store().unpublished(1).await else {
            continue;
        };
        if queued.is_empty() {
            let n = relay
                .store()
                .counts()
                .await
                .map(|c| c.conversations)
                .unwrap_or(-1);
            println!("relay: published {n}");
            return;
        }
    }
}
