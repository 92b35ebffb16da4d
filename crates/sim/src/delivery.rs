//! Sending webhook requests, in the background. One lane per target keeps first attempts
//! in the order their events happened (unless a fault says otherwise); a retry waits on
//! its own task, as the vendor's rules say, so a failing request never holds back the
//! ones behind it. Nothing here touches the world: requests arrive built.
//!
//! The faults (`Faults::webhook_*`) are applied as a request leaves the queue, in the
//! order requests were made.

use crate::limits::Hold;
use crate::retry::{Next, Outcome, Tries, Vendor};
use crate::{lock, Shared};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Where the simulator sends one vendor's webhooks, and the secret they carry: the
/// signing secret for Zendesk, the `X-API-Key` value for Sunshine Conversations.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub url: String,
    pub secret: String,
}

impl WebhookTarget {
    /// A target at `url` with `secret`.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
        }
    }
}

/// Never prints the secret.
impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// How fast webhook time runs. 1.0 for both is the vendors' own timing (Zendesk: a 12 s
/// timeout, waits of seconds; Sunco: a 20 s timeout, retries over 15 minutes); tests
/// shrink them, e.g. `wait_scale: 0.001` turns Sunco's 15 minutes into under a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WebhookTiming {
    /// Multiplies every wait between attempts (retry backoffs and `Retry-After`).
    pub wait_scale: f64,
    /// Multiplies how long an attempt waits for an answer.
    pub timeout_scale: f64,
}

impl Default for WebhookTiming {
    fn default() -> Self {
        Self {
            wait_scale: 1.0,
            timeout_scale: 1.0,
        }
    }
}

impl WebhookTiming {
    fn wait(&self, vendor_time: Duration) -> Duration {
        vendor_time.mul_f64(self.wait_scale.max(0.0))
    }

    fn timeout(&self, vendor: Vendor) -> Duration {
        vendor.timeout().mul_f64(self.timeout_scale.max(0.0))
    }
}

/// What became of the webhook requests the simulator made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WebhookStats {
    /// Attempts made (first attempts, retries and duplicates).
    pub sent: u64,
    /// Attempts that were retries.
    pub retried: u64,
    /// Requests a receiver accepted (2xx).
    pub delivered: u64,
    /// Requests given up: an answer not retried, or retries used up.
    pub failed: u64,
    /// Requests the drop fault lost.
    pub dropped: u64,
    /// Extra copies the duplicate fault sent.
    pub duplicated: u64,
    /// Requests the delay fault held back.
    pub delayed: u64,
    /// Requests the reorder fault held and released out of order.
    pub reordered: u64,
    /// Requests not finished yet: queued, held, waiting or retrying.
    pub in_flight: u64,
}

/// How each attempt of a request proves where it comes from.
#[derive(Clone)]
pub(crate) enum Credential {
    /// Signed with the webhook's signing secret, as Zendesk signs.
    Zendesk { webhook_id: String, secret: String },
    /// The shared secret as `X-API-Key`, as Sunco sends it.
    Sunco { key: String },
}

impl Credential {
    fn vendor(&self) -> Vendor {
        match self {
            Credential::Zendesk { .. } => Vendor::Zendesk,
            Credential::Sunco { .. } => Vendor::Sunco,
        }
    }
}

/// One request to one target, as built when its event happened.
#[derive(Clone)]
pub(crate) struct Envelope {
    /// Names the target: requests to the same target share a lane.
    pub lane: String,
    pub url: String,
    pub body: bytes::Bytes,
    pub credential: Credential,
    /// Besides the vendor's own: an API-created webhook's authentication and custom
    /// headers.
    pub headers: Vec<(String, String)>,
    /// Names the request for the drop share: its target and its events.
    pub key: String,
    not_before: Option<Instant>,
    /// Zendesk's invocation id: retries keep it, a duplicate gets its own.
    invocation: u64,
}

impl Envelope {
    pub fn new(
        lane: String,
        url: String,
        body: bytes::Bytes,
        credential: Credential,
        headers: Vec<(String, String)>,
        key: String,
    ) -> Self {
        Self {
            lane,
            url,
            body,
            credential,
            headers,
            key,
            not_before: None,
            invocation: 0,
        }
    }
}

enum Job {
    Send(Box<Envelope>),
    /// The faults were set: held requests go out if the reorder fault was switched off.
    FaultsChanged,
}

/// The queue of requests waiting to be sent; sending to it never blocks.
pub(crate) struct Outbox {
    tx: UnboundedSender<Job>,
}

/// The queue's other end, for [`spawn`].
pub(crate) struct Inbox(UnboundedReceiver<Job>);

impl Outbox {
    pub fn new() -> (Outbox, Inbox) {
        let (tx, rx) = unbounded_channel();
        (Outbox { tx }, Inbox(rx))
    }

    /// Queues a request; the caller has counted it in flight.
    pub fn send(&self, e: Envelope) {
        let _ = self.tx.send(Job::Send(Box::new(e)));
    }

    pub fn faults_changed(&self) {
        let _ = self.tx.send(Job::FaultsChanged);
    }
}

/// Starts sending what the outbox receives. Aborting the handle stops every lane and
/// retry with it (their `JoinSet`s drop).
pub(crate) fn spawn(shared: Arc<Shared>, inbox: Inbox, timing: WebhookTiming) -> JoinHandle<()> {
    tokio::spawn(dispatch(shared, inbox.0, timing))
}

async fn dispatch(shared: Arc<Shared>, mut rx: UnboundedReceiver<Job>, timing: WebhookTiming) {
    let client = reqwest::Client::builder()
        // A webhook is one request: Zendesk and Sunco do not follow redirects.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a plain HTTP client builds");
    let mut lanes: HashMap<String, UnboundedSender<Envelope>> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut held: Vec<Envelope> = vec![];
    let mut invocations = 0u64;
    while let Some(job) = rx.recv().await {
        let mut ready = vec![];
        match job {
            Job::FaultsChanged => {
                if lock(&shared.faults).webhook_reorders == 0 {
                    ready.extend(held.drain(..).rev());
                }
            }
            Job::Send(mut e) => {
                let fate = lock(&shared.faults).take_webhook(&e.key, shared.seed);
                {
                    let mut stats = lock(&shared.stats);
                    let s = &mut stats.webhooks;
                    if fate.drop {
                        s.dropped += 1;
                        s.in_flight -= 1;
                        continue;
                    }
                    s.duplicated += u64::from(fate.duplicate);
                    s.in_flight += u64::from(fate.duplicate);
                    s.delayed += u64::from(fate.delay_ms > 0);
                    s.reordered += u64::from(fate.hold != Hold::No);
                }
                if fate.delay_ms > 0 {
                    e.not_before = Some(Instant::now() + Duration::from_millis(fate.delay_ms));
                }
                let copies = if fate.duplicate { 2 } else { 1 };
                let out = (0..copies).map(|_| {
                    invocations += 1;
                    let mut copy = (*e).clone();
                    copy.invocation = invocations;
                    copy
                });
                match fate.hold {
                    Hold::No => ready.extend(out),
                    Hold::Keep => held.extend(out),
                    Hold::KeepAndRelease => {
                        held.extend(out);
                        ready.extend(held.drain(..).rev());
                    }
                }
            }
        }
        for e in ready {
            let to = lanes.entry(e.lane.clone()).or_insert_with(|| {
                let (tx, rx) = unbounded_channel();
                tasks.spawn(lane(shared.clone(), client.clone(), timing, rx));
                tx
            });
            let _ = to.send(e);
        }
        while tasks.try_join_next().is_some() {}
    }
}

/// First attempts to one target, one after the other.
async fn lane(
    shared: Arc<Shared>,
    client: reqwest::Client,
    timing: WebhookTiming,
    mut rx: UnboundedReceiver<Envelope>,
) {
    let mut retries = JoinSet::new();
    while let Some(e) = rx.recv().await {
        if let Some(at) = e.not_before {
            tokio::time::sleep_until(at).await;
        }
        let mut tries = Tries::default();
        if let Some(wait) = attempt(&shared, &client, timing, &e, &mut tries).await {
            retries.spawn(keep_trying(
                shared.clone(),
                client.clone(),
                timing,
                e,
                tries,
                wait,
            ));
        }
        while retries.try_join_next().is_some() {}
    }
}

async fn keep_trying(
    shared: Arc<Shared>,
    client: reqwest::Client,
    timing: WebhookTiming,
    e: Envelope,
    mut tries: Tries,
    mut wait: Duration,
) {
    loop {
        tokio::time::sleep(wait).await;
        match attempt(&shared, &client, timing, &e, &mut tries).await {
            Some(next) => wait = next,
            None => return,
        }
    }
}

/// One attempt, counted; the (scaled) wait before the next one, if there is one.
async fn attempt(
    shared: &Shared,
    client: &reqwest::Client,
    timing: WebhookTiming,
    e: &Envelope,
    tries: &mut Tries,
) -> Option<Duration> {
    let vendor = e.credential.vendor();
    let outcome = post(client, e, timing.timeout(vendor)).await;
    let next = vendor.next(outcome, tries);
    let mut stats = lock(&shared.stats);
    let s = &mut stats.webhooks;
    s.sent += 1;
    s.retried += u64::from(tries.attempts > 1);
    match next {
        Next::RetryIn(wait) => return Some(timing.wait(wait)),
        Next::Delivered => s.delivered += 1,
        Next::Failed => {
            s.failed += 1;
            tracing::info!(url = %e.url, ?outcome, attempts = tries.attempts, "webhook given up");
        }
    }
    s.in_flight -= 1;
    None
}

async fn post(client: &reqwest::Client, e: &Envelope, timeout: Duration) -> Outcome {
    let own = match &e.credential {
        Credential::Zendesk { webhook_id, secret } => crate::webhooks::signature_headers(
            webhook_id,
            secret,
            crate::webhooks::ACCOUNT_ID,
            &e.body,
            chrono::Utc::now(),
            e.invocation,
        ),
        Credential::Sunco { key } => vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (
                crate::sunco_webhooks::API_KEY_HEADER.to_string(),
                key.clone(),
            ),
        ],
    };
    let mut req = client.post(&e.url).timeout(timeout).body(e.body.clone());
    for (name, value) in own.iter().chain(&e.headers) {
        req = req.header(name, value);
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after_secs = r
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            // Read to the end, so the connection can be reused; only the status counts.
            let _ = r.bytes().await;
            Outcome::Answered {
                status,
                retry_after_secs,
            }
        }
        Err(err) if err.is_timeout() => Outcome::TimedOut,
        Err(_) => Outcome::Unreachable,
    }
}
