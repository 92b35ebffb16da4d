//! `baton report handoffs` and `baton report rules`: the leads' review of why the AI hands
//! off, as a table, CSV or JSON.

use crate::render::one_line;
use baton_core::model::{Channel, Millis};
use baton_core::review::{
    self, Bucket, CategoryFilter, HandoffFilter, ReviewQuery, ReviewSummary, CATEGORIES,
    UNCATEGORISED,
};
use baton_core::Store;

const DAY: Millis = 86_400_000;

/// The start of a day given as `YYYY-MM-DD` (UTC), or `now` less `N` days for `Nd`.
fn day_start(flag: &str, text: &str, now: Millis) -> Result<Millis, String> {
    if let Some(n) = text.strip_suffix('d') {
        if let Ok(days) = n.parse::<u32>() {
            return Ok(now - i64::from(days) * DAY);
        }
    }
    Ok(chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| {
            format!("{flag} {text:?}: give a day as YYYY-MM-DD, or a number of days as 30d")
        })?
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis())
}

pub struct HandoffArgs<'a> {
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub format: &'a str,
    pub category: Option<&'a str>,
    pub channel: Option<&'a str>,
}

/// The period (`--since` from the start of that day, all time without it; `--until`
/// through the end of that day, now without it), a summary over it and the handoffs.
pub async fn handoffs(store: &Store, args: HandoffArgs<'_>, now: Millis) -> Result<(), String> {
    let since = match args.since {
        Some(s) => day_start("--since", s, now)?,
        None => 0,
    };
    let until = match args.until {
        // Through the end of that day; `Nd` means up to N days ago.
        Some(u) if u.ends_with('d') => day_start("--until", u, now)?,
        Some(u) => day_start("--until", u, now)? + DAY,
        None => now + 1,
    };
    let category = match args.category {
        Some(c) if CATEGORIES.contains(&c) || c == UNCATEGORISED => {
            Some(CategoryFilter(c.to_string()))
        }
        Some(c) => {
            return Err(format!(
                "unknown category {c:?}; one of: {}, {UNCATEGORISED}",
                CATEGORIES.join(", ")
            ))
        }
        None => None,
    };
    let channel = match args.channel {
        Some(c) => Some(Channel::parse(c).ok_or_else(|| {
            let all: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
            format!("unknown channel {c:?}; one of: {}", all.join(", "))
        })?),
        None => None,
    };
    let e = |e: baton_core::Error| e.to_string();
    let query = ReviewQuery {
        since,
        until,
        bucket: Bucket::Day,
        source: None,
    };
    let filter = HandoffFilter {
        since,
        until,
        category,
        channel,
        ..Default::default()
    };
    match args.format {
        "csv" => {
            let rows = store.review_handoffs(&filter).await.map_err(e)?;
            print!("{}", review::to_csv(&rows));
        }
        "json" => {
            // The trend in UTC days, as the CLI's dates are.
            let summary = store.review_summary(&query, 0).await.map_err(e)?;
            let handoffs = store.review_handoffs(&filter).await.map_err(e)?;
            let out = serde_json::json!({ "summary": summary, "handoffs": handoffs });
            println!(
                "{}",
                serde_json::to_string_pretty(&out).expect("serializes")
            );
        }
        "table" => {
            let summary = store.review_summary(&query, 0).await.map_err(e)?;
            print!("{}", table(&summary));
        }
        other => return Err(format!("unknown format {other:?}: table, csv or json")),
    }
    Ok(())
}

fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 60_000 => format!("{}s", ms / 1000),
        Some(ms) if ms < 3_600_000 => format!("{}m", ms / 60_000),
        Some(ms) => format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// Counts by category × channel, the top reasons, the first human reply by channel and
/// the share of conversations handed off.
fn table(s: &ReviewSummary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if s.handed_off == 0 {
        return "No handoff in this period.\n".into();
    }
    let channels: Vec<Channel> = Channel::ALL
        .iter()
        .copied()
        .filter(|c| s.counts.iter().any(|r| r.channel == *c))
        .collect();
    let mut rows: Vec<Option<&str>> = CATEGORIES.iter().map(|c| Some(*c)).collect();
    rows.push(None);
    let _ = write!(out, "{:<20}", "CATEGORY");
    for c in &channels {
        let _ = write!(out, " {:>8}", c.as_str().to_uppercase());
    }
    let _ = writeln!(out, " {:>8}", "TOTAL");
    for category in rows {
        let count = |channel: Option<Channel>| -> u64 {
            s.counts
                .iter()
                .filter(|r| r.category.as_deref() == category)
                .filter(|r| channel.is_none_or(|c| r.channel == c))
                .map(|r| r.count)
                .sum()
        };
        if count(None) == 0 {
            continue;
        }
        let _ = write!(out, "{:<20}", category.unwrap_or(UNCATEGORISED));
        for c in &channels {
            let _ = write!(out, " {:>8}", count(Some(*c)));
        }
        let _ = writeln!(out, " {:>8}", count(None));
    }
    let share = if s.conversations > 0 {
        format!(
            " of {} conversations ({:.0}%)",
            s.conversations,
            s.handed_off as f64 * 100.0 / s.conversations as f64
        )
    } else {
        String::new()
    };
    let _ = writeln!(out, "\nHanded off: {}{share}", s.handed_off);

    let _ = writeln!(out, "\n{:>5}  {:<20} TOP REASON", "COUNT", "CATEGORY");
    for r in &s.top_reasons {
        let _ = writeln!(
            out,
            "{:>5}  {:<20} {}",
            r.count,
            r.category.as_deref().unwrap_or(UNCATEGORISED),
            one_line(&r.reason, 70)
        );
    }

    let _ = writeln!(
        out,
        "\n{:<10} {:>7} {:>8} {:>8}  (first human reply after the handoff)",
        "CHANNEL", "REPLIED", "MEDIAN", "P90"
    );
    for f in &s.first_reply {
        let _ = writeln!(
            out,
            "{:<10} {:>7} {:>8} {:>8}",
            f.channel.as_str(),
            f.replied,
            duration(f.p50_ms),
            duration(f.p90_ms)
        );
    }
    out
}

/// `baton report rules`: the category rules in the order they are tried.
pub async fn rules(store: &Store, format: &str) -> Result<(), String> {
    let rules = store.category_rules().await.map_err(|e| e.to_string())?;
    match format {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&rules).expect("serializes")
        ),
        "table" => {
            println!("{:>4}  {:<18} {:<8} PATTERN", "#", "CATEGORY", "KIND");
            for r in &rules {
                println!(
                    "{:>4}  {:<18} {:<8} {}",
                    r.position,
                    r.category,
                    r.kind.as_str(),
                    one_line(&r.pattern, 80)
                );
            }
        }
        other => return Err(format!("unknown format {other:?}: table or json")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_dates_or_days_ago() {
        let now = 10 * DAY + 5;
        assert_eq!(day_start("--since", "7d", now).unwrap(), 3 * DAY + 5);
        assert_eq!(day_start("--since", "1970-01-03", now).unwrap(), 2 * DAY);
        let e = day_start("--since", "last week", now).unwrap_err();
        assert!(e.contains("--since \"last week\""), "{e}");
    }

    #[test]
    fn durations_read_as_minutes_and_hours() {
        assert_eq!(duration(None), "-");
        assert_eq!(duration(Some(42_000)), "42s");
        assert_eq!(duration(Some(5 * 60_000)), "5m");
        assert_eq!(duration(Some(90 * 60_000)), "1h30m");
    }
}
