//! The team benchmark's figures, as the Markdown tables BENCHMARKS.md keeps.

use crate::latency::percentile;
use crate::load::LoadRun;
use crate::team::{Args, LiveRun};
use std::fmt::Write;

/// The simulator's default limits: Zendesk Enterprise's.
const BUDGET_PER_MIN: f64 = 700.0;

fn ms(v: Option<i64>) -> String {
    v.map_or("–".into(), |v| format!("{v} ms"))
}

fn row(out: &mut String, label: &str, runs: &[LiveRun], cell: impl Fn(&LiveRun) -> String) {
    let cells: Vec<String> = runs.iter().map(cell).collect();
    writeln!(out, "| {label} | {} |", cells.join(" | ")).unwrap();
}

fn cost((cpu, rss, peak): (f64, f64, f64)) -> String {
    format!("{cpu:.1} % · {rss:.0} / {peak:.0} MiB")
}

/// The report: the live runs side by side, then the new desktop's load.
pub fn report(args: &Args, runs: &[LiveRun], load: Option<&LoadRun>) -> String {
    let mut out = String::new();
    let out = &mut out;
    writeln!(out,
        "## baton-bench team: one relay, N desktops\n\n\
         Simulator: Zendesk Enterprise limits ({BUDGET_PER_MIN:.0} requests/min, 10 exports/min), \
         live scenario every {} s, {} seeded tickets, seed {}; relay export every {} s; \
         {} min measured per run once every desktop has caught up, {} s more for the last changes to arrive.\n",
        args.live_every, args.tickets, args.seed, args.export_every, args.minutes, args.grace
    ).unwrap();
    let desk_dir = args.desk_dir.clone().unwrap_or_else(std::env::temp_dir);
    writeln!(
        out,
        "Desktop caches of the live runs in {}; nats-server's and the relay's state in {}.\n",
        desk_dir.display(),
        std::env::temp_dir().display()
    )
    .unwrap();
    if !runs.is_empty() {
        live_table(out, runs);
    }
    if let Some(load) = load {
        load_table(out, load);
    }
    std::mem::take(out)
}

fn live_table(out: &mut String, runs: &[LiveRun]) {
    let head: Vec<String> = runs.iter().map(|r| format!("N = {}", r.desktops)).collect();
    writeln!(out, "| measure | {} |", head.join(" | ")).unwrap();
    writeln!(out, "|---|{}", "---|".repeat(runs.len())).unwrap();
    row(
        out,
        "desktops, each its own NATS connection: with a SQLite cache (files) + readers",
        runs,
        |r| {
            format!(
                "{} ({}) + {}",
                r.real,
                r.stores_on_disk,
                r.desktops - r.real
            )
        },
    );
    row(
        out,
        "time until every desktop had caught up once",
        runs,
        |r| format!("{:.1} s", r.all_live_after.as_secs_f64()),
    );
    row(out, "live changes in the window (new tickets)", runs, |r| {
        format!("{} ({})", r.changes, r.created)
    });
    row(out, "webhooks delivered to the relay", runs, |r| {
        r.webhooks_delivered.to_string()
    });
    row(
        out,
        "vendor requests/min (share of the budget)",
        runs,
        |r| {
            let per_min = r.requests as f64 / r.minutes;
            format!("{per_min:.1} ({:.1} %)", per_min / BUDGET_PER_MIN * 100.0)
        },
    );
    row(
        out,
        "stream messages the relay published (per live change)",
        runs,
        |r| {
            format!(
                "{} ({:.2})",
                r.published,
                r.published as f64 / r.changes.max(1) as f64
            )
        },
    );
    row(out, "vendor requests per live change", runs, |r| {
        format!("{:.2}", r.requests as f64 / r.changes.max(1) as f64)
    });
    row(out, "429s in the window (whole run)", runs, |r| {
        format!("{} ({})", r.throttled, r.throttled_whole_run)
    });
    row(
        out,
        "change → committed row in each cache, p50 / p95 / p99 (desktop × change pairs)",
        runs,
        |r| {
            let a = &r.matched.all;
            format!(
                "{} / {} / {}",
                ms(percentile(a, 0.5)),
                ms(percentile(a, 0.95)),
                ms(percentile(a, 0.99))
            )
        },
    );
    row(out, "pairs measured (never arrived; over 1 s)", runs, |r| {
        format!(
            "{} ({}; {})",
            r.matched.all.len(),
            r.matched.missed,
            r.matched.over(1000)
        )
    });
    row(
        out,
        "readers: change → record and parts received, p50 / p95 / p99 / max",
        runs,
        |r| {
            let a = &r.read.all;
            format!(
                "{} / {} / {} / {} ({} pairs, {} never, {} over 1 s)",
                ms(percentile(a, 0.5)),
                ms(percentile(a, 0.95)),
                ms(percentile(a, 0.99)),
                ms(a.last().copied()),
                a.len(),
                r.read.missed,
                r.read.over(1000)
            )
        },
    );
    row(
        out,
        "slowest cache per change, p50 / p95 / max",
        runs,
        |r| {
            let s = &r.matched.slowest;
            format!(
                "{} / {} / {}",
                ms(percentile(s, 0.5)),
                ms(percentile(s, 0.95)),
                ms(s.last().copied())
            )
        },
    );
    row(
        out,
        "relay process: CPU (% of one core) · RSS end / peak",
        runs,
        |r| cost(r.relay),
    );
    row(out, "nats-server: CPU · RSS end / peak", runs, |r| {
        cost(r.nats)
    });
    row(
        out,
        "desktops' process (all N + the bench): CPU · RSS end / peak",
        runs,
        |r| cost(r.desks),
    );
    row(out, "simulator: CPU", runs, |r| {
        format!("{:.1} %", r.sim_cpu)
    });
    row(
        out,
        "the whole machine: CPU, every process (200 % = both cores)",
        runs,
        |r| format!("{:.0} %", r.machine_cpu),
    );
    row(
        out,
        "change announcements a desktop's listener missed",
        runs,
        |r| r.lagged.to_string(),
    );
    writeln!(out).unwrap();
    let mut endpoints: Vec<&String> = runs.iter().flat_map(|r| r.by_endpoint.keys()).collect();
    endpoints.sort();
    endpoints.dedup();
    let head: Vec<String> = runs.iter().map(|r| format!("N = {}", r.desktops)).collect();
    writeln!(
        out,
        "| vendor requests/min by endpoint | {} |",
        head.join(" | ")
    )
    .unwrap();
    writeln!(out, "|---|{}", "---|".repeat(runs.len())).unwrap();
    for e in endpoints {
        row(out, e, runs, |r| {
            format!(
                "{:.1}",
                r.by_endpoint.get(e).copied().unwrap_or(0) as f64 / r.minutes
            )
        });
    }
    writeln!(out).unwrap();
}

fn load_table(out: &mut String, l: &LoadRun) {
    writeln!(
        out,
        "| a new desktop loads a team of {} tickets | value |",
        l.tickets
    )
    .unwrap();
    writeln!(out, "|---|---|").unwrap();
    writeln!(
        out,
        "| relay: start → first export published (no rate limits) | {:.1} s ({}) |",
        l.relay_published_after.as_secs_f64(),
        l.relay_published
    )
    .unwrap();
    writeln!(
        out,
        "| the account's stream | {} messages, {:.1} MiB |",
        l.stream_messages, l.stream_mib
    )
    .unwrap();
    for (i, (took, written, messages)) in l.loads.iter().enumerate() {
        writeln!(out,
            "| new desktop {}: connect + catch-up into an empty cache | {:.2} s ({written} conversations, {messages} messages) |",
            i + 1,
            took.as_secs_f64()
        ).unwrap();
    }
    writeln!(
        out,
        "| relay peak RSS (its backfill included) | {:.0} MiB |",
        l.relay_peak_mib
    )
    .unwrap();
    writeln!(
        out,
        "| nats-server RSS after the loads / peak | {:.0} / {:.0} MiB |",
        l.nats_rss_mib, l.nats_peak_mib
    )
    .unwrap();
}
