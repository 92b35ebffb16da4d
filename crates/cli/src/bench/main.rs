//! `baton-bench`: what Baton costs, measured on 127.0.0.1 against the simulator.
//!
//!     baton-bench --tickets 10000                          # sync of one large account
//!     baton-bench team --consumers 1,50,500 --minutes 2    # one relay, N desktops
//!     baton-bench salesforce --minutes 1                   # Pub/Sub vs polling, one desktop
//!     baton-bench review --handoffs 10000                  # rule edits on cached handoffs
//!
//! Figures and how to read them: BENCHMARKS.md.

mod desks;
mod latency;
mod load;
mod procs;
mod readers;
mod relay;
mod report;
mod review;
mod salesforce;
mod sync;
mod team;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "baton-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Without a mode: the sync benchmark, with these options.
    #[command(flatten)]
    sync: sync::Args,
}

#[derive(Subcommand)]
enum Mode {
    /// Sync a large simulated account from scratch into a fresh cache (the default).
    Sync(sync::Args),
    /// One relay, N desktops: vendor requests, latency to every desktop's cache, the
    /// relay's and NATS's cost, and a new desktop's load of a 10,000-conversation team.
    Team(team::Args),
    /// One Salesforce desktop, idle and on a live org, with Pub/Sub and polling: REST
    /// requests an hour, Connect reads per conversation, change → cache latency.
    Salesforce(salesforce::Args),
    /// The leads' review on N cached handoffs: a rule edit that recategorises them all,
    /// the summary, the list and the CSV export.
    Review(review::Args),
    /// The team benchmark's relay, in its own process (started by `team`).
    #[command(hide = true)]
    Relay(relay::Args),
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match cli.mode {
        None => runtime.block_on(sync::run(cli.sync)),
        Some(Mode::Sync(args)) => runtime.block_on(sync::run(args)),
        Some(Mode::Team(args)) => runtime.block_on(team::run(args)),
        Some(Mode::Salesforce(args)) => runtime.block_on(salesforce::run(args)),
        Some(Mode::Review(args)) => runtime.block_on(review::run(args)),
        Some(Mode::Relay(args)) => runtime.block_on(relay::run(args)),
    }
}
