//! One Pub/Sub subscription to MessagingSession change events, kept open in a task of
//! its own, its events held in an inbox until the sync has stored what they name.
//!
//! The inbox is what makes a replay id safe to persist: events stay in it until the sync
//! comes back with a cursor at or past them (the commit that stored their sessions also
//! stored that cursor), so an event is never dropped before its data is in the cache,
//! and a restart resumes after the last replay id the cache has.
//!
//! The stream is watched: Salesforce sends an empty batch at least every 270 s, so a
//! stream silent for longer (`silence_limit`) is taken as dead and opened again from the
//! last replay id received. A replay id Salesforce no longer keeps (72 h) ends the
//! subscription as [`Link::Expired`]: the feed then reads every session again.

use crate::auth::{Authenticator, Session};
use crate::pubsub::event::{self, ChangeEvent, Undecodable};
use apache_avro::schema::Schema;
use baton_pubsub::pub_sub_client::PubSubClient;
use baton_pubsub::{headers, FetchRequest, ReplayPreset, SchemaRequest};
use futures::channel::mpsc;
use futures::SinkExt;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status};

/// Events asked for at a time (Salesforce sends at most 100 per request).
const BATCH: i32 = 100;
/// Events held before the subscription stops asking for more (the sync is behind).
const INBOX_LIMIT: usize = 2_000;
/// Positions handed to the sync that it may come back with.
const POSITIONS_KEPT: usize = 16;

/// Where to subscribe from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// New events only.
    Latest,
    /// Events after this replay id.
    After(Vec<u8>),
}

/// How the subscription is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Live,
    /// Pub/Sub cannot be used now; the task tries again, the feed polls meanwhile.
    Unavailable(String),
    /// Salesforce no longer keeps the position asked for; the task has stopped.
    Expired,
}

/// An event as received: its replay id, and what it said (or why it could not be read).
#[derive(Debug, Clone)]
pub struct Received {
    pub replay_id: Vec<u8>,
    pub event: Result<ChangeEvent, Undecodable>,
}

/// What the sync may take now.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub events: Vec<Received>,
    /// The position after these events (a replay id to store), when one is known.
    pub position: Option<Vec<u8>>,
    /// More events wait after these.
    pub more: bool,
}

/// The sync came back with a position this subscription never gave out (another
/// process moved the cursor, or the subscription was started again elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown;

#[derive(Debug, Clone)]
pub struct Config {
    pub endpoint: String,
    pub topic: String,
    pub silence_limit: Duration,
}

/// What the subscription has done (for the status and the benchmark).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub subscribes: u64,
    pub events: u64,
    pub keepalives: u64,
    pub schema_reads: u64,
    /// Streams given up for silence and opened again.
    pub stalls: u64,
}

struct Inbox {
    /// Bumped by every restart: a task from an older start stops.
    generation: u64,
    start: Start,
    /// When the current stream was accepted (None while there is none).
    established: Option<Instant>,
    events: VecDeque<Received>,
    /// The last keepalive's position, when no event came after it.
    keepalive: Option<Vec<u8>>,
    /// Positions handed out (and the start), which the sync may come back with, and
    /// whether each was an event's (a keepalive's may name an event not yet received).
    positions: VecDeque<(Vec<u8>, bool)>,
    link: Link,
    counters: Counters,
}

struct Shared {
    inbox: Mutex<Inbox>,
    /// Rung when the sync has something to take (events, a position, a changed link).
    wake: Notify,
    /// Rung when the sync took events (room to ask for more).
    room: Notify,
    auth: Arc<Authenticator>,
    config: Config,
    schemas: Mutex<HashMap<String, Arc<Schema>>>,
}

pub struct Subscription {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(t) = self.task.lock().expect("task lock").take() {
            t.abort();
        }
    }
}

fn lock(m: &Mutex<Inbox>) -> std::sync::MutexGuard<'_, Inbox> {
    m.lock().expect("inbox lock")
}

impl Subscription {
    pub fn new(auth: Arc<Authenticator>, config: Config) -> Self {
        Self {
            shared: Arc::new(Shared {
                inbox: Mutex::new(Inbox {
                    generation: 0,
                    start: Start::Latest,
                    established: None,
                    events: VecDeque::new(),
                    keepalive: None,
                    positions: VecDeque::new(),
                    link: Link::Connecting,
                    counters: Counters::default(),
                }),
                wake: Notify::new(),
                room: Notify::new(),
                auth,
                config,
                schemas: Mutex::new(HashMap::new()),
            }),
            task: Mutex::new(None),
        }
    }

    /// Starts the subscription from `start` unless it runs already (or has expired and
    /// waits for [`Subscription::restart`]).
    pub fn ensure(&self, start: Start) {
        let running = self
            .task
            .lock()
            .expect("task lock")
            .as_ref()
            .is_some_and(|t| !t.is_finished());
        if !running && self.link() != Link::Expired {
            self.restart(start);
        }
    }

    /// Drops what the inbox holds and subscribes again from `start`.
    pub fn restart(&self, start: Start) {
        let generation = {
            let mut inbox = lock(&self.shared.inbox);
            inbox.generation += 1;
            inbox.start = start.clone();
            inbox.established = None;
            inbox.events.clear();
            inbox.keepalive = None;
            inbox.positions.clear();
            if let Start::After(id) = &start {
                inbox.positions.push_back((id.clone(), true));
            }
            inbox.link = Link::Connecting;
            inbox.generation
        };
        let shared = self.shared.clone();
        let task = tokio::spawn(async move { run(shared, start, generation).await });
        if let Some(old) = self.task.lock().expect("task lock").replace(task) {
            old.abort();
        }
    }

    /// Closes the stream and drops what the inbox holds (the sync stopped: a relay that
    /// lost its lease must not keep the org's subscription open beside its successor's).
    pub fn stop(&self) {
        if let Some(t) = self.task.lock().expect("task lock").take() {
            t.abort();
        }
        let mut inbox = lock(&self.shared.inbox);
        inbox.generation += 1;
        inbox.established = None;
        inbox.events.clear();
        inbox.keepalive = None;
        inbox.positions.clear();
        inbox.link = Link::Connecting;
    }

    pub fn link(&self) -> Link {
        lock(&self.shared.inbox).link.clone()
    }

    pub fn counters(&self) -> Counters {
        lock(&self.shared.inbox).counters.clone()
    }

    /// Whether a stream was open before `t` and still is: everything committed after
    /// `t` reaches the inbox.
    pub fn open_since(&self, t: Instant) -> bool {
        lock(&self.shared.inbox).established.is_some_and(|e| e <= t)
    }

    /// Resolves when there may be something new to take.
    pub async fn changed(&self) {
        self.shared.wake.notified().await
    }

    /// What the sync may take, after `stored` (the position its cache has: events up to
    /// it are dropped from the inbox; `None` takes everything held). At most `max`
    /// events; `Err(Unknown)` when `stored` is no position this subscription gave.
    pub fn take(&self, stored: Option<&[u8]>, max: usize) -> Result<Batch, Unknown> {
        let mut inbox = lock(&self.shared.inbox);
        if let Some(stored) = stored {
            let handed = inbox
                .positions
                .iter()
                .find(|(p, _)| p == stored)
                .map(|(_, e)| *e);
            let at = inbox.events.iter().position(|e| e.replay_id == stored);
            match (handed, at) {
                // Stored through an event: it and all before it are in the cache.
                (Some(true) | None, Some(i)) => {
                    inbox.events.drain(..=i);
                    self.shared.room.notify_one();
                }
                // A keepalive's position whose event came after it: not applied yet.
                (Some(false), _) | (Some(true), None) => {}
                (None, None) => return Err(Unknown),
            }
        }
        let events: Vec<Received> = inbox.events.iter().take(max).cloned().collect();
        let more = inbox.events.len() > events.len();
        let (position, of_event) = match events.last() {
            Some(e) => (Some(e.replay_id.clone()), true),
            None => match inbox.keepalive.clone() {
                Some(k) => (Some(k), false),
                None => match (&inbox.start, stored) {
                    (_, Some(s)) => (Some(s.to_vec()), true),
                    (Start::After(id), None) => (Some(id.clone()), true),
                    (Start::Latest, None) => (None, true),
                },
            },
        };
        if let Some(p) = &position {
            if let Some(slot) = inbox.positions.iter_mut().find(|(q, _)| q == p) {
                slot.1 |= of_event;
            } else {
                inbox.positions.push_back((p.clone(), of_event));
                if inbox.positions.len() > POSITIONS_KEPT {
                    inbox.positions.pop_front();
                }
            }
        }
        Ok(Batch {
            events,
            position,
            more,
        })
    }
}

/// How one stream ended.
enum Ended {
    Expired,
    Stalled,
    Unavailable(String),
    /// The token was refused: sign in again, then subscribe again.
    Unauthenticated(Arc<Session>),
    Superseded,
}

async fn run(shared: Arc<Shared>, start: Start, generation: u64) {
    let mut from = start;
    let mut backoff = Duration::from_secs(1);
    let mut renewed = false;
    loop {
        let ended = stream_once(&shared, &mut from, generation).await;
        if let Ended::Unauthenticated(stale) = &ended {
            if !renewed {
                renewed = true;
                match shared.auth.renew(stale).await {
                    Ok(_) => continue,
                    Err(e) => lock(&shared.inbox).link = Link::Unavailable(e.to_string()),
                }
            }
        }
        let mut stalled = false;
        {
            let mut inbox = lock(&shared.inbox);
            if inbox.generation != generation {
                return;
            }
            inbox.established = None;
            match ended {
                Ended::Superseded => return,
                Ended::Expired => {
                    tracing::warn!(
                        "Salesforce no longer keeps the Pub/Sub position Baton stored (changes \
                         are kept 72 hours); every session is read again"
                    );
                    inbox.link = Link::Expired;
                    drop(inbox);
                    shared.wake.notify_one();
                    return;
                }
                Ended::Stalled => {
                    inbox.counters.stalls += 1;
                    tracing::info!(
                        "the Pub/Sub stream went silent (nothing within {} s); subscribing again",
                        shared.config.silence_limit.as_secs()
                    );
                    inbox.link = Link::Connecting;
                    backoff = Duration::from_secs(1);
                    renewed = false;
                    stalled = true;
                }
                Ended::Unauthenticated(_) => {
                    if !matches!(inbox.link, Link::Unavailable(_)) {
                        inbox.link = Link::Unavailable(
                            "Pub/Sub refused the session even after signing in again".into(),
                        );
                    }
                }
                Ended::Unavailable(why) => {
                    tracing::warn!(reason = %why, "Salesforce Pub/Sub is unavailable; polling meanwhile");
                    inbox.link = Link::Unavailable(why);
                }
            }
        }
        if stalled {
            // Not at once: a server that ends every stream must not spin us.
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        renewed = false;
        shared.wake.notify_one();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
}

fn metadata(session: &Session) -> Result<MetadataMap, String> {
    let org = session
        .org_id
        .clone()
        .ok_or("the sign-in named no org id (Pub/Sub needs it as the tenant id)")?;
    let value = |v: &str| {
        v.parse::<AsciiMetadataValue>()
            .map_err(|_| "a session value is not valid in a gRPC header".to_string())
    };
    let mut m = MetadataMap::new();
    m.insert(headers::ACCESS_TOKEN, value(session.access_token.expose())?);
    m.insert(headers::INSTANCE_URL, value(&session.instance_url)?);
    m.insert(headers::TENANT_ID, value(&org)?);
    Ok(m)
}

fn request<T>(meta: &MetadataMap, body: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(body);
    *r.metadata_mut() = meta.clone();
    r
}

async fn channel(endpoint: &str) -> Result<Channel, String> {
    let mut e = Endpoint::from_shared(endpoint.to_string())
        .map_err(|e| format!("{endpoint} is not a URL: {e}"))?
        .connect_timeout(Duration::from_secs(10))
        .http2_keep_alive_interval(Duration::from_secs(60))
        .keep_alive_timeout(Duration::from_secs(20));
    if endpoint.starts_with("https://") {
        e = e
            .tls_config(ClientTlsConfig::new().with_webpki_roots())
            .map_err(|e| format!("TLS for {endpoint}: {e}"))?;
    }
    e.connect()
        .await
        .map_err(|e| format!("cannot reach {endpoint}: {e}"))
}

/// A replay id Salesforce no longer keeps (or never issued).
fn is_replay_refusal(s: &Status) -> bool {
    s.code() == Code::InvalidArgument
        && (s
            .metadata()
            .get("error-code")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("replayid"))
            || s.message().contains("Replay ID"))
}

fn ended_by(status: Status, session: &Arc<Session>) -> Ended {
    if is_replay_refusal(&status) {
        Ended::Expired
    } else if status.code() == Code::Unauthenticated {
        Ended::Unauthenticated(session.clone())
    } else {
        Ended::Unavailable(format!(
            "Pub/Sub said {:?}: {}",
            status.code(),
            status.message()
        ))
    }
}

async fn schema(
    shared: &Shared,
    client: &mut PubSubClient<Channel>,
    meta: &MetadataMap,
    id: &str,
) -> Result<Arc<Schema>, Status> {
    if let Some(s) = shared.schemas.lock().expect("schemas lock").get(id) {
        return Ok(s.clone());
    }
    let asked = client.get_schema(request(
        meta,
        SchemaRequest {
            schema_id: id.to_string(),
        },
    ));
    let info = tokio::time::timeout(shared.config.silence_limit, asked)
        .await
        .map_err(|_| Status::deadline_exceeded(format!("GetSchema {id} did not answer")))??
        .into_inner();
    lock(&shared.inbox).counters.schema_reads += 1;
    let parsed = event::parse_schema(&info.schema_json)
        .map_err(|e| Status::data_loss(format!("schema {id}: {e}")))?;
    let parsed = Arc::new(parsed);
    shared
        .schemas
        .lock()
        .expect("schemas lock")
        .insert(id.to_string(), parsed.clone());
    Ok(parsed)
}

/// One stream, from `from` on; `from` follows what was received, so the next stream
/// starts after it.
async fn stream_once(shared: &Arc<Shared>, from: &mut Start, generation: u64) -> Ended {
    let session = match shared.auth.session().await {
        Ok(s) => s,
        Err(e) => return Ended::Unavailable(e.to_string()),
    };
    let meta = match metadata(&session) {
        Ok(m) => m,
        Err(why) => return Ended::Unavailable(why),
    };
    let mut client = match channel(&shared.config.endpoint).await {
        Ok(c) => PubSubClient::new(c),
        Err(why) => return Ended::Unavailable(why),
    };
    let (mut tx, rx) = mpsc::channel::<FetchRequest>(4);
    let first = FetchRequest {
        topic_name: shared.config.topic.clone(),
        replay_preset: match from {
            Start::Latest => ReplayPreset::Latest,
            Start::After(_) => ReplayPreset::Custom,
        } as i32,
        replay_id: match from {
            Start::Latest => vec![],
            Start::After(id) => id.clone(),
        },
        num_requested: BATCH,
        auth_refresh: String::new(),
    };
    if tx.send(first).await.is_err() {
        return Ended::Stalled;
    }
    let subscribed = tokio::time::timeout(
        shared.config.silence_limit,
        client.subscribe(request(&meta, rx)),
    );
    let mut stream = match subscribed.await {
        Ok(Ok(r)) => r.into_inner(),
        Ok(Err(status)) => return ended_by(status, &session),
        Err(_) => {
            return Ended::Unavailable("Pub/Sub accepted the connection but never answered".into())
        }
    };
    {
        let mut inbox = lock(&shared.inbox);
        if inbox.generation != generation {
            return Ended::Superseded;
        }
        inbox.link = Link::Live;
        inbox.counters.subscribes += 1;
    }
    let mut outstanding = BATCH;
    let mut answered = false;
    let mut heard = Instant::now();
    loop {
        // Ask for more once half the batch is in and the inbox has room.
        if outstanding <= BATCH / 2 && lock(&shared.inbox).events.len() < INBOX_LIMIT {
            if tx
                .send(FetchRequest {
                    num_requested: BATCH - outstanding,
                    ..Default::default()
                })
                .await
                .is_err()
            {
                return Ended::Stalled;
            }
            outstanding = BATCH;
        }
        let left = shared.config.silence_limit.saturating_sub(heard.elapsed());
        let message = tokio::select! {
            m = tokio::time::timeout(left, stream.message()) => m,
            _ = shared.room.notified(), if outstanding <= BATCH / 2 => continue,
        };
        let response = match message {
            Err(_) => return Ended::Stalled,
            Ok(Err(status)) => return ended_by(status, &session),
            Ok(Ok(None)) if answered => return Ended::Stalled,
            Ok(Ok(None)) => return Ended::Unavailable("Pub/Sub closed the stream at once".into()),
            Ok(Ok(Some(r))) => r,
        };
        heard = Instant::now();
        let first = !answered;
        if first {
            // The position is fixed once the server has answered: from now on every
            // change reaches the inbox (what the feed's switch from polling relies on).
            answered = true;
            lock(&shared.inbox).established = Some(heard);
        }
        let mut received = Vec::with_capacity(response.events.len());
        for e in response.events {
            let replay_id = e.replay_id;
            let event = match e.event {
                None => Err(Undecodable("the event is empty".into())),
                Some(p) => match schema(shared, &mut client, &meta, &p.schema_id).await {
                    Ok(s) => event::decode(&s, &p.payload),
                    Err(status) if status.code() == Code::DataLoss => {
                        Err(Undecodable(status.message().to_string()))
                    }
                    Err(status) => return ended_by(status, &session),
                },
            };
            if let Err(why) = &event {
                tracing::warn!(error = %why, "a Pub/Sub event could not be read; skipped");
            }
            received.push(Received { replay_id, event });
        }
        outstanding -= received.len() as i32;
        let mut inbox = lock(&shared.inbox);
        if inbox.generation != generation {
            return Ended::Superseded;
        }
        if let Some(last) = received.last() {
            *from = Start::After(last.replay_id.clone());
            inbox.counters.events += received.len() as u64;
            inbox.keepalive = None;
            inbox.events.extend(received);
        } else {
            inbox.counters.keepalives += 1;
            // A keepalive names the topic's newest event, which may be one flow control
            // held back: only with requests outstanding is nothing held back.
            if outstanding > 0
                && response.pending_num_requested > 0
                && !response.latest_replay_id.is_empty()
                && inbox.keepalive.as_deref() != Some(&response.latest_replay_id[..])
            {
                *from = Start::After(response.latest_replay_id.clone());
                inbox.keepalive = Some(response.latest_replay_id);
            } else if !first {
                continue;
            }
        }
        drop(inbox);
        shared.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(n: u8) -> Received {
        Received {
            replay_id: vec![0, n],
            event: Err(Undecodable("test".into())),
        }
    }

    fn subscription() -> Subscription {
        let auth = crate::test_support::jwt_auth("http://127.0.0.1:9");
        Subscription::new(
            auth,
            Config {
                endpoint: "http://127.0.0.1:9".into(),
                topic: baton_pubsub::MESSAGING_SESSION_TOPIC.into(),
                silence_limit: Duration::from_secs(1),
            },
        )
    }

    #[test]
    fn events_stay_until_the_sync_comes_back_past_them() {
        let s = subscription();
        lock(&s.shared.inbox)
            .events
            .extend([received(1), received(2), received(3)]);
        let b = s.take(None, 2).unwrap();
        assert_eq!(b.events.len(), 2);
        assert_eq!(b.position, Some(vec![0, 2]));
        assert!(b.more);
        // The commit failed: the same position comes back, the same events are given.
        let again = s.take(None, 2).unwrap();
        assert_eq!(again.position, Some(vec![0, 2]));
        // Stored through 2: only 3 is left.
        let b = s.take(Some(&[0, 2]), 10).unwrap();
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.position, Some(vec![0, 3]));
        assert!(!b.more);
        // Stored through 3: nothing is left, and the position stays.
        let b = s.take(Some(&[0, 3]), 10).unwrap();
        assert!(b.events.is_empty());
        assert_eq!(b.position, Some(vec![0, 3]));
        // A position never given out is refused.
        assert_eq!(s.take(Some(&[9, 9]), 10).unwrap_err(), Unknown);
    }

    #[test]
    fn a_keepalive_gives_a_position_when_nothing_waits() {
        let s = subscription();
        assert_eq!(s.take(None, 10).unwrap().position, None);
        lock(&s.shared.inbox).keepalive = Some(vec![7]);
        let b = s.take(None, 10).unwrap();
        assert_eq!(b.position, Some(vec![7]));
        // The sync stored it; an event then came.
        lock(&s.shared.inbox).keepalive = None;
        lock(&s.shared.inbox).events.push_back(received(8));
        let b = s.take(Some(&[7]), 10).unwrap();
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.position, Some(vec![0, 8]));
    }

    #[test]
    fn replay_refusals_are_told_from_other_errors() {
        let mut s = Status::invalid_argument("The Replay ID validation failed.");
        assert!(is_replay_refusal(&s));
        s = Status::invalid_argument("bad");
        assert!(!is_replay_refusal(&s));
        let mut meta = MetadataMap::new();
        meta.insert(
            "error-code",
            "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
                .parse()
                .unwrap(),
        );
        let s = Status::with_metadata(Code::InvalidArgument, "x", meta);
        assert!(is_replay_refusal(&s));
        assert!(!is_replay_refusal(&Status::unavailable("Replay ID")));
    }
}
