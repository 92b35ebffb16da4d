//! Zendesk-shaped webhook requests for ticket events, signed as Zendesk signs them:
//! `X-Zendesk-Webhook-Signature` = `base64(HMAC-SHA256(signing secret, timestamp + body))`,
//! where the timestamp is the `X-Zendesk-Webhook-Signature-Timestamp` header's text
//! (`2021-03-25T05:09:27Z`) and the key the signing secret's text. Written here from
//! Zendesk's docs ("Verifying webhook authenticity", "Anatomy of a webhook request",
//! "Webhook event types"), not taken from Baton: a test where Baton verifies what this
//! signs checks both sides.
//!
//! This builds requests; it does not send them (no loop, no retries, no faults yet).

use crate::world::{Ticket, Wire};
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
            if let Some((m, author)) = ticket.events.iter().rev().find_map(|m| match &m.wire {
                Wire::Message { author, .. } => Some((m, *author)),
                Wire::Comment { .. } => None,
            }) {
                let (actor_type, actor_id) = match author {
                    crate::world::AuthorType::User => ("end_user", "sim:user"),
                    crate::world::AuthorType::Bot => ("system", "zd:answerBot"),
                    crate::world::AuthorType::Agent => ("agent", "sim:agent"),
                };
                e.event = json!({
                    "actor": {"id": actor_id, "name": "", "type": actor_type},
                    "message": {"id": m.id.to_string(), "body": m.text},
                });
            }
            return e;
        }
        let upper = |s: &str| Value::String(s.to_ascii_uppercase());
        let fields = [
            ("assignee_id", id(ticket.assignee_id)),
            (
                "created_at",
                json!(ticket.created_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            ),
            ("group_id", id(ticket.group_id)),
            ("priority", ticket.priority.map_or(Value::Null, upper)),
            ("requester_id", id(Some(ticket.requester_id))),
            ("status", upper(ticket.status)),
            ("subject", json!(ticket.subject)),
            ("tags", json!(ticket.tags)),
            (
                "updated_at",
                json!(ticket.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            ),
            ("via", json!({"channel": ticket.via_channel})),
        ];
        e.detail = fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        e.event = json!({"meta": {"sequence": {"id": e.id, "position": 1, "total": 1}}});
        e
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
    let ts = timestamp(sent_at);
    let signature = sign(secret, &ts, &body);
    let headers = [
        ("Content-Type", "application/json".to_string()),
        ("X-Zendesk-Account-Id", event.account_id.to_string()),
        ("X-Zendesk-Webhook-Id", WEBHOOK_ID.to_string()),
        ("X-Zendesk-Webhook-Invocation-Id", invocation.to_string()),
        (SIGNATURE_HEADER, signature),
        (TIMESTAMP_HEADER, ts),
    ];
    WebhookRequest {
        headers: headers
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
        body,
    }
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
        assert_eq!(v["event"]["message"]["id"], last.id.to_string());
    }
}
