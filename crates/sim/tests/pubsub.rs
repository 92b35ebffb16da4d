//! The org's Salesforce Pub/Sub API over real gRPC on 127.0.0.1, through the generated
//! client: credentials, the topic and its schema, Subscribe with each replay preset, flow
//! control, keepalives, retention and stalled streams.

use apache_avro::types::Value as Avro;
use apache_avro::Schema;
use baton_pubsub::pub_sub_client::PubSubClient;
use baton_pubsub::{
    headers, FetchRequest, FetchResponse, PublishRequest, ReplayPreset, SchemaRequest,
    TopicRequest, MESSAGING_SESSION_TOPIC,
};
use baton_sim::salesforce::pubsub::{replay_bytes, REPLAY_ID_CORRUPTED, REPLAY_ID_MESSAGE};
use baton_sim::salesforce::{jwt, SfConfig, Val, DEMO_KEY_PEM, JWT_BEARER};
use baton_sim::{Sim, SimConfig};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Code, Request, Status, Streaming};

async fn start(salesforce: SfConfig) -> Sim {
    Sim::start(SimConfig {
        tickets: 5,
        salesforce,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// A session's access token, through the JWT bearer flow.
async fn login(sim: &Sim) -> String {
    let exp = chrono::Utc::now().timestamp() + 180;
    let claims = jwt::claims("baton-demo-client", "alex@acme.test", &sim.url(), exp);
    let assertion = jwt::sign(DEMO_KEY_PEM, &claims).unwrap();
    let body: Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sim.url()))
        .form(&[("grant_type", JWT_BEARER), ("assertion", &assertion)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["instance_url"], sim.url());
    body["access_token"].as_str().unwrap().to_string()
}

/// The call metadata Salesforce asks for.
#[derive(Clone)]
struct Creds {
    token: String,
    instance: String,
    tenant: String,
}

impl Creds {
    async fn of(sim: &Sim) -> Creds {
        Creds {
            token: login(sim).await,
            instance: sim.url(),
            tenant: sim.org(|o| o.org_id.clone()),
        }
    }

    fn call<T>(&self, message: T) -> Request<T> {
        let mut r = Request::new(message);
        let m = r.metadata_mut();
        for (k, v) in [
            (headers::ACCESS_TOKEN, &self.token),
            (headers::INSTANCE_URL, &self.instance),
            (headers::TENANT_ID, &self.tenant),
        ] {
            if !v.is_empty() {
                m.insert(k, v.parse().unwrap());
            }
        }
        r
    }
}

async fn client(sim: &Sim) -> PubSubClient<Channel> {
    PubSubClient::connect(sim.pubsub_url()).await.unwrap()
}

fn fetch(preset: ReplayPreset, replay_id: Vec<u8>, n: i32) -> FetchRequest {
    FetchRequest {
        topic_name: MESSAGING_SESSION_TOPIC.into(),
        replay_preset: preset as i32,
        replay_id,
        num_requested: n,
        ..Default::default()
    }
}

fn more(n: i32) -> FetchRequest {
    FetchRequest {
        num_requested: n,
        ..Default::default()
    }
}

/// An open Subscribe call: what we send, what comes back.
struct Subscription {
    requests: mpsc::Sender<FetchRequest>,
    responses: Streaming<FetchResponse>,
}

impl Subscription {
    /// Sends the first request after the call is established, as a client may.
    async fn open(sim: &Sim, creds: &Creds, first: FetchRequest) -> Result<Subscription, Status> {
        let (requests, rx) = mpsc::channel(8);
        let responses = client(sim)
            .await
            .subscribe(creds.call(ReceiverStream::new(rx)))
            .await?
            .into_inner();
        requests.send(first).await.unwrap();
        Ok(Subscription {
            requests,
            responses,
        })
    }

    /// Opens one and waits until the simulator has started it (so a change made next is
    /// after its start).
    async fn started(sim: &Sim, creds: &Creds, first: FetchRequest) -> Subscription {
        let before = sim.stats().salesforce.pubsub_subscribes;
        let s = Subscription::open(sim, creds, first).await.unwrap();
        wait_until(|| sim.stats().salesforce.pubsub_subscribes > before).await;
        s
    }

    async fn ask(&self, n: i32) {
        self.requests.send(more(n)).await.unwrap();
    }

    /// The next response, or `None` when nothing comes within `within`.
    async fn next(&mut self, within: Duration) -> Option<Result<FetchResponse, Status>> {
        match tokio::time::timeout(within, self.responses.message()).await {
            Err(_) => None,
            Ok(Ok(Some(r))) => Some(Ok(r)),
            Ok(Ok(None)) => panic!("the stream ended"),
            Ok(Err(status)) => Some(Err(status)),
        }
    }

    async fn response(&mut self) -> FetchResponse {
        self.next(Duration::from_secs(5))
            .await
            .expect("a response within 5 s")
            .unwrap()
    }

    /// Responses until `n` events came (keepalives skipped).
    async fn events(&mut self, n: usize) -> Vec<FetchResponse> {
        let mut got = vec![];
        while got
            .iter()
            .map(|r: &FetchResponse| r.events.len())
            .sum::<usize>()
            < n
        {
            let r = self.response().await;
            if !r.events.is_empty() {
                got.push(r);
            }
        }
        got
    }
}

async fn wait_until(mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn newest(sim: &Sim) -> u64 {
    sim.org(|o| o.changes.last().unwrap().replay_id)
}

/// Changes a session's status (to one it does not have); returns its id.
fn touch(sim: &Sim, nth: usize) -> String {
    sim.org_mut(|org, _| {
        let s = org.sessions().nth(nth).unwrap();
        let id = s.id().to_string();
        let to = if s.text("Status") == Some("Active") {
            "Inactive"
        } else {
            "Active"
        };
        let me = org.me.clone();
        assert!(org.update(&id, &[("Status", Val::str(to))], chrono::Utc::now(), &me));
        id
    })
}

async fn schema(sim: &Sim, creds: &Creds) -> (Schema, Value) {
    let id = client(sim)
        .await
        .get_topic(creds.call(TopicRequest {
            topic_name: MESSAGING_SESSION_TOPIC.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .schema_id;
    let json = client(sim)
        .await
        .get_schema(creds.call(SchemaRequest { schema_id: id }))
        .await
        .unwrap()
        .into_inner()
        .schema_json;
    (
        Schema::parse_str(&json).unwrap(),
        serde_json::from_str(&json).unwrap(),
    )
}

fn record(v: Avro) -> Vec<(String, Avro)> {
    match v {
        Avro::Record(f) => f,
        other => panic!("not a record: {other:?}"),
    }
}

fn field<'a>(r: &'a [(String, Avro)], name: &str) -> &'a Avro {
    &r.iter().find(|(n, _)| n == name).unwrap().1
}

fn strings(v: &Avro) -> Vec<String> {
    match v {
        Avro::Array(items) => items
            .iter()
            .map(|i| match i {
                Avro::String(s) => s.clone(),
                other => panic!("not a string: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

/// The field names a `changedFields` bitmap sets, read as Salesforce's own utility reads
/// it: bit i is the i-th top-level field of the schema.
fn bitmap_fields(bitmap: &str, schema: &Value) -> Vec<String> {
    let hex = bitmap.strip_prefix("0x").unwrap();
    assert_eq!(hex.len() % 2, 0, "{bitmap}: whole bytes");
    assert_eq!(hex, hex.to_uppercase(), "{bitmap}: upper case");
    let bits = u128::from_str_radix(hex, 16).unwrap();
    let fields = schema["fields"].as_array().unwrap();
    (0..128)
        .filter(|i| bits >> i & 1 == 1)
        .map(|i| fields[i]["name"].as_str().unwrap().to_string())
        .collect()
}

fn code(s: &Status) -> Option<&str> {
    s.metadata().get("error-code").and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn every_call_needs_a_live_token_of_this_org() {
    let sim = start(SfConfig::default()).await;
    assert_ne!(sim.pubsub_url(), sim.url());
    assert!(sim.pubsub_url().starts_with("http://127.0.0.1:"));
    let good = Creds::of(&sim).await;
    let topic = || TopicRequest {
        topic_name: MESSAGING_SESSION_TOPIC.into(),
    };
    let get_topic = |creds: Creds| {
        let sim = &sim;
        async move { client(sim).await.get_topic(creds.call(topic())).await }
    };
    assert!(get_topic(good.clone()).await.is_ok());
    let cases = [
        (
            Creds {
                token: String::new(),
                ..good.clone()
            },
            Code::Unauthenticated,
        ),
        (
            Creds {
                token: format!("{}x", good.token),
                ..good.clone()
            },
            Code::Unauthenticated,
        ),
        (
            Creds {
                instance: "http://127.0.0.1:1".into(),
                ..good.clone()
            },
            Code::PermissionDenied,
        ),
        (
            Creds {
                tenant: "00D000000000002AAA".into(),
                ..good.clone()
            },
            Code::PermissionDenied,
        ),
        (
            Creds {
                tenant: String::new(),
                ..good.clone()
            },
            Code::PermissionDenied,
        ),
    ];
    let n = cases.len() as u64;
    for (creds, want) in cases {
        let status = get_topic(creds).await.unwrap_err();
        assert_eq!(status.code(), want, "{status:?}");
    }
    // Subscribe is refused before it starts.
    let bad = Creds {
        token: "00D000000000001!nope".into(),
        ..good.clone()
    };
    let status = Subscription::open(&sim, &bad, fetch(ReplayPreset::Latest, vec![], 1))
        .await
        .err()
        .unwrap();
    assert_eq!(status.code(), Code::Unauthenticated);
    // Tokens expire with the org's sessions.
    sim.expire_sf_sessions();
    let status = get_topic(good.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let stats = sim.stats().salesforce;
    assert_eq!(stats.pubsub_refused, n + 2);
    assert_eq!(stats.pubsub_subscribes, 0);
    // Pub/Sub calls spend none of the REST allocation.
    assert_eq!(stats.api_usage, 0);
}

#[tokio::test]
async fn the_topic_names_its_avro_schema() {
    let sim = start(SfConfig::default()).await;
    let creds = Creds::of(&sim).await;
    let topic = client(&sim)
        .await
        .get_topic(creds.call(TopicRequest {
            topic_name: MESSAGING_SESSION_TOPIC.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(topic.topic_name, MESSAGING_SESSION_TOPIC);
    assert_eq!(topic.tenant_guid, creds.tenant);
    assert!(topic.can_subscribe && !topic.can_publish);
    assert!(!topic.schema_id.is_empty() && !topic.rpc_id.is_empty());
    let info = client(&sim)
        .await
        .get_schema(creds.call(SchemaRequest {
            schema_id: topic.schema_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.schema_id, topic.schema_id);
    let json: Value = serde_json::from_str(&info.schema_json).unwrap();
    Schema::parse_str(&info.schema_json).unwrap();
    assert_eq!(json["name"], "MessagingSessionChangeEvent");
    assert_eq!(json["fields"][0]["name"], "ChangeEventHeader");
    let names: Vec<&str> = json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"Id"));
    for f in ["Status", "OwnerId", "AcceptTime", "OpencxSessionId__c"] {
        assert!(names.contains(&f), "{f}");
    }
    // The same org gives the same schema id, run after run.
    let again = start(SfConfig::default()).await;
    let creds2 = Creds::of(&again).await;
    let id2 = client(&again)
        .await
        .get_topic(creds2.call(TopicRequest {
            topic_name: MESSAGING_SESSION_TOPIC.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .schema_id;
    assert_eq!(id2, topic.schema_id);

    let mut c = client(&sim).await;
    let status = c
        .get_topic(creds.call(TopicRequest {
            topic_name: "/data/CaseChangeEvent".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = c
        .get_schema(creds.call(SchemaRequest {
            schema_id: "nope".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = c
        .publish(creds.call(PublishRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    let stats = sim.stats().salesforce;
    assert_eq!(stats.pubsub_schema_reads, 1);
    assert_eq!(stats.pubsub_refused, 3);
}

#[tokio::test]
async fn a_change_reaches_a_waiting_subscriber_at_once() {
    let sim = start(SfConfig::default()).await;
    let creds = Creds::of(&sim).await;
    let (schema, json) = schema(&sim, &creds).await;
    let mut sub =
        Subscription::started(&sim, &creds, fetch(ReplayPreset::Latest, vec![], 10)).await;
    // LATEST: nothing of the seeded history.
    assert!(sub.next(Duration::from_millis(200)).await.is_none());
    let changed_at = Instant::now();
    let id = touch(&sim, 3);
    let r = sub.response().await;
    let latency = changed_at.elapsed();
    println!("change to subscriber: {latency:?}");
    assert!(latency < Duration::from_millis(500), "{latency:?}");
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.pending_num_requested, 9);
    assert!(!r.rpc_id.is_empty());
    let replay = newest(&sim);
    let event = &r.events[0];
    assert_eq!(event.replay_id, replay.to_be_bytes());
    assert_eq!(r.latest_replay_id, event.replay_id);
    let payload = event.event.as_ref().unwrap();
    assert_eq!(payload.schema_id, json_id(&sim, &creds).await);
    let decoded = record(
        apache_avro::from_avro_datum(&schema, &mut payload.payload.as_slice(), None).unwrap(),
    );
    let header = record(field(&decoded, "ChangeEventHeader").clone());
    assert_eq!(strings(field(&header, "recordIds")), vec![id.clone()]);
    assert_eq!(
        field(&header, "changeType"),
        &Avro::Enum(1, "UPDATE".into())
    );
    assert_eq!(
        field(&header, "entityName"),
        &Avro::String("MessagingSession".into())
    );
    assert_eq!(field(&header, "commitNumber"), &Avro::Long(replay as i64));
    let changed = strings(field(&header, "changedFields"));
    assert_eq!(changed.len(), 1);
    let mut names = bitmap_fields(&changed[0], &json);
    names.sort();
    let mut want = sim.org(|o| o.changes.last().unwrap().changed_fields.clone());
    want.sort();
    assert_eq!(names, want);
    assert!(names.contains(&"Status".to_string()), "{names:?}");
    let status = sim.org(|o| o.record(&id).unwrap().text("Status").unwrap().to_string());
    assert_eq!(
        field(&decoded, "Status"),
        &Avro::Union(1, Box::new(Avro::String(status)))
    );
    // Unchanged fields are null.
    assert_eq!(
        field(&decoded, "ConversationId"),
        &Avro::Union(0, Box::new(Avro::Null))
    );
    let stats = sim.stats().salesforce;
    assert_eq!(stats.pubsub_subscribes, 1);
    assert_eq!(stats.pubsub_events_sent, 1);
}

async fn json_id(sim: &Sim, creds: &Creds) -> String {
    client(sim)
        .await
        .get_topic(creds.call(TopicRequest {
            topic_name: MESSAGING_SESSION_TOPIC.into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .schema_id
}

#[tokio::test]
async fn replays_resume_after_a_replay_id_in_order() {
    let sim = start(SfConfig::default()).await;
    let creds = Creds::of(&sim).await;
    let from = newest(&sim);
    for i in 0..3 {
        touch(&sim, i);
    }
    let mut sub = Subscription::open(
        &sim,
        &creds,
        fetch(ReplayPreset::Custom, replay_bytes(from), 50),
    )
    .await
    .unwrap();
    let ids: Vec<Vec<u8>> = sub
        .events(3)
        .await
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.replay_id.clone()))
        .collect();
    assert_eq!(
        ids,
        [from + 1, from + 2, from + 3].map(|n| n.to_be_bytes().to_vec())
    );
    // EARLIEST: from the oldest change kept (the last 72 hours), all of them in order.
    let cutoff = chrono::Utc::now() - chrono::TimeDelta::hours(72);
    let kept: Vec<u64> = sim.org(|o| {
        o.changes
            .iter()
            .filter(|c| c.commit_timestamp >= cutoff)
            .map(|c| c.replay_id)
            .collect()
    });
    assert!(kept.len() > 50, "{}", kept.len());
    let mut sub = Subscription::open(&sim, &creds, fetch(ReplayPreset::Earliest, vec![], 100))
        .await
        .unwrap();
    let mut got = vec![];
    while got.len() < kept.len() {
        let r = sub.response().await;
        got.extend(
            r.events
                .iter()
                .map(|e| u64::from_be_bytes(e.replay_id.as_slice().try_into().unwrap())),
        );
        if got.len() % 100 == 0 && got.len() < kept.len() {
            sub.ask(100).await;
        }
    }
    assert_eq!(got, kept);
    // A CREATE carries its values and no changed fields.
    let (schema, _) = schema(&sim, &creds).await;
    sim.org_mut(|org, g| g.live_step(org, chrono::Utc::now()));
    let mut sub = Subscription::open(
        &sim,
        &creds,
        fetch(ReplayPreset::Custom, replay_bytes(from + 3), 100),
    )
    .await
    .unwrap();
    let creates = sim.org(|o| {
        o.changes_after(from + 3)
            .iter()
            .filter(|c| c.change_type == baton_sim::salesforce::ChangeType::Create)
            .count()
    });
    let total = sim.org(|o| o.changes_after(from + 3).len());
    let mut seen_create = 0;
    for r in sub.events(total).await {
        for e in r.events {
            let p = e.event.unwrap().payload;
            let rec =
                record(apache_avro::from_avro_datum(&schema, &mut p.as_slice(), None).unwrap());
            let header = record(field(&rec, "ChangeEventHeader").clone());
            if field(&header, "changeType") == &Avro::Enum(0, "CREATE".into()) {
                seen_create += 1;
                assert!(strings(field(&header, "changedFields")).is_empty());
                assert!(matches!(field(&rec, "Name"), Avro::Union(1, _)));
            }
        }
    }
    assert_eq!(seen_create, creates);
}

#[tokio::test]
async fn events_flow_only_as_far_as_asked() {
    let sim = start(SfConfig::default()).await;
    let creds = Creds::of(&sim).await;
    let mut sub = Subscription::started(&sim, &creds, fetch(ReplayPreset::Latest, vec![], 1)).await;
    let from = newest(&sim);
    for i in 0..3 {
        touch(&sim, i);
    }
    let r = sub.response().await;
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.pending_num_requested, 0);
    assert_eq!(r.latest_replay_id, replay_bytes(from + 1));
    assert!(sub.next(Duration::from_millis(300)).await.is_none());
    // Zero and negative asks change nothing.
    sub.ask(0).await;
    sub.ask(-5).await;
    assert!(sub.next(Duration::from_millis(300)).await.is_none());
    sub.ask(5).await;
    let got = sub.events(2).await;
    let last = got.last().unwrap();
    assert_eq!(last.pending_num_requested, 3);
    assert_eq!(last.latest_replay_id, replay_bytes(from + 3));
    // At most 100 outstanding.
    sub.ask(500).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    touch(&sim, 4);
    let r = sub.events(1).await.pop().unwrap();
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.pending_num_requested, 99);
    assert_eq!(sim.stats().salesforce.pubsub_events_sent, 4);
}

#[tokio::test]
async fn a_quiet_stream_gets_keepalives_with_the_latest_replay_id() {
    let sim = start(SfConfig {
        pubsub_keepalive: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let creds = Creds::of(&sim).await;
    // Nothing asked for: keepalives come all the same.
    let mut sub = Subscription::started(&sim, &creds, fetch(ReplayPreset::Latest, vec![], 0)).await;
    let started = Instant::now();
    let r = sub.response().await;
    let waited = started.elapsed();
    assert!(r.events.is_empty());
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert_eq!(r.latest_replay_id, replay_bytes(newest(&sim)));
    assert_eq!(r.pending_num_requested, 0);
    // The latest replay id moves with the org even when nothing was asked for.
    touch(&sim, 0);
    let r = sub.response().await;
    assert!(r.events.is_empty());
    assert_eq!(r.latest_replay_id, replay_bytes(newest(&sim)));
    assert!(sim.stats().salesforce.pubsub_keepalives >= 2);
}

#[tokio::test]
async fn a_replay_id_past_retention_is_refused_with_salesforces_error_code() {
    let sim = start(SfConfig::default()).await;
    let creds = Creds::of(&sim).await;
    let old = newest(&sim);
    let refused = |first: FetchRequest| {
        let (sim, creds) = (&sim, &creds);
        async move {
            let mut sub = Subscription::open(sim, creds, first).await.unwrap();
            sub.next(Duration::from_secs(5))
                .await
                .expect("an answer")
                .unwrap_err()
        }
    };
    // Malformed, and newer than the newest change.
    for id in [vec![1, 2, 3], replay_bytes(old + 1)] {
        let status = refused(fetch(ReplayPreset::Custom, id, 1)).await;
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), REPLAY_ID_MESSAGE);
        assert_eq!(code(&status), Some(REPLAY_ID_CORRUPTED));
    }
    // Still kept.
    let mut sub = Subscription::open(
        &sim,
        &creds,
        fetch(ReplayPreset::Custom, replay_bytes(old - 1), 5),
    )
    .await
    .unwrap();
    assert_eq!(
        sub.events(1).await[0].events[0].replay_id,
        replay_bytes(old)
    );
    sim.expire_sf_changes();
    for id in [old, old - 1, 1] {
        let status = refused(fetch(ReplayPreset::Custom, replay_bytes(id), 1)).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{id}");
        assert_eq!(code(&status), Some(REPLAY_ID_CORRUPTED), "{id}");
    }
    // LATEST still works, and so do replay ids issued after.
    let mut latest =
        Subscription::started(&sim, &creds, fetch(ReplayPreset::Latest, vec![], 5)).await;
    touch(&sim, 0);
    touch(&sim, 1);
    let got: usize = latest.events(2).await.iter().map(|r| r.events.len()).sum();
    assert_eq!(got, 2);
    let mut sub = Subscription::open(
        &sim,
        &creds,
        fetch(ReplayPreset::Custom, replay_bytes(old + 1), 5),
    )
    .await
    .unwrap();
    assert_eq!(
        sub.events(1).await[0].events[0].replay_id,
        replay_bytes(old + 2)
    );
    // A topic the org does not serve.
    let mut other = fetch(ReplayPreset::Latest, vec![], 1);
    other.topic_name = "/data/CaseChangeEvent".into();
    assert_eq!(refused(other).await.code(), Code::InvalidArgument);
    let stats = sim.stats().salesforce;
    assert_eq!(stats.pubsub_refused, 6);
    assert_eq!(stats.pubsub_subscribes, 3);
}

#[tokio::test]
async fn stalled_streams_go_silent_while_new_ones_work() {
    let sim = start(SfConfig {
        pubsub_keepalive: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let creds = Creds::of(&sim).await;
    let mut old =
        Subscription::started(&sim, &creds, fetch(ReplayPreset::Latest, vec![], 10)).await;
    assert!(old.response().await.events.is_empty(), "a keepalive");
    sim.stall_pubsub_streams();
    let mut new =
        Subscription::started(&sim, &creds, fetch(ReplayPreset::Latest, vec![], 10)).await;
    touch(&sim, 0);
    assert_eq!(new.events(1).await[0].events.len(), 1);
    assert!(new.response().await.events.is_empty(), "a keepalive");
    // The old stream: open, but nothing at all, not even keepalives.
    assert!(old.next(Duration::from_millis(1200)).await.is_none());
    old.ask(5).await;
    assert!(old.next(Duration::from_millis(400)).await.is_none());
}

#[tokio::test]
async fn a_stream_ends_when_the_simulator_stops() {
    let sim = start(SfConfig::default()).await;
    let creds = Creds::of(&sim).await;
    let mut sub =
        Subscription::started(&sim, &creds, fetch(ReplayPreset::Latest, vec![], 10)).await;
    drop(sim);
    let end = tokio::time::timeout(Duration::from_secs(5), sub.responses.message())
        .await
        .expect("the stream ends");
    assert!(!matches!(end, Ok(Some(_))), "{end:?}");
}
