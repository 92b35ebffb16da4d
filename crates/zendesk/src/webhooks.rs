//! Incoming webhooks, checked and read: a pure library, no HTTP server. The server that
//! receives them (the relay) hands over the headers and the raw body as received, and the
//! clock; this says whether the request is genuine and which ticket or conversation it
//! is about. A webhook is a hint, never data: the receiver fetches what changed itself.
//!
//! - **Zendesk** signs each request: `X-Zendesk-Webhook-Signature` is
//!   `base64(HMAC-SHA256(signing secret, X-Zendesk-Webhook-Signature-Timestamp + body))`,
//!   the timestamp header's text exactly as sent (ISO 8601, `2021-03-25T05:09:27Z`)
//!   followed directly by the raw body bytes; the key is the signing secret's text as
//!   shown by Zendesk (not base64-decoded). [`ZendeskVerifier`] checks it in constant
//!   time and refuses a timestamp too far from `now`.
//! - **Sunshine Conversations** sends the webhook's shared secret as `X-API-Key`.
//!   [`SuncoVerifier`] compares it in constant time.
//!
//! **Replays.** A genuine request captured and sent again within the timestamp tolerance
//! verifies again (and Sunco requests carry no timestamp at all): refusing a replay is
//! the caller's concern, by remembering the event ids it has seen for as long as the
//! tolerance ([`TicketHint::event_id`], [`SuncoHint::event_id`]). Since a hint only makes
//! the receiver re-read the vendor, a replay costs a fetch, never a wrong record.
//!
//! No error, and no `Debug` of anything here, contains the secret or the body.

use base64::Engine;
use baton_core::Sensitive;
use chrono::{DateTime, Utc};
use hmac::digest::CtOutput;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The header carrying Zendesk's signature (base64).
pub const ZENDESK_SIGNATURE_HEADER: &str = "X-Zendesk-Webhook-Signature";
/// The header carrying the time Zendesk signed, part of what it signed.
pub const ZENDESK_TIMESTAMP_HEADER: &str = "X-Zendesk-Webhook-Signature-Timestamp";
/// The header carrying a Sunshine Conversations webhook's shared secret.
pub const SUNCO_API_KEY_HEADER: &str = "X-API-Key";

/// How far a Zendesk timestamp may be from `now`, either way, by default.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// The largest body accepted by default. Event payloads are a few KiB (a ticket event
/// carries the ticket's description, a Sunco batch a few messages). The server should
/// stop reading at this bound itself; the check here is the second line.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Why a webhook was refused. [`WebhookError::http_status`] says what to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A header the check needs is absent (or empty): 401.
    #[error("unsigned webhook: no {header} header")]
    Unsigned { header: &'static str },
    /// The signature or key is not the one the secret gives (or not even base64): 401.
    #[error("webhook signature or key does not match")]
    BadSignature,
    /// The signed timestamp is not an RFC 3339 time: 401.
    #[error("webhook timestamp is not an RFC 3339 time")]
    BadTimestamp,
    /// Genuinely signed, but too old or too far in the future (`skew_secs` is positive
    /// when the timestamp is in the past): 401.
    #[error(
        "webhook timestamp is {skew_secs} s from now, beyond the {tolerance_secs} s tolerance"
    )]
    Stale { skew_secs: i64, tolerance_secs: u64 },
    /// The body is over the size bound: 413.
    #[error("webhook body of {got_bytes} bytes is over the {limit_bytes}-byte limit")]
    TooLarge {
        limit_bytes: usize,
        got_bytes: usize,
    },
    /// Genuine, but not the shape expected; names the field, never its value: 400.
    #[error("webhook body: {field}: {reason}")]
    Malformed { field: String, reason: &'static str },
}

impl WebhookError {
    /// The HTTP status a server answers with. 400 and 401 also tell Sunco not to retry.
    pub fn http_status(&self) -> u16 {
        match self {
            WebhookError::Unsigned { .. }
            | WebhookError::BadSignature
            | WebhookError::BadTimestamp
            | WebhookError::Stale { .. } => 401,
            WebhookError::TooLarge { .. } => 413,
            WebhookError::Malformed { .. } => 400,
        }
    }

    fn malformed(field: impl Into<String>, reason: &'static str) -> Self {
        WebhookError::Malformed {
            field: field.into(),
            reason,
        }
    }
}

/// A body whose signature or key checked out: the only thing the parsers read.
#[derive(Clone, Copy)]
pub struct Verified<'a> {
    body: &'a [u8],
}

impl<'a> Verified<'a> {
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

/// Never prints the body.
impl std::fmt::Debug for Verified<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verified({} bytes)", self.body.len())
    }
}

/// The two headers of a Zendesk webhook request, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZendeskHeaders<'a> {
    pub signature: Option<&'a str>,
    pub timestamp: Option<&'a str>,
}

impl<'a> ZendeskHeaders<'a> {
    /// Picks them out of a request's headers, names compared without case.
    pub fn from_pairs(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut found = Self::default();
        for (name, value) in headers {
            if found.signature.is_none() && name.eq_ignore_ascii_case(ZENDESK_SIGNATURE_HEADER) {
                found.signature = Some(value);
            } else if found.timestamp.is_none()
                && name.eq_ignore_ascii_case(ZENDESK_TIMESTAMP_HEADER)
            {
                found.timestamp = Some(value);
            }
        }
        found
    }
}

/// A request header's value, its name compared without case (the first one wins).
pub fn header<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    name: &str,
) -> Option<&'a str> {
    headers
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn bounded(body: &[u8], limit: usize) -> Result<(), WebhookError> {
    if body.len() > limit {
        return Err(WebhookError::TooLarge {
            limit_bytes: limit,
            got_bytes: body.len(),
        });
    }
    Ok(())
}

fn present<'a>(value: Option<&'a str>, header: &'static str) -> Result<&'a str, WebhookError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(WebhookError::Unsigned { header }),
    }
}

/// Checks Zendesk webhook signatures with one webhook's signing secret.
#[derive(Debug, Clone)]
pub struct ZendeskVerifier {
    secret: Sensitive<String>,
    tolerance: Duration,
    max_body_bytes: usize,
}

impl ZendeskVerifier {
    pub fn new(signing_secret: Sensitive<String>) -> Self {
        Self {
            secret: signing_secret,
            tolerance: DEFAULT_TOLERANCE,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// How far the signed timestamp may be from `now`, either way.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    pub fn with_max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Checks, in this order: the size bound, both headers present, the signature
    /// (constant time), then the timestamp within the tolerance of `now`. A request that
    /// is both forged and old is refused as forged. Replays inside the tolerance pass:
    /// see the module's note.
    pub fn verify<'a>(
        &self,
        headers: ZendeskHeaders<'_>,
        body: &'a [u8],
        now: DateTime<Utc>,
    ) -> Result<Verified<'a>, WebhookError> {
        bounded(body, self.max_body_bytes)?;
        let signature = present(headers.signature, ZENDESK_SIGNATURE_HEADER)?;
        let timestamp = present(headers.timestamp, ZENDESK_TIMESTAMP_HEADER)?;
        let claimed = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| WebhookError::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        // The header's text as sent: trimming above only drops what a proxy may have added
        // around it, never what Zendesk signed (a timestamp has no spaces).
        mac.update(timestamp.as_bytes());
        mac.update(body);
        mac.verify_slice(&claimed)
            .map_err(|_| WebhookError::BadSignature)?;
        let signed_at = DateTime::parse_from_rfc3339(timestamp)
            .map_err(|_| WebhookError::BadTimestamp)?
            .with_timezone(&Utc);
        let skew = now.signed_duration_since(signed_at);
        let tolerance = i64::try_from(self.tolerance.as_millis()).unwrap_or(i64::MAX);
        if skew.num_milliseconds().saturating_abs() > tolerance {
            return Err(WebhookError::Stale {
                skew_secs: skew.num_seconds(),
                tolerance_secs: self.tolerance.as_secs(),
            });
        }
        Ok(Verified { body })
    }

    /// [`ZendeskVerifier::verify`], then [`parse_zendesk`].
    pub fn hint(
        &self,
        headers: ZendeskHeaders<'_>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<TicketHint>, WebhookError> {
        parse_zendesk(self.verify(headers, body, now)?)
    }
}

/// Checks Sunshine Conversations webhooks with one webhook's shared secret.
#[derive(Debug, Clone)]
pub struct SuncoVerifier {
    secret: Sensitive<String>,
    max_body_bytes: usize,
}

impl SuncoVerifier {
    pub fn new(webhook_secret: Sensitive<String>) -> Self {
        Self {
            secret: webhook_secret,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    pub fn with_max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Checks the size bound, then that `X-API-Key` is the secret. Both sides are hashed
    /// first and the digests compared in constant time, so neither the content nor the
    /// length of the secret shows in the time taken. Sunco requests carry no timestamp:
    /// replays are the caller's concern (see the module's note).
    pub fn verify<'a>(
        &self,
        api_key: Option<&str>,
        body: &'a [u8],
    ) -> Result<Verified<'a>, WebhookError> {
        bounded(body, self.max_body_bytes)?;
        let given = present(api_key, SUNCO_API_KEY_HEADER)?;
        let given = CtOutput::<Sha256>::new(Sha256::digest(given.as_bytes()));
        let expected = CtOutput::<Sha256>::new(Sha256::digest(self.secret.expose().as_bytes()));
        // `CtOutput`'s equality is constant time (subtle).
        if given != expected {
            return Err(WebhookError::BadSignature);
        }
        Ok(Verified { body })
    }

    /// [`SuncoVerifier::verify`], then [`parse_sunco`].
    pub fn hints(
        &self,
        api_key: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<SuncoHint>, WebhookError> {
        parse_sunco(self.verify(api_key, body)?)
    }
}

/// What a Zendesk event says happened to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketChange {
    Created,
    CommentAdded,
    StatusChanged,
    AgentAssignmentChanged,
    GroupAssignmentChanged,
    TagsChanged,
    CustomFieldChanged,
    SoftDeleted,
    PermanentlyDeleted,
    Undeleted,
    Merged,
    MarkedAsSpam,
    /// `zen:event-type:messaging_ticket.message_added`: a messaging message.
    MessageAdded,
    /// Another `zen:event-type:ticket.*` event, by what follows `ticket.`: the ticket
    /// changed all the same.
    Other(String),
}

const TICKET_PREFIX: &str = "zen:event-type:ticket.";
const MESSAGE_ADDED: &str = "zen:event-type:messaging_ticket.message_added";

impl TicketChange {
    /// The change an event type names; `None` for events that are not about a ticket.
    pub fn from_event_type(event_type: &str) -> Option<Self> {
        if event_type == MESSAGE_ADDED {
            return Some(TicketChange::MessageAdded);
        }
        let rest = event_type.strip_prefix(TICKET_PREFIX)?;
        Some(match rest {
            "" => return None,
            "created" => TicketChange::Created,
            "comment_added" => TicketChange::CommentAdded,
            "status_changed" => TicketChange::StatusChanged,
            "agent_assignment_changed" => TicketChange::AgentAssignmentChanged,
            "group_assignment_changed" => TicketChange::GroupAssignmentChanged,
            "tags_changed" => TicketChange::TagsChanged,
            "custom_field_changed" => TicketChange::CustomFieldChanged,
            "soft_deleted" => TicketChange::SoftDeleted,
            "permanently_deleted" => TicketChange::PermanentlyDeleted,
            "undeleted" => TicketChange::Undeleted,
            "merged" => TicketChange::Merged,
            "marked_as_spam" => TicketChange::MarkedAsSpam,
            other => TicketChange::Other(other.to_string()),
        })
    }

    /// The ticket is gone from agents' views (re-reading it will answer 404 or deleted).
    pub fn is_deletion(&self) -> bool {
        matches!(
            self,
            TicketChange::SoftDeleted
                | TicketChange::PermanentlyDeleted
                | TicketChange::MarkedAsSpam
        )
    }
}

/// A Zendesk webhook, read: which ticket changed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketHint {
    pub ticket_id: u64,
    pub change: TicketChange,
    /// The event's `id`: the same on Zendesk's retries of one event, so a receiver can
    /// drop duplicates and replays by it.
    pub event_id: Option<String>,
    /// The account the event came from (`account_id`), to route it.
    pub account_id: Option<u64>,
}

fn json(body: &[u8]) -> Result<Value, WebhookError> {
    // serde_json's message may quote the body; only the position is kept.
    serde_json::from_slice(body).map_err(|e| WebhookError::Malformed {
        field: format!("(body, line {} column {})", e.line(), e.column()),
        reason: "not JSON",
    })
}

fn id_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
    .filter(|id| *id > 0)
}

fn text<'v>(v: &'v Value, pointer: &str, field: &str) -> Result<&'v str, WebhookError> {
    match v.pointer(pointer) {
        None | Some(Value::Null) => Err(WebhookError::malformed(field, "missing")),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(WebhookError::malformed(field, "empty")),
        Some(_) => Err(WebhookError::malformed(field, "not a string")),
    }
}

/// Reads a Zendesk event webhook (`{"type": "zen:event-type:…", "detail": {"id": …}, …}`)
/// into the ticket it is about. Event types that are not about a ticket give `None`; a
/// ticket event without a readable `detail.id` is an error naming the field.
pub fn parse_zendesk(body: Verified<'_>) -> Result<Option<TicketHint>, WebhookError> {
    let v = json(body.body)?;
    if !v.is_object() {
        return Err(WebhookError::malformed("(body)", "not an object"));
    }
    let Some(change) = TicketChange::from_event_type(text(&v, "/type", "type")?) else {
        return Ok(None);
    };
    let ticket_id = match v.pointer("/detail/id") {
        None | Some(Value::Null) => return Err(WebhookError::malformed("detail.id", "missing")),
        Some(id) => {
            id_number(id).ok_or_else(|| WebhookError::malformed("detail.id", "not a ticket id"))?
        }
    };
    Ok(Some(TicketHint {
        ticket_id,
        change,
        event_id: v.get("id").and_then(Value::as_str).map(str::to_string),
        account_id: v.get("account_id").and_then(id_number),
    }))
}

/// A `switchboard:*` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchboardAction {
    PassControl,
    ReleaseControl,
    OfferControl,
    AcceptControl,
    /// Another action, by its name (`switchboard:` taken off).
    Other(String),
}

/// What a Sunco event says happened to a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuncoChange {
    /// `conversation:message`: a new message.
    Message,
    /// `conversation:remove`: the conversation was deleted.
    Removed,
    /// `switchboard:<action>` or `switchboard:<action>:failure`. `reason` is the
    /// payload's (`ticketClosed`, `transferToEmail`), which says a messaging session
    /// ended when control leaves the Agent Workspace.
    Switchboard {
        action: SwitchboardAction,
        failed: bool,
        reason: Option<String>,
    },
}

/// One Sunco webhook event, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuncoHint {
    pub conversation_id: String,
    pub change: SuncoChange,
    /// The event's `id`: the same on Sunco's retries, so a receiver can drop duplicates.
    pub event_id: Option<String>,
    /// The payload's `app.id`, to route it.
    pub app_id: Option<String>,
}

fn sunco_change(event_type: &str, event: &Value) -> Option<SuncoChange> {
    match event_type {
        "conversation:message" => Some(SuncoChange::Message),
        "conversation:remove" => Some(SuncoChange::Removed),
        _ => {
            let rest = event_type.strip_prefix("switchboard:")?;
            let (name, failed) = match rest.strip_suffix(":failure") {
                Some(name) => (name, true),
                None => (rest, false),
            };
            let action = match name {
                "" => return None,
                "passControl" => SwitchboardAction::PassControl,
                "releaseControl" => SwitchboardAction::ReleaseControl,
                "offerControl" => SwitchboardAction::OfferControl,
                "acceptControl" => SwitchboardAction::AcceptControl,
                other => SwitchboardAction::Other(other.to_string()),
            };
            let reason = event
                .pointer("/payload/reason")
                .and_then(Value::as_str)
                .map(str::to_string);
            Some(SuncoChange::Switchboard {
                action,
                failed,
                reason,
            })
        }
    }
}

/// Reads a Sunco webhook (`{"app": {"id"}, "webhook": {…}, "events": [...]}`): one hint
/// per `conversation:message`, `conversation:remove` and `switchboard:*` event, in order;
/// other event types are left out. An event of those types without a conversation id is
/// an error naming it (`events[2].payload.conversation.id`).
pub fn parse_sunco(body: Verified<'_>) -> Result<Vec<SuncoHint>, WebhookError> {
    let v = json(body.body)?;
    let events = match v.get("events") {
        None | Some(Value::Null) => return Err(WebhookError::malformed("events", "missing")),
        Some(Value::Array(events)) => events,
        Some(_) => return Err(WebhookError::malformed("events", "not an array")),
    };
    let app_id = v
        .pointer("/app/id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut hints = vec![];
    for (i, event) in events.iter().enumerate() {
        let event_type = text(event, "/type", &format!("events[{i}].type"))?;
        let Some(change) = sunco_change(event_type, event) else {
            continue;
        };
        let conversation_id = text(
            event,
            "/payload/conversation/id",
            &format!("events[{i}].payload.conversation.id"),
        )?;
        hints.push(SuncoHint {
            conversation_id: conversation_id.to_string(),
            change,
            event_id: event.get("id").and_then(Value::as_str).map(str::to_string),
            app_id: app_id.clone(),
        });
    }
    Ok(hints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const SECRET: &str = "canary-9d41-webhook-SECRET";
    const TS: &str = "2026-11-01T10:00:00Z";

    fn at(ts: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(ts)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 10, 1, 0).unwrap()
    }

    /// The signature, computed here with the hmac crate directly, not through the verifier.
    fn sign(secret: &str, ts: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(ts.as_bytes());
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    fn verifier() -> ZendeskVerifier {
        ZendeskVerifier::new(Sensitive::new(SECRET.into()))
    }

    fn headers<'a>(sig: &'a str, ts: &'a str) -> ZendeskHeaders<'a> {
        ZendeskHeaders {
            signature: Some(sig),
            timestamp: Some(ts),
        }
    }

    fn ticket_event(event_type: &str, id: &str) -> String {
        format!(
            r#"{{"account_id":22129848,"detail":{{"id":{id},"status":"OPEN","subject":"Printer on fire"}},"event":{{}},"id":"cbe4028c-7239-495d-b020-f22348516046","subject":"zen:ticket:5158","time":"2026-11-01T10:00:00.672717030Z","type":"{event_type}","zendesk_event_version":"2022-11-06"}}"#
        )
    }

    /// The messaging example from Zendesk's "Messaging events" page (actor name shortened),
    /// signed with the sample secret from "Verifying webhook authenticity". The signature
    /// was computed outside Rust, with `openssl dgst -sha256 -hmac … -binary | base64` and
    /// Python's `hmac`, which agreed.
    const DOCS_SECRET: &str = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
    const DOCS_TS: &str = "2025-02-11T14:32:05Z";
    const DOCS_BODY: &str = r#"{"account_id":21825834,"detail":{"id":"141"},"event":{"actor":{"id":"zd:answerBot","name":"Answer Bot","type":"system"},"message":{"body":"Hi there. How can I help you today?","id":"67ab5f55155becd183e284cb"}},"id":"01JQMQH83YNAKWSWJ8B1QH2NSC","subject":"zen:ticket:141","time":"2025-02-11T14:32:05.254571515Z","type":"zen:event-type:messaging_ticket.message_added","zendesk_event_version":"2022-11-06"}"#;
    const DOCS_SIGNATURE: &str = "Ir26DdJ0r8SFCHS9LyLBv0GntYkyTRWdwygo7Vo2sVU=";

    #[test]
    fn a_signature_computed_elsewhere_verifies() {
        let v = ZendeskVerifier::new(Sensitive::new(DOCS_SECRET.into()));
        let hint = v
            .hint(
                headers(DOCS_SIGNATURE, DOCS_TS),
                DOCS_BODY.as_bytes(),
                at("2025-02-11T14:33:00Z"),
            )
            .unwrap();
        assert_eq!(
            hint,
            Some(TicketHint {
                ticket_id: 141,
                change: TicketChange::MessageAdded,
                event_id: Some("01JQMQH83YNAKWSWJ8B1QH2NSC".into()),
                account_id: Some(21825834),
            })
        );
    }

    #[test]
    fn a_signature_computed_with_hmac_verifies() {
        let body = ticket_event("zen:event-type:ticket.status_changed", "\"5158\"");
        let sig = sign(SECRET, TS, body.as_bytes());
        let got = verifier()
            .verify(headers(&sig, TS), body.as_bytes(), now())
            .unwrap();
        assert_eq!(got.body(), body.as_bytes());
    }

    #[test]
    fn header_names_are_found_without_case() {
        let body = b"{}";
        let sig = sign(SECRET, TS, body);
        let pairs = [
            ("content-type", "application/json"),
            ("x-zendesk-webhook-signature", sig.as_str()),
            ("X-ZENDESK-WEBHOOK-SIGNATURE-TIMESTAMP", TS),
        ];
        let h = ZendeskHeaders::from_pairs(pairs);
        assert_eq!(h.signature, Some(sig.as_str()));
        assert_eq!(h.timestamp, Some(TS));
        verifier().verify(h, body, now()).unwrap();
        assert_eq!(header(pairs, "Content-Type"), Some("application/json"));
        assert_eq!(header(pairs, "x-api-key"), None);
    }

    #[test]
    fn a_flipped_byte_in_the_body_is_refused() {
        let body = ticket_event("zen:event-type:ticket.created", "5158");
        let sig = sign(SECRET, TS, body.as_bytes());
        let mut tampered = body.clone().into_bytes();
        let i = tampered.iter().position(|b| *b == b'5').unwrap();
        tampered[i] = b'6';
        assert_eq!(
            verifier()
                .verify(headers(&sig, TS), &tampered, now())
                .unwrap_err(),
            WebhookError::BadSignature
        );
        // And each single bit anywhere.
        for i in 0..body.len() {
            let mut b = body.clone().into_bytes();
            b[i] ^= 0x01;
            assert!(
                verifier().verify(headers(&sig, TS), &b, now()).is_err(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let body = b"{}";
        let sig = sign("another-secret", TS, body);
        let err = verifier()
            .verify(headers(&sig, TS), body, now())
            .unwrap_err();
        assert_eq!(err, WebhookError::BadSignature);
        assert_eq!(err.http_status(), 401);
    }

    #[test]
    fn a_changed_timestamp_breaks_the_signature() {
        let body = b"{}";
        let sig = sign(SECRET, TS, body);
        assert_eq!(
            verifier()
                .verify(headers(&sig, "2026-11-01T10:00:30Z"), body, now())
                .unwrap_err(),
            WebhookError::BadSignature
        );
    }

    #[test]
    fn garbage_signatures_are_refused() {
        let body = b"{}";
        let good = sign(SECRET, TS, body);
        for sig in ["not base64!", "AAAA", &good[..good.len() - 4], "=="] {
            assert_eq!(
                verifier()
                    .verify(headers(sig, TS), body, now())
                    .unwrap_err(),
                WebhookError::BadSignature,
                "{sig}"
            );
        }
    }

    #[test]
    fn missing_headers_are_refused_as_unsigned() {
        let body = b"{}";
        let sig = sign(SECRET, TS, body);
        let cases = [
            (ZendeskHeaders::default(), ZENDESK_SIGNATURE_HEADER),
            (
                ZendeskHeaders {
                    signature: None,
                    timestamp: Some(TS),
                },
                ZENDESK_SIGNATURE_HEADER,
            ),
            (
                ZendeskHeaders {
                    signature: Some(&sig),
                    timestamp: None,
                },
                ZENDESK_TIMESTAMP_HEADER,
            ),
            (headers("  ", TS), ZENDESK_SIGNATURE_HEADER),
            (headers(&sig, ""), ZENDESK_TIMESTAMP_HEADER),
        ];
        for (h, missing) in cases {
            let err = verifier().verify(h, body, now()).unwrap_err();
            assert_eq!(err, WebhookError::Unsigned { header: missing });
            assert_eq!(err.http_status(), 401);
        }
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let body = b"{}";
        let v = verifier();
        // Six minutes old: genuine, but stale.
        let old = "2026-11-01T09:55:00Z";
        let err = v
            .verify(headers(&sign(SECRET, old, body), old), body, now())
            .unwrap_err();
        assert_eq!(
            err,
            WebhookError::Stale {
                skew_secs: 360,
                tolerance_secs: 300
            }
        );
        assert_eq!(err.http_status(), 401);
        // Six minutes ahead of the clock.
        let future = "2026-11-01T10:07:00Z";
        assert_eq!(
            v.verify(headers(&sign(SECRET, future, body), future), body, now())
                .unwrap_err(),
            WebhookError::Stale {
                skew_secs: -360,
                tolerance_secs: 300
            }
        );
        // At the edges, inside.
        for ts in ["2026-11-01T09:56:00Z", "2026-11-01T10:06:00Z"] {
            v.verify(headers(&sign(SECRET, ts, body), ts), body, now())
                .unwrap();
        }
        // A tighter tolerance.
        let tight = verifier().with_tolerance(Duration::from_secs(30));
        assert!(matches!(
            tight.verify(headers(&sign(SECRET, TS, body), TS), body, now()),
            Err(WebhookError::Stale { skew_secs: 60, .. })
        ));
    }

    #[test]
    fn a_forged_old_request_is_refused_as_forged() {
        let body = b"{}";
        let old = "2020-01-01T00:00:00Z";
        let sig = sign("another-secret", old, body);
        assert_eq!(
            verifier()
                .verify(headers(&sig, old), body, now())
                .unwrap_err(),
            WebhookError::BadSignature
        );
    }

    #[test]
    fn a_signed_timestamp_that_is_not_a_time_is_refused() {
        let body = b"{}";
        let ts = "1762000000";
        let err = verifier()
            .verify(headers(&sign(SECRET, ts, body), ts), body, now())
            .unwrap_err();
        assert_eq!(err, WebhookError::BadTimestamp);
        assert_eq!(err.http_status(), 401);
    }

    #[test]
    fn an_oversized_body_is_refused_before_anything_else() {
        let body = vec![b' '; DEFAULT_MAX_BODY_BYTES + 1];
        let sig = sign(SECRET, TS, &body);
        let err = verifier()
            .verify(headers(&sig, TS), &body, now())
            .unwrap_err();
        assert_eq!(
            err,
            WebhookError::TooLarge {
                limit_bytes: DEFAULT_MAX_BODY_BYTES,
                got_bytes: DEFAULT_MAX_BODY_BYTES + 1
            }
        );
        assert_eq!(err.http_status(), 413);
        // Even unsigned: the size is known before the headers are looked at.
        assert!(matches!(
            verifier().verify(ZendeskHeaders::default(), &body, now()),
            Err(WebhookError::TooLarge { .. })
        ));
        let small = verifier().with_max_body_bytes(10);
        let body = b"{\"a\":12345}";
        assert!(matches!(
            small.verify(headers(&sign(SECRET, TS, body), TS), body, now()),
            Err(WebhookError::TooLarge {
                limit_bytes: 10,
                got_bytes: 11
            })
        ));
        assert!(matches!(
            SuncoVerifier::new(Sensitive::new(SECRET.into()))
                .with_max_body_bytes(10)
                .verify(Some(SECRET), body),
            Err(WebhookError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_replay_within_the_window_verifies_again() {
        // Documented behaviour: dropping replays by event id is the caller's job.
        let body = ticket_event("zen:event-type:ticket.created", "7");
        let sig = sign(SECRET, TS, body.as_bytes());
        let v = verifier();
        let first = v.hint(headers(&sig, TS), body.as_bytes(), now()).unwrap();
        let again = v.hint(headers(&sig, TS), body.as_bytes(), now()).unwrap();
        assert_eq!(first, again);
    }

    fn parse(body: &str) -> Result<Option<TicketHint>, WebhookError> {
        parse_zendesk(Verified {
            body: body.as_bytes(),
        })
    }

    #[test]
    fn each_ticket_event_type_is_read() {
        let cases = [
            ("ticket.created", TicketChange::Created),
            ("ticket.comment_added", TicketChange::CommentAdded),
            ("ticket.status_changed", TicketChange::StatusChanged),
            (
                "ticket.agent_assignment_changed",
                TicketChange::AgentAssignmentChanged,
            ),
            (
                "ticket.group_assignment_changed",
                TicketChange::GroupAssignmentChanged,
            ),
            ("ticket.tags_changed", TicketChange::TagsChanged),
            (
                "ticket.custom_field_changed",
                TicketChange::CustomFieldChanged,
            ),
            ("ticket.soft_deleted", TicketChange::SoftDeleted),
            (
                "ticket.permanently_deleted",
                TicketChange::PermanentlyDeleted,
            ),
            ("ticket.undeleted", TicketChange::Undeleted),
            ("ticket.merged", TicketChange::Merged),
            ("ticket.marked_as_spam", TicketChange::MarkedAsSpam),
            (
                "ticket.priority_changed",
                TicketChange::Other("priority_changed".into()),
            ),
            ("messaging_ticket.message_added", TicketChange::MessageAdded),
        ];
        for (t, change) in cases {
            let hint = parse(&ticket_event(&format!("zen:event-type:{t}"), "\"5158\""))
                .unwrap()
                .unwrap();
            assert_eq!(hint.ticket_id, 5158, "{t}");
            assert_eq!(hint.change, change, "{t}");
            assert_eq!(
                hint.event_id.as_deref(),
                Some("cbe4028c-7239-495d-b020-f22348516046")
            );
            assert_eq!(hint.account_id, Some(22129848));
        }
        assert!(TicketChange::SoftDeleted.is_deletion());
        assert!(!TicketChange::CommentAdded.is_deletion());
    }

    #[test]
    fn a_numeric_ticket_id_is_read_too() {
        let hint = parse(&ticket_event("zen:event-type:ticket.created", "42"))
            .unwrap()
            .unwrap();
        assert_eq!(hint.ticket_id, 42);
    }

    #[test]
    fn events_not_about_tickets_are_ignored() {
        for t in [
            "zen:event-type:user.created",
            "zen:event-type:organization.created",
            "zen:event-type:messaging_ticket.something_else",
            "zen:event-type:ticket.",
            "zen:event-type:ticketing.created",
            "something else entirely",
        ] {
            // Their detail need not be a ticket's.
            let body = format!(r#"{{"type":"{t}","detail":{{"id":"x"}}}}"#);
            assert_eq!(parse(&body).unwrap(), None, "{t}");
        }
    }

    #[test]
    fn a_malformed_body_is_an_error_naming_the_field() {
        let cases = [
            ("not json", "(body, line 1 column 2)", "not JSON"),
            ("[1,2]", "(body)", "not an object"),
            (r#"{"detail":{"id":"1"}}"#, "type", "missing"),
            (r#"{"type":7,"detail":{"id":"1"}}"#, "type", "not a string"),
            (
                r#"{"type":"zen:event-type:ticket.created"}"#,
                "detail.id",
                "missing",
            ),
            (
                r#"{"type":"zen:event-type:ticket.created","detail":{"id":null}}"#,
                "detail.id",
                "missing",
            ),
            (
                r#"{"type":"zen:event-type:ticket.created","detail":{"id":"12a"}}"#,
                "detail.id",
                "not a ticket id",
            ),
            (
                r#"{"type":"zen:event-type:ticket.created","detail":{"id":-3}}"#,
                "detail.id",
                "not a ticket id",
            ),
            (
                r#"{"type":"zen:event-type:ticket.created","detail":{"id":0}}"#,
                "detail.id",
                "not a ticket id",
            ),
        ];
        for (body, field, reason) in cases {
            let err = parse(body).unwrap_err();
            assert_eq!(
                err,
                WebhookError::Malformed {
                    field: field.into(),
                    reason
                },
                "{body}"
            );
            assert_eq!(err.http_status(), 400);
        }
    }

    #[test]
    fn no_error_carries_the_secret_or_the_body() {
        let body = ticket_event("zen:event-type:ticket.created", "\"canary-BODY-7731\"");
        let v = verifier();
        let sig = sign(SECRET, TS, body.as_bytes());
        let sunco = SuncoVerifier::new(Sensitive::new(SECRET.into())).with_max_body_bytes(64);
        let mut errors = vec![
            v.verify(headers(&sig, TS), b"canary-BODY-7731", now()).unwrap_err(),
            v.verify(ZendeskHeaders::default(), body.as_bytes(), now())
                .unwrap_err(),
            v.verify(headers(&sig, TS), body.as_bytes(), at("2027-01-01T00:00:00Z"))
                .unwrap_err(),
            v.with_max_body_bytes(8)
                .verify(headers(&sig, TS), body.as_bytes(), now())
                .unwrap_err(),
            verifier()
                .hint(headers(&sig, TS), body.as_bytes(), now())
                .unwrap_err(),
            parse("canary-BODY-7731").unwrap_err(),
            parse(r#"{"type":"canary-BODY-7731"#).unwrap_err(),
            sunco.verify(Some("wrong"), b"{}").unwrap_err(),
            sunco.verify(Some(SECRET), body.as_bytes()).unwrap_err(),
            parse_sunco(Verified {
                body: br#"{"events":[{"type":"conversation:message","payload":{"conversation":{"id":7}}}],"canary-BODY-7731":1}"#,
            })
            .unwrap_err(),
        ];
        errors.push(WebhookError::BadTimestamp);
        for e in &errors {
            let shown = format!("{e:?} {e} {e:#?}");
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(!shown.contains("canary-BODY"), "{shown}");
        }
        let debug = format!(
            "{:?} {:?} {:?}",
            verifier(),
            sunco,
            Verified {
                body: body.as_bytes()
            }
        );
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(!debug.contains("canary-BODY"), "{debug}");
    }

    fn sunco() -> SuncoVerifier {
        SuncoVerifier::new(Sensitive::new(SECRET.into()))
    }

    #[test]
    fn sunco_checks_the_api_key() {
        let body = br#"{"events":[]}"#;
        assert_eq!(sunco().hints(Some(SECRET), body).unwrap(), vec![]);
        for wrong in [
            "canary-9d41-webhook-SECRE",
            "canary-9d41-webhook-SECRET2",
            "CANARY-9D41-WEBHOOK-SECRET",
            "x",
        ] {
            let err = sunco().verify(Some(wrong), body).unwrap_err();
            assert_eq!(err, WebhookError::BadSignature, "{wrong}");
            assert_eq!(err.http_status(), 401);
        }
        for missing in [None, Some(""), Some("   ")] {
            assert_eq!(
                sunco().verify(missing, body).unwrap_err(),
                WebhookError::Unsigned {
                    header: SUNCO_API_KEY_HEADER
                }
            );
        }
    }

    /// A payload after the spec's `x-webhooks` envelope and event schemas.
    const SUNCO_BODY: &str = r#"{
        "app": {"id": "5f1e6d4c3b2a190817263544"},
        "webhook": {"id": "582dedf230e788746891281a", "version": "v2"},
        "events": [
            {"id": "e1", "type": "conversation:message", "createdAt": "2026-11-01T10:00:00.000Z",
             "payload": {"conversation": {"id": "c93bb9c14dde8ffb94564eae", "type": "personal"},
                         "message": {"id": "m1", "author": {"type": "user"}, "content": {"type": "text", "text": "hi"}}}},
            {"id": "e2", "type": "conversation:read",
             "payload": {"conversation": {"id": "c93bb9c14dde8ffb94564eae"}}},
            {"id": "e3", "type": "switchboard:passControl",
             "payload": {"conversation": {"id": "c2"}, "reason": "ticketClosed"}},
            {"id": "e4", "type": "switchboard:releaseControl",
             "payload": {"conversation": {"id": "c3"}, "reason": "transferToEmail"}},
            {"id": "e5", "type": "switchboard:offerControl:failure",
             "payload": {"conversation": {"id": "c4"}, "error": {}}},
            {"id": "e6", "type": "switchboard:acceptControl",
             "payload": {"conversation": {"id": "c5"}}},
            {"id": "e7", "type": "conversation:remove",
             "payload": {"conversation": {"id": "c6"}}},
            {"id": "e8", "type": "user:merge", "payload": {}},
            {"type": "switchboard:somethingNew", "payload": {"conversation": {"id": "c7"}}}
        ]
    }"#;

    #[test]
    fn sunco_events_are_read_in_order_and_others_left_out() {
        let hints = sunco().hints(Some(SECRET), SUNCO_BODY.as_bytes()).unwrap();
        let app = Some("5f1e6d4c3b2a190817263544".to_string());
        let hint = |id: &str, change, event: Option<&str>| SuncoHint {
            conversation_id: id.into(),
            change,
            event_id: event.map(str::to_string),
            app_id: app.clone(),
        };
        let sb = |action, failed, reason: Option<&str>| SuncoChange::Switchboard {
            action,
            failed,
            reason: reason.map(str::to_string),
        };
        assert_eq!(
            hints,
            vec![
                hint("c93bb9c14dde8ffb94564eae", SuncoChange::Message, Some("e1")),
                hint(
                    "c2",
                    sb(SwitchboardAction::PassControl, false, Some("ticketClosed")),
                    Some("e3")
                ),
                hint(
                    "c3",
                    sb(
                        SwitchboardAction::ReleaseControl,
                        false,
                        Some("transferToEmail")
                    ),
                    Some("e4")
                ),
                hint(
                    "c4",
                    sb(SwitchboardAction::OfferControl, true, None),
                    Some("e5")
                ),
                hint(
                    "c5",
                    sb(SwitchboardAction::AcceptControl, false, None),
                    Some("e6")
                ),
                hint("c6", SuncoChange::Removed, Some("e7")),
                hint(
                    "c7",
                    sb(SwitchboardAction::Other("somethingNew".into()), false, None),
                    None
                ),
            ]
        );
    }

    #[test]
    fn a_malformed_sunco_body_is_an_error_naming_the_field() {
        let cases = [
            ("nope", "(body, line 1 column 2)", "not JSON"),
            (r#"{}"#, "events", "missing"),
            (r#"{"events":{}}"#, "events", "not an array"),
            (
                r#"{"events":[{"payload":{}}]}"#,
                "events[0].type",
                "missing",
            ),
            (
                r#"{"events":[{"type":"user:merge"},{"type":"conversation:message","payload":{}}]}"#,
                "events[1].payload.conversation.id",
                "missing",
            ),
            (
                r#"{"events":[{"type":"conversation:remove","payload":{"conversation":{"id":""}}}]}"#,
                "events[0].payload.conversation.id",
                "empty",
            ),
            (
                r#"{"events":[{"type":"switchboard:passControl","payload":{"conversation":{"id":3}}}]}"#,
                "events[0].payload.conversation.id",
                "not a string",
            ),
        ];
        for (body, field, reason) in cases {
            let err = sunco().hints(Some(SECRET), body.as_bytes()).unwrap_err();
            assert_eq!(
                err,
                WebhookError::Malformed {
                    field: field.into(),
                    reason
                },
                "{body}"
            );
            assert_eq!(err.http_status(), 400);
        }
    }

    #[test]
    fn a_sunco_body_is_not_read_unless_the_key_matches() {
        // A malformed body with a wrong key is refused for the key, not parsed.
        assert_eq!(
            sunco().hints(Some("wrong"), b"nope").unwrap_err(),
            WebhookError::BadSignature
        );
        assert_eq!(
            verifier()
                .hint(headers("AAAA", TS), b"nope", now())
                .unwrap_err(),
            WebhookError::BadSignature
        );
    }
}
