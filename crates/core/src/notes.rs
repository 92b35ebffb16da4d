//! Reading the AI's internal notes: an Assist draft (reply text, training link, AI footer)
//! or a handoff summary (the reason the AI passed the conversation on). The markers are
//! configuration, because deployments word them differently. The markers say what a note
//! is, never who wrote it: anyone can type them, so the vendor mapping decides whose notes
//! are read this way (Zendesk: `mapping.ai_authors`) and shows the rest as plain notes.

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
}

impl Default for NoteMarkers {
    fn default() -> Self {
        Self {
            draft_footer: "Drafted by OpenCX AI".into(),
            training_prefix: "Training source:".into(),
            summary_heading: "OpenCX handoff summary".into(),
            reason_prefix: "Reason:".into(),
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
            let reason = body
                .lines()
                .find_map(|l| l.trim().strip_prefix(&self.reason_prefix))
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty());
            return Note::HandoffSummary { reason };
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
                reason: Some("wants a supervisor".into())
            }
        );
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
