use baton_sim::salesforce::{SfConfig, SfLimits, DEMO_KEY_PEM};
use baton_sim::{Limits, Sim, SimConfig, WebhookTarget};
use clap::Parser;
use std::time::Duration;

/// Baton's simulator: a seeded Zendesk account and a Salesforce org on 127.0.0.1.
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
    /// No rate limits, and no Salesforce allocations (for benchmarks).
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
    /// The Salesforce connected app's certificate (PEM file): JWT assertions must be
    /// signed with its key. Default: the public demo certificate.
    #[arg(long, value_name = "PEM")]
    sf_cert: Option<std::path::PathBuf>,
    /// Write the demo certificate's private key (public, it protects nothing) to PATH
    /// and exit: sign JWT assertions with it to log in to the simulated org.
    #[arg(long, value_name = "PATH")]
    write_sf_demo_key: Option<std::path::PathBuf>,
    /// The connected app's consumer key (the JWT's iss).
    #[arg(long, default_value = "baton-demo-client")]
    sf_client_id: String,
    /// The agent's Salesforce username (the JWT's sub).
    #[arg(long, default_value = "alex@acme.test")]
    sf_username: String,
    /// Seeded MIAW messaging sessions.
    #[arg(long, default_value_t = 60)]
    sf_sessions: usize,
    /// Minutes an access token lasts.
    #[arg(long, default_value_t = 120)]
    sf_session_minutes: u64,
    /// REST requests a day for the whole org (Developer Edition: 15,000).
    #[arg(long, default_value_t = 15_000)]
    sf_daily_limit: u32,
    /// The Salesforce Pub/Sub API's port (gRPC, plaintext) on 127.0.0.1; 0: any free one.
    #[arg(long, default_value_t = 0)]
    sf_pubsub_port: u16,
    /// Seconds a quiet Subscribe stream waits before an empty batch (Salesforce: 270).
    #[arg(long, default_value_t = 270.0)]
    sf_pubsub_keepalive_secs: f64,
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
    if let Some(path) = &a.write_sf_demo_key {
        if let Err(e) = std::fs::write(path, DEMO_KEY_PEM) {
            eprintln!("baton-sim: cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
        println!(
            "baton-sim: wrote the demo private key to {} (public: it protects nothing). Sign RS256 JWTs with it: iss {}, sub {}, aud the simulator's URL.",
            path.display(),
            a.sf_client_id,
            a.sf_username
        );
        return;
    }
    let cert_pem = match &a.sf_cert {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(pem) => Some(pem),
            Err(e) => {
                eprintln!("baton-sim: cannot read --sf-cert {}: {e}", path.display());
                std::process::exit(2);
            }
        },
    };
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
        salesforce: SfConfig {
            client_id: a.sf_client_id.clone(),
            username: a.sf_username.clone(),
            cert_pem: cert_pem.unwrap_or_else(|| SfConfig::default().cert_pem),
            sessions: a.sf_sessions,
            session_lifetime: Duration::from_secs(a.sf_session_minutes.max(1) * 60),
            limits: if a.unlimited {
                SfLimits::unlimited()
            } else {
                SfLimits {
                    daily_api_requests: Some(a.sf_daily_limit),
                    ..SfLimits::default()
                }
            },
            pubsub_port: a.sf_pubsub_port,
            pubsub_keepalive: Duration::from_secs_f64(a.sf_pubsub_keepalive_secs.max(0.05)),
            ..Default::default()
        },
        ..Default::default()
    };
    let sim = match Sim::start(config).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            eprintln!("baton-sim: {e}");
            std::process::exit(2);
        }
        Err(e) => {
            eprintln!(
                "baton-sim: cannot listen on 127.0.0.1:{} (or the Pub/Sub port {}): {e}",
                a.port, a.sf_pubsub_port
            );
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
    println!(
        "baton-sim: Salesforce org on the same URL (token: POST /services/oauth2/token; consumer key {}, username {}; the demo key: --write-sf-demo-key PATH)",
        a.sf_client_id, a.sf_username
    );
    println!(
        "baton-sim: Salesforce Pub/Sub API (gRPC, plaintext) on {} (topic {}; metadata accesstoken, instanceurl {}, tenantid {})",
        sim.pubsub_url(),
        baton_pubsub::MESSAGING_SESSION_TOPIC,
        sim.url(),
        sim.org(|o| o.org_id.clone())
    );
    sim.wait().await;
}
