//! The leads' review of why the AI hands off: the categories a handoff's reason falls in
//! (by an editable rule set kept in the store), the aggregates over a period, a lead's
//! verdict on a handoff, and the exports. The store reads and writes (store/review.rs);
//! everything here is pure: rule matching, buckets, percentiles, the summary and CSV.

use crate::error::{Error, Result};
use crate::model::{string_enum, Channel, Millis, SessionEnd, SourceKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The categories a rule can assign, in the order the issue names them. A handoff no rule
/// matches is uncategorised (`None`), not "other": "other" is a category a lead assigns.
pub const CATEGORIES: &[&str] = &[
    "asked_for_human",
    "no_answer",
    "policy_or_account",
    "upset",
    "technical",
    "other",
];

/// What a [`HandoffFilter`] names for "no category".
pub const UNCATEGORISED: &str = "uncategorised";

/// At most this many rules in a set, and characters in a pattern: a set is read by a lead.
pub const MAX_RULES: usize = 500;
pub const MAX_PATTERN_CHARS: usize = 500;
/// A regex compiles to at most this many bytes (the `regex` crate matches in linear time,
/// so only its size needs a bound).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// How many reasons `top_reasons` lists.
pub const TOP_REASONS: usize = 10;

string_enum!(
    /// How a rule matches the reason: a substring, or a regular expression.
    RuleKind { Keyword => "keyword", Regex => "regex" }
);

string_enum!(
    /// A lead's verdict on a handoff: should the AI have handled it?
    Verdict { Avoidable => "avoidable", Needed => "needed" }
);

string_enum!(
    /// The trend's bucket: a local day, or a local week starting on Monday.
    Bucket { Day => "day", Week => "week" }
);

/// One stored rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CategoryRule {
    pub id: i64,
    pub category: String,
    pub kind: RuleKind,
    pub pattern: String,
    /// Rules are tried in this order; the first that matches wins.
    pub position: i64,
}

/// A rule as a lead writes it: a set of these replaces the stored set, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct NewRule {
    pub category: String,
    pub kind: RuleKind,
    pub pattern: String,
}

impl From<&CategoryRule> for NewRule {
    fn from(r: &CategoryRule) -> Self {
        NewRule {
            category: r.category.clone(),
            kind: r.kind,
            pattern: r.pattern.clone(),
        }
    }
}

enum Matcher {
    /// Lower-cased.
    Keyword(String),
    Regex(regex::Regex),
}

/// A rule set ready to match, in order.
pub struct Rules {
    rules: Vec<(String, Matcher)>,
}

impl NewRule {
    /// The rule ready to match, or why it cannot be one (a sentence naming it).
    fn compile(&self) -> Result<Matcher> {
        let name = || format!("{} rule {:?}", self.kind, self.pattern);
        if !CATEGORIES.contains(&self.category.as_str()) {
            return Err(Error::Invalid(format!(
                "{}: unknown category {:?}; one of: {}",
                name(),
                self.category,
                CATEGORIES.join(", ")
            )));
        }
        if self.pattern.trim().is_empty() {
            return Err(Error::Invalid(format!(
                "a {} rule for {} has an empty pattern",
                self.kind, self.category
            )));
        }
        if self.pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(Error::Invalid(format!(
                "{}: a pattern is limited to {MAX_PATTERN_CHARS} characters",
                name()
            )));
        }
        Ok(match self.kind {
            RuleKind::Keyword => Matcher::Keyword(self.pattern.to_lowercase()),
            RuleKind::Regex => Matcher::Regex(
                regex::RegexBuilder::new(&self.pattern)
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| {
                        Error::Invalid(format!("{} is not a valid pattern: {e}", name()))
                    })?,
            ),
        })
    }
}

impl Rules {
    /// All the rules, in order; the first that cannot be one refuses the whole set.
    pub fn compile(rules: &[NewRule]) -> Result<Self> {
        if rules.len() > MAX_RULES {
            return Err(Error::Invalid(format!(
                "at most {MAX_RULES} rules in a set"
            )));
        }
        let rules = rules
            .iter()
            .map(|r| Ok((r.category.clone(), r.compile()?)))
            .collect::<Result<_>>()?;
        Ok(Self { rules })
    }

    /// The stored rules, leaving out (with a warning) any that no longer compiles, so a
    /// sync never fails on a rule.
    pub fn from_stored(rules: &[CategoryRule]) -> Self {
        let rules = rules
            .iter()
            .filter_map(|r| match NewRule::from(r).compile() {
                Ok(m) => Some((r.category.clone(), m)),
                Err(e) => {
                    tracing::warn!(rule = r.id, "category rule left out: {e}");
                    None
                }
            })
            .collect();
        Self { rules }
    }

    /// The category of a reason summary: the first rule that matches it, case-insensitively.
    /// No reason, or one no rule matches, is uncategorised.
    pub fn categorise(&self, reason: Option<&str>) -> Option<&str> {
        let reason = reason?;
        let lower = reason.to_lowercase();
        self.rules
            .iter()
            .find(|(_, m)| match m {
                Matcher::Keyword(k) => lower.contains(k.as_str()),
                Matcher::Regex(re) => re.is_match(reason),
            })
            .map(|(c, _)| c.as_str())
    }
}

/// The period a review covers: `since` (inclusive) to `until` (exclusive), and the
/// trend's bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReviewQuery {
    pub since: Millis,
    pub until: Millis,
    pub bucket: Bucket,
    /// Only this vendor's handoffs and conversations (all when absent), so every number
    /// on the screen, and the lists behind them, count the same handoffs.
    #[serde(default)]
    #[ts(optional)]
    pub source: Option<SourceKind>,
}

/// Handoffs by category, channel and source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CountRow {
    /// `None`: uncategorised.
    pub category: Option<String>,
    pub channel: Channel,
    pub source: SourceKind,
    pub count: u64,
}

/// Handoffs of one category in one bucket (only buckets with handoffs are listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct TrendPoint {
    /// The bucket's start: local midnight (of a Monday, for weeks) as UTC milliseconds.
    pub bucket_start: Millis,
    pub category: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReasonCount {
    pub reason: String,
    pub category: Option<String>,
    pub count: u64,
}

/// Time from a handoff to the first human (Agent) public reply after it, by channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct FirstReply {
    pub channel: Channel,
    /// Handoffs of the period on this channel that have a reply.
    pub replied: u64,
    pub p50_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReviewSummary {
    pub counts: Vec<CountRow>,
    pub trend: Vec<TrendPoint>,
    /// The most frequent reason summaries, at most ten.
    pub top_reasons: Vec<ReasonCount>,
    /// Handoffs in the period (by their handoff time).
    pub handed_off: u64,
    /// Conversations created in the period: `handed_off / conversations` is the share
    /// handed off.
    pub conversations: u64,
    pub first_reply: Vec<FirstReply>,
    pub uncategorised: u64,
}

/// A category id or `"uncategorised"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct CategoryFilter(pub String);

/// Which handoffs to list: those handed off from `since` (inclusive) to `until`
/// (exclusive), optionally of one category, channel, source or verdict. A trend bar's
/// handoffs are its bucket as the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct HandoffFilter {
    pub since: Millis,
    pub until: Millis,
    pub category: Option<CategoryFilter>,
    pub channel: Option<Channel>,
    pub source: Option<SourceKind>,
    pub verdict: Option<Verdict>,
    /// Only handoffs with exactly this reason (one of the top reasons).
    #[ts(optional)]
    pub reason: Option<String>,
    /// Only handoffs a human replied to (`true`), or not yet (`false`).
    #[ts(optional)]
    pub replied: Option<bool>,
    /// At most this many (newest first); all when absent.
    pub limit: Option<i64>,
}

/// One handoff as the review lists and exports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct HandoffRow {
    pub conversation_id: i64,
    pub account_id: String,
    pub external_id: String,
    pub source: SourceKind,
    pub channel: Channel,
    pub handed_off_at: Millis,
    pub requester_name: Option<String>,
    pub reason: Option<String>,
    /// `None`: uncategorised.
    pub category: Option<String>,
    /// From the handoff to the first Agent public reply after it; `None` without one.
    pub first_reply_ms: Option<i64>,
    pub ended: Option<SessionEnd>,
    pub verdict: Option<Verdict>,
    pub note: Option<String>,
    /// The team member whose verdict it is, when it came from another desktop (or came
    /// back from the team); `None`: given on this desktop.
    pub marked_by: Option<String>,
}

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// The start of the bucket `at` falls in, for a user `tz_offset_minutes` east of UTC
/// (UTC+1 is 60): local midnight, or local midnight of the Monday that starts the week,
/// as UTC milliseconds.
pub fn bucket_start(at: Millis, bucket: Bucket, tz_offset_minutes: i32) -> Millis {
    let offset = i64::from(tz_offset_minutes) * MINUTE;
    let local_day = (at + offset).div_euclid(DAY);
    let day = match bucket {
        Bucket::Day => local_day,
        // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
        Bucket::Week => local_day - (local_day + 3).rem_euclid(7),
    };
    day * DAY - offset
}

/// The nearest-rank percentile (`p` in 0..=100) of `sorted` (ascending): the smallest
/// value with at least `p`% of the values at or below it. `None` for no values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p.min(100)) * n).div_ceil(100).max(1);
    Some(sorted[(rank - 1) as usize])
}

/// The review's aggregates over the period's handoffs (`rows`: every handoff of the
/// period, unfiltered) and how many conversations were created in it.
pub fn summarise(
    rows: &[HandoffRow],
    conversations: u64,
    query: &ReviewQuery,
    tz_offset_minutes: i32,
) -> ReviewSummary {
    // Keyed by the texts, so the rows come in the order of category, channel, source.
    type Count = (Channel, SourceKind, u64);
    let mut counts: BTreeMap<(Option<&str>, &str, &str), Count> = BTreeMap::new();
    let mut trend: BTreeMap<(Millis, Option<&str>), u64> = BTreeMap::new();
    let mut reasons: HashMap<(&str, Option<&str>), u64> = HashMap::new();
    let mut replies: BTreeMap<&str, (Channel, Vec<i64>)> = BTreeMap::new();
    for r in rows {
        let category = r.category.as_deref();
        counts
            .entry((category, r.channel.as_str(), r.source.as_str()))
            .or_insert((r.channel, r.source, 0))
            .2 += 1;
        let start = bucket_start(r.handed_off_at, query.bucket, tz_offset_minutes);
        *trend.entry((start, category)).or_default() += 1;
        if let Some(reason) = r.reason.as_deref().filter(|s| !s.trim().is_empty()) {
            *reasons.entry((reason, category)).or_default() += 1;
        }
        let times = &mut replies
            .entry(r.channel.as_str())
            .or_insert((r.channel, vec![]))
            .1;
        times.extend(r.first_reply_ms);
    }
    let mut top_reasons: Vec<ReasonCount> = reasons
        .into_iter()
        .map(|((reason, category), count)| ReasonCount {
            reason: reason.to_string(),
            category: category.map(str::to_string),
            count,
        })
        .collect();
    top_reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    top_reasons.truncate(TOP_REASONS);
    ReviewSummary {
        counts: counts
            .into_iter()
            .map(|((category, _, _), (channel, source, count))| CountRow {
                category: category.map(str::to_string),
                channel,
                source,
                count,
            })
            .collect(),
        trend: trend
            .into_iter()
            .map(|((bucket_start, category), count)| TrendPoint {
                bucket_start,
                category: category.map(str::to_string),
                count,
            })
            .collect(),
        top_reasons,
        handed_off: rows.len() as u64,
        conversations,
        first_reply: replies
            .into_values()
            .map(|(channel, mut times)| {
                times.sort_unstable();
                FirstReply {
                    channel,
                    replied: times.len() as u64,
                    p50_ms: percentile(&times, 50),
                    p90_ms: percentile(&times, 90),
                }
            })
            .collect(),
        uncategorised: rows.iter().filter(|r| r.category.is_none()).count() as u64,
    }
}

/// A UTC time as ISO-8601 (`2026-11-22T09:30:00Z`).
pub fn iso(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A text cell as a spreadsheet will not run it: vendor and lead text is data, and a
/// cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return) would be read as
/// a formula (CSV injection), so it gets a leading `'`. The csv crate does the quoting.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn opt_cell(text: Option<&str>) -> String {
    text.map(cell).unwrap_or_default()
}

fn opt_num(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn finish(w: csv::Writer<Vec<u8>>) -> String {
    let bytes = w.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the cells are UTF-8")
}

/// The handoff list as CSV: a header row, then one row per handoff; times in ISO-8601
/// UTC, an uncategorised handoff's category empty.
pub fn to_csv(rows: &[HandoffRow]) -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "conversation_id",
        "account_id",
        "external_id",
        "source",
        "channel",
        "handed_off_at",
        "requester_name",
        "reason",
        "category",
        "first_reply_ms",
        "ended_by",
        "ended_at",
        "verdict",
        "note",
        "marked_by",
    ])
    .expect("writing to memory cannot fail");
    for r in rows {
        w.write_record([
            r.conversation_id.to_string(),
            cell(&r.account_id),
            cell(&r.external_id),
            r.source.to_string(),
            r.channel.to_string(),
            iso(r.handed_off_at),
            opt_cell(r.requester_name.as_deref()),
            opt_cell(r.reason.as_deref()),
            opt_cell(r.category.as_deref()),
            opt_num(r.first_reply_ms),
            opt_cell(r.ended.as_ref().map(|e| e.by.code()).as_deref()),
            r.ended
                .as_ref()
                .and_then(|e| e.at)
                .map(iso)
                .unwrap_or_default(),
            r.verdict.map(|v| v.to_string()).unwrap_or_default(),
            opt_cell(r.note.as_deref()),
            opt_cell(r.marked_by.as_deref()),
        ])
        .expect("writing to memory cannot fail");
    }
    finish(w)
}

/// The aggregates as one CSV table: each row's `section` says which part it is
/// (`total`, `count`, `trend`, `top_reason`, `first_reply`) and which columns it fills.
pub fn summary_csv(s: &ReviewSummary) -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    let header = [
        "section",
        "name",
        "category",
        "channel",
        "source",
        "bucket_start",
        "reason",
        "count",
        "p50_ms",
        "p90_ms",
    ];
    w.write_record(header)
        .expect("writing to memory cannot fail");
    let mut row = |section: &str, fill: &[(&str, String)]| {
        let record: Vec<String> = header
            .iter()
            .map(|h| match *h {
                "section" => section.to_string(),
                h => fill
                    .iter()
                    .find(|(k, _)| *k == h)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            })
            .collect();
        w.write_record(&record)
            .expect("writing to memory cannot fail");
    };
    for (name, n) in [
        ("handed_off", s.handed_off),
        ("conversations", s.conversations),
        ("uncategorised", s.uncategorised),
    ] {
        row("total", &[("name", name.into()), ("count", n.to_string())]);
    }
    for c in &s.counts {
        row(
            "count",
            &[
                ("category", opt_cell(c.category.as_deref())),
                ("channel", c.channel.to_string()),
                ("source", c.source.to_string()),
                ("count", c.count.to_string()),
            ],
        );
    }
    for t in &s.trend {
        row(
            "trend",
            &[
                ("category", opt_cell(t.category.as_deref())),
                ("bucket_start", iso(t.bucket_start)),
                ("count", t.count.to_string()),
            ],
        );
    }
    for r in &s.top_reasons {
        row(
            "top_reason",
            &[
                ("category", opt_cell(r.category.as_deref())),
                ("reason", cell(&r.reason)),
                ("count", r.count.to_string()),
            ],
        );
    }
    for f in &s.first_reply {
        row(
            "first_reply",
            &[
                ("channel", f.channel.to_string()),
                ("count", f.replied.to_string()),
                ("p50_ms", opt_num(f.p50_ms)),
                ("p90_ms", opt_num(f.p90_ms)),
            ],
        );
    }
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(category: &str, kind: RuleKind, pattern: &str) -> NewRule {
        NewRule {
            category: category.into(),
            kind,
            pattern: pattern.into(),
        }
    }

    #[test]
    fn the_first_matching_rule_wins_and_no_match_is_uncategorised() {
        let rules = Rules::compile(&[
            rule("asked_for_human", RuleKind::Keyword, "Human"),
            rule("technical", RuleKind::Regex, r"\berr(or)?\s*\d+"),
            rule("policy_or_account", RuleKind::Keyword, "refund"),
        ])
        .unwrap();
        assert_eq!(
            rules.categorise(Some("Wants a REFUND, asked for a HUMAN")),
            Some("asked_for_human"),
            "position order, not the order in the text"
        );
        assert_eq!(
            rules.categorise(Some("App shows ERR 504")),
            Some("technical")
        );
        assert_eq!(
            rules.categorise(Some("refund please")),
            Some("policy_or_account")
        );
        assert_eq!(rules.categorise(Some("the weather")), None);
        assert_eq!(rules.categorise(None), None);
    }

    #[test]
    fn a_bad_rule_is_refused_with_a_sentence_naming_it() {
        let e = Rules::compile(&[
            rule("technical", RuleKind::Keyword, "error"),
            rule("technical", RuleKind::Regex, "(unclosed"),
        ])
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("regex rule \"(unclosed\" is not a valid pattern"),
            "{e}"
        );
        let e = Rules::compile(&[rule("shipping", RuleKind::Keyword, "order")])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("unknown category \"shipping\""), "{e}");
        let e = Rules::compile(&[rule("upset", RuleKind::Keyword, "  ")])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("empty pattern"), "{e}");
    }

    #[test]
    fn a_stored_rule_that_no_longer_compiles_is_left_out() {
        let stored = |id, pattern: &str| CategoryRule {
            id,
            category: "technical".into(),
            kind: RuleKind::Regex,
            pattern: pattern.into(),
            position: id,
        };
        let rules = Rules::from_stored(&[stored(1, "("), stored(2, "crash")]);
        assert_eq!(rules.categorise(Some("it crashed")), Some("technical"));
    }

    #[test]
    fn buckets_are_local_days_and_mondays() {
        // 2026-11-25 (a Wednesday) 23:30 UTC; 2026-11-26 00:30 in UTC+1.
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T23:30:00Z")
            .unwrap()
            .timestamp_millis();
        let utc = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis()
        };
        assert_eq!(
            bucket_start(at, Bucket::Day, 0),
            utc("2026-11-25T00:00:00Z")
        );
        assert_eq!(
            bucket_start(at, Bucket::Day, 60),
            utc("2026-11-26T00:00:00+01:00")
        );
        assert_eq!(
            bucket_start(at, Bucket::Day, -300),
            utc("2026-11-25T00:00:00-05:00")
        );
        assert_eq!(
            bucket_start(at, Bucket::Week, 0),
            utc("2026-11-23T00:00:00Z"),
            "the Monday"
        );
        // Monday 00:30 in UTC+1 is still Sunday in UTC.
        let monday = utc("2026-11-30T00:30:00+01:00");
        assert_eq!(
            bucket_start(monday, Bucket::Week, 60),
            utc("2026-11-30T00:00:00+01:00")
        );
        assert_eq!(
            bucket_start(monday, Bucket::Week, 0),
            utc("2026-11-23T00:00:00Z")
        );
        // Before the epoch too.
        assert_eq!(bucket_start(-1, Bucket::Day, 0), -DAY);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 50), Some(5));
        assert_eq!(percentile(&ten, 90), Some(9));
        assert_eq!(percentile(&ten, 100), Some(10));
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3], 90), Some(3));
        assert_eq!(percentile(&[1, 2, 3], 0), Some(1));
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        let row = HandoffRow {
            conversation_id: 1,
            account_id: "acme".into(),
            external_id: "42".into(),
            source: SourceKind::Zendesk,
            channel: Channel::Web,
            handed_off_at: 0,
            requester_name: Some("=HYPERLINK(\"http://evil\")".into()),
            reason: Some("says \"hi\", then\nleaves".into()),
            category: None,
            first_reply_ms: Some(-5),
            ended: None,
            verdict: Some(Verdict::Avoidable),
            note: Some("@lead +1".into()),
            marked_by: Some("-maria".into()),
        };
        let csv = to_csv(&[row]);
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[5], "1970-01-01T00:00:00Z");
        assert_eq!(&rec[6], "'=HYPERLINK(\"http://evil\")");
        assert_eq!(&rec[7], "says \"hi\", then\nleaves");
        assert_eq!(&rec[8], "");
        assert_eq!(&rec[9], "-5", "numbers are not text");
        assert_eq!(&rec[12], "avoidable");
        assert_eq!(&rec[13], "'@lead +1");
        assert_eq!(&rec[14], "'-maria");
    }
}
