use baton_sim::{Limits, Sim, SimConfig};
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
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let a = Args::parse();
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
    sim.wait().await;
}
