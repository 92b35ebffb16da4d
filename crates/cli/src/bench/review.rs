//! `baton-bench review`: the leads' review on a cache of N handoffs: a rule edit that
//! recategorises every one of them, the summary and a list over them, the CSV export.
//!
//!     cargo run --release -p baton-cli --bin baton-bench -- review --handoffs 10000

use baton_core::model::*;
use baton_core::review::{
    self, Bucket, HandoffFilter, NewRule, ReviewQuery, RuleKind, CATEGORIES, UNCATEGORISED,
};
use baton_core::store::{AccountRecord, AuthKind};
use baton_core::Store;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 10_000)]
    handoffs: usize,
    /// Rule edits (and summaries) to time.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// Reason summaries as an AI writes them, a handoff's picked by its number.
const REASONS: &[&str] = &[
    "Customer asked to speak to a human agent",
    "The AI could not find the order in the knowledge base",
    "Wants a refund for order #{n}, above the limit the AI may approve",
    "Customer is frustrated after three attempts",
    "Checkout shows error {n} on payment",
    "Asked about a shipping date the AI does not know about",
    "Cancel subscription and close the account",
    "Login loop on the mobile app",
    "Question in Portuguese about warranty terms",
    "Charged twice for invoice {n}",
];

const HOUR: Millis = 3_600_000;

fn bundle(n: usize, t0: Millis) -> Bundle {
    let at = t0 + (n as i64) * 4 * 60_000;
    let reason = REASONS[n % REASONS.len()].replace("{n}", &(1000 + n).to_string());
    let channel = [
        Channel::Web,
        Channel::Phone,
        Channel::Email,
        Channel::Whatsapp,
    ][n % 4];
    Bundle {
        conversation: Conversation {
            subject: format!("ticket {n}"),
            requester_name: Some(format!("Customer {n}")),
            created_at: at - 60_000,
            updated_at: at + HOUR,
            handoff: Some(HandoffFacts {
                mode: HandoffMode::LiveChat,
                handed_off_at: Some(at),
            }),
            version: "v1".into(),
            wants_transcript: true,
            ..Conversation::new(&n.to_string(), SourceKind::Zendesk, channel, at)
        },
        transcript: Some(TranscriptPage {
            messages: vec![
                Message {
                    external_id: format!("{n}-c"),
                    role: Role::Customer,
                    author_name: None,
                    body: "hello".into(),
                    created_at: at - 30_000,
                    attachments: vec![],
                    internal: false,
                },
                Message {
                    external_id: format!("{n}-a"),
                    role: Role::Agent,
                    author_name: Some("Alex".into()),
                    body: "Hi, I am here".into(),
                    created_at: at + ((n % 37) as i64 + 1) * 60_000,
                    attachments: vec![],
                    internal: false,
                },
            ],
            handoff_reason: Some(reason),
            ..Default::default()
        }),
        problem: None,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn range(times: &mut [Duration]) -> String {
    times.sort();
    format!(
        "{} (min) / {} (median) / {} (max)",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    )
}

pub async fn run(args: Args) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("review.db"))
        .await
        .expect("the cache opens");
    store
        .add_account(&AccountRecord {
            id: "acme".into(),
            kind: SourceKind::Zendesk,
            base_url: "https://acme.zendesk.com".into(),
            login: None,
            auth_kind: AuthKind::ApiToken,
            secret_ref: "bench:acme".into(),
            settings: serde_json::json!({}),
            me_id: None,
            created_at: 0,
        })
        .await
        .expect("an account");
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")
        .expect("a date")
        .timestamp_millis();
    let started = Instant::now();
    for chunk in (0..args.handoffs).collect::<Vec<_>>().chunks(500) {
        let page: Vec<Bundle> = chunk.iter().map(|n| bundle(*n, t0)).collect();
        store
            .commit_page("acme", "tickets", &page, None, 1)
            .await
            .expect("a page commits");
    }
    let seeded = started.elapsed();

    // Two rule sets that categorise differently: the default, and the same patterns each
    // giving the next category, with a regex in front, so every edit rewrites every
    // categorised handoff.
    let default: Vec<NewRule> = store
        .category_rules()
        .await
        .expect("rules")
        .iter()
        .map(Into::into)
        .collect();
    let next = |c: &str| {
        let i = CATEGORIES.iter().position(|k| *k == c).unwrap_or(0);
        CATEGORIES[(i + 1) % CATEGORIES.len()].to_string()
    };
    let mut other: Vec<NewRule> = default
        .iter()
        .map(|r| NewRule {
            category: next(&r.category),
            ..r.clone()
        })
        .collect();
    other.insert(
        0,
        NewRule {
            category: "other".into(),
            kind: RuleKind::Regex,
            pattern: r"\b(error|err)\s*#?\d+".into(),
        },
    );
    let mut edits = vec![];
    let mut changed = vec![];
    for i in 0..args.runs * 2 {
        let set = if i % 2 == 0 { &other } else { &default };
        let t = Instant::now();
        changed.push(
            store
                .save_category_rules(set.clone(), 1)
                .await
                .expect("the rules save"),
        );
        edits.push(t.elapsed());
    }
    let query = ReviewQuery {
        since: t0,
        until: t0 + 60 * 24 * HOUR,
        bucket: Bucket::Day,
        source: None,
    };
    let mut summaries = vec![];
    let mut summary = None;
    for _ in 0..args.runs {
        let t = Instant::now();
        summary = Some(store.review_summary(&query, 60).await.expect("a summary"));
        summaries.push(t.elapsed());
    }
    let summary = summary.expect("one run at least");
    let all = HandoffFilter {
        since: query.since,
        until: query.until,
        ..Default::default()
    };
    let first_screen = HandoffFilter {
        limit: Some(500),
        ..all.clone()
    };
    let mut lists = vec![];
    for _ in 0..args.runs {
        let t = Instant::now();
        store.review_handoffs(&first_screen).await.expect("a list");
        lists.push(t.elapsed());
    }
    let t = Instant::now();
    let rows = store.review_handoffs(&all).await.expect("the whole list");
    let csv = review::to_csv(&rows);
    let export = t.elapsed();
    let uncategorised = HandoffFilter {
        category: Some(review::CategoryFilter(UNCATEGORISED.into())),
        ..all
    };
    let left = store
        .review_handoffs(&uncategorised)
        .await
        .expect("a list")
        .len();

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| handoffs cached (each with 2 messages) | {} |",
        args.handoffs
    );
    println!(
        "| seeding them (commit_page, pages of 500) | {} |",
        ms(seeded)
    );
    println!(
        "| rule edit: save {}/{} rules and recategorise all, {} runs | {} |",
        other.len(),
        default.len(),
        edits.len(),
        range(&mut edits)
    );
    println!(
        "| handoffs that changed category per edit | {} |",
        changed
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| review_summary over all ({} handed off, {} trend points), {} runs | {} |",
        summary.handed_off,
        summary.trend.len(),
        summaries.len(),
        range(&mut summaries)
    );
    println!(
        "| review_handoffs, newest 500, {} runs | {} |",
        lists.len(),
        range(&mut lists)
    );
    println!(
        "| export: review_handoffs of all {} + to_csv ({} KiB) | {} |",
        rows.len(),
        csv.len() / 1024,
        ms(export)
    );
    println!("| uncategorised after the edits (default rules) | {left} |");
}
