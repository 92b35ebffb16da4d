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
    /// Who ended the session and when, once the vendor says it ended (a Salesforce
    /// MessagingSession's `EndedByType` and `EndTime`). Absent in records of older relays.
    #[serde(default)]
    pub ended: Option<SessionEnd>,
    /// The org's routing attributes (custom fields it routes on), as the card shows them,
    /// in display order. Absent in records of older relays.
    #[serde(default)]
    pub routing_attributes: Vec<RoutingAttribute>,
}

/// Who ended a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    Agent,
    /// The customer: the messaging channel's end user.
    EndUser,
    /// An AI agent or bot.
    Bot,
    /// The vendor itself (a timeout, routing, an admin's cleanup).
    System,
    /// A value this version does not know, as the vendor sent it.
    Other(String),
}

impl EndedBy {
    /// How the cache stores it: `agent`, `end_user`, `bot`, `system`, or `other:<as sent>`.
    pub fn code(&self) -> String {
        match self {
            EndedBy::Agent => "agent".into(),
            EndedBy::EndUser => "end_user".into(),
            EndedBy::Bot => "bot".into(),
            EndedBy::System => "system".into(),
            EndedBy::Other(s) => format!("other:{s}"),
        }
    }

    /// The reverse of [`EndedBy::code`]; any other text is kept as [`EndedBy::Other`].
    pub fn from_code(code: &str) -> Self {
        match code {
            "agent" => EndedBy::Agent,
            "end_user" => EndedBy::EndUser,
            "bot" => EndedBy::Bot,
            "system" => EndedBy::System,
            other => EndedBy::Other(other.strip_prefix("other:").unwrap_or(other).to_string()),
        }
    }

    /// "ended by the customer", for the card and the queue.
    pub fn sentence(&self) -> String {
        match self {
            EndedBy::Agent => "ended by the agent".into(),
            EndedBy::EndUser => "ended by the customer".into(),
            EndedBy::Bot => "ended by the bot".into(),
            EndedBy::System => "ended by the system".into(),
            EndedBy::Other(s) if s.trim().is_empty() => "ended".into(),
            EndedBy::Other(s) => format!("ended ({})", s.trim()),
        }
    }
}

/// How a session ended: who ended it, and when (when the vendor says).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SessionEnd {
    pub by: EndedBy,
    pub at: Option<Millis>,
}

/// One routing attribute as the card shows it: the org's name for it and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct RoutingAttribute {
    pub label: String,
    pub value: String,
}

impl Conversation {
    /// A conversation with nothing known but its id, source and channel, open since
    /// `at`: what a vendor mapping (or a test's fixture) fills in from.
    pub fn new(external_id: &str, source: SourceKind, channel: Channel, at: Millis) -> Self {
        Self {
            external_id: external_id.to_string(),
            source,
            channel,
            status: Status::Open,
            subject: String::new(),
            requester_name: None,
            assignee_id: None,
            assignee_name: None,
            group_id: None,
            group_name: None,
            priority: None,
            created_at: at,
            updated_at: at,
            ticket_url: None,
            session_url: None,
            opencx_org_id: None,
            opencx_contact_id: None,
            opencx_session_id: None,
            assist_skips: vec![],
            handoff: None,
            version: at.to_string(),
            wants_transcript: false,
            ended: None,
            routing_attributes: vec![],
        }
    }
}

/// What the AI's handoff summary says beyond its reason: the two parts of the reason,
/// and for a call, where it went and how long it lasted. Every part is optional: a
/// summary gives what it gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct HandoffDetails {
    /// What the customer (caller) asked for.
    pub asked_for: Option<String>,
    /// What the AI could not resolve.
    pub unresolved: Option<String>,
    /// A live transfer: the number the call was bridged to.
    pub transfer_to: Option<String>,
    /// A logged escalation: how the caller wants to be followed up (email, SMS,
    /// callback), as the summary says it.
    pub follow_up: Option<String>,
    /// The call's length in seconds.
    pub call_seconds: Option<i64>,
    /// The OpenCX session (recording, reasoning trace) the summary links to.
    pub session_link: Option<String>,
}

impl HandoffDetails {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
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
    /// The rest of the handoff summary, when this part of the transcript carries it.
    #[serde(default)]
    pub handoff_details: Option<HandoffDetails>,
    /// The session ended in this part of the transcript (a Zendesk messaging session's
    /// end activity): who ended it and when.
    #[serde(default)]
    pub session_end: Option<SessionEnd>,
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
    /// Who ended the session and when, for an ended one ("ended by the customer").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ended: Option<SessionEnd>,
    /// A live transfer's number, for the queue row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub transfer_to: Option<String>,
    /// A logged escalation's follow-up channel, for the queue row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub follow_up: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Handoff {
    pub mode: HandoffMode,
    pub reason: Option<String>,
    pub reason_category: Option<String>,
    pub handed_off_at: Millis,
    pub details: HandoffDetails,
}

/// Another conversation of the same customer (the same OpenCX contact), for the card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct RelatedConversation {
    pub id: i64,
    pub external_id: String,
    pub channel: Channel,
    pub status: Status,
    pub subject: String,
    pub created_at: Millis,
    pub ended: Option<SessionEnd>,
}

/// Who the customer is, as far as the vendor knows: a caller OpenCX matched to an
/// existing contact, or one known only by the number they called from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Caller {
    pub known: bool,
    pub name: Option<String>,
    pub contact_id: Option<String>,
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
    /// The org's routing attributes, in display order (empty where there are none).
    #[serde(default)]
    pub routing_attributes: Vec<RoutingAttribute>,
    pub handoff: Option<Handoff>,
    /// For a call: whether the caller matched a known contact.
    pub caller: Option<Caller>,
    /// The same customer's other conversations in this account, newest first: an earlier
    /// session that ended, or the new one that followed it.
    pub related: Vec<RelatedConversation>,
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
    fn who_ended_a_session_survives_the_cache_and_reads_as_a_sentence() {
        for by in [
            EndedBy::Agent,
            EndedBy::EndUser,
            EndedBy::Bot,
            EndedBy::System,
            EndedBy::Other("Supervisor".into()),
            EndedBy::Other("agent".into()),
        ] {
            assert_eq!(EndedBy::from_code(&by.code()), by);
        }
        assert_eq!(EndedBy::EndUser.sentence(), "ended by the customer");
        assert_eq!(EndedBy::Agent.sentence(), "ended by the agent");
        assert_eq!(EndedBy::Bot.sentence(), "ended by the bot");
        assert_eq!(EndedBy::System.sentence(), "ended by the system");
        assert_eq!(
            EndedBy::Other("Supervisor".into()).sentence(),
            "ended (Supervisor)"
        );
        assert_eq!(EndedBy::Other(" ".into()).sentence(), "ended");
    }

    #[test]
    fn a_conversation_from_an_older_build_reads_without_an_end_or_routing_attributes() {
        let mut old = serde_json::json!({
            "external_id": "1", "source": "salesforce", "channel": "web", "status": "open",
            "subject": "Web chat", "requester_name": null, "assignee_id": null,
            "assignee_name": null, "group_id": null, "group_name": null, "priority": null,
            "created_at": 1, "updated_at": 2, "ticket_url": null, "session_url": null,
            "opencx_org_id": null, "opencx_contact_id": null, "opencx_session_id": null,
            "assist_skips": [], "handoff": null, "version": "v", "wants_transcript": true
        });
        let c: Conversation = serde_json::from_value(old.clone()).unwrap();
        assert_eq!((c.ended, c.routing_attributes), (None, vec![]));
        old["ended"] = serde_json::json!({"by": {"other": "Supervisor"}, "at": 5});
        old["routing_attributes"] = serde_json::json!([{"label": "customer", "value": "vip"}]);
        let c: Conversation = serde_json::from_value(old).unwrap();
        assert_eq!(
            c.ended,
            Some(SessionEnd {
                by: EndedBy::Other("Supervisor".into()),
                at: Some(5)
            })
        );
        assert_eq!(c.routing_attributes[0].value, "vip");
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
