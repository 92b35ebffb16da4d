//! The simulated Zendesk account: users, groups, ticket fields, tickets and their events.
//! Every event keeps its meaning (`Truth`) beside its wire form, so tests can check what
//! Baton made of the JSON against what the scenario meant, not against a second mapping.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    /// "agent", "admin" or "end-user"
    pub role: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    WebHandoff,
    PhoneLiveTransfer,
    PhoneLoggedEscalation,
    Assist,
    Ordinary,
}

impl Kind {
    pub fn is_handoff(self) -> bool {
        matches!(
            self,
            Kind::WebHandoff | Kind::PhoneLiveTransfer | Kind::PhoneLoggedEscalation
        )
    }

    /// Messaging tickets carry their transcript in the conversation log.
    pub fn is_messaging(self) -> bool {
        self.is_handoff()
    }
}

/// Who wrote a conversation-log message (the spec's `author.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorType {
    User,
    Bot,
    Agent,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment {
    pub id: u64,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

/// What an event means, for tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "truth")]
pub enum Truth {
    /// A transcript turn: customer, ai, agent or system.
    Turn {
        role: &'static str,
    },
    Draft {
        text: String,
        training_url: String,
    },
    Summary {
        reason: String,
        /// A call's summary parts, as the note says them (empty for web handoffs).
        #[serde(skip_serializing_if = "Option::is_none")]
        phone: Option<PhoneSummary>,
    },
}

/// What a call's handoff summary says beyond its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhoneSummary {
    pub asked_for: String,
    pub unresolved: Option<String>,
    pub transfer_to: Option<String>,
    pub follow_up: Option<String>,
    pub call_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Wire {
    /// `Messaging::ConversationMessage` in the conversation log (plain text content).
    Message {
        author: AuthorType,
        author_name: String,
        author_id: Option<u64>,
    },
    /// A ticket comment (`Comment`): in the comments API, and in the log with HTML content.
    Comment { author_id: u64, public: bool },
    /// A system activity Sunshine Conversations records as a message (`activityMessage`):
    /// `conversation:endedByUser`, `ticket:transfer:email` (an agent ended the session)
    /// or `ticket:closed`. Its truth is a system turn.
    Activity { kind: &'static str },
}

impl Wire {
    /// Who a session-ending activity says ended it (`end_user`, `agent`, `system`).
    pub fn ended_by(&self) -> Option<&'static str> {
        match self {
            Wire::Activity { kind } => match *kind {
                ACTIVITY_ENDED_BY_USER => Some("end_user"),
                ACTIVITY_TRANSFER_TO_EMAIL => Some("agent"),
                ACTIVITY_TICKET_CLOSED => Some("system"),
                _ => None,
            },
            _ => None,
        }
    }
}

pub const ACTIVITY_ENDED_BY_USER: &str = "conversation:endedByUser";
pub const ACTIVITY_TRANSFER_TO_EMAIL: &str = "ticket:transfer:email";
pub const ACTIVITY_TICKET_CLOSED: &str = "ticket:closed";

/// The line a session-ending activity shows the agent.
pub fn activity_text(kind: &str) -> &'static str {
    match kind {
        ACTIVITY_ENDED_BY_USER => "The customer ended the conversation and is back with the bot.",
        ACTIVITY_TRANSFER_TO_EMAIL => "The agent ended the messaging session; follow up by email.",
        _ => "The ticket was closed; the messaging session ended.",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: u64,
    pub created_at: DateTime<Utc>,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub wire: Wire,
    pub truth: Truth,
}

impl Event {
    /// A session-ending activity (one of the `ACTIVITY_*` kinds), with the line it shows.
    pub fn activity(id: u64, at: DateTime<Utc>, kind: &'static str) -> Self {
        Event {
            id,
            created_at: at,
            text: activity_text(kind).into(),
            attachments: vec![],
            wire: Wire::Activity { kind },
            truth: Truth::Turn { role: "system" },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: u64,
    pub kind: Kind,
    pub subject: String,
    pub status: &'static str,
    pub priority: Option<&'static str>,
    pub requester_id: u64,
    pub assignee_id: Option<u64>,
    pub group_id: Option<u64>,
    pub tags: Vec<String>,
    /// (ticket field id, value)
    pub custom_fields: Vec<(u64, Option<String>)>,
    pub via_channel: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Monotonic change counter: orders the incremental export when times tie.
    pub generation: u64,
    pub events: Vec<Event>,
    /// Comment redactions, oldest first (each is an audit in Zendesk).
    pub redactions: Vec<Redaction>,
}

impl Ticket {
    /// Whether its messaging session ended (an ending activity is in its transcript).
    pub fn session_ended(&self) -> bool {
        self.events.iter().any(|e| e.wire.ended_by().is_some())
    }
}

/// A comment redaction: Zendesk rewrites the comment in place and records an audit with
/// a `CommentRedactionEvent`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Redaction {
    pub audit_id: u64,
    pub comment_id: u64,
    pub created_at: DateTime<Utc>,
}

/// What a redaction leaves of each character (Zendesk's own symbol).
pub const REDACTED: char = '▇';

/// The tag prefix that makes a ticket an AI handoff, and the phone mode tags.
pub const HANDOFF_TAG_PREFIX: &str = "opencx_channel_";
pub const MODE_TAGS: &[&str] = &[
    "opencx_phone_live_transfer",
    "opencx_phone_logged_escalation",
];

impl Ticket {
    /// `kind` is how the ticket began; it is a handoff while its handoff tag stays.
    pub fn is_handoff(&self) -> bool {
        self.kind.is_handoff() && self.tags.iter().any(|t| t.starts_with(HANDOFF_TAG_PREFIX))
    }

    /// How many public comments carry exactly this text.
    pub fn public_comments_with(&self, text: &str) -> usize {
        self.events
            .iter()
            .filter(|e| e.text == text && matches!(e.wire, Wire::Comment { public: true, .. }))
            .count()
    }
}

pub const FIELD_ORG: u64 = 360_000_101;
pub const FIELD_CONTACT: u64 = 360_000_102;
pub const FIELD_SESSION: u64 = 360_000_103;
/// Captured at handoff: the Sunshine Conversations conversation behind a messaging ticket.
pub const FIELD_SUNCO: u64 = 360_000_104;

/// The Sunshine Conversations id of a messaging ticket's conversation (24 hex digits).
pub fn sunco_conversation_id(ticket_id: u64) -> String {
    format!("{:024x}", ticket_id.wrapping_mul(0x9e37_79b9))
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketField {
    pub id: u64,
    pub key: &'static str,
    pub title: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct World {
    pub users: BTreeMap<u64, User>,
    pub groups: BTreeMap<u64, Group>,
    pub fields: Vec<TicketField>,
    pub tickets: BTreeMap<u64, Ticket>,
    /// The agent the API credentials belong to (the rep).
    pub me: u64,
    /// The integration user that posts OpenCX notes.
    pub integration_user: u64,
    /// (agent, group) memberships.
    pub memberships: Vec<(u64, u64)>,
    pub next_id: u64,
    pub generation: u64,
}

impl World {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Marks a ticket changed, so the incremental export returns it again.
    pub fn touch(&mut self, ticket_id: u64, at: DateTime<Utc>) {
        self.generation += 1;
        let generation = self.generation;
        if let Some(t) = self.tickets.get_mut(&ticket_id) {
            t.updated_at = at.max(t.updated_at);
            t.generation = generation;
        }
    }

    /// Ends a web handoff's messaging session (`activity` is one of the `ACTIVITY_*`
    /// kinds): the activity is recorded in its transcript and the ticket stays open.
    /// False when there is no such messaging ticket or its session already ended.
    pub fn end_session(
        &mut self,
        ticket_id: u64,
        activity: &'static str,
        at: DateTime<Utc>,
    ) -> bool {
        let eid = self.next_id + 1;
        let Some(t) = self.tickets.get_mut(&ticket_id) else {
            return false;
        };
        if !t.kind.is_messaging() || t.session_ended() {
            return false;
        }
        t.events.push(Event::activity(eid, at, activity));
        self.next_id = eid;
        self.touch(ticket_id, at);
        true
    }

    /// Redacts `secret` wherever it appears in the event's text, as Zendesk's comment
    /// redaction does (each character becomes [`REDACTED`]), and records the audit.
    /// Returns false when the event does not exist or does not contain `secret`.
    pub fn redact(
        &mut self,
        ticket_id: u64,
        event_id: u64,
        secret: &str,
        at: DateTime<Utc>,
    ) -> bool {
        let audit_id = self.next_id + 1;
        let Some(e) = self
            .tickets
            .get_mut(&ticket_id)
            .and_then(|t| t.events.iter_mut().find(|e| e.id == event_id))
            .filter(|e| !secret.is_empty() && e.text.contains(secret))
        else {
            return false;
        };
        let blank: String = secret.chars().map(|_| REDACTED).collect();
        e.text = e.text.replace(secret, &blank);
        self.next_id = audit_id;
        let t = self.tickets.get_mut(&ticket_id).expect("found above");
        t.redactions.push(Redaction {
            audit_id,
            comment_id: event_id,
            created_at: at,
        });
        self.touch(ticket_id, at);
        true
    }

    /// Takes the handoff tags off a ticket (a rep or a trigger decided it is not one).
    pub fn remove_handoff_tags(&mut self, ticket_id: u64, at: DateTime<Utc>) -> bool {
        let Some(t) = self.tickets.get_mut(&ticket_id) else {
            return false;
        };
        let before = t.tags.len();
        t.tags.retain(|tag| {
            !tag.starts_with(HANDOFF_TAG_PREFIX) && !MODE_TAGS.contains(&tag.as_str())
        });
        if t.tags.len() == before {
            return false;
        }
        self.touch(ticket_id, at);
        true
    }

    pub fn user_name(&self, id: u64) -> String {
        self.users
            .get(&id)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    }
}
