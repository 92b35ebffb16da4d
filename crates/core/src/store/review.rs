//! The `category_rules` and `review_marks` tables and the review's reads: the rules that
//! categorise handoffs (kept in `handoffs.reason_category`), the period's handoffs with
//! their first human reply and a lead's verdict, and the aggregates over them.

use super::queries::{enum_col, session_end};
use super::shared::{self, SharedChange};
use super::{Store, Tx};
use crate::error::{Error, Result};
use crate::model::{Channel, Millis, SourceKind};
use crate::review::{
    summarise, CategoryRule, HandoffFilter, HandoffRow, NewRule, ReviewQuery, ReviewSummary,
    RuleKind, Rules, Verdict, UNCATEGORISED,
};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// A handoff's time: when it was handed off (NOT NULL in the cache; used bare so the
/// `handoffs_time` index serves the period).
const AT: &str = "h.handed_off_at";

fn handoff_select() -> String {
    format!(
        "SELECT c.id, c.account_id, c.external_id, c.source, c.channel, c.requester_name,
                c.ended_by, c.ended_at, h.reason, h.reason_category, {AT} AS at,
                (SELECT MIN(m.created_at) FROM messages m
                 WHERE m.conversation_id = c.id AND m.role = 'agent' AND NOT m.internal
                   AND m.created_at >= {AT}) AS first_agent_at,
                r.verdict, r.note, r.marked_by
         FROM handoffs h
         JOIN conversations c ON c.id = h.conversation_id
         LEFT JOIN review_marks r ON r.account_id = c.account_id AND r.external_id = c.external_id"
    )
}

fn handoff_row(r: &SqliteRow) -> Result<HandoffRow> {
    let at: Millis = r.get("at");
    let verdict: Option<String> = r.get("verdict");
    Ok(HandoffRow {
        conversation_id: r.get("id"),
        account_id: r.get("account_id"),
        external_id: r.get("external_id"),
        source: enum_col(r, "source", SourceKind::parse)?,
        channel: enum_col(r, "channel", Channel::parse)?,
        handed_off_at: at,
        requester_name: r.get("requester_name"),
        reason: r.get("reason"),
        category: r.get("reason_category"),
        first_reply_ms: r.get::<Option<Millis>, _>("first_agent_at").map(|t| t - at),
        ended: session_end(r),
        verdict: verdict.as_deref().and_then(Verdict::parse),
        note: r.get("note"),
        marked_by: r.get("marked_by"),
    })
}

fn rule_row(r: &SqliteRow) -> Result<CategoryRule> {
    Ok(CategoryRule {
        id: r.get("id"),
        category: r.get("category"),
        kind: enum_col(r, "kind", RuleKind::parse)?,
        pattern: r.get("pattern"),
        position: r.get("position"),
    })
}

const RULES_SELECT: &str =
    "SELECT id, category, kind, pattern, position FROM category_rules ORDER BY position, id";

pub(super) async fn load_stored_rules(tx: &mut Tx<'_>) -> Result<Vec<CategoryRule>> {
    let rows = sqlx::query(RULES_SELECT).fetch_all(&mut **tx).await?;
    rows.iter().map(rule_row).collect()
}

/// The stored rules, ready to match: what a write of a handoff categorises it by.
pub(super) async fn load_rules(tx: &mut Tx<'_>) -> Result<Rules> {
    Ok(Rules::from_stored(&load_stored_rules(tx).await?))
}

/// Replaces the rule set with `rules` (tried in this order) and recategorises every
/// cached handoff by them (`compiled`); returns how many changed category.
pub(super) async fn replace_rules(
    tx: &mut Tx<'_>,
    rules: &[NewRule],
    compiled: &Rules,
) -> Result<u64> {
    sqlx::query("DELETE FROM category_rules")
        .execute(&mut **tx)
        .await?;
    for (i, r) in rules.iter().enumerate() {
        sqlx::query(
            "INSERT INTO category_rules (category, kind, pattern, position) VALUES (?, ?, ?, ?)",
        )
        .bind(&r.category)
        .bind(r.kind.as_str())
        .bind(&r.pattern)
        .bind(i as i64 + 1)
        .execute(&mut **tx)
        .await?;
    }
    recategorise(tx, compiled).await
}

/// Categorises every cached handoff by `rules`; returns how many changed category.
async fn recategorise(tx: &mut Tx<'_>, rules: &Rules) -> Result<u64> {
    let rows: Vec<(i64, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT conversation_id, reason, reason_category FROM handoffs")
            .fetch_all(&mut **tx)
            .await?;
    let mut changed = 0;
    for (id, reason, stored) in rows {
        let category = rules.categorise(reason.as_deref());
        if category != stored.as_deref() {
            sqlx::query("UPDATE handoffs SET reason_category = ? WHERE conversation_id = ?")
                .bind(category)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

impl Store {
    /// The category rules, in the order they are tried.
    pub async fn category_rules(&self) -> Result<Vec<CategoryRule>> {
        let rows = sqlx::query(RULES_SELECT).fetch_all(self.pool()).await?;
        rows.iter().map(rule_row).collect()
    }

    /// Replaces the rule set with `rules` (tried in this order) and recategorises every
    /// cached handoff, in one transaction; returns how many handoffs changed category.
    /// A set with a rule that cannot be one (unknown category, empty pattern, a regex that
    /// does not compile) is refused whole, with a sentence naming the rule.
    pub async fn save_category_rules(&self, rules: Vec<NewRule>, now: Millis) -> Result<u64> {
        let compiled = Rules::compile(&rules)?;
        // IMMEDIATE: a sync writing a handoff meanwhile waits, then categorises by the new set.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let changed = replace_rules(&mut tx, &rules, &compiled).await?;
        let change = SharedChange::Rules { rules, at: now };
        shared::queue(&mut tx, &change, now).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// The cached handoffs `rule` alone would match now, newest first, at most `limit`.
    pub async fn preview_rule(&self, rule: NewRule, limit: usize) -> Result<Vec<HandoffRow>> {
        let rules = Rules::compile(std::slice::from_ref(&rule))?;
        let candidates: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT c.id, h.reason FROM handoffs h JOIN conversations c ON c.id = h.conversation_id
             WHERE h.reason IS NOT NULL ORDER BY {AT} DESC, c.id DESC"
        ))
        .fetch_all(self.pool())
        .await?;
        let ids: Vec<i64> = candidates
            .into_iter()
            .filter(|(_, reason)| rules.categorise(Some(reason)).is_some())
            .map(|(id, _)| id)
            .take(limit)
            .collect();
        let rows = sqlx::query(&format!(
            "{} WHERE c.id IN (SELECT value FROM json_each(?)) ORDER BY at DESC, c.id DESC",
            handoff_select()
        ))
        .bind(serde_json::to_string(&ids).expect("ids serialize"))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(handoff_row).collect()
    }

    /// The handoffs `filter` names, newest first.
    pub async fn review_handoffs(&self, filter: &HandoffFilter) -> Result<Vec<HandoffRow>> {
        let category = filter.category.as_ref().map(|c| c.0.as_str());
        let rows = sqlx::query(&format!(
            "{} WHERE {AT} >= ?1 AND {AT} < ?2
               AND (?3 IS NULL OR (?3 = '{UNCATEGORISED}' AND h.reason_category IS NULL)
                    OR h.reason_category = ?3)
               AND (?4 IS NULL OR c.channel = ?4)
               AND (?5 IS NULL OR c.source = ?5)
               AND (?6 IS NULL OR r.verdict = ?6)
               AND (?8 IS NULL OR h.reason = ?8)
               AND (?9 IS NULL OR (first_agent_at IS NOT NULL) = ?9)
             ORDER BY at DESC, c.id DESC LIMIT ?7",
            handoff_select()
        ))
        .bind(filter.since)
        .bind(filter.until)
        .bind(category)
        .bind(filter.channel.map(Channel::as_str))
        .bind(filter.source.map(SourceKind::as_str))
        .bind(filter.verdict.map(Verdict::as_str))
        .bind(filter.limit.unwrap_or(-1))
        .bind(&filter.reason)
        .bind(filter.replied)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(handoff_row).collect()
    }

    /// The review's aggregates over the period: handoffs by their handoff time,
    /// conversations by their creation; trend buckets in the user's time zone
    /// (`tz_offset_minutes` east of UTC).
    pub async fn review_summary(
        &self,
        query: &ReviewQuery,
        tz_offset_minutes: i32,
    ) -> Result<ReviewSummary> {
        // One read transaction: the handoffs and the conversations counted are one snapshot.
        let mut tx = self.pool().begin().await?;
        let source = query.source.map(SourceKind::as_str);
        let rows = sqlx::query(&format!(
            "{} WHERE {AT} >= ?1 AND {AT} < ?2 AND (?3 IS NULL OR c.source = ?3)",
            handoff_select()
        ))
        .bind(query.since)
        .bind(query.until)
        .bind(source)
        .fetch_all(&mut *tx)
        .await?;
        let rows = rows.iter().map(handoff_row).collect::<Result<Vec<_>>>()?;
        let conversations: i64 = sqlx::query_scalar(
            // The conversations of the period: begun in it, or handed off in it (one
            // begun before), so the share handed off never passes 100 %.
            "SELECT COUNT(*) FROM conversations c
             WHERE ((c.created_at >= ?1 AND c.created_at < ?2)
                    OR EXISTS (SELECT 1 FROM handoffs h WHERE h.conversation_id = c.id
                                 AND h.handed_off_at >= ?1 AND h.handed_off_at < ?2))
               AND (?3 IS NULL OR c.source = ?3)",
        )
        .bind(query.since)
        .bind(query.until)
        .bind(source)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(summarise(
            &rows,
            conversations as u64,
            query,
            tz_offset_minutes,
        ))
    }

    /// A lead's verdict on a handoff, replacing any earlier one. In a team, it goes to
    /// the other desktops too.
    pub async fn mark_handoff(
        &self,
        conversation_id: i64,
        verdict: Verdict,
        note: Option<String>,
        at: Millis,
    ) -> Result<()> {
        let (account_id, external_id) = self.handoff_ids(conversation_id).await?;
        self.set_mark(&account_id, &external_id, Some(verdict), note, at)
            .await
    }

    /// The same by the vendor's id: a verdict may arrive before its conversation does
    /// (the demo's history).
    pub async fn mark(
        &self,
        account_id: &str,
        external_id: &str,
        verdict: Verdict,
        note: Option<String>,
        at: Millis,
    ) -> Result<()> {
        self.set_mark(account_id, external_id, Some(verdict), note, at)
            .await
    }

    /// Takes a lead's verdict off a handoff (nothing if it had none).
    pub async fn unmark_handoff(&self, conversation_id: i64, at: Millis) -> Result<()> {
        let (account_id, external_id) = self.handoff_ids(conversation_id).await?;
        self.set_mark(&account_id, &external_id, None, None, at)
            .await
    }

    async fn set_mark(
        &self,
        account_id: &str,
        external_id: &str,
        verdict: Option<Verdict>,
        note: Option<String>,
        at: Millis,
    ) -> Result<()> {
        let note = note.filter(|n| !n.trim().is_empty());
        let mut tx = self.pool().begin().await?;
        shared::put_mark(
            &mut tx,
            account_id,
            external_id,
            verdict,
            note.as_deref(),
            None,
            at,
        )
        .await?;
        let change = SharedChange::Mark {
            account_id: account_id.to_string(),
            external_id: external_id.to_string(),
            verdict,
            note,
            at,
        };
        shared::queue(&mut tx, &change, at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn handoff_ids(&self, conversation_id: i64) -> Result<(String, String)> {
        sqlx::query_as(
            "SELECT c.account_id, c.external_id FROM conversations c
             JOIN handoffs h ON h.conversation_id = c.id WHERE c.id = ?",
        )
        .bind(conversation_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!("no handoff with conversation id {conversation_id}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{commit_one, conversation, message, store_with_account};
    use crate::model::*;
    use crate::review::*;
    use crate::Store;

    const MIN: Millis = 60_000;
    const HOUR: Millis = 60 * MIN;
    const DAY: Millis = 24 * HOUR;

    /// Monday 2026-11-23 00:00 UTC.
    fn t0() -> Millis {
        chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .unwrap()
            .timestamp_millis()
    }

    struct Seed {
        id: &'static str,
        channel: Channel,
        source: SourceKind,
        reason: Option<&'static str>,
        at: Millis,
        /// The first agent reply, this long after the handoff.
        reply_after: Option<Millis>,
    }

    /// Commits one conversation: a handoff at `s.at` (or none, when `s.reason` is the
    /// string "no handoff"), an agent message before it, an internal agent note and a
    /// customer message right after it, and the agent's reply `reply_after` later.
    async fn commit(store: &Store, s: &Seed) -> i64 {
        let mut c = conversation(s.id, s.at + DAY);
        c.channel = s.channel;
        c.source = s.source;
        c.created_at = s.at - 10 * MIN;
        let is_handoff = s.reason != Some("no handoff");
        c.handoff = is_handoff.then_some(HandoffFacts {
            mode: HandoffMode::LiveChat,
            handed_off_at: Some(s.at),
        });
        let agent = |id: &str, at: Millis, internal: bool| Message {
            role: Role::Agent,
            internal,
            ..message(id, "agent text", at)
        };
        let mut messages = vec![
            agent("before", s.at - MIN, false),
            agent("note", s.at + 1_000, true),
            message("customer", "hello?", s.at + 2_000),
        ];
        messages.extend(s.reply_after.map(|d| agent("reply", s.at + d, false)));
        let transcript = TranscriptPage {
            messages,
            handoff_reason: s.reason.filter(|_| is_handoff).map(str::to_string),
            ..Default::default()
        };
        commit_one(store, c, transcript).await
    }

    fn scenario() -> Vec<Seed> {
        use Channel::*;
        use SourceKind::*;
        let t0 = t0();
        let seed = |id, channel, source, reason, at, reply_after| Seed {
            id,
            channel,
            source,
            reason,
            at,
            reply_after,
        };
        vec![
            // Monday 00:30 UTC: Sunday 23:30 in UTC-1.
            seed(
                "h1",
                Web,
                Zendesk,
                Some("Customer asked for a human"),
                t0 + 30 * MIN,
                Some(MIN),
            ),
            seed(
                "h2",
                Web,
                Zendesk,
                Some("Customer asked for a human"),
                t0 + 2 * HOUR,
                Some(2 * MIN),
            ),
            seed(
                "h3",
                Phone,
                Salesforce,
                Some("Wants a refund for order 12"),
                t0 + DAY + 3 * HOUR,
                Some(5 * MIN),
            ),
            // Tuesday 23:30 UTC: Wednesday 00:30 in UTC+1.
            seed(
                "h4",
                Phone,
                Salesforce,
                Some("App shows error 504"),
                t0 + DAY + 23 * HOUR + 30 * MIN,
                None,
            ),
            seed(
                "h5",
                Email,
                Zendesk,
                Some("The weather is nice"),
                t0 + 8 * DAY,
                Some(30_000),
            ),
            seed("h6", Web, Zendesk, None, t0 + 3 * HOUR, Some(10 * MIN)),
            // Before the period.
            seed(
                "h7",
                Web,
                Zendesk,
                Some("asked for a human"),
                t0 - DAY,
                Some(MIN),
            ),
            // Conversations of the period the AI did not hand off.
            seed("n1", Web, Zendesk, Some("no handoff"), t0 + 4 * HOUR, None),
            seed("n2", Email, Zendesk, Some("no handoff"), t0 + 9 * DAY, None),
        ]
    }

    async fn seeded() -> (
        tempfile::TempDir,
        Store,
        std::collections::HashMap<&'static str, i64>,
    ) {
        let (dir, store) = store_with_account().await;
        let mut ids = std::collections::HashMap::new();
        for s in scenario() {
            ids.insert(s.id, commit(&store, &s).await);
        }
        (dir, store, ids)
    }

    fn period(bucket: Bucket) -> ReviewQuery {
        ReviewQuery {
            since: t0(),
            until: t0() + 14 * DAY,
            bucket,
            source: None,
        }
    }

    fn all() -> HandoffFilter {
        HandoffFilter {
            since: t0(),
            until: t0() + 14 * DAY,
            ..Default::default()
        }
    }

    fn trend(points: &[TrendPoint]) -> Vec<(Millis, Option<&str>, u64)> {
        points
            .iter()
            .map(|p| (p.bucket_start, p.category.as_deref(), p.count))
            .collect()
    }

    #[tokio::test]
    async fn the_summary_is_what_the_scenario_says() {
        let (_d, store, _) = seeded().await;
        let s = store.review_summary(&period(Bucket::Day), 0).await.unwrap();
        let count = |category: Option<&str>, channel, source, count| CountRow {
            category: category.map(str::to_string),
            channel,
            source,
            count,
        };
        use Channel::*;
        use SourceKind::*;
        assert_eq!(
            s.counts,
            [
                count(None, Email, Zendesk, 1),
                count(None, Web, Zendesk, 1),
                count(Some("asked_for_human"), Web, Zendesk, 2),
                count(Some("policy_or_account"), Phone, Salesforce, 1),
                count(Some("technical"), Phone, Salesforce, 1),
            ]
        );
        assert_eq!((s.handed_off, s.conversations, s.uncategorised), (6, 8, 2));
        let t0 = t0();
        assert_eq!(
            trend(&s.trend),
            [
                (t0, None, 1),
                (t0, Some("asked_for_human"), 2),
                (t0 + DAY, Some("policy_or_account"), 1),
                (t0 + DAY, Some("technical"), 1),
                (t0 + 8 * DAY, None, 1),
            ]
        );
        let reasons: Vec<(&str, Option<&str>, u64)> = s
            .top_reasons
            .iter()
            .map(|r| (r.reason.as_str(), r.category.as_deref(), r.count))
            .collect();
        assert_eq!(
            reasons,
            [
                ("Customer asked for a human", Some("asked_for_human"), 2),
                ("App shows error 504", Some("technical"), 1),
                ("The weather is nice", None, 1),
                ("Wants a refund for order 12", Some("policy_or_account"), 1),
            ]
        );
        let reply = |channel, replied, p50: Option<i64>, p90: Option<i64>| FirstReply {
            channel,
            replied,
            p50_ms: p50,
            p90_ms: p90,
        };
        assert_eq!(
            s.first_reply,
            [
                reply(Email, 1, Some(30_000), Some(30_000)),
                // h4 has no reply yet.
                reply(Phone, 1, Some(5 * MIN), Some(5 * MIN)),
                // 1, 2 and 10 minutes: nearest rank.
                reply(Web, 3, Some(2 * MIN), Some(10 * MIN)),
            ]
        );
    }

    #[tokio::test]
    async fn trend_buckets_follow_the_time_zone() {
        let (_d, store, _) = seeded().await;
        let t0 = t0();
        let east = store
            .review_summary(&period(Bucket::Day), 60)
            .await
            .unwrap();
        assert_eq!(
            trend(&east.trend),
            [
                (t0 - HOUR, None, 1),
                (t0 - HOUR, Some("asked_for_human"), 2),
                (t0 + DAY - HOUR, Some("policy_or_account"), 1),
                // Wednesday already, in UTC+1.
                (t0 + 2 * DAY - HOUR, Some("technical"), 1),
                (t0 + 8 * DAY - HOUR, None, 1),
            ]
        );
        let week = store
            .review_summary(&period(Bucket::Week), 0)
            .await
            .unwrap();
        assert_eq!(
            trend(&week.trend),
            [
                (t0, None, 1),
                (t0, Some("asked_for_human"), 2),
                (t0, Some("policy_or_account"), 1),
                (t0, Some("technical"), 1),
                (t0 + 7 * DAY, None, 1),
            ]
        );
        let west = store
            .review_summary(&period(Bucket::Week), -60)
            .await
            .unwrap();
        assert_eq!(
            trend(&west.trend),
            [
                // h1 was handed off on Sunday evening, in UTC-1: the week before.
                (t0 - 7 * DAY + HOUR, Some("asked_for_human"), 1),
                (t0 + HOUR, None, 1),
                (t0 + HOUR, Some("asked_for_human"), 1),
                (t0 + HOUR, Some("policy_or_account"), 1),
                (t0 + HOUR, Some("technical"), 1),
                (t0 + 7 * DAY + HOUR, None, 1),
            ]
        );
    }

    #[tokio::test]
    async fn the_list_and_its_csv_are_what_the_scenario_says() {
        let (_d, store, ids) = seeded().await;
        let rows = store.review_handoffs(&all()).await.unwrap();
        let order: Vec<&str> = rows.iter().map(|r| r.external_id.as_str()).collect();
        assert_eq!(order, ["h5", "h4", "h3", "h6", "h2", "h1"], "newest first");
        let h3 = &rows[2];
        assert_eq!(h3.conversation_id, ids["h3"]);
        assert_eq!(
            (h3.channel, h3.source, h3.category.as_deref()),
            (
                Channel::Phone,
                SourceKind::Salesforce,
                Some("policy_or_account")
            )
        );
        assert_eq!(h3.first_reply_ms, Some(5 * MIN));
        assert_eq!(rows[1].first_reply_ms, None);
        assert_eq!(rows[3].reason, None);

        let csv = to_csv(&rows);
        let mut lines = csv.lines();
        assert_eq!(
            lines.next().unwrap(),
            "conversation_id,account_id,external_id,source,channel,handed_off_at,requester_name,reason,category,first_reply_ms,ended_by,ended_at,verdict,note,marked_by"
        );
        assert_eq!(
            lines.nth(2).unwrap(),
            format!(
                "{},acme,h3,salesforce,phone,2026-11-24T03:00:00Z,Maria,Wants a refund for order 12,policy_or_account,300000,,,,,",
                ids["h3"]
            )
        );
        assert_eq!(csv.lines().count(), 7);

        let limited = HandoffFilter {
            limit: Some(2),
            ..all()
        };
        assert_eq!(store.review_handoffs(&limited).await.unwrap().len(), 2);
        let phone_tech = HandoffFilter {
            category: Some(CategoryFilter("technical".into())),
            channel: Some(Channel::Phone),
            ..all()
        };
        let got = store.review_handoffs(&phone_tech).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].external_id, "h4");
        let by_source = HandoffFilter {
            source: Some(SourceKind::Salesforce),
            ..all()
        };
        assert_eq!(store.review_handoffs(&by_source).await.unwrap().len(), 2);
        // The numbers of one vendor, and the lists behind them, count the same handoffs.
        let salesforce = ReviewQuery {
            source: Some(SourceKind::Salesforce),
            ..period(Bucket::Day)
        };
        let s = store.review_summary(&salesforce, 0).await.unwrap();
        assert_eq!(
            s.counts.iter().map(|c| c.count).sum::<u64>(),
            store.review_handoffs(&by_source).await.unwrap().len() as u64
        );
        assert!(s.counts.iter().all(|c| c.source == SourceKind::Salesforce));
        // "Replied" lists only the handoffs a human replied to; a top reason only its own.
        let replied = HandoffFilter {
            replied: Some(true),
            ..all()
        };
        let got = store.review_handoffs(&replied).await.unwrap();
        assert!(!got.is_empty() && got.iter().all(|r| r.first_reply_ms.is_some()));
        let waiting = HandoffFilter {
            replied: Some(false),
            ..all()
        };
        let none = store.review_handoffs(&waiting).await.unwrap();
        assert!(none.iter().all(|r| r.first_reply_ms.is_none()));
        assert_eq!(got.len() + none.len(), rows.len());
        let one_reason = HandoffFilter {
            reason: Some("Wants a refund for order 12".into()),
            ..all()
        };
        let got = store.review_handoffs(&one_reason).await.unwrap();
        assert_eq!(
            got.iter()
                .map(|r| r.external_id.as_str())
                .collect::<Vec<_>>(),
            vec!["h3"]
        );
        // A trend bar's handoffs: its bucket as the period.
        let monday = HandoffFilter {
            since: t0(),
            until: t0() + DAY,
            ..all()
        };
        assert_eq!(store.review_handoffs(&monday).await.unwrap().len(), 3);

        let summary = store.review_summary(&period(Bucket::Day), 0).await.unwrap();
        let csv = summary_csv(&summary);
        assert!(csv.starts_with("section,name,category,channel,source,bucket_start,reason,count,p50_ms,p90_ms\ntotal,handed_off,,,,,,6,,\ntotal,conversations,,,,,,8,,\n"), "{csv}");
        assert!(
            csv.contains("\nfirst_reply,,,web,,,,3,120000,600000\n"),
            "{csv}"
        );
        assert!(
            csv.contains("\ntrend,,asked_for_human,,,2026-11-23T00:00:00Z,,2,,\n"),
            "{csv}"
        );
    }

    #[tokio::test]
    async fn uncategorised_handoffs_are_listed() {
        let (_d, store, _) = seeded().await;
        let filter = HandoffFilter {
            category: Some(CategoryFilter(UNCATEGORISED.into())),
            ..all()
        };
        let rows = store.review_handoffs(&filter).await.unwrap();
        let got: Vec<(&str, Option<&str>)> = rows
            .iter()
            .map(|r| (r.external_id.as_str(), r.reason.as_deref()))
            .collect();
        assert_eq!(got, [("h5", Some("The weather is nice")), ("h6", None)]);
    }

    #[tokio::test]
    async fn a_rule_edit_recategorises_and_a_bad_one_changes_nothing() {
        let (_d, store, ids) = seeded().await;
        let rule = |category: &str, kind, pattern: &str| NewRule {
            category: category.into(),
            kind,
            pattern: pattern.into(),
        };
        let before = store.category_rules().await.unwrap();
        assert_eq!(before.len(), 30);
        assert_eq!(before[0].pattern, "human");

        // What a rule would match, before it is saved.
        let preview = store
            .preview_rule(rule("other", RuleKind::Regex, r"ORDER \d+"), 10)
            .await
            .unwrap();
        assert_eq!(preview.len(), 1);
        assert_eq!(preview[0].external_id, "h3");
        assert_eq!(
            store
                .preview_rule(rule("other", RuleKind::Keyword, "a"), 2)
                .await
                .unwrap()
                .iter()
                .map(|r| r.external_id.as_str())
                .collect::<Vec<_>>(),
            ["h5", "h4"],
            "newest first, at most the limit"
        );

        let set = vec![
            rule("policy_or_account", RuleKind::Keyword, "refund"),
            rule("technical", RuleKind::Regex, r"error \d+"),
            rule("other", RuleKind::Keyword, "WEATHER"),
        ];
        // h1, h2 and h7 (outside the period too) lose asked_for_human; h5 becomes other.
        assert_eq!(store.save_category_rules(set.clone(), 1).await.unwrap(), 4);
        let saved = store.category_rules().await.unwrap();
        let back: Vec<NewRule> = saved.iter().map(Into::into).collect();
        assert_eq!(back, set);
        assert_eq!(
            saved.iter().map(|r| r.position).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let s = store.review_summary(&period(Bucket::Day), 0).await.unwrap();
        assert_eq!(s.uncategorised, 3);
        let detail = store.detail(ids["h5"]).await.unwrap();
        assert_eq!(
            detail.handoff.unwrap().reason_category.as_deref(),
            Some("other")
        );

        let bad = vec![
            rule("upset", RuleKind::Keyword, "angry"),
            rule("technical", RuleKind::Regex, "error (\\d+"),
        ];
        let e = store
            .save_category_rules(bad, 1)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("regex rule \"error (\\\\d+\" is not a valid pattern"),
            "{e}"
        );
        assert_eq!(
            store.category_rules().await.unwrap(),
            saved,
            "nothing saved"
        );
        assert_eq!(
            store
                .review_summary(&period(Bucket::Day), 0)
                .await
                .unwrap()
                .uncategorised,
            3,
            "nothing recategorised"
        );

        // A handoff synced after the edit is categorised by the new rules.
        commit(
            &store,
            &Seed {
                id: "h8",
                channel: Channel::Web,
                source: SourceKind::Zendesk,
                reason: Some("Error 42 on checkout"),
                at: t0() + 5 * DAY,
                reply_after: None,
            },
        )
        .await;
        let filter = HandoffFilter {
            category: Some(CategoryFilter("technical".into())),
            ..all()
        };
        let technical: Vec<String> = store
            .review_handoffs(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.external_id)
            .collect();
        assert_eq!(technical, ["h8", "h4"]);
        // Saving the same set again changes no handoff.
        assert_eq!(store.save_category_rules(set, 1).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn marks_survive_a_sync_and_filter_the_list() {
        let (_d, store, ids) = seeded().await;
        store
            .mark_handoff(
                ids["h3"],
                Verdict::Avoidable,
                Some("the AI knows the refund policy".into()),
                7,
            )
            .await
            .unwrap();
        store
            .mark_handoff(ids["h4"], Verdict::Avoidable, None, 8)
            .await
            .unwrap();
        // A second verdict replaces the first.
        store
            .mark_handoff(ids["h4"], Verdict::Needed, Some("  ".into()), 9)
            .await
            .unwrap();
        // h3 synced again (the vendor changed it): its mark stays.
        let seeds = scenario();
        commit(&store, seeds.iter().find(|s| s.id == "h3").unwrap()).await;

        let avoidable = HandoffFilter {
            verdict: Some(Verdict::Avoidable),
            ..all()
        };
        let rows = store.review_handoffs(&avoidable).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].external_id, "h3");
        assert_eq!(rows[0].verdict, Some(Verdict::Avoidable));
        assert_eq!(
            rows[0].note.as_deref(),
            Some("the AI knows the refund policy")
        );
        let csv = to_csv(&rows);
        assert!(
            csv.trim_end()
                .ends_with(",avoidable,the AI knows the refund policy,"),
            "{csv}"
        );

        let needed = HandoffFilter {
            verdict: Some(Verdict::Needed),
            ..all()
        };
        let rows = store.review_handoffs(&needed).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].external_id.as_str(), rows[0].note.as_deref()),
            ("h4", None)
        );

        store.unmark_handoff(ids["h4"], 10).await.unwrap();
        assert!(store.review_handoffs(&needed).await.unwrap().is_empty());
        store.unmark_handoff(ids["h4"], 10).await.unwrap();

        let e = store
            .mark_handoff(ids["n1"], Verdict::Needed, None, 1)
            .await
            .unwrap_err();
        assert!(matches!(e, crate::Error::NotFound(_)), "{e}");
    }
}
