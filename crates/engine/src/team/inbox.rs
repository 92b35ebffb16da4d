//! The relay's webhook receiver: Zendesk event webhooks at `POST /webhooks/zendesk/<account>`
//! and Sunshine Conversations webhooks at `POST /webhooks/sunco/<account>`. Each is checked
//! (signature or key, age, size, replay) and, if genuine, becomes a hint: the ticket goes
//! on the account's to-read list, where a burst for one ticket becomes one read. Refusals
//! are logged with their reason, never their body.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use baton_zendesk::webhooks::{
    SuncoVerifier, WebhookError, ZendeskHeaders, ZendeskVerifier, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TOLERANCE, SUNCO_API_KEY_HEADER,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Notify;

/// Conversations a webhook said changed, not read yet: a set, so a burst of events for
/// one ticket is read once.
#[derive(Default)]
pub struct ToRead {
    tickets: Mutex<BTreeSet<String>>,
    pub wake: Notify,
}

impl ToRead {
    pub fn add(&self, ticket: String) {
        self.tickets.lock().expect("to-read lock").insert(ticket);
        self.wake.notify_one();
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.tickets.lock().expect("to-read lock"))
            .into_iter()
            .collect()
    }

    /// Puts back what could not be read (the vendor failed): tried again later.
    pub fn put_back(&self, tickets: Vec<String>) {
        self.tickets.lock().expect("to-read lock").extend(tickets);
    }
}

/// Finds the ticket a messaging conversation belongs to.
pub type TicketFor = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
/// The relay's clock (a test's, in tests).
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

/// One account's checks and its to-read list.
pub struct InboxAccount {
    pub zendesk: Option<ZendeskVerifier>,
    pub sunco: Option<SuncoVerifier>,
    pub to_read: Arc<ToRead>,
    /// Messaging conversation → ticket, as the account's sync learned it.
    pub ticket_for: TicketFor,
}

pub struct Inbox {
    pub accounts: HashMap<String, InboxAccount>,
    /// False while this relay is the standby: webhooks are answered 503 so the vendor
    /// retries (reaching the active relay behind a load balancer, or this one later).
    pub active: AtomicBool,
    /// Event ids (or signatures) taken in the last tolerance window: a request seen
    /// again is a replay.
    seen: Mutex<HashMap<String, Instant>>,
    clock: Clock,
}

impl Inbox {
    pub fn new(accounts: HashMap<String, InboxAccount>, clock: Clock) -> Self {
        Self {
            accounts,
            active: AtomicBool::new(false),
            seen: Mutex::default(),
            clock,
        }
    }

    /// True the first time `key` is seen within the tolerance window.
    fn first_time(&self, keys: &[String]) -> bool {
        let mut seen = self.seen.lock().expect("seen lock");
        let now = Instant::now();
        seen.retain(|_, at| now.duration_since(*at) < DEFAULT_TOLERANCE);
        if !keys.is_empty() && keys.iter().all(|k| seen.contains_key(k)) {
            return false;
        }
        for k in keys {
            seen.insert(k.clone(), now);
        }
        true
    }
}

pub fn router(inbox: Arc<Inbox>) -> Router {
    Router::new()
        .route("/webhooks/zendesk/{account}", post(zendesk))
        .route("/webhooks/sunco/{account}", post(sunco))
        .route("/healthz", axum::routing::get(health))
        .route("/active", axum::routing::get(active))
        // One byte over the bound, so the verifier sees an oversized body and says 413.
        .layer(DefaultBodyLimit::max(DEFAULT_MAX_BODY_BYTES + 1))
        .layer(axum::middleware::map_response(retry_soon))
        .with_state(inbox)
}

type Answer = (StatusCode, &'static str);

/// A 503 (this relay stands by) says when to try again: Zendesk retries a 503 only when
/// it carries a `Retry-After` under a minute, and by then the active relay, or this one
/// after a takeover, takes it.
async fn retry_soon(mut r: axum::response::Response) -> axum::response::Response {
    if r.status() == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
    }
    r
}

async fn health(State(inbox): State<Arc<Inbox>>) -> Answer {
    if inbox.active.load(Ordering::Relaxed) {
        (StatusCode::OK, "active")
    } else {
        (StatusCode::OK, "standby")
    }
}

/// For a load balancer in front of both relays: only the active one answers 200.
async fn active(State(inbox): State<Arc<Inbox>>) -> Answer {
    match standby(&inbox) {
        Some(answer) => answer,
        None => (StatusCode::OK, "active"),
    }
}

fn refused(account: &str, kind: &str, e: &WebhookError) -> Answer {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    tracing::warn!(account, kind, status = status.as_u16(), problem = %e, "webhook refused");
    (status, "refused")
}

/// The account a webhook is for, and what checks it: an account the relay does not serve
/// is 404; one it has no secret for refuses every webhook (401).
fn checked_by<'a, V>(
    inbox: &'a Inbox,
    account: &str,
    vendor: &str,
    verifier: impl Fn(&'a InboxAccount) -> Option<&'a V>,
) -> Result<(&'a InboxAccount, &'a V), Answer> {
    let Some(a) = inbox.accounts.get(account) else {
        return Err((StatusCode::NOT_FOUND, "no such account"));
    };
    match verifier(a) {
        Some(v) => Ok((a, v)),
        None => {
            tracing::warn!(
                account,
                vendor,
                "webhook refused: the relay has no secret for it"
            );
            Err((StatusCode::UNAUTHORIZED, "refused"))
        }
    }
}

fn standby(inbox: &Inbox) -> Option<Answer> {
    (!inbox.active.load(Ordering::Relaxed))
        .then_some((StatusCode::SERVICE_UNAVAILABLE, "standby relay"))
}

async fn zendesk(
    State(inbox): State<Arc<Inbox>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (a, verifier) = match checked_by(&inbox, &account, "Zendesk", |a| a.zendesk.as_ref()) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let pairs = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)));
    let hint = match verifier.hint(ZendeskHeaders::from_pairs(pairs), &body, (inbox.clock)()) {
        Ok(hint) => hint,
        Err(e) => return refused(&account, "zendesk", &e),
    };
    if let Some(answer) = standby(&inbox) {
        return answer;
    }
    let Some(hint) = hint else {
        // Genuine, about something else than a ticket: nothing to read.
        return (StatusCode::OK, "ignored");
    };
    let key = match &hint.event_id {
        Some(id) => format!("zendesk:{id}"),
        None => format!(
            "zendesk-signature:{}",
            headers
                .get(baton_zendesk::webhooks::ZENDESK_SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        ),
    };
    if !inbox.first_time(&[key]) {
        tracing::warn!(
            account,
            ticket = hint.ticket_id,
            "Zendesk webhook refused: replayed"
        );
        return (StatusCode::UNAUTHORIZED, "replayed");
    }
    a.to_read.add(hint.ticket_id.to_string());
    (StatusCode::OK, "ok")
}

async fn sunco(
    State(inbox): State<Arc<Inbox>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let (a, verifier) = match checked_by(&inbox, &account, "Sunshine Conversations", |a| {
        a.sunco.as_ref()
    }) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let key = headers
        .get(SUNCO_API_KEY_HEADER)
        .and_then(|v| v.to_str().ok());
    let hints = match verifier.hints(key, &body) {
        Ok(h) => h,
        Err(e) => return refused(&account, "sunco", &e),
    };
    if let Some(answer) = standby(&inbox) {
        return answer;
    }
    let keys: Vec<String> = hints
        .iter()
        .filter_map(|h| h.event_id.as_ref().map(|id| format!("sunco:{id}")))
        .collect();
    if !inbox.first_time(&keys) {
        tracing::warn!(account, "Sunshine Conversations webhook refused: replayed");
        return (StatusCode::UNAUTHORIZED, "replayed");
    }
    for h in hints {
        match (a.ticket_for)(&h.conversation_id) {
            Some(ticket) => a.to_read.add(ticket),
            // A conversation whose ticket this relay has not exported yet (new, or the
            // relay just started): the export brings the ticket within its interval.
            None => tracing::debug!(
                account,
                "a messaging conversation not seen yet; the export brings it"
            ),
        }
    }
    (StatusCode::OK, "ok")
}
