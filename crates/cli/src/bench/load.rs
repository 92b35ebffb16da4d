//! A new desktop joining a big team: the relay backfills and publishes a 10,000-ticket
//! account (rate limits off: the backfill is not what is measured), then fresh desktops in
//! turn connect and read the whole stream into an empty cache on disk.

use crate::desks;
use crate::procs;
use crate::team::{team, Args};
use baton_core::CancellationToken;
use std::time::{Duration, Instant};

/// A new desktop loading a big team: its connect and catch-up into an empty cache.
pub struct LoadRun {
    pub tickets: usize,
    pub relay_published: String,
    pub relay_published_after: Duration,
    pub stream_messages: u64,
    pub stream_mib: f64,
    /// Each fresh desktop: time, conversations written, messages in its cache.
    pub loads: Vec<(Duration, u64, i64)>,
    pub relay_peak_mib: f64,
    pub nats_rss_mib: f64,
    pub nats_peak_mib: f64,
}

pub async fn run(args: &Args) -> LoadRun {
    let tickets = args.load_tickets.to_string();
    // No rate limits: seconds, not the quarter of an hour 700 requests a minute would take.
    let t = team(args, &["--tickets", &tickets, "--unlimited"]);
    eprintln!(
        "  relay published after {:.1?} ({})",
        t.published_after, t.published
    );
    let (stream_messages, stream_bytes, _) = desks::stream_state(&t.nats.url).await;
    let mut loads = vec![];
    for i in 0..args.loads {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = desks::fresh_store(&dir.path().join("new-desk.db"), &t.sim_url).await;
        let started = Instant::now();
        let consumer = desks::consumer(&t.nats.url, &store, &format!("bench new desk {i}")).await;
        let consumed = consumer
            .catch_up(&CancellationToken::new())
            .await
            .expect("a new desktop loads the team");
        let took = started.elapsed();
        let messages = store.counts().await.expect("counts").messages;
        eprintln!(
            "  new desktop {i}: {took:.2?}, {} written",
            consumed.written
        );
        loads.push((took, consumed.written, messages));
    }
    let (nats_rss, nats_peak) = procs::memory_mib(t.nats.child.pid());
    LoadRun {
        tickets: args.load_tickets,
        relay_published: t.published.clone(),
        relay_published_after: t.published_after,
        stream_messages,
        stream_mib: stream_bytes as f64 / (1024.0 * 1024.0),
        loads,
        relay_peak_mib: procs::memory_mib(t.relay.pid()).1,
        nats_rss_mib: nats_rss,
        nats_peak_mib: nats_peak,
    }
}
