//! What reps do with Assist drafts: the text being edited (saved as they type), the
//! outcome (accepted, edited with how much, rejected with why), and the leads' report.

use crate::model::{AssistDraft, Millis};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DraftAction {
    /// Post the draft as it is.
    Accept,
    /// Post the rep's edited text.
    Send { text: String },
    /// Reject it, saying why.
    Reject { reason: String },
}

/// What the rep acted on: the draft they read, and the conversation's version as they
/// saw it (`ConversationDetail.version`).
#[derive(Debug, Clone, PartialEq, Deserialize, ts_rs::TS)]
pub struct Seen {
    pub draft_id: i64,
    pub version: String,
}

/// A draft as the rep saw it, against the conversation now.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftAsSeen {
    pub account_id: String,
    pub external_id: String,
    pub draft: AssistDraft,
    /// Why the reply must wait for the rep: what changed since they read it.
    pub changed: Option<String>,
}

/// What a public reply after a draft says of the draft, when the rep answered in the
/// helpdesk rather than through Baton: sent as it was, edited (by how many characters),
/// or set aside for an answer of their own. Whitespace at the ends of lines is not an edit.
pub fn outcome_of_reply(draft: &str, reply: &str) -> ReplyOutcome {
    // Edit distance is quadratic: a reply far longer than any draft is its own answer.
    const LONGEST: usize = 8_000;
    let tidy = |s: &str| -> String {
        s.lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    };
    let (a, b) = (tidy(draft), tidy(reply));
    if a == b {
        return ReplyOutcome::Accepted;
    }
    let longer = a.chars().count().max(b.chars().count());
    if longer > LONGEST {
        return ReplyOutcome::OwnAnswer;
    }
    let distance = strsim::levenshtein(&a, &b);
    // Half the text or more kept: the draft, edited; less: an answer of their own.
    if distance * 2 <= longer {
        ReplyOutcome::Edited {
            distance: distance as i64,
        }
    } else {
        ReplyOutcome::OwnAnswer
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyOutcome {
    Accepted,
    Edited { distance: i64 },
    OwnAnswer,
}

/// The rejection reason a draft set aside in the helpdesk is counted under.
pub const ANSWERED_OTHERWISE: &str = "answered differently in the helpdesk";

/// "who: “text”", cut to a glance: how a change since the rep read the conversation is
/// quoted back to them.
pub fn glance(who: &str, text: &str) -> String {
    let short: String = text.chars().take(80).collect();
    let cut = if text.chars().count() > 80 { "…" } else { "" };
    format!("{who}: “{short}{cut}”")
}

/// When the rep read the conversation: the version they saw, when it is a time (as
/// Zendesk's is); otherwise when the draft arrived.
pub(crate) fn read_at(seen: &Seen, draft: &AssistDraft) -> Millis {
    chrono::DateTime::parse_from_rfc3339(&seen.version)
        .map(|t| t.timestamp_millis())
        .unwrap_or(draft.created_at)
}

/// What a conversation holds now that the rep who read a draft on it did not see.
#[derive(Debug, Default)]
pub(crate) struct Moved {
    /// Another pending draft, as new as theirs or newer.
    pub newer_draft: bool,
    /// Why Baton could not read the conversation whole.
    pub sync_problem: Option<String>,
    /// The conversation is not at the version they saw.
    pub version_moved: bool,
    /// What customers wrote publicly since `read_at`, oldest first: (author, text).
    pub customer_news: Vec<(Option<String>, String)>,
}

impl Moved {
    /// Why the reply must wait for the rep instead of going out unseen, if it must.
    pub(crate) fn why_wait(&self) -> Option<String> {
        if self.newer_draft {
            Some("a newer Assist draft arrived since you read this one".to_string())
        } else if let Some(problem) = &self.sync_problem {
            // What the rep read may be missing what the customer wrote last.
            Some(format!(
                "Baton could not read all of this conversation ({problem}): read it in the helpdesk first"
            ))
        } else if self.version_moved {
            let news: Vec<String> = self
                .customer_news
                .iter()
                .map(|(who, text)| glance(who.as_deref().unwrap_or("the customer"), text))
                .collect();
            Some(if news.is_empty() {
                "the conversation changed since you read it".to_string()
            } else {
                format!("since you read it: {}", news.join(" · "))
            })
        } else {
            None
        }
    }
}

/// What came of an action: for a reply, where it is now and why.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ActionResult {
    pub external_id: String,
    /// The outbox key of the reply (none for a rejection).
    pub key: Option<String>,
    pub state: Option<crate::outbox::OutboxState>,
    pub message: Option<String>,
}

/// A reply's place in the outbox, for the draft panel.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ReplyStatus {
    pub key: String,
    pub draft_id: Option<i64>,
    pub state: crate::outbox::OutboxState,
    pub message: Option<String>,
}

/// One line of the drafts report: a rep and a topic over a period.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct DraftReportRow {
    pub rep: String,
    pub topic: String,
    pub drafts: i64,
    pub accepted: i64,
    pub edited: i64,
    pub rejected: i64,
    pub acceptance_rate: f64,
    pub edit_rate: f64,
    /// Mean edit distance of the edited ones, in characters.
    pub mean_edit_distance: Option<f64>,
    /// The rejection reasons, "reason (count)" joined by "; ".
    pub rejection_reasons: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DraftState;

    #[test]
    fn the_rep_read_it_at_the_version_they_saw_when_that_is_a_time() {
        let draft = AssistDraft {
            id: 1,
            source_note_id: "n".into(),
            text: "t".into(),
            training_url: None,
            state: DraftState::Pending,
            created_at: 1_500,
        };
        let at = |version: &str| {
            read_at(
                &Seen {
                    draft_id: 1,
                    version: version.into(),
                },
                &draft,
            )
        };
        assert_eq!(at("1970-01-01T00:00:02Z"), 2_000);
        assert_eq!(at("17"), 1_500, "not a time: when the draft arrived");
    }

    #[test]
    fn a_newer_draft_outranks_an_unread_part_which_outranks_a_new_version() {
        let all = Moved {
            newer_draft: true,
            sync_problem: Some("403".into()),
            version_moved: true,
            customer_news: vec![(None, "hi".into())],
        };
        assert!(all.why_wait().unwrap().contains("newer Assist draft"));
        let unread = Moved {
            newer_draft: false,
            ..all
        };
        assert!(unread.why_wait().unwrap().contains("(403)"));
        let moved = Moved {
            sync_problem: None,
            ..unread
        };
        assert_eq!(
            moved.why_wait().as_deref(),
            Some("since you read it: the customer: “hi”")
        );
        assert_eq!(Moved::default().why_wait(), None);
    }

    #[test]
    fn a_long_message_is_cut_to_a_glance() {
        let long = "é".repeat(81);
        assert_eq!(
            glance("Maria", &long),
            format!("Maria: “{}…”", "é".repeat(80))
        );
        assert_eq!(glance("Maria", "short"), "Maria: “short”");
    }
}

#[cfg(test)]
mod reply_tests {
    use super::*;

    #[test]
    fn a_reply_after_a_draft_says_whether_it_was_sent_edited_or_set_aside() {
        let draft = "Hi Maria,\n\nI've issued a full refund for order 1042.\n\nBest,\nSupport";
        assert_eq!(
            outcome_of_reply(
                draft,
                "Hi Maria,  \n\nI've issued a full refund for order 1042.\n\nBest,\nSupport\n"
            ),
            ReplyOutcome::Accepted
        );
        assert_eq!(
            outcome_of_reply(
                draft,
                "Hi Maria,\n\nI've issued a full refund for order 1042 today.\n\nBest,\nSupport"
            ),
            ReplyOutcome::Edited { distance: 6 }
        );
        assert_eq!(
            outcome_of_reply(draft, "Please send a photo of the damage first."),
            ReplyOutcome::OwnAnswer
        );
        assert_eq!(
            outcome_of_reply(draft, &"x".repeat(9_000)),
            ReplyOutcome::OwnAnswer
        );
    }
}
