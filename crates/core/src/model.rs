//! The domain model shared by every vendor. Times are UTC milliseconds since the epoch:
//! they sort as integers in SQLite and carry no time-zone ambiguity.

use serde::{Deserialize, Serialize};

pub type Millis = i64;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

pub(crate) use string_enum;

string_enum!(
    /// Which vendor a conversation lives in.
    SourceKind { Zendesk => "zendesk", Salesforce => "salesforce" }
);

string_enum!(
    Channel {
        Web => "web", Phone => "phone", Email => "email", Whatsapp => "whatsapp",
        Sms => "sms", Other => "other",
    }
);

string_enum!(
    Role { Customer => "customer", Ai => "ai", Agent => "agent", System => "system" }
);

string_enum!(
    HandoffMode {
        LiveChat => "live_chat", LiveTransfer => "live_transfer",
        LoggedEscalation => "logged_escalation",
    }
);

string_enum!(
    DraftState {
        Pending => "pending", Accepted => "accepted", Edited => "edited",
        Rejected => "rejected", Sent => "sent", Failed => "failed",
    }
);

string_enum!(
    /// Whose a queue item is, for the rep: theirs, their groups' (unassigned), or other.
    Scope { Mine => "mine", MyGroups => "my_groups", Other => "other" }
);

string_enum!(
    Status {
        New => "new", Open => "open", Pending => "pending", Hold => "hold",
        Solved => "solved", Closed => "closed",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Attachment {
    pub name: String,
    pub url: String,
    pub content_type: Option<String>,
    pub size: Option<i64>,
}

/// One queue item as a vendor feed reports it (no transcript).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Conversation {
    pub external_id: String,
    pub source: SourceKind,
    pub channel: Channel,
    pub status: Status,
    pub subject: String,
    pub requester_name: Option<String>,
    pub assignee_id: Option<String>,
    pub assignee_name: Option<String>,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub priority: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub ticket_url: Option<String>,
    pub session_url: Option<String>,
    pub opencx_org_id: Option<String>,
    pub opencx_contact_id: Option<String>,
    pub opencx_session_id: Option<String>,
    /// Reasons the AI Assist stayed quiet on this conversation (from vendor tags).
    pub assist_skips: Vec<String>,
    /// A handoff detected from the conversation's own fields (tags); the transcript may add a reason.
    pub handoff: Option<HandoffFacts>,
    /// Opaque version of the conversation's content: when it differs from the stored one
    /// the transcript is fetched again (from the stored transcript cursor).
    pub version: String,
    /// False for conversations whose transcript Baton does not need (no AI involved, closed).
    pub wants_transcript: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct HandoffFacts {
    pub mode: HandoffMode,
    pub handed_off_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Message {
    pub external_id: String,
    pub role: Role,
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: Millis,
    pub attachments: Vec<Attachment>,
    /// An internal note (never shown to the customer).
    pub internal: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct DraftFacts {
    pub source_note_id: String,
    pub text: String,
    pub training_url: Option<String>,
    pub created_at: Millis,
}

/// What one transcript fetch adds to a conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct TranscriptPage {
    pub messages: Vec<Message>,
    pub drafts: Vec<DraftFacts>,
    /// The handoff reason summary, when this part of the transcript carries it.
    pub handoff_reason: Option<String>,
    pub handoff_at: Option<Millis>,
    /// Where the next fetch resumes; `None` keeps the stored one.
    pub cursor: Option<String>,
    /// Records of this part that could not be read and were left out, said for the rep.
    /// The cursor stays before the first of them, so the next fetch meets them again
    /// (and says so again) rather than skipping them for good.
    #[serde(default)]
    pub problem: Option<String>,
}

/// A conversation with everything fetched for it in one sync page.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    pub conversation: Conversation,
    /// `None` when the stored transcript is still current, or could not be read.
    pub transcript: Option<TranscriptPage>,
    /// Why the transcript could not be read (a 404 or 403 on it): the conversation is
    /// stored, marked with this, and its transcript tried again when it next changes.
    pub problem: Option<String>,
}

/// A queue row as the store returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct QueueItem {
    pub id: i64,
    pub account_id: String,
    pub external_id: String,
    pub source: SourceKind,
    pub channel: Channel,
    pub status: Status,
    pub subject: String,
    pub requester_name: Option<String>,
    pub assignee_id: Option<String>,
    pub assignee_name: Option<String>,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub scope: Scope,
    pub is_handoff: bool,
    pub handoff_mode: Option<HandoffMode>,
    pub reason: Option<String>,
    pub waiting_since: Millis,
    pub has_pending_draft: bool,
    /// Why the last sync could not read this conversation whole (shown to the rep);
    /// absent when all is well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub sync_problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Handoff {
    pub mode: HandoffMode,
    pub reason: Option<String>,
    pub reason_category: Option<String>,
    pub handed_off_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct AssistDraft {
    pub id: i64,
    pub source_note_id: String,
    pub text: String,
    pub training_url: Option<String>,
    pub state: DraftState,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ConversationDetail {
    pub item: QueueItem,
    pub priority: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub ticket_url: Option<String>,
    pub session_url: Option<String>,
    pub opencx_org_id: Option<String>,
    pub opencx_contact_id: Option<String>,
    pub opencx_session_id: Option<String>,
    pub assist_skips: Vec<String>,
    pub handoff: Option<Handoff>,
    pub messages: Vec<Message>,
    pub drafts: Vec<AssistDraft>,
    /// The conversation's version this detail shows (read in one snapshot with it): a
    /// draft action carries it back, so a reply goes out only on what the rep saw.
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SearchHit {
    pub conversation_id: i64,
    pub external_id: String,
    pub subject: String,
    pub role: Role,
    pub snippet: String,
    pub created_at: Millis,
}

/// A broad bucket for a reason summary, for the lead's analytics. Plain keyword rules:
/// good enough to group, and a reason that matches nothing stays "other".
pub fn reason_category(reason: &str) -> &'static str {
    let r = reason.to_lowercase();
    const RULES: &[(&str, &[&str])] = &[
        ("refund", &["refund", "money back", "chargeback"]),
        (
            "billing",
            &["invoice", "billing", "charge", "payment", "subscription"],
        ),
        (
            "account_access",
            &["login", "password", "log in", "locked", "2fa", "sign in"],
        ),
        (
            "human_requested",
            &["human", "person", "agent", "supervisor", "manager"],
        ),
        (
            "shipping",
            &["order", "delivery", "shipping", "package", "tracking"],
        ),
        (
            "technical",
            &["error", "bug", "crash", "not working", "broken"],
        ),
    ];
    RULES
        .iter()
        .find(|(_, words)| words.iter().any(|w| r.contains(w)))
        .map(|(cat, _)| *cat)
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_text() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Channel::parse("carrier-pigeon"), None);
    }

    #[test]
    fn reasons_fall_into_categories() {
        assert_eq!(
            reason_category("Customer wants a REFUND for order 12"),
            "refund"
        );
        assert_eq!(
            reason_category("asked to speak with a supervisor"),
            "human_requested"
        );
        assert_eq!(reason_category("unclear"), "other");
    }
}

/// A connected account as the UI sees it: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct AccountSummary {
    pub id: String,
    pub kind: SourceKind,
    pub base_url: String,
    pub login: Option<String>,
}

/// What removing an account would lose: replies not delivered yet (queued, sending,
/// failed or in conflict) and texts a rep was editing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct Unsent {
    pub replies: Vec<UnsentText>,
    pub edits: Vec<UnsentText>,
}

impl Unsent {
    pub fn is_empty(&self) -> bool {
        self.replies.is_empty() && self.edits.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct UnsentText {
    /// The ticket it was for.
    pub external_id: String,
    /// The reply's outbox state (`queued`, `failed`, …); `edit` for a saved edit.
    pub state: String,
    pub text: String,
}
