//! `baton-bench team`: one relay, N desktops, each part a process of its own where its
//! cost is reported: the simulator (Zendesk Enterprise limits, its live scenario, signed
//! webhooks to the relay), nats-server, the relay (this binary in its `relay` mode), and
//! the desktops (all in this process, each with its own SQLite file and NATS connection).
//! Each desktop count is a run of its own, on a fresh simulator, NATS and relay; then a
//! new desktop is timed loading a 10,000-conversation team (`load.rs`).

use crate::desks::{self, now_ms, Desks, ACCOUNT};
use crate::latency::{self, Matched};
use crate::load;
use crate::procs::{self, Child, CpuWindow, MachineCpu, Nats, RELAY_USER};
use crate::report;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

const WEBHOOK_SECRET: &str = "bench-webhook-signing-secret";
const TOKEN: &str = "sim-token";

#[derive(clap::Args)]
pub struct Args {
    /// Desktop counts, each a run of its own.
    #[arg(long, value_delimiter = ',', default_value = "1,50,500")]
    pub consumers: Vec<usize>,
    /// Desktops per run with a SQLite cache of their own, at most; the others are readers
    /// (the same NATS reads, over their own connections, without a cache). This
    /// machine's two cores cannot write 500 caches at once (see BENCHMARKS.md).
    #[arg(long, default_value_t = 50)]
    pub real_stores: usize,
    /// Minutes measured per run, once every desktop has caught up.
    #[arg(long, default_value_t = 2.0)]
    pub minutes: f64,
    /// Seeded tickets of the live runs' account.
    #[arg(long, default_value_t = 200)]
    pub tickets: usize,
    /// Seconds between the live scenario's changes (baton-sim's default).
    #[arg(long, default_value_t = 3.0)]
    pub live_every: f64,
    /// Tickets of the team a new desktop is timed loading (0: skip it).
    #[arg(long, default_value_t = 10_000)]
    pub load_tickets: usize,
    /// Fresh desktops timed loading it, one after another.
    #[arg(long, default_value_t = 3)]
    pub loads: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// The relay's export period (relay.toml's `export_every_secs`, default 30).
    #[arg(long, default_value_t = 30)]
    pub export_every: u64,
    /// Seconds allowed after the window for its last changes to reach every desktop.
    #[arg(long, default_value_t = 15)]
    pub grace: u64,
    /// The nats-server binary (Debian installs it in /usr/sbin).
    #[arg(
        long,
        env = "BATON_NATS_SERVER",
        default_value = "/usr/sbin/nats-server"
    )]
    pub nats_server: PathBuf,
    /// Where the live runs' desktop caches go (a fresh directory in it per run; default:
    /// the system's temporary directory). Each takes about 5 MB with 200 tickets.
    #[arg(long)]
    pub desk_dir: Option<PathBuf>,
}

/// A simulator, NATS and a relay that has published its first export.
pub(crate) struct Team {
    pub nats: Nats,
    pub sim: Child,
    pub sim_url: String,
    pub relay: Child,
    /// From the relay's start to its first export published.
    pub published_after: Duration,
    pub published: String,
    _relay_lines: Receiver<String>,
    _dir: tempfile::TempDir,
}

pub(crate) fn team(args: &Args, sim_args: &[&str]) -> Team {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = Nats::start(&args.nats_server, dir.path(), &[ACCOUNT.to_string()]);
    let relay_port = procs::free_port();
    let hook = format!("http://127.0.0.1:{relay_port}/webhooks/zendesk/{ACCOUNT}");
    let seed = args.seed.to_string();
    let mut all_args = vec!["--seed", &seed];
    all_args.extend_from_slice(sim_args);
    all_args.extend_from_slice(&["--token", TOKEN, "--webhook-url", &hook]);
    let (sim, sim_url) = procs::sim(&all_args, &[("BATON_SIM_WEBHOOK_SECRET", WEBHOOK_SECRET)]);
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        format!(
            r#"team = "bench"
listen = "127.0.0.1:{relay_port}"
state_dir = {state:?}
export_every_secs = {every}
[nats]
url = "{nats}"
user = "{user}"
[[accounts]]
id = "{ACCOUNT}"
vendor = "zendesk"
url = "{sim_url}"
login = "alex@acme.test"
"#,
            state = dir.path().join("relay").display().to_string(),
            every = args.export_every,
            nats = nats.url,
            user = RELAY_USER.0,
        ),
    )
    .expect("relay.toml");
    let started = Instant::now();
    let (relay, lines) = procs::relay(
        &config,
        &[
            ("BATON_NATS_PASSWORD", RELAY_USER.1.to_string()),
            ("BATON_ACME_TOKEN", TOKEN.to_string()),
            ("BATON_ACME_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
        ],
    );
    let published = procs::expect_line(&lines, "relay: published", Duration::from_secs(3600));
    Team {
        nats,
        sim,
        sim_url,
        relay,
        published_after: started.elapsed(),
        published,
        _relay_lines: lines,
        _dir: dir,
    }
}

/// Every desktop count, then the new desktop's load; the report on stdout.
pub async fn run(args: Args) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut live = vec![];
    for &n in &args.consumers {
        eprintln!("team bench: {n} desktop(s), {} min", args.minutes);
        let run = live_run(&args, n).await;
        // Each run's figures as soon as it ends, in case a later one fails.
        eprint!(
            "{}",
            report::report(&args, std::slice::from_ref(&run), None)
        );
        live.push(run);
    }
    let load = if args.load_tickets > 0 {
        eprintln!(
            "team bench: a new desktop loading {} tickets",
            args.load_tickets
        );
        Some(load::run(&args).await)
    } else {
        None
    };
    print!("{}", report::report(&args, &live, load.as_ref()));
}

/// One desktop count: what the window cost, and how fast changes reached every cache.
pub struct LiveRun {
    pub desktops: usize,
    /// Desktops with a cache of their own.
    pub real: usize,
    pub stores_on_disk: usize,
    pub all_live_after: Duration,
    pub minutes: f64,
    pub changes: usize,
    pub created: usize,
    pub requests: u64,
    pub by_endpoint: BTreeMap<String, u64>,
    pub throttled: u64,
    pub throttled_whole_run: u64,
    pub matched: Matched,
    /// The readers': change → record and parts received (nothing written).
    pub read: Matched,
    pub lagged: u64,
    /// (CPU % of one core over the window, RSS MiB at its end, peak RSS MiB).
    pub relay: (f64, f64, f64),
    pub nats: (f64, f64, f64),
    pub sim_cpu: f64,
    pub desks: (f64, f64, f64),
    /// Every process on the machine, % of one core: what else competed for it.
    pub machine_cpu: f64,
    pub webhooks_delivered: u64,
    /// Messages the relay published to the stream in the window (records and parts).
    pub published: u64,
}

fn requests(stats: &serde_json::Value) -> BTreeMap<String, u64> {
    stats["requests"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(stats: &serde_json::Value, field: &str) -> Vec<(u64, i64)> {
    serde_json::from_value(stats[field].clone()).unwrap_or_default()
}

fn cost(window: &CpuWindow, pid: u32) -> (f64, f64, f64) {
    let (rss, peak) = procs::memory_mib(pid);
    (window.percent(), rss, peak)
}

async fn live_run(args: &Args, n: usize) -> LiveRun {
    let every = args.live_every.to_string();
    let tickets = args.tickets.to_string();
    // No --unlimited: the simulator's default limits are Zendesk Enterprise's.
    let t = team(
        args,
        &["--tickets", &tickets, "--live", "--live-every", &every],
    );
    eprintln!("  relay published its first export ({})", t.published);
    let opening = Instant::now();
    let base = args.desk_dir.clone().unwrap_or_else(std::env::temp_dir);
    let real = n.min(args.real_stores);
    let desks = Desks::start(n, real, &t.nats.url, &t.sim_url, &base).await;
    let all_live_after = opening.elapsed();
    eprintln!("  {n} desktop(s) caught up after {all_live_after:.1?}; measuring");

    let me = std::process::id();
    let (relay_cpu, nats_cpu, sim_cpu, desks_cpu) = (
        CpuWindow::start(t.relay.pid()),
        CpuWindow::start(t.nats.child.pid()),
        CpuWindow::start(t.sim.pid()),
        CpuWindow::start(me),
    );
    let machine = MachineCpu::start();
    let seq_before = desks::stream_state(&t.nats.url).await.2;
    let from = now_ms();
    let before = procs::sim_stats(&t.sim_url);
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.minutes * 60.0)).await;
    let to = now_ms();
    let after = procs::sim_stats(&t.sim_url);
    let minutes = window.elapsed().as_secs_f64() / 60.0;
    let relay = cost(&relay_cpu, t.relay.pid());
    let nats = cost(&nats_cpu, t.nats.child.pid());
    let sim_cpu = sim_cpu.percent();
    let desks_cost = cost(&desks_cpu, me);
    let machine_cpu = machine.percent();
    let published = desks::stream_state(&t.nats.url).await.2 - seq_before;
    // The window's last changes still travel.
    tokio::time::sleep(Duration::from_secs(args.grace)).await;
    let (receipts, read_receipts) = desks.receipts();
    let lagged = desks.lagged.load(std::sync::atomic::Ordering::Relaxed);
    let stores_on_disk = desks.stores_on_disk;
    desks.stop().await;

    let in_window = |(_, at): &(u64, i64)| (from..to).contains(at);
    let changes: Vec<(u64, i64)> = pairs(&after, "live_changed")
        .into_iter()
        .filter(in_window)
        .collect();
    let created = pairs(&after, "live_created")
        .iter()
        .filter(|c| in_window(c))
        .count();
    let (r0, r1) = (requests(&before), requests(&after));
    let by_endpoint: BTreeMap<String, u64> = r1
        .iter()
        .map(|(k, v)| (k.clone(), v - r0.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect();
    let count = |s: &serde_json::Value, f: &str| s[f].as_u64().unwrap_or(0);
    LiveRun {
        desktops: n,
        real,
        stores_on_disk,
        all_live_after,
        minutes,
        changes: changes.len(),
        created,
        requests: by_endpoint.values().sum(),
        by_endpoint,
        throttled: count(&after, "throttled") - count(&before, "throttled"),
        throttled_whole_run: count(&after, "throttled"),
        matched: latency::matched(&changes, &receipts),
        read: latency::matched(&changes, &read_receipts),
        lagged,
        relay,
        nats,
        sim_cpu,
        desks: desks_cost,
        machine_cpu,
        published,
        webhooks_delivered: after["webhooks"]["delivered"].as_u64().unwrap_or(0)
            - before["webhooks"]["delivered"].as_u64().unwrap_or(0),
    }
}
