use baton_sim::{Limits, Sim, SimConfig, WebhookTarget};
use clap::Parser;
use std::time::Duration;

/// Baton's Zendesk simulator: a seeded account on 127.0.0.1.
#[derive(Parser)]
#[command(name = "baton-sim", version)]
struct Args {
    #[arg(long, default_value_t = 8089)]
    port: u16,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 200)]
    tickets: usize,
    /// Keep creating handoffs and messages.
    #[arg(long)]
    live: bool,
    /// Seconds between live events.
    #[arg(long, default_value_t = 3.0)]
    live_every: f64,
    /// Add one web handoff with this many transcript turns (for benchmarks).
    #[arg(long)]
    long_transcript: Option<usize>,
    /// Delete this many of the seeded tickets (the export lists them as deleted).
    #[arg(long, default_value_t = 0)]
    deleted_tickets: usize,
    /// No rate limits (for benchmarks).
    #[arg(long)]
    unlimited: bool,
    #[arg(long, default_value = "alex@acme.test")]
    email: String,
    #[arg(long, default_value = "sim-token")]
    token: String,
    /// Send Zendesk event webhooks (every ticket change) to this URL.
    #[arg(long)]
    webhook_url: Option<String>,
    /// The signing secret for --webhook-url (better from the environment: a command
    /// line is visible to other users).
    #[arg(long, env = "BATON_SIM_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// Send Sunshine Conversations webhooks to this URL.
    #[arg(long)]
    sunco_webhook_url: Option<String>,
    /// The shared secret (sent as X-API-Key) for --sunco-webhook-url.
    #[arg(long, env = "BATON_SIM_SUNCO_WEBHOOK_SECRET", hide_env_values = true)]
    sunco_webhook_secret: Option<String>,
}

/// A webhook target from a URL flag and its secret; exits when the secret is missing.
fn target(url: Option<String>, secret: Option<String>, flag: &str) -> Option<WebhookTarget> {
    let url = url?;
    match secret.filter(|s| !s.is_empty()) {
        Some(secret) => Some(WebhookTarget::new(url, secret)),
        None => {
            eprintln!(
                "baton-sim: --{flag}-url needs --{flag}-secret (or its environment variable)"
            );
            std::process::exit(2);
        }
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let a = Args::parse();
    let zendesk_webhook = target(a.webhook_url, a.webhook_secret, "webhook");
    let sunco_webhook = target(a.sunco_webhook_url, a.sunco_webhook_secret, "sunco-webhook");
    // Where webhooks go, never with what secret.
    let announce = [("Zendesk", &zendesk_webhook), ("Sunco", &sunco_webhook)]
        .iter()
        .filter_map(|(who, t)| t.as_ref().map(|t| format!("{who} webhooks to {}", t.url)))
        .collect::<Vec<_>>();
    let config = SimConfig {
        seed: a.seed,
        tickets: a.tickets,
        live_every: a
            .live
            .then(|| Duration::from_secs_f64(a.live_every.max(0.05))),
        limits: if a.unlimited {
            Limits::unlimited()
        } else {
            Limits::default()
        },
        email: a.email,
        token: a.token,
        port: a.port,
        long_transcript: a.long_transcript,
        deleted_tickets: a.deleted_tickets,
        zendesk_webhook,
        sunco_webhook,
        ..Default::default()
    };
    let sim = match Sim::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("baton-sim: cannot listen on 127.0.0.1:{}: {e}", a.port);
            std::process::exit(1);
        }
    };
    println!(
        "baton-sim listening on {} (faults: POST /__sim/faults, stats: GET /__sim/stats)",
        sim.url()
    );
    for line in announce {
        println!("baton-sim: {line}");
    }
    sim.wait().await;
}
