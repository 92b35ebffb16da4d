//! Text output for the terminal. Customer and vendor text is printed as text: control
//! characters (terminal escapes among them) are replaced, so a message cannot restyle
//! or rewrite the rep's terminal.

use baton_core::model::{ConversationDetail, Millis, QueueItem, SearchHit, SessionEnd, Unsent};
use baton_core::outbox::OutboxItem;
use chrono::{Local, TimeZone};

/// Vendor text made safe for a terminal; `keep_newlines` for multi-line bodies.
pub fn plain(s: &str, keep_newlines: bool) -> String {
    s.chars()
        .map(|c| match c {
            '\n' if keep_newlines => '\n',
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect()
}

pub fn one_line(s: &str, width: usize) -> String {
    let flat = plain(s, false);
    let flat = flat.trim();
    if flat.chars().count() <= width {
        flat.to_string()
    } else {
        let cut: String = flat.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// "45s", "12m", "3h 05m", "2d 4h": how long someone has waited.
pub fn waited(since: Millis, now: Millis) -> String {
    let s = ((now - since) / 1000).max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

pub fn local_time(at: Millis) -> String {
    Local
        .timestamp_millis_opt(at)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| at.to_string())
}

/// "Session ended by the customer · 2026-11-22 11:00:00" (without a time when the
/// vendor gave none).
pub fn session_end(end: &SessionEnd) -> String {
    let mut out = format!("Session {}", plain(&end.by.sentence(), false));
    if let Some(at) = end.at {
        out.push_str(&format!(" · {}", local_time(at)));
    }
    out
}

pub fn queue(items: &[QueueItem], now: Millis) -> String {
    if items.is_empty() {
        return "The queue is empty: no open handoffs and no pending Assist drafts.\n".into();
    }
    // Wide enough for the ids shown (a Salesforce session id is 18 characters), so each
    // can be given to `baton show` as printed.
    let ids: Vec<String> = items
        .iter()
        .map(|i| format!("#{}", one_line(&i.external_id, 24)))
        .collect();
    let id_width = ids
        .iter()
        .map(|id| id.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut out = format!(
        "{:>8}  {:<id_width$} {:<7} {:<18} {:<22} {}\n",
        "WAITING", "TICKET", "CHANNEL", "MODE", "CUSTOMER", "REASON"
    );
    for (i, id) in items.iter().zip(&ids) {
        let mode = match (i.handoff_mode, i.has_pending_draft) {
            (Some(m), _) => m.to_string(),
            (None, true) => "assist draft".into(),
            _ => String::new(),
        };
        let mut reason = i.reason.as_deref().unwrap_or(&i.subject).to_string();
        if let Some(end) = &i.ended {
            reason = format!("{} · {reason}", end.by.sentence());
        }
        // Where a call went: the number it was bridged to, or how to follow up.
        if let Some(to) = &i.transfer_to {
            reason = format!("→ {} · {reason}", plain(to, false));
        } else if let Some(by) = &i.follow_up {
            reason = format!("follow up by {} · {reason}", plain(by, false));
        }
        out.push_str(&format!(
            "{:>8}  {:<id_width$} {:<7} {:<18} {:<22} {}\n",
            waited(i.waiting_since, now),
            id,
            i.channel,
            mode,
            one_line(i.requester_name.as_deref().unwrap_or("—"), 22),
            one_line(&reason, 70),
        ));
    }
    out
}

pub fn detail(d: &ConversationDetail, now: Millis) -> String {
    let i = &d.item;
    let mut out = format!(
        "#{} · {} · {} · {}\n{}\n",
        plain(&i.external_id, false),
        i.channel,
        i.status,
        i.source,
        plain(&i.subject, false)
    );
    if let Some(end) = &i.ended {
        out.push_str(&session_end(end));
        out.push('\n');
    }
    if !d.routing_attributes.is_empty() {
        out.push_str("Routing attributes:\n");
        for a in &d.routing_attributes {
            out.push_str(&format!(
                "  {}: {}\n",
                plain(&a.label, false),
                plain(&a.value, false)
            ));
        }
    }
    if let Some(problem) = &i.sync_problem {
        out.push_str(&format!(
            "⚠ Baton could not read all of it: {} (retried when the ticket changes)\n",
            plain(problem, false)
        ));
    }
    if let Some(h) = &d.handoff {
        out.push_str(&format!(
            "\nHandoff: {} · handed off {} ({} ago)\nReason: {}\n",
            h.mode,
            local_time(h.handed_off_at),
            waited(h.handed_off_at, now),
            plain(h.reason.as_deref().unwrap_or("(no summary yet)"), false)
        ));
        let x = &h.details;
        let call = x
            .call_seconds
            .map(|s| format!("{}m {:02}s", s / 60, s % 60));
        for (label, v) in [
            ("Asked for", x.asked_for.as_deref()),
            ("AI could not resolve", x.unresolved.as_deref()),
            ("Transferred to", x.transfer_to.as_deref()),
            ("Follow up by", x.follow_up.as_deref()),
            ("Call length", call.as_deref()),
            ("View session in OpenCX", x.session_link.as_deref()),
        ] {
            if let Some(v) = v {
                out.push_str(&format!("{label}: {}\n", plain(v, false)));
            }
        }
    }
    if let Some(c) = &d.caller {
        let who = plain(c.name.as_deref().unwrap_or("unknown"), false);
        out.push_str(&if c.known {
            format!("Caller: {who} (a known contact)\n")
        } else {
            format!("Caller: {who} (new: OpenCX matched no contact to this number)\n")
        });
    }
    if !d.related.is_empty() {
        out.push_str("Same customer:\n");
        for r in &d.related {
            let ended = r
                .ended
                .as_ref()
                .map(|e| format!(" · {}", e.by.sentence()))
                .unwrap_or_default();
            out.push_str(&format!(
                "  #{} · {} · {} · {}{ended} · {}\n",
                plain(&r.external_id, false),
                r.channel,
                r.status,
                local_time(r.created_at),
                plain(&r.subject, false)
            ));
        }
    }
    for (label, v) in [
        ("org", &d.opencx_org_id),
        ("contact", &d.opencx_contact_id),
        ("session", &d.opencx_session_id),
    ] {
        if let Some(v) = v {
            out.push_str(&format!("OpenCX {label}: {}\n", plain(v, false)));
        }
    }
    // A Salesforce conversation's link opens its MessagingSession in the Service Console.
    let record = match i.source {
        baton_core::model::SourceKind::Zendesk => "Ticket",
        baton_core::model::SourceKind::Salesforce => "Service Console",
    };
    for (label, v) in [(record, &d.ticket_url), ("Session", &d.session_url)] {
        if let Some(v) = v {
            out.push_str(&format!("{label}: {}\n", plain(v, false)));
        }
    }
    out.push_str(&format!("\nTranscript ({} messages)\n", d.messages.len()));
    for m in &d.messages {
        let who = match &m.author_name {
            Some(n) if !n.is_empty() => format!("{} ({})", m.role, plain(n, false)),
            _ => m.role.to_string(),
        };
        let note = if m.internal { " [internal note]" } else { "" };
        out.push_str(&format!("  {} {who}{note}\n", local_time(m.created_at)));
        for line in plain(&m.body, true).lines() {
            out.push_str(&format!("      {line}\n"));
        }
        for a in &m.attachments {
            out.push_str(&format!(
                "      📎 {} <{}>\n",
                plain(&a.name, false),
                plain(&a.url, false)
            ));
        }
    }
    if !d.assist_skips.is_empty() {
        out.push_str(&format!(
            "\nAssist stayed quiet: {}\n",
            plain(&d.assist_skips.join(", "), false)
        ));
    }
    for draft in &d.drafts {
        out.push_str(&format!("\nAssist draft {} ({})\n", draft.id, draft.state));
        for line in plain(&draft.text, true).lines() {
            out.push_str(&format!("  │ {line}\n"));
        }
        if let Some(url) = &draft.training_url {
            out.push_str(&format!("  Training source: {}\n", plain(url, false)));
        }
        if draft.state == baton_core::model::DraftState::Pending {
            // What `baton draft` takes to send exactly what was read here.
            out.push_str(&format!(
                "  Send as read: baton draft accept {} --draft {} --seen {}\n",
                plain(&d.item.external_id, false),
                draft.id,
                plain(&d.version, false)
            ));
        }
    }
    out
}

pub fn hits(hits: &[SearchHit]) -> String {
    if hits.is_empty() {
        return "No message matches.\n".into();
    }
    hits.iter()
        .map(|h| {
            format!(
                "#{:<8} {:<8} {}  {}\n",
                one_line(&h.external_id, 8),
                h.role,
                local_time(h.created_at),
                one_line(&h.snippet, 90)
            )
        })
        .collect()
}

/// `baton outbox`: one line a reply.
pub fn outbox(items: &[OutboxItem]) -> String {
    if items.is_empty() {
        return "The outbox is empty.\n".into();
    }
    items
        .iter()
        .map(|i| {
            outbox_line(
                &i.state,
                &i.external_id,
                &i.idempotency_key,
                &i.reply.body,
                i.last_error.as_deref(),
            )
        })
        .collect()
}

/// The vendor's error can quote the customer's text, so it is made terminal-safe like
/// any vendor text.
fn outbox_line(
    state: &dyn std::fmt::Display,
    external_id: &str,
    key: &str,
    body: &str,
    error: Option<&str>,
) -> String {
    format!(
        "{:<10} #{:<8} {:<18} {}{}\n",
        state.to_string(),
        one_line(external_id, 8),
        one_line(key, 40),
        one_line(body, 50),
        error
            .map(|e| format!("  ({})", one_line(e, 200)))
            .unwrap_or_default()
    )
}

/// What removing `account` would lose, one line each.
pub fn unsent(account: &str, unsent: &Unsent) -> String {
    let mut out = format!(
        "{} has {} that would be lost:\n",
        plain(account, false),
        baton_engine::accounts::describe_unsent(unsent)
    );
    for t in unsent.replies.iter().chain(&unsent.edits) {
        let what = if t.state == "edit" {
            "saved edit".to_string()
        } else {
            format!("reply, {}", t.state)
        };
        out.push_str(&format!(
            "  #{:<8} {:<18} {}\n",
            one_line(&t.external_id, 8),
            what,
            one_line(&t.text, 60)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_in_vendor_text_are_neutralised() {
        let evil = "hi\u{1b}[2J\u{1b}]0;pwned\u{7}there\nnext";
        assert_eq!(
            plain(evil, true),
            "hi\u{fffd}[2J\u{fffd}]0;pwned\u{fffd}there\nnext"
        );
        assert!(!one_line(evil, 100).contains('\n'));
    }

    #[test]
    fn the_outbox_prints_vendor_errors_as_text() {
        let out = outbox_line(
            &"conflict",
            "7",
            "k1",
            "Hi\u{1b}[31m Maria",
            Some("the ticket changed: \u{1b}]0;pwned\u{7}\nnew line"),
        );
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
        assert_eq!(out.lines().count(), 1, "{out:?}");
        assert!(
            out.contains("the ticket changed") && out.contains("new line"),
            "{out}"
        );
    }

    #[test]
    fn waiting_times_read_naturally() {
        assert_eq!(waited(0, 45_000), "45s");
        assert_eq!(waited(0, 12 * 60_000), "12m");
        assert_eq!(waited(0, 3_900_000), "1h 05m");
        assert_eq!(waited(0, 2 * 86_400_000 + 4 * 3_600_000), "2d 4h");
        assert_eq!(waited(10_000, 0), "0s");
    }

    #[test]
    fn an_ended_session_says_who_ended_it_and_its_routing_attributes_as_text() {
        use baton_core::model::*;
        let base = handoff_detail();
        let item = QueueItem {
            account_id: "sf".into(),
            external_id: "0Mw000000000001AAA".into(),
            source: SourceKind::Salesforce,
            channel: Channel::Web,
            status: Status::Closed,
            subject: "Web chat".into(),
            requester_name: Some("Maria L.".into()),
            handoff_mode: Some(HandoffMode::LiveChat),
            reason: Some("wants a human".into()),
            ended: Some(SessionEnd {
                by: EndedBy::EndUser,
                at: None,
            }),
            follow_up: None,
            ..base.item.clone()
        };
        let d = ConversationDetail {
            item: item.clone(),
            routing_attributes: vec![RoutingAttribute {
                label: "customer".into(),
                value: "vip\u{1b}[2J".into(),
            }],
            ..base
        };
        let out = detail(&d, 0);
        assert!(out.contains("\nSession ended by the customer\n"), "{out}");
        assert!(
            out.contains("Routing attributes:\n  customer: vip\u{fffd}[2J\n"),
            "{out}"
        );
        assert!(!out.contains('\u{1b}'));
        let row = queue(&[item], 0);
        assert!(
            row.contains("ended by the customer · wants a human"),
            "{row}"
        );
        let timed = SessionEnd {
            by: EndedBy::System,
            at: Some(0),
        };
        assert_eq!(
            session_end(&timed),
            format!("Session ended by the system · {}", local_time(0))
        );
    }

    #[test]
    fn a_phone_handoff_shows_its_summary_parts_its_caller_and_their_other_sessions() {
        use baton_core::model::*;
        let mut d = handoff_detail();
        d.handoff = Some(Handoff {
            mode: HandoffMode::LoggedEscalation,
            reason: Some("refund over the limit".into()),
            reason_category: None,
            handed_off_at: 0,
            details: HandoffDetails {
                asked_for: Some("a refund".into()),
                unresolved: Some("over $250".into()),
                follow_up: Some("callback".into()),
                call_seconds: Some(400),
                ..Default::default()
            },
        });
        d.caller = Some(Caller {
            known: false,
            name: Some("+1 628 555 0142".into()),
            contact_id: Some("contact_9".into()),
        });
        d.related = vec![RelatedConversation {
            id: 2,
            external_id: "77".into(),
            channel: Channel::Web,
            status: Status::Open,
            subject: "Refund".into(),
            created_at: 0,
            ended: Some(SessionEnd {
                by: EndedBy::Agent,
                at: None,
            }),
        }];
        let out = detail(&d, 0);
        for line in [
            "Asked for: a refund\n",
            "AI could not resolve: over $250\n",
            "Follow up by: callback\n",
            "Call length: 6m 40s\n",
            "Caller: +1 628 555 0142 (new: OpenCX matched no contact to this number)\n",
            "  #77 · web · open · ",
            " · ended by the agent · Refund\n",
        ] {
            assert!(out.contains(line), "{line:?} in {out}");
        }
        assert!(!out.contains("Transferred to"));
    }

    /// A logged phone escalation with nothing else known: what each test changes.
    fn handoff_detail() -> baton_core::model::ConversationDetail {
        use baton_core::model::*;
        ConversationDetail {
            item: QueueItem {
                id: 1,
                account_id: "z".into(),
                external_id: "5".into(),
                source: SourceKind::Zendesk,
                channel: Channel::Phone,
                status: Status::Open,
                subject: "Call".into(),
                requester_name: None,
                assignee_id: None,
                assignee_name: None,
                group_id: None,
                group_name: None,
                scope: Scope::Other,
                is_handoff: true,
                handoff_mode: Some(HandoffMode::LoggedEscalation),
                reason: None,
                waiting_since: 0,
                has_pending_draft: false,
                sync_problem: None,
                ended: None,
                transfer_to: None,
                follow_up: Some("callback".into()),
            },
            priority: None,
            created_at: 0,
            updated_at: 0,
            ticket_url: None,
            session_url: None,
            opencx_org_id: None,
            opencx_contact_id: None,
            opencx_session_id: None,
            assist_skips: vec![],
            routing_attributes: vec![],
            handoff: None,
            caller: None,
            related: vec![],
            messages: vec![],
            drafts: vec![],
            version: "v".into(),
        }
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(one_line("注文番号について問い合わせ", 5), "注文番号…");
    }
}
