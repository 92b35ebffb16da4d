//! The org's Salesforce Pub/Sub API (`eventbus.v1.PubSub`): plaintext gRPC on a listener of
//! its own, serving MessagingSession change events (`/data/MessagingSessionChangeEvent`)
//! from the org's change history, Avro-encoded (see `avro`).
//!
//! Every call carries `accesstoken` (a live token of this org), `instanceurl` (the
//! simulator's URL) and `tenantid` (the org id). `Subscribe` is pull-based: events go out
//! only while the client has asked for more (at most 100 outstanding), new changes reach a
//! waiting stream as soon as the org records them, and a stream with nothing to say sends
//! an empty batch every `pubsub_keepalive`. Replay ids are the changes' numbers, 8 bytes
//! big-endian; changes are retained 72 hours (and not before the floor the
//! `expire_sf_changes` hook raises). Pub/Sub calls do not spend the REST allocation.

use super::avro::EventSchema;
use super::{Change, Org};
use crate::{lock, Shared};
use baton_pubsub::pub_sub_server::{PubSub, PubSubServer};
use baton_pubsub::{
    headers, ConsumerEvent, FetchRequest, FetchResponse, ManagedFetchRequest, ManagedFetchResponse,
    ProducerEvent, PublishRequest, PublishResponse, ReplayPreset, SchemaInfo, SchemaRequest,
    TopicInfo, TopicRequest, MESSAGING_SESSION_TOPIC,
};
use chrono::Utc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status, Streaming};

/// How long change events are kept, in hours (Salesforce: 72).
pub const RETENTION_HOURS: i64 = 72;
/// The most events a client may have asked for and not yet received, per stream.
pub const MAX_OUTSTANDING: i32 = 100;
/// The `error-code` of a replay id the stream cannot start after.
pub const REPLAY_ID_CORRUPTED: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
/// Salesforce's message for it.
pub const REPLAY_ID_MESSAGE: &str =
    "The Replay ID validation failed. Ensure that the Replay ID is valid.";
/// The `error-code` of a call refused for its credentials.
pub const AUTH_ERROR: &str = "sfdc.platform.eventbus.grpc.service.auth.error";

/// A replay id on the wire.
pub fn replay_bytes(replay_id: u64) -> Vec<u8> {
    replay_id.to_be_bytes().to_vec()
}

/// The change event stream's state beside the org: the schema, the signals the streams
/// wait on, and the retention floor.
pub(crate) struct Feed {
    pub schema: EventSchema,
    keepalive: Duration,
    /// The newest replay id, sent whenever the org records a change.
    newest: watch::Sender<u64>,
    /// Bumped by `stall_pubsub_streams`: streams opened before go silent.
    stalls: watch::Sender<u64>,
    /// Set when the simulator stops.
    closed: watch::Sender<bool>,
    /// Replay ids at or below this are past retention.
    floor: AtomicU64,
}

impl Feed {
    /// The feed of `org` as it is now (its newest change is not news).
    pub fn new(schema: EventSchema, keepalive: Duration, org: &Org) -> Self {
        Self {
            schema,
            keepalive,
            newest: watch::Sender::new(newest(org)),
            stalls: watch::Sender::new(0),
            closed: watch::Sender::new(false),
            floor: AtomicU64::new(0),
        }
    }

    /// Wakes the streams when the org's newest change is new to them.
    pub fn org_changed(&self, org: &Org) {
        let newest = newest(org);
        self.newest.send_if_modified(|n| {
            let moved = *n != newest;
            *n = newest;
            moved
        });
    }

    /// Every change recorded so far falls out of retention.
    pub fn expire(&self, org: &Org) {
        self.floor.fetch_max(newest(org), Ordering::SeqCst);
    }

    /// Streams open now go silent for good.
    pub fn stall(&self) {
        self.stalls.send_modify(|g| *g += 1);
    }

    /// Ends every stream (the simulator is stopping).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Whether a change is still kept: recorded within the retention period, and above the
    /// floor. (A seeded change stamped ahead of now is young.)
    fn retained(&self, c: &Change, now: chrono::DateTime<Utc>) -> bool {
        c.replay_id > self.floor.load(Ordering::SeqCst)
            && now - c.commit_timestamp <= chrono::TimeDelta::hours(RETENTION_HOURS)
    }
}

fn newest(org: &Org) -> u64 {
    org.changes.last().map_or(0, |c| c.replay_id)
}

/// Serves the Pub/Sub API on `listener` until the task is aborted.
pub(crate) fn spawn(shared: Arc<Shared>, listener: TcpListener) -> JoinHandle<()> {
    let service = PubSubServer::new(EventBus { shared });
    // Small frames must not wait for Nagle: a change should reach a subscriber at once.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tokio::spawn(async move {
        if let Err(e) = tonic::transport::Server::builder()
            .serve_with_incoming(service, incoming)
            .await
        {
            tracing::error!(error = %e, "Pub/Sub API server stopped");
        }
    })
}

/// The `PubSub` service over the simulator's org.
struct EventBus {
    shared: Arc<Shared>,
}

/// A unique id for an answer (Salesforce's are UUIDs).
fn rpc_id() -> String {
    let n: u128 = rand::random();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn with_code(code: Code, message: &str, error_code: &'static str) -> Status {
    let mut metadata = MetadataMap::new();
    metadata.insert("error-code", MetadataValue::from_static(error_code));
    Status::with_metadata(code, message, metadata)
}

fn replay_corrupted() -> Status {
    with_code(
        Code::InvalidArgument,
        REPLAY_ID_MESSAGE,
        REPLAY_ID_CORRUPTED,
    )
}

impl EventBus {
    fn refused(&self, status: Status) -> Status {
        refused(&self.shared, status)
    }

    /// Checks a call's credentials; a refusal is counted.
    fn authorize(&self, metadata: &MetadataMap) -> Result<(), Status> {
        authorize(&self.shared, metadata).map_err(|s| self.refused(s))
    }
}

fn refused(shared: &Shared, status: Status) -> Status {
    lock(&shared.stats).salesforce.pubsub_refused += 1;
    status
}

fn authorize(shared: &Shared, metadata: &MetadataMap) -> Result<(), Status> {
    let header = |name: &str| {
        metadata
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or_default()
    };
    let token = header(headers::ACCESS_TOKEN);
    if token.is_empty() {
        return Err(with_code(
            Code::Unauthenticated,
            "missing accesstoken: pass the session's access token in the call metadata",
            AUTH_ERROR,
        ));
    }
    if lock(&shared.sf.tokens).user(token).is_none() {
        return Err(with_code(
            Code::Unauthenticated,
            "the access token is invalid or has expired",
            AUTH_ERROR,
        ));
    }
    let instance = header(headers::INSTANCE_URL);
    if instance.trim_end_matches('/') != shared.base_url {
        return Err(Status::permission_denied(format!(
            "instanceurl {instance:?} is not this org's instance URL ({})",
            shared.base_url
        )));
    }
    let tenant = header(headers::TENANT_ID);
    let org_id = lock(&shared.sf.org).org_id.clone();
    if tenant != org_id {
        return Err(Status::permission_denied(format!(
            "tenantid {tenant:?} is not the org id of this session ({org_id})"
        )));
    }
    Ok(())
}

type Stream<T> = ReceiverStream<Result<T, Status>>;

#[tonic::async_trait]
impl PubSub for EventBus {
    type SubscribeStream = Stream<FetchResponse>;
    type PublishStreamStream = Stream<PublishResponse>;
    type ManagedSubscribeStream = Stream<ManagedFetchResponse>;

    async fn subscribe(
        &self,
        request: Request<Streaming<FetchRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        self.authorize(request.metadata())?;
        // Taken now: a stall from here on silences this stream.
        let generation = *self.shared.sf.pubsub.stalls.borrow();
        let (tx, rx) = mpsc::channel(16);
        // The answer goes out before the first FetchRequest is read, so a client may send
        // it after the call is established; errors about it end the stream.
        tokio::spawn(subscription(
            self.shared.clone(),
            request.into_inner(),
            tx,
            generation,
        ));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_schema(
        &self,
        request: Request<SchemaRequest>,
    ) -> Result<Response<SchemaInfo>, Status> {
        self.authorize(request.metadata())?;
        let schema = &self.shared.sf.pubsub.schema;
        let asked = &request.get_ref().schema_id;
        if asked != schema.id() {
            return Err(self.refused(Status::not_found(format!("no schema with id {asked:?}"))));
        }
        lock(&self.shared.stats).salesforce.pubsub_schema_reads += 1;
        Ok(Response::new(SchemaInfo {
            schema_json: schema.json().to_string(),
            schema_id: schema.id().to_string(),
            rpc_id: rpc_id(),
        }))
    }

    async fn get_topic(
        &self,
        request: Request<TopicRequest>,
    ) -> Result<Response<TopicInfo>, Status> {
        self.authorize(request.metadata())?;
        let topic = &request.get_ref().topic_name;
        if topic != MESSAGING_SESSION_TOPIC {
            return Err(self.refused(Status::not_found(format!(
                "no topic {topic:?} in this org (it serves {MESSAGING_SESSION_TOPIC})"
            ))));
        }
        let org_id = lock(&self.shared.sf.org).org_id.clone();
        Ok(Response::new(TopicInfo {
            topic_name: topic.clone(),
            tenant_guid: org_id,
            can_publish: false,
            can_subscribe: true,
            schema_id: self.shared.sf.pubsub.schema.id().to_string(),
            rpc_id: rpc_id(),
        }))
    }

    async fn publish(
        &self,
        request: Request<PublishRequest>,
    ) -> Result<Response<PublishResponse>, Status> {
        self.authorize(request.metadata())?;
        Err(self.refused(Status::unimplemented(
            "the simulator does not publish: its only topic is change events",
        )))
    }

    async fn publish_stream(
        &self,
        request: Request<Streaming<PublishRequest>>,
    ) -> Result<Response<Self::PublishStreamStream>, Status> {
        self.authorize(request.metadata())?;
        Err(self.refused(Status::unimplemented(
            "the simulator does not publish: its only topic is change events",
        )))
    }

    async fn managed_subscribe(
        &self,
        request: Request<Streaming<ManagedFetchRequest>>,
    ) -> Result<Response<Self::ManagedSubscribeStream>, Status> {
        self.authorize(request.metadata())?;
        Err(self.refused(Status::unimplemented(
            "managed subscriptions are not simulated: use Subscribe",
        )))
    }
}

/// Where a stream starts: the replay id it delivers after, from the first request.
fn start(shared: &Shared, first: &FetchRequest) -> Result<u64, Status> {
    if first.topic_name.is_empty() {
        return Err(Status::invalid_argument(
            "the first FetchRequest must name the topic",
        ));
    }
    if first.topic_name != MESSAGING_SESSION_TOPIC {
        return Err(Status::invalid_argument(format!(
            "cannot subscribe to {:?}: this org serves {MESSAGING_SESSION_TOPIC}",
            first.topic_name
        )));
    }
    let feed = &shared.sf.pubsub;
    let org = lock(&shared.sf.org);
    let now = Utc::now();
    let newest = newest(&org);
    match ReplayPreset::try_from(first.replay_preset) {
        Ok(ReplayPreset::Latest) => Ok(newest),
        Ok(ReplayPreset::Earliest) => Ok(org
            .changes
            .iter()
            .find(|c| feed.retained(c, now))
            .map_or(newest, |c| c.replay_id - 1)),
        Ok(ReplayPreset::Custom) => {
            let id: [u8; 8] = first
                .replay_id
                .as_slice()
                .try_into()
                .map_err(|_| replay_corrupted())?;
            let id = u64::from_be_bytes(id);
            let i = org.changes.partition_point(|c| c.replay_id < id);
            // The change it names must still be kept: the stream resumes right after it.
            match org.changes.get(i) {
                Some(c) if c.replay_id == id && feed.retained(c, now) => Ok(id),
                _ => Err(replay_corrupted()),
            }
        }
        Err(_) => Err(Status::invalid_argument(format!(
            "unknown replay_preset {}",
            first.replay_preset
        ))),
    }
}

/// One Subscribe stream: reads the client's FetchRequests and sends what they ask for,
/// keepalives between, until the client goes away.
async fn subscription(
    shared: Arc<Shared>,
    mut inbound: Streaming<FetchRequest>,
    tx: mpsc::Sender<Result<FetchResponse, Status>>,
    generation: u64,
) {
    let feed = &shared.sf.pubsub;
    let mut stalls = feed.stalls.subscribe();
    let mut closed = feed.closed.subscribe();
    let mut changes = feed.newest.subscribe();
    let stalled = |stalls: &watch::Receiver<u64>| *stalls.borrow() != generation;
    let first = tokio::select! {
        m = inbound.message() => m,
        _ = closing(&mut closed) => return,
        _ = tx.closed() => return,
    };
    let Ok(Some(first)) = first else {
        return;
    };
    if stalled(&stalls) {
        return silent(inbound, tx, closed).await;
    }
    let mut cursor = match start(&shared, &first) {
        Ok(cursor) => cursor,
        Err(status) => {
            let _ = tx.send(Err(refused(&shared, status))).await;
            return;
        }
    };
    lock(&shared.stats).salesforce.pubsub_subscribes += 1;
    let mut outstanding = 0;
    let ask = |outstanding: &mut i32, n: i32| {
        if n > 0 {
            *outstanding = (*outstanding).saturating_add(n).min(MAX_OUTSTANDING);
        }
    };
    ask(&mut outstanding, first.num_requested);
    let mut last_sent = Instant::now();
    loop {
        if stalled(&stalls) {
            return silent(inbound, tx, closed).await;
        }
        if outstanding > 0 {
            let batch: Vec<Change> = lock(&shared.sf.org)
                .changes_after(cursor)
                .iter()
                .take(outstanding as usize)
                .cloned()
                .collect();
            if let Some(last) = batch.last() {
                cursor = last.replay_id;
                outstanding -= batch.len() as i32;
                let events = batch
                    .iter()
                    .map(|c| ConsumerEvent {
                        event: Some(ProducerEvent {
                            id: c.transaction_key.clone(),
                            schema_id: feed.schema.id().to_string(),
                            payload: feed.schema.encode(c),
                            headers: vec![],
                        }),
                        replay_id: replay_bytes(c.replay_id),
                    })
                    .collect();
                let response = FetchResponse {
                    events,
                    latest_replay_id: replay_bytes(cursor),
                    rpc_id: rpc_id(),
                    pending_num_requested: outstanding,
                };
                if tx.send(Ok(response)).await.is_err() {
                    return;
                }
                lock(&shared.stats).salesforce.pubsub_events_sent += batch.len() as u64;
                last_sent = Instant::now();
                continue;
            }
        }
        tokio::select! {
            _ = closing(&mut closed) => {
                let _ = tx.send(Err(Status::unavailable("the simulator is stopping"))).await;
                return;
            }
            _ = stalls.changed() => {}
            m = inbound.message() => match m {
                Ok(Some(more)) => {
                    if !more.topic_name.is_empty() && more.topic_name != first.topic_name {
                        let status = Status::invalid_argument(format!(
                            "this stream is subscribed to {}, not {:?}",
                            first.topic_name, more.topic_name
                        ));
                        let _ = tx.send(Err(refused(&shared, status))).await;
                        return;
                    }
                    ask(&mut outstanding, more.num_requested);
                }
                // The client is gone (its side closed, or the connection with it).
                _ => return,
            },
            _ = changes.changed() => {}
            _ = tokio::time::sleep_until(last_sent + feed.keepalive) => {
                let latest = newest(&lock(&shared.sf.org));
                let keepalive = FetchResponse {
                    events: vec![],
                    latest_replay_id: replay_bytes(latest),
                    rpc_id: rpc_id(),
                    pending_num_requested: outstanding,
                };
                if tx.send(Ok(keepalive)).await.is_err() {
                    return;
                }
                lock(&shared.stats).salesforce.pubsub_keepalives += 1;
                last_sent = Instant::now();
            }
            _ = tx.closed() => return,
        }
    }
}

/// Resolves when the simulator stops (its guard must not be held across an await).
async fn closing(closed: &mut watch::Receiver<bool>) {
    let _ = closed.wait_for(|c| *c).await;
}

/// A stalled stream: open, reading what the client sends, answering nothing, until the
/// client goes away or the simulator stops. What a half-dead connection looks like.
async fn silent(
    mut inbound: Streaming<FetchRequest>,
    tx: mpsc::Sender<Result<FetchResponse, Status>>,
    mut closed: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            m = inbound.message() => if !matches!(m, Ok(Some(_))) { return },
            _ = closing(&mut closed) => return,
            _ = tx.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_ids_are_eight_bytes_big_endian() {
        assert_eq!(replay_bytes(0x0102), [0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn rpc_ids_look_like_uuids_and_differ() {
        let (a, b) = (rpc_id(), rpc_id());
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_ne!(a, b);
    }
}
