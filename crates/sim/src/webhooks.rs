//! Zendesk-shaped webhook requests for ticket events, signed as Zendesk signs them:
//! `X-Zendesk-Webhook-Signature` = `base64(HMAC-SHA256(signing secret, timestamp + body))`,
//! where the timestamp is the `X-Zendesk-Webhook-Signature-Timestamp` header's text
//! (`2021-03-25T05:09:27Z`) and the key the signing secret's text. Written here from
//! Zendesk's docs ("Verifying webhook authenticity", "Anatomy of a webhook request",
//! "Webhook event types"), not taken from Baton: a test where Baton verifies what this
//! signs checks both sides.
//!
//! This builds requests; `delivery` sends them, `outgoing` decides which to send.

use crate::changes::Change;
use crate::world::{AuthorType, Event, Ticket, Wire, World};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "X-Zendesk-Webhook-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Zendesk-Webhook-Signature-Timestamp";
/// The simulated account's id (`account_id`, `X-Zendesk-Account-Id`).
pub const ACCOUNT_ID: u64 = 9_242_270;
/// The simulated webhook's id (`X-Zendesk-Webhook-Id`).
pub const WEBHOOK_ID: &str = "01SIMWEBHOOK0000000000000A";
/// The payload schema version Zendesk's event webhooks carry.
pub const EVENT_VERSION: &str = "2022-11-06";

/// An HTTP request, ready to send: always a POST of JSON for event webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// A header's value, its name compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// One Zendesk event about a ticket (`zen:event-type:ticket.*` or
/// `zen:event-type:messaging_ticket.message_added`), as its webhook payload says it.
#[derive(Debug, Clone, PartialEq)]
pub struct ZendeskEvent {
    /// The event's `id`: the same on every retry of it.
    pub id: String,
    pub account_id: u64,
    /// The full type, `zen:event-type:ticket.status_changed`.
    pub event_type: String,
    pub ticket_id: u64,
    /// `detail` besides its `id` (which is the ticket id, as a string).
    pub detail: Map<String, Value>,
    /// The `event` object (what changed: `current`/`previous`, the message…).
    pub event: Value,
    pub time: DateTime<Utc>,
}

/// Zendesk's ids in event payloads are strings.
fn id(v: Option<u64>) -> Value {
    v.map_or(Value::Null, |v| Value::String(v.to_string()))
}

fn upper(s: &str) -> Value {
    Value::String(s.to_ascii_uppercase())
}

fn stamp(at: DateTime<Utc>) -> Value {
    Value::String(at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Who wrote an event, when the account knows them.
fn author(e: &Event) -> Option<u64> {
    match e.wire {
        Wire::Comment { author_id, .. } => Some(author_id),
        Wire::Message { author_id, .. } => author_id,
        Wire::Activity { .. } => None,
    }
}

/// A ticket event's `detail`, every property the "Ticket events" reference lists (ids as
/// strings, enums upper case), but its `id`, which [`ZendeskEvent::body`] adds.
/// `actor_id` `-1` is Zendesk's own system.
fn detail(t: &Ticket, actor: Option<u64>) -> Map<String, Value> {
    let fields = [
        (
            "actor_id",
            Value::String(actor.map_or("-1".into(), |a| a.to_string())),
        ),
        ("assignee_id", id(t.assignee_id)),
        ("brand_id", Value::Null),
        ("created_at", stamp(t.created_at)),
        ("custom_status", Value::Null),
        (
            "description",
            json!(t.events.first().map(|e| e.text.as_str()).unwrap_or("")),
        ),
        ("external_id", Value::Null),
        ("form_id", Value::Null),
        ("group_id", id(t.group_id)),
        ("is_public", Value::Bool(true)),
        ("organization_id", Value::Null),
        ("priority", t.priority.map_or(Value::Null, upper)),
        ("requester_id", id(Some(t.requester_id))),
        ("status", upper(t.status)),
        ("subject", json!(t.subject)),
        ("submitter_id", id(Some(t.requester_id))),
        ("tags", json!(t.tags)),
        ("type", Value::Null),
        ("updated_at", stamp(t.updated_at)),
        ("via", json!({"channel": t.via_channel})),
    ];
    fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// A `messaging_ticket.message_added` event object: who wrote, and the message (its id
/// the Sunshine Conversations message id, as the conversation log gives it).
fn message_event(m: &Event) -> Value {
    let Wire::Message {
        author,
        author_name,
        author_id,
    } = &m.wire
    else {
        // A system activity: Zendesk's own doing.
        return json!({
            "actor": {"id": "zd:system", "name": "Zendesk", "type": "system"},
            "message": {"id": format!("{:024x}", m.id), "body": m.text},
        });
    };
    let (actor_type, actor_id) = match author {
        AuthorType::User => (
            "end_user",
            author_id.map_or("sim:user".into(), |a| a.to_string()),
        ),
        AuthorType::Bot => ("system", "zd:answerBot".to_string()),
        AuthorType::Agent => (
            "agent",
            author_id.map_or("sim:agent".into(), |a| a.to_string()),
        ),
    };
    json!({
        "actor": {"id": actor_id, "name": author_name, "type": actor_type},
        "message": {"id": format!("{:024x}", m.id), "body": m.text},
    })
}

impl ZendeskEvent {
    /// An event with an empty detail; its id derives from what it is about.
    pub fn new(event_type: &str, ticket_id: u64, time: DateTime<Utc>) -> Self {
        Self {
            id: format!(
                "sim-{ticket_id}-{}-{}",
                time.timestamp_millis(),
                event_type.rsplit('.').next().unwrap_or(event_type)
            ),
            account_id: ACCOUNT_ID,
            event_type: event_type.to_string(),
            ticket_id,
            detail: Map::new(),
            event: json!({}),
            time,
        }
    }

    /// An event about a ticket of the simulated account, its detail filled from the
    /// ticket as it is now. `message_added` carries the ticket's last messaging message.
    pub fn for_ticket(ticket: &Ticket, event_type: &str, time: DateTime<Utc>) -> Self {
        let mut e = Self::new(event_type, ticket.id, time);
        if event_type.ends_with("messaging_ticket.message_added") {
            if let Some(m) = ticket
                .events
                .iter()
                .rev()
                .find(|m| matches!(m.wire, Wire::Message { .. }))
            {
                e.event = message_event(m);
            }
            return e;
        }
        e.detail = detail(ticket, None);
        e.set_sequence(&e.id.clone(), 1, 1);
        e
    }

    /// The event Zendesk sends for one change to a ticket of `w`, by `actor` (`None`:
    /// the system, or whoever wrote what was added). Ticket events get their
    /// `meta.sequence` from [`ZendeskEvent::set_sequence`]. `None` for a change Zendesk
    /// announces no event for.
    pub(crate) fn for_change(
        w: &World,
        ticket_id: u64,
        change: &Change,
        actor: Option<u64>,
        time: DateTime<Utc>,
    ) -> Option<Self> {
        let ticket = w.tickets.get(&ticket_id);
        let (event_type, event) = match change {
            Change::PermanentlyDeleted => ("ticket.permanently_deleted", json!({})),
            Change::Created => ("ticket.created", json!({})),
            Change::SoftDeleted => ("ticket.soft_deleted", json!({})),
            Change::Undeleted => ("ticket.undeleted", json!({})),
            Change::StatusChanged { previous } => (
                "ticket.status_changed",
                json!({ "current": ticket.map(|t| upper(t.status)), "previous": upper(previous) }),
            ),
            Change::AgentAssignmentChanged { previous } => (
                "ticket.agent_assignment_changed",
                json!({ "current": id(ticket?.assignee_id), "previous": id(*previous) }),
            ),
            Change::GroupAssignmentChanged { previous } => (
                "ticket.group_assignment_changed",
                json!({ "current": id(ticket?.group_id), "previous": id(*previous) }),
            ),
            Change::TagsChanged { added, removed } => (
                "ticket.tags_changed",
                json!({ "tags_added": added, "tags_removed": removed }),
            ),
            Change::EventAdded { event_id } => {
                let added = ticket?.events.iter().find(|e| e.id == *event_id)?;
                match &added.wire {
                    Wire::Message { .. } | Wire::Activity { .. } => {
                        let mut e = Self::new(
                            "zen:event-type:messaging_ticket.message_added",
                            ticket_id,
                            time,
                        );
                        e.event = message_event(added);
                        return Some(e);
                    }
                    Wire::Comment { author_id, public } => (
                        "ticket.comment_added",
                        json!({ "comment": {
                            "id": added.id.to_string(),
                            "body": added.text,
                            "is_public": public,
                            "author": {
                                "id": author_id.to_string(),
                                "is_staff": w.users.get(author_id).is_some_and(|u| u.role != "end-user"),
                                "name": w.user_name(*author_id),
                            },
                        } }),
                    ),
                }
            }
        };
        let mut e = Self::new(&format!("zen:event-type:{event_type}"), ticket_id, time);
        // A ticket gone for good has nothing left to describe but its id.
        if let Some(t) = ticket {
            let actor = actor.or_else(|| match change {
                Change::EventAdded { event_id } => {
                    t.events.iter().find(|e| e.id == *event_id).and_then(author)
                }
                _ => None,
            });
            e.detail = detail(t, actor);
        }
        e.event = event;
        Some(e)
    }

    /// Places a ticket event in the sequence of events one action caused
    /// (`meta.sequence`); messaging events carry no sequence.
    pub(crate) fn set_sequence(&mut self, id: &str, position: usize, total: usize) {
        if !self.event_type.starts_with("zen:event-type:ticket.") {
            return;
        }
        if !self.event.is_object() {
            self.event = json!({});
        }
        self.event["meta"] =
            json!({ "sequence": { "id": id, "position": position, "total": total } });
    }

    /// The payload Zendesk posts.
    pub fn body(&self) -> Vec<u8> {
        let mut detail = self.detail.clone();
        detail.insert("id".into(), Value::String(self.ticket_id.to_string()));
        let v = json!({
            "account_id": self.account_id,
            "detail": detail,
            "event": self.event,
            "id": self.id,
            "subject": format!("zen:ticket:{}", self.ticket_id),
            "time": self.time.to_rfc3339_opts(SecondsFormat::Nanos, true),
            "type": self.event_type,
            "zendesk_event_version": EVENT_VERSION,
        });
        serde_json::to_vec(&v).expect("a JSON value serializes")
    }
}

/// Zendesk's signature of a request: `base64(HMAC-SHA256(secret, timestamp + body))`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The signature timestamp's form: `2021-03-25T05:09:27Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The request Zendesk sends for `event`, signed with `secret` at `sent_at` (a retry is
/// the same event signed again, later). `invocation` numbers the attempt.
pub fn signed_request(
    secret: &str,
    event: &ZendeskEvent,
    sent_at: DateTime<Utc>,
    invocation: u64,
) -> WebhookRequest {
    let body = event.body();
    WebhookRequest {
        headers: signature_headers(
            WEBHOOK_ID,
            secret,
            event.account_id,
            &body,
            sent_at,
            invocation,
        ),
        body,
    }
}

/// The headers of a request carrying `body`, signed as webhook `webhook_id` with its
/// `secret` at `sent_at`.
pub(crate) fn signature_headers(
    webhook_id: &str,
    secret: &str,
    account_id: u64,
    body: &[u8],
    sent_at: DateTime<Utc>,
    invocation: u64,
) -> Vec<(String, String)> {
    let ts = timestamp(sent_at);
    let signature = sign(secret, &ts, body);
    let headers = [
        ("Content-Type", "application/json".to_string()),
        ("User-Agent", "Zendesk Webhook".to_string()),
        ("X-Zendesk-Account-Id", account_id.to_string()),
        ("X-Zendesk-Webhook-Id", webhook_id.to_string()),
        ("X-Zendesk-Webhook-Invocation-Id", invocation.to_string()),
        (SIGNATURE_HEADER, signature),
        (TIMESTAMP_HEADER, ts),
    ];
    headers
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zendesk's "Messaging events" example (actor name shortened), signed with the
    /// sample secret from "Verifying webhook authenticity"; the signature was computed
    /// with `openssl dgst -sha256 -hmac … -binary | base64` and agreed with Python's hmac.
    #[test]
    fn the_signature_matches_one_computed_elsewhere() {
        let body = r#"{"account_id":21825834,"detail":{"id":"141"},"event":{"actor":{"id":"zd:answerBot","name":"Answer Bot","type":"system"},"message":{"body":"Hi there. How can I help you today?","id":"67ab5f55155becd183e284cb"}},"id":"01JQMQH83YNAKWSWJ8B1QH2NSC","subject":"zen:ticket:141","time":"2025-02-11T14:32:05.254571515Z","type":"zen:event-type:messaging_ticket.message_added","zendesk_event_version":"2022-11-06"}"#;
        assert_eq!(
            sign(
                "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==",
                "2025-02-11T14:32:05Z",
                body.as_bytes()
            ),
            "Ir26DdJ0r8SFCHS9LyLBv0GntYkyTRWdwygo7Vo2sVU="
        );
    }

    #[test]
    fn a_request_carries_the_headers_and_payload_zendesk_sends() {
        let at = DateTime::parse_from_rfc3339("2026-11-01T10:00:00.250Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = ZendeskEvent::new("zen:event-type:ticket.status_changed", 42, at);
        let r = signed_request("s3cret", &e, at, 7);
        assert_eq!(
            r.header("x-zendesk-webhook-signature-timestamp"),
            Some("2026-11-01T10:00:00Z")
        );
        assert_eq!(r.header("X-Zendesk-Webhook-Invocation-Id"), Some("7"));
        assert_eq!(
            r.header(SIGNATURE_HEADER),
            Some(sign("s3cret", "2026-11-01T10:00:00Z", &r.body).as_str())
        );
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["type"], "zen:event-type:ticket.status_changed");
        assert_eq!(v["detail"]["id"], "42");
        assert_eq!(v["subject"], "zen:ticket:42");
        assert_eq!(v["account_id"], ACCOUNT_ID);
        assert_eq!(v["zendesk_event_version"], EVENT_VERSION);
        assert_eq!(v["time"], "2026-11-01T10:00:00.250000000Z");
    }

    #[test]
    fn an_event_about_a_seeded_ticket_carries_its_state() {
        let now = Utc::now();
        let world = crate::scenario::Generator::new(3, now).world(10);
        let t = world
            .tickets
            .values()
            .find(|t| t.kind.is_messaging())
            .unwrap();
        let e = ZendeskEvent::for_ticket(t, "zen:event-type:ticket.status_changed", now);
        let v: Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v["detail"]["id"], t.id.to_string());
        assert_eq!(v["detail"]["status"], t.status.to_ascii_uppercase());
        assert_eq!(v["detail"]["tags"], json!(t.tags));
        assert_eq!(v["event"]["meta"]["sequence"]["id"], e.id);

        let m = ZendeskEvent::for_ticket(t, "zen:event-type:messaging_ticket.message_added", now);
        let v: Value = serde_json::from_slice(&m.body()).unwrap();
        assert_eq!(v["detail"], json!({"id": t.id.to_string()}));
        let last = t
            .events
            .iter()
            .rev()
            .find(|e| matches!(e.wire, Wire::Message { .. }))
            .unwrap();
        assert_eq!(v["event"]["message"]["body"], last.text);
        assert_eq!(v["event"]["message"]["id"], format!("{:024x}", last.id));
    }

    #[test]
    fn a_change_reads_as_the_event_zendesk_documents() {
        let now = Utc::now();
        let w = crate::scenario::Generator::new(3, now).world(10);
        let t = w.tickets.values().find(|t| !t.kind.is_messaging()).unwrap();
        let mut e = ZendeskEvent::for_change(&w, t.id, &Change::Created, Some(w.me), now).unwrap();
        e.set_sequence("seq-1", 1, 3);
        let v: Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v["type"], "zen:event-type:ticket.created");
        let documented = [
            "actor_id",
            "assignee_id",
            "brand_id",
            "created_at",
            "custom_status",
            "description",
            "external_id",
            "form_id",
            "group_id",
            "id",
            "is_public",
            "organization_id",
            "priority",
            "requester_id",
            "status",
            "subject",
            "submitter_id",
            "tags",
            "type",
            "updated_at",
            "via",
        ];
        let mut keys: Vec<&str> = v["detail"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys, documented,
            "the Ticket events reference's detail properties"
        );
        assert_eq!(v["detail"]["actor_id"], w.me.to_string());
        assert_eq!(v["detail"]["requester_id"], t.requester_id.to_string());
        assert_eq!(v["detail"]["via"]["channel"], t.via_channel);
        assert_eq!(
            v["event"],
            json!({"meta": {"sequence": {"id": "seq-1", "position": 1, "total": 3}}})
        );

        let gone =
            ZendeskEvent::for_change(&w, 999, &Change::PermanentlyDeleted, None, now).unwrap();
        let v: Value = serde_json::from_slice(&gone.body()).unwrap();
        assert_eq!(v["type"], "zen:event-type:ticket.permanently_deleted");
        assert_eq!(v["detail"], json!({"id": "999"}), "nothing left but its id");

        let missing = Change::EventAdded { event_id: 1 };
        assert!(ZendeskEvent::for_change(&w, t.id, &missing, None, now).is_none());

        let chat = w.tickets.values().find(|t| t.kind.is_messaging()).unwrap();
        let said = chat
            .events
            .iter()
            .find(|e| matches!(e.wire, Wire::Message { .. }))
            .unwrap();
        let added = Change::EventAdded { event_id: said.id };
        let mut m = ZendeskEvent::for_change(&w, chat.id, &added, None, now).unwrap();
        m.set_sequence("seq-2", 1, 1);
        assert_eq!(
            m.event_type,
            "zen:event-type:messaging_ticket.message_added"
        );
        assert!(
            m.event.get("meta").is_none(),
            "messaging events carry no sequence"
        );
        assert_eq!(m.event["message"]["body"], said.text);
    }
}
