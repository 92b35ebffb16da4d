//! Reading the AI's internal notes: an Assist draft (reply text, training link, AI footer)
//! or a handoff summary (the reason the AI passed the conversation on). The markers are
//! configuration, because deployments word them differently. The markers say what a note
//! is, never who wrote it: anyone can type them, so the vendor mapping decides whose notes
//! are read this way (Zendesk: `mapping.ai_authors`) and shows the rest as plain notes.

use crate::model::HandoffDetails;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NoteMarkers {
    /// A note containing this line is an Assist draft.
    pub draft_footer: String,
    /// The line that carries the training (knowledge source) link.
    pub training_prefix: String,
    /// A note whose first line contains this is a handoff summary.
    pub summary_heading: String,
    /// The summary line that carries the reason.
    pub reason_prefix: String,
    /// The summary lines that carry the rest (see [`HandoffDetails`]).
    pub asked_for_prefix: String,
    pub unresolved_prefix: String,
    pub transfer_prefix: String,
    pub follow_up_prefix: String,
    pub call_length_prefix: String,
    pub session_link_prefix: String,
}

impl Default for NoteMarkers {
    fn default() -> Self {
        Self {
            draft_footer: "Drafted by OpenCX AI".into(),
            training_prefix: "Training source:".into(),
            summary_heading: "OpenCX handoff summary".into(),
            reason_prefix: "Reason:".into(),
            asked_for_prefix: "Caller asked for:".into(),
            unresolved_prefix: "AI could not resolve:".into(),
            transfer_prefix: "Transferred to:".into(),
            follow_up_prefix: "Follow up by:".into(),
            call_length_prefix: "Call length:".into(),
            session_link_prefix: "View session in OpenCX:".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Draft {
        text: String,
        training_url: Option<String>,
    },
    HandoffSummary {
        reason: Option<String>,
        details: HandoffDetails,
    },
    Other,
}

fn is_separator(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t.chars().all(|c| matches!(c, '-' | '—' | '–' | '_'))
}

impl NoteMarkers {
    pub fn classify(&self, body: &str) -> Note {
        let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if !self.summary_heading.is_empty() && first.contains(&self.summary_heading) {
            // An empty prefix would match every line: such a part is simply not read.
            let line = |prefix: &str| {
                body.lines()
                    .find_map(|l| l.trim().strip_prefix(prefix).filter(|_| !prefix.is_empty()))
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty())
            };
            let details = HandoffDetails {
                asked_for: line(&self.asked_for_prefix),
                unresolved: line(&self.unresolved_prefix),
                transfer_to: line(&self.transfer_prefix),
                follow_up: line(&self.follow_up_prefix),
                call_seconds: line(&self.call_length_prefix).and_then(|l| call_seconds(&l)),
                session_link: line(&self.session_link_prefix)
                    .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            };
            return Note::HandoffSummary {
                reason: line(&self.reason_prefix),
                details,
            };
        }
        if self.draft_footer.is_empty() || !body.contains(&self.draft_footer) {
            return Note::Other;
        }
        let mut text_lines = Vec::new();
        let mut training_url = None;
        let mut in_text = true;
        for line in body.lines() {
            let t = line.trim();
            if let Some(url) = t.strip_prefix(&self.training_prefix) {
                training_url = Some(url.trim().to_string()).filter(|u| !u.is_empty());
                in_text = false;
            } else if t.contains(&self.draft_footer) || is_separator(t) {
                in_text = false;
            } else if in_text {
                text_lines.push(line);
            }
        }
        Note::Draft {
            text: text_lines.join("\n").trim().to_string(),
            training_url,
        }
    }
}

/// A call's length as a summary writes it: `4m 12s`, `1h 2m`, `252s`, `4 min`, `04:12` or
/// `1:02:03`. `None` for anything else (the card then works it out from the turns).
pub fn call_seconds(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.contains(':') {
        let parts: Vec<i64> = t
            .split(':')
            .map(|p| p.trim().parse::<i64>().ok().filter(|n| *n >= 0))
            .collect::<Option<_>>()?;
        if !(2..=3).contains(&parts.len()) || parts[1..].iter().any(|n| *n >= 60) {
            return None;
        }
        return Some(parts.iter().fold(0, |acc, n| acc * 60 + n));
    }
    let mut total = 0i64;
    let mut number: Option<i64> = None;
    let mut seen = false;
    let mut rest = t;
    while !rest.is_empty() {
        let c = rest.chars().next()?;
        if c.is_ascii_digit() {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if number.is_some() {
                return None;
            }
            number = Some(rest[..end].parse().ok()?);
            rest = &rest[end..];
        } else if c.is_whitespace() || c == ',' {
            rest = &rest[c.len_utf8()..];
        } else {
            let end = rest
                .find(|c: char| !c.is_alphabetic())
                .unwrap_or(rest.len());
            let unit = match rest[..end].to_ascii_lowercase().as_str() {
                "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
                "m" | "min" | "mins" | "minute" | "minutes" => 60,
                "s" | "sec" | "secs" | "second" | "seconds" => 1,
                _ => return None,
            };
            total = total.checked_add(number.take()?.checked_mul(unit)?)?;
            seen = true;
            rest = &rest[end..];
        }
    }
    (seen && number.is_none()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_note_splits_into_text_link_and_footer() {
        let body = "Hi Maria,\n\nI've issued the refund.\n\nTraining source: https://x.test/t/1\n—\nDrafted by OpenCX AI Assist. Review before sending.";
        assert_eq!(
            NoteMarkers::default().classify(body),
            Note::Draft {
                text: "Hi Maria,\n\nI've issued the refund.".into(),
                training_url: Some("https://x.test/t/1".into()),
            }
        );
    }

    #[test]
    fn a_summary_note_gives_its_reason() {
        let body = "OpenCX handoff summary\nReason: wants a supervisor\nMode: live chat";
        assert_eq!(
            NoteMarkers::default().classify(body),
            Note::HandoffSummary {
                reason: Some("wants a supervisor".into()),
                details: HandoffDetails::default(),
            }
        );
    }

    #[test]
    fn a_phone_summary_gives_its_two_parts_its_destination_and_its_length() {
        let live = "OpenCX handoff summary\nReason: refund over the limit\n\
            Caller asked for: a refund of $400 on order 1042\n\
            AI could not resolve: refunds over $250 need a person\nMode: live transfer\n\
            Transferred to: +1 415 555 0100\nCall length: 6m 40s\n\
            View session in OpenCX: https://app.opencx.test/sessions/sess_1";
        let Note::HandoffSummary { reason, details } = NoteMarkers::default().classify(live) else {
            panic!("a summary");
        };
        assert_eq!(reason.as_deref(), Some("refund over the limit"));
        assert_eq!(
            details,
            HandoffDetails {
                asked_for: Some("a refund of $400 on order 1042".into()),
                unresolved: Some("refunds over $250 need a person".into()),
                transfer_to: Some("+1 415 555 0100".into()),
                follow_up: None,
                call_seconds: Some(400),
                session_link: Some("https://app.opencx.test/sessions/sess_1".into()),
            }
        );
        let logged = "OpenCX handoff summary\nReason: x\nFollow up by: SMS\n\
            View session in OpenCX: javascript:alert(1)";
        let Note::HandoffSummary { details, .. } = NoteMarkers::default().classify(logged) else {
            panic!("a summary");
        };
        assert_eq!(details.follow_up.as_deref(), Some("SMS"));
        // Only a web link is ever offered to open.
        assert_eq!(details.session_link, None);
    }

    #[test]
    fn call_lengths_read_as_a_summary_writes_them() {
        for (text, secs) in [
            ("6m 40s", Some(400)),
            ("1h 2m", Some(3720)),
            ("252s", Some(252)),
            ("4 min", Some(240)),
            ("3 minutes, 5 seconds", Some(185)),
            ("04:12", Some(252)),
            ("1:02:03", Some(3723)),
            ("", None),
            ("4", None),
            ("4m 12", None),
            ("ages", None),
            ("1:75", None),
            ("-3:00", None),
            ("99999999999999999999h", None),
        ] {
            assert_eq!(call_seconds(text), secs, "{text:?}");
        }
    }

    #[test]
    fn ordinary_notes_and_custom_markers() {
        assert_eq!(
            NoteMarkers::default().classify("call back at 5"),
            Note::Other
        );
        let m = NoteMarkers {
            draft_footer: "[ai]".into(),
            ..Default::default()
        };
        assert!(matches!(m.classify("Hello\n[ai]"), Note::Draft { .. }));
    }
}
