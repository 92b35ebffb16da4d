//! `baton-bench` (or `baton-bench sync`): syncs a large simulated account and reports
//! what it cost.
//!
//!     cargo run --release -p baton-cli --bin baton-bench -- --tickets 10000
//!
//! The simulator runs as its own process (the `baton-sim` binary beside this one), so
//! the peak RSS reported is the sync's alone.

use baton_core::store::{AccountRecord, QueueFilter};
use baton_core::sync::{StatusHandle, Syncer, SystemClock};
use baton_core::{CancellationToken, Sensitive, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 10_000)]
    tickets: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Queue and search queries to time.
    #[arg(long, default_value_t = 200)]
    queries: usize,
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn timed<F: std::future::Future>(n: usize, mut f: impl FnMut(usize) -> F) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await;
        out.push(t.elapsed());
    }
    out.sort();
    out
}

pub async fn run(args: Args) {
    let (_sim, url) = crate::procs::sim(
        &[
            "--unlimited",
            "--tickets",
            &args.tickets.to_string(),
            "--seed",
            &args.seed.to_string(),
        ],
        &[],
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.db"))
        .await
        .expect("store");
    let account = baton_zendesk::accounts::record("bench", &url, Some("alex@acme.test"));
    store.add_account(&account).await.unwrap();
    let status = StatusHandle::new("bench", Arc::new(SystemClock));
    let feed = baton_zendesk::connect(
        &account,
        Sensitive::new("sim-token".into()),
        None,
        status.clone(),
        chrono::Utc::now().timestamp(),
    )
    .unwrap();
    let syncer = Syncer::new(store.clone(), "bench", feed, status);

    let started = Instant::now();
    let report = syncer
        .run_once(&CancellationToken::new())
        .await
        .expect("sync");
    let wall = started.elapsed();
    // Before the queries and the floor (which loads every row into memory).
    let sync_rss = peak_rss_mib();
    let usage = syncer.feed().client().usage();
    let handoffs = store.counts().await.unwrap().handoffs;
    let rows = report.conversations + report.messages + report.drafts + handoffs as u64;

    let queue = timed(args.queries, |_| {
        let store = store.clone();
        async move { store.queue(&QueueFilter::default()).await.unwrap() }
    })
    .await;
    let queue_len = store.queue(&QueueFilter::default()).await.unwrap().len();
    let first_screen = timed(args.queries, |_| {
        let store = store.clone();
        async move {
            store
                .queue(&QueueFilter {
                    limit: Some(50),
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    })
    .await;
    let words = [
        "refund",
        "password",
        "Paket",
        "supervisor",
        "注文番号",
        "tracking",
        "frustrating",
        "order 1",
        "charged",
        "policy",
    ];
    let search = timed(args.queries, |i| {
        let store = store.clone();
        async move { store.search(words[i % words.len()], 50).await.unwrap() }
    })
    .await;

    let floor = floor(&store, &account, dir.path()).await;

    println!(
        "## baton-bench: {} tickets, seed {}\n",
        args.tickets, args.seed
    );
    println!("| measure | value |\n|---|---|");
    println!("| conversations synced | {} |", report.conversations);
    println!("| transcripts fetched | {} |", report.transcripts);
    println!("| messages | {} |", report.messages);
    println!("| drafts | {} |", report.drafts);
    println!("| wall time | {:.2} s |", wall.as_secs_f64());
    println!(
        "| requests | {} ({:.1} per 100 tickets) |",
        usage.total(),
        usage.total() as f64 * 100.0 / report.conversations as f64
    );
    for (endpoint, n) in &usage.requests {
        println!("| · {endpoint} | {n} |");
    }
    println!("| rows written (conversations + handoffs + messages + drafts) | {rows} |");
    println!(
        "| rows per second, sync end to end | {:.0} |",
        rows as f64 / wall.as_secs_f64()
    );
    println!(
        "| floor: same rows, prepared inserts in one transaction | {:.2} s ({:.0} rows/s) |",
        floor.as_secs_f64(),
        rows as f64 / floor.as_secs_f64()
    );
    println!(
        "| sync time ÷ floor | {:.1}× |",
        wall.as_secs_f64() / floor.as_secs_f64()
    );
    println!("| peak RSS of the syncing process (simulator excluded) | {sync_rss:.0} MiB |");
    println!(
        "| queue query ({queue_len} rows) p50 / p99 | {} / {} |",
        ms(percentile(&queue, 0.5)),
        ms(percentile(&queue, 0.99))
    );
    println!(
        "| queue query, first 50 rows, p50 / p99 | {} / {} |",
        ms(percentile(&first_screen, 0.5)),
        ms(percentile(&first_screen, 0.99))
    );
    println!(
        "| search (50 hits) p50 / p99 | {} / {} |",
        ms(percentile(&search, 0.5)),
        ms(percentile(&search, 0.99))
    );
}

/// The floor: the rows the sync wrote, read back from its cache and written into a fresh
/// database with one prepared INSERT per row in one transaction
/// (`Store::insert_synced_rows`). Only that write is timed, so "sync time ÷ floor" is
/// what the sync costs beyond writing its rows at all: fetching, mapping, upserting,
/// committing page by page.
async fn floor(synced: &Store, account: &AccountRecord, dir: &std::path::Path) -> Duration {
    let rows = synced.synced_rows().await.unwrap();
    let target = Store::open(&dir.join("floor.db")).await.unwrap();
    target.add_account(account).await.unwrap();
    let started = Instant::now();
    target.insert_synced_rows(&rows).await.unwrap();
    started.elapsed()
}
