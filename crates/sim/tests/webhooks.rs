//! Webhooks the simulator sends, as a receiver on 127.0.0.1 sees them: signed as Zendesk
//! signs (checked here with HMAC computed independently), retried as the vendors retry,
//! and lost, repeated, delayed or reordered when the faults say so.

mod common;

use base64::Engine;
use baton_sim::world::{AuthorType, Event, Truth, Wire};
use baton_sim::{Faults, Limits, Sim, SimConfig, Stats, WebhookTarget, WebhookTiming};
use common::{Answer, Received, Receiver};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const SECRET: &str = "test-zendesk-signing-secret";
const SUNCO_KEY: &str = "test-sunco-webhook-key";

/// Vendor waits a thousand times shorter (Sunco's 15 minutes under a second); timeouts
/// as they are, so a busy machine never turns a slow answer into a retry.
fn fast() -> WebhookTiming {
    WebhookTiming {
        wait_scale: 0.001,
        timeout_scale: 1.0,
    }
}

fn config(zendesk: Option<&Receiver>, sunco: Option<&Receiver>) -> SimConfig {
    SimConfig {
        seed: 11,
        tickets: 12,
        limits: Limits::unlimited(),
        zendesk_webhook: zendesk.map(|r| WebhookTarget::new(&r.url, SECRET)),
        sunco_webhook: sunco.map(|r| WebhookTarget::new(&r.url, SUNCO_KEY)),
        webhook_timing: fast(),
        ..Default::default()
    }
}

async fn sim_to(zendesk: Option<&Receiver>, sunco: Option<&Receiver>) -> Sim {
    Sim::start(config(zendesk, sunco)).await.unwrap()
}

/// Whether `secret` signed the request: HMAC-SHA256 over the timestamp header's text and
/// the body, base64, computed here rather than by the simulator.
fn signed_by(secret: &str, r: &Received) -> bool {
    let Some(ts) = r.header("X-Zendesk-Webhook-Signature-Timestamp") else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(&r.body);
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    r.header("X-Zendesk-Webhook-Signature") == Some(want.as_str())
}

/// A Zendesk event's type without `zen:event-type:`.
fn kind(r: &Received) -> String {
    r.json()["type"]
        .as_str()
        .unwrap()
        .trim_start_matches("zen:event-type:")
        .to_string()
}

/// The stats once every webhook is delivered or given up.
async fn settled(sim: &Sim) -> Stats {
    let start = Instant::now();
    loop {
        let stats = sim.stats();
        if stats.webhooks.in_flight == 0 {
            return stats;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            stats.webhooks
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An open ticket that is not a messaging one (its changes make no Sunco events).
fn ordinary(sim: &Sim) -> u64 {
    sim.world(|w| {
        w.tickets
            .values()
            .find(|t| !t.kind.is_messaging() && t.status == "open")
            .unwrap()
            .id
    })
}

/// Open messaging tickets.
fn messaging(sim: &Sim) -> Vec<u64> {
    sim.world(|w| {
        w.tickets
            .values()
            .filter(|t| t.kind.is_messaging() && matches!(t.status, "new" | "open" | "pending"))
            .map(|t| t.id)
            .collect()
    })
}

/// A change that announces exactly one event: `ticket.tags_changed`.
fn tag(sim: &Sim, ticket: u64, tag: &str) {
    sim.world_mut(|w, _| w.tickets.get_mut(&ticket).unwrap().tags.push(tag.into()));
}

/// The tag each received `tags_changed` added, in arrival order.
fn tags_added(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| {
            r.json()["event"]["tags_added"][0]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn api(
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
    token: &str,
) -> (u16, Value) {
    let mut req = client()
        .request(method, url)
        .basic_auth("alex@acme.test/token", Some(token));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_live_scenario_sends_signed_zendesk_webhooks() {
    let rx = Receiver::start([]).await;
    let sim = Sim::start(SimConfig {
        live_every: Some(Duration::from_millis(30)),
        ..config(Some(&rx), None)
    })
    .await
    .unwrap();
    // Both kinds of live step: a new handoff, and a customer writing again.
    let start = Instant::now();
    let got = loop {
        let got = rx.got();
        let kinds: BTreeSet<String> = got.iter().map(kind).collect();
        if kinds.contains("ticket.created") && kinds.contains("messaging_ticket.message_added") {
            break got;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{kinds:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The scenario notes what it created just after the change that announced it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let live_created: BTreeSet<u64> = sim.stats().live_created.iter().map(|(id, _)| *id).collect();
    let mut ids = BTreeSet::new();
    for r in &got {
        assert!(signed_by(SECRET, r), "{r:?}");
        assert!(!signed_by("another secret", r));
        let ts = r.header("X-Zendesk-Webhook-Signature-Timestamp").unwrap();
        let signed_at = chrono::DateTime::parse_from_rfc3339(ts).unwrap();
        assert!(
            (chrono::Utc::now() - signed_at.to_utc())
                .num_seconds()
                .abs()
                < 60
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            r.header("X-Zendesk-Webhook-Id"),
            Some(baton_sim::webhooks::WEBHOOK_ID)
        );
        let account = baton_sim::webhooks::ACCOUNT_ID.to_string();
        assert_eq!(r.header("X-Zendesk-Account-Id"), Some(account.as_str()));
        let v = r.json();
        let ticket: u64 = v["detail"]["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(v["subject"], format!("zen:ticket:{ticket}"));
        assert_eq!(v["account_id"], baton_sim::webhooks::ACCOUNT_ID);
        assert_eq!(v["zendesk_event_version"], "2022-11-06");
        assert!(
            ids.insert(v["id"].as_str().unwrap().to_string()),
            "event ids are unique"
        );
        match kind(r).as_str() {
            "ticket.created" => {
                assert!(live_created.contains(&ticket), "a ticket the scenario made");
                let status = sim.world(|w| w.tickets[&ticket].status.to_ascii_uppercase());
                assert_eq!(v["detail"]["status"], status);
                assert_eq!(v["event"]["meta"]["sequence"]["position"], 1);
            }
            "messaging_ticket.message_added" => {
                let id = v["event"]["message"]["id"].as_str().unwrap();
                let text = sim.world(|w| {
                    w.tickets[&ticket]
                        .events
                        .iter()
                        .find(|e| format!("{:024x}", e.id) == id)
                        .map(|e| e.text.clone())
                });
                assert_eq!(v["event"]["message"]["body"].as_str(), text.as_deref());
                assert_eq!(v["event"]["actor"]["type"], "end_user");
            }
            other => panic!("the live scenario makes no {other}"),
        }
    }
}

#[tokio::test]
async fn every_kind_of_change_is_announced_to_zendesk_and_sunco() {
    let zd = Receiver::start([]).await;
    let sc = Receiver::start([]).await;
    let conf = config(Some(&zd), Some(&sc));
    let sim = Sim::start(conf.clone()).await.unwrap();
    let (me, agents, groups) = sim.world(|w| {
        let agents: Vec<u64> = w
            .users
            .values()
            .filter(|u| u.role != "end-user")
            .map(|u| u.id)
            .collect();
        (w.me, agents, w.groups.keys().copied().collect::<Vec<_>>())
    });
    let chats = messaging(&sim);
    let (m, m2, o) = (chats[0], chats[1], ordinary(&sim));

    // A reply through the API that also solves a messaging ticket.
    let was = sim.world(|w| w.tickets[&m].status).to_ascii_uppercase();
    let reply = json!({ "ticket": { "comment": { "body": "Refund issued.", "public": true }, "status": "solved" } });
    let url = format!("{}/api/v2/tickets/{m}", sim.url());
    let (status, _) = api(reqwest::Method::PUT, url, Some(reply), "sim-token").await;
    assert_eq!(status, 200);

    // Assignment, group and tags, as someone in Zendesk would change them.
    let (old_assignee, old_group, old_tags) = sim.world(|w| {
        let t = &w.tickets[&o];
        (t.assignee_id, t.group_id, t.tags.clone())
    });
    let new_assignee = *agents.iter().find(|a| Some(**a) != old_assignee).unwrap();
    let new_group = *groups.iter().find(|g| Some(**g) != old_group).unwrap();
    sim.world_mut(|w, _| {
        let t = w.tickets.get_mut(&o).unwrap();
        t.assignee_id = Some(new_assignee);
        t.group_id = Some(new_group);
        t.tags = vec!["vip".into()];
    });

    // A customer writing on another chat.
    let requester = sim.world(|w| w.tickets[&m2].requester_id);
    sim.world_mut(|w, _| {
        w.tickets.get_mut(&m2).unwrap().events.push(Event {
            id: 8_888_888,
            created_at: chrono::Utc::now(),
            text: "Any news?".into(),
            attachments: vec![],
            wire: Wire::Message {
                author: AuthorType::User,
                author_name: "Customer".into(),
                author_id: Some(requester),
            },
            truth: Truth::Turn { role: "customer" },
        })
    });
    sim.delete_ticket(o);

    let stats = settled(&sim).await;
    let zendesk = zd.got();
    let sunco = sc.got();
    assert_eq!(
        stats.webhooks.delivered as usize,
        zendesk.len() + sunco.len()
    );
    assert_eq!(stats.webhooks.failed, 0);
    let of = |t: &str| -> Vec<Value> {
        zendesk
            .iter()
            .filter(|r| kind(r) == t)
            .map(Received::json)
            .collect()
    };
    assert!(zendesk.iter().all(|r| signed_by(SECRET, r)));

    let status = &of("ticket.status_changed")[0];
    let comment = &of("ticket.comment_added")[0];
    assert_eq!(status["event"]["current"], "SOLVED");
    assert_eq!(status["event"]["previous"], was.as_str());
    assert_eq!(comment["event"]["comment"]["body"], "Refund issued.");
    assert_eq!(comment["event"]["comment"]["is_public"], true);
    assert_eq!(comment["event"]["comment"]["author"]["id"], me.to_string());
    assert_eq!(comment["event"]["comment"]["author"]["is_staff"], true);
    assert_eq!(comment["detail"]["actor_id"], me.to_string());
    // One action, one sequence of two events.
    let seq = |v: &Value| v["event"]["meta"]["sequence"].clone();
    assert_eq!(seq(status)["id"], seq(comment)["id"]);
    assert_eq!(
        (
            seq(status)["position"].clone(),
            seq(comment)["position"].clone()
        ),
        (json!(1), json!(2))
    );
    assert_eq!(seq(status)["total"], 2);

    let agent = &of("ticket.agent_assignment_changed")[0];
    assert_eq!(agent["event"]["current"], new_assignee.to_string());
    assert_eq!(
        agent["event"]["previous"],
        json!(old_assignee.map(|a| a.to_string()))
    );
    assert_eq!(
        agent["detail"]["actor_id"], "-1",
        "nobody in particular: Zendesk"
    );
    let group = &of("ticket.group_assignment_changed")[0];
    assert_eq!(group["event"]["current"], new_group.to_string());
    let tags = &of("ticket.tags_changed")[0];
    assert_eq!(tags["event"]["tags_added"], json!(["vip"]));
    assert_eq!(tags["event"]["tags_removed"], json!(old_tags));
    assert_eq!(tags["detail"]["tags"], json!(["vip"]));

    let message = &of("messaging_ticket.message_added")[0];
    assert_eq!(message["detail"], json!({ "id": m2.to_string() }));
    assert_eq!(message["event"]["message"]["body"], "Any news?");
    assert_eq!(message["event"]["actor"]["id"], requester.to_string());

    let deleted = &of("ticket.soft_deleted")[0];
    assert_eq!(deleted["detail"]["id"], o.to_string());
    assert_eq!(deleted["detail"]["status"], "DELETED");
    assert_eq!(zendesk.len(), 7, "and nothing else");

    // Sunco: the chat handed back to the bot when solved, and the customer's message.
    assert_eq!(sunco.len(), 2);
    for r in &sunco {
        assert_eq!(r.header("X-API-Key"), Some(SUNCO_KEY));
        assert_eq!(r.header("X-Zendesk-Webhook-Signature"), None);
        let v = r.json();
        assert_eq!(v["app"]["id"], conf.sunco_app_id.as_str());
        assert_eq!(v["webhook"]["version"], "v2");
    }
    let event = |n: usize| sunco[n].json()["events"][0].clone();
    let (closed, said) = if event(0)["type"] == "switchboard:passControl" {
        (event(0), event(1))
    } else {
        (event(1), event(0))
    };
    assert_eq!(closed["type"], "switchboard:passControl");
    assert_eq!(closed["payload"]["reason"], "ticketClosed");
    assert_eq!(
        closed["payload"]["conversation"]["id"],
        baton_sim::world::sunco_conversation_id(m)
    );
    assert_eq!(said["type"], "conversation:message");
    assert_eq!(
        said["payload"]["message"]["id"],
        format!("{:024x}", 8_888_888)
    );
    assert_eq!(said["payload"]["message"]["content"]["text"], "Any news?");
    assert_eq!(said["payload"]["message"]["author"]["type"], "user");
    assert_eq!(
        said["payload"]["conversation"]["id"],
        baton_sim::world::sunco_conversation_id(m2)
    );
}

#[tokio::test]
async fn nothing_is_compared_or_sent_without_a_target() {
    let sim = Sim::start(SimConfig {
        tickets: 5,
        ..Default::default()
    })
    .await
    .unwrap();
    let o = ordinary(&sim);
    tag(&sim, o, "quiet");
    assert_eq!(sim.stats().webhooks, Default::default());
}

#[tokio::test]
async fn the_drop_fault_loses_the_next_requests() {
    let rx = Receiver::start([]).await;
    let sim = sim_to(Some(&rx), None).await;
    let o = ordinary(&sim);
    sim.set_faults(Faults {
        webhook_drops: 2,
        ..Default::default()
    });
    for t in ["a", "b", "c", "d", "e"] {
        tag(&sim, o, t);
    }
    let stats = settled(&sim).await;
    assert_eq!(tags_added(&rx.got()), ["c", "d", "e"]);
    assert_eq!((stats.webhooks.dropped, stats.webhooks.delivered), (2, 3));
    assert_eq!(sim.faults().webhook_drops, 0, "counted down");
}

#[tokio::test]
async fn the_drop_share_loses_the_same_requests_under_the_same_seed() {
    let mut runs = vec![];
    for _ in 0..2 {
        let rx = Receiver::start([]).await;
        let sim = sim_to(Some(&rx), None).await;
        let o = ordinary(&sim);
        sim.set_faults(Faults {
            webhook_drop_share: 0.5,
            ..Default::default()
        });
        for n in 0..30 {
            tag(&sim, o, &format!("t{n}"));
        }
        let stats = settled(&sim).await;
        let kept: BTreeSet<String> = tags_added(&rx.got()).into_iter().collect();
        assert_eq!(stats.webhooks.dropped as usize + kept.len(), 30);
        assert!((5..25).contains(&kept.len()), "about half: {}", kept.len());
        runs.push(kept);
    }
    assert_eq!(runs[0], runs[1]);
}

#[tokio::test]
async fn the_duplicate_fault_sends_one_event_twice() {
    let rx = Receiver::start([]).await;
    let sim = sim_to(Some(&rx), None).await;
    let o = ordinary(&sim);
    sim.set_faults(Faults {
        webhook_duplicates: 1,
        ..Default::default()
    });
    tag(&sim, o, "twice");
    tag(&sim, o, "once");
    let stats = settled(&sim).await;
    let got = rx.got();
    assert_eq!(tags_added(&got), ["twice", "twice", "once"]);
    assert_eq!(got[0].json()["id"], got[1].json()["id"], "the same event");
    assert_ne!(
        got[0].header("X-Zendesk-Webhook-Invocation-Id"),
        got[1].header("X-Zendesk-Webhook-Invocation-Id"),
        "two invocations"
    );
    assert!(got.iter().all(|r| signed_by(SECRET, r)));
    assert_eq!(
        (stats.webhooks.duplicated, stats.webhooks.delivered),
        (1, 3)
    );
}

#[tokio::test]
async fn the_delay_fault_holds_each_request_back() {
    let rx = Receiver::start([]).await;
    let sim = sim_to(Some(&rx), None).await;
    let o = ordinary(&sim);
    sim.set_faults(Faults {
        webhook_delay_ms: 1_000,
        ..Default::default()
    });
    let changed = Instant::now();
    tag(&sim, o, "late");
    tag(&sim, o, "later");
    let got = rx.wait_for(2).await;
    assert_eq!(tags_added(&got), ["late", "later"], "in order");
    for r in &got {
        let waited = r.at - changed;
        assert!(waited >= Duration::from_millis(1_000), "{waited:?}");
        // Each is delayed from its own event, not one after the other.
        assert!(waited < Duration::from_millis(1_900), "{waited:?}");
    }
    assert_eq!(settled(&sim).await.webhooks.delayed, 2);

    sim.set_faults(Faults::default());
    let now = Instant::now();
    tag(&sim, o, "prompt");
    let got = rx.wait_for(3).await;
    assert!(got[2].at - now < Duration::from_millis(1_000));
}

#[tokio::test]
async fn the_reorder_fault_releases_held_requests_out_of_order() {
    let rx = Receiver::start([]).await;
    let sim = sim_to(Some(&rx), None).await;
    let o = ordinary(&sim);
    sim.set_faults(Faults {
        webhook_reorders: 3,
        ..Default::default()
    });
    tag(&sim, o, "first");
    tag(&sim, o, "second");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rx.got().is_empty(), "held until the third");
    tag(&sim, o, "third");
    rx.wait_for(3).await;
    tag(&sim, o, "fourth");
    let got = rx.wait_for(4).await;
    assert_eq!(tags_added(&got), ["third", "second", "first", "fourth"]);
    assert_eq!(settled(&sim).await.webhooks.reordered, 3);

    // Switched off early, the fault lets go of what it holds.
    sim.set_faults(Faults {
        webhook_reorders: 5,
        ..Default::default()
    });
    tag(&sim, o, "x");
    tag(&sim, o, "y");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(rx.got().len(), 4);
    sim.set_faults(Faults::default());
    let got = rx.wait_for(6).await;
    assert_eq!(tags_added(&got[4..]), ["y", "x"]);
}

#[tokio::test]
async fn the_faults_are_set_over_http_too() {
    let rx = Receiver::start([]).await;
    let sim = sim_to(Some(&rx), None).await;
    let o = ordinary(&sim);
    let r = client()
        .post(format!("{}/__sim/faults", sim.url()))
        .json(&json!({ "webhook_drops": 1, "webhook_duplicates": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    tag(&sim, o, "lost");
    tag(&sim, o, "doubled");
    let stats = settled(&sim).await;
    assert_eq!(tags_added(&rx.got()), ["doubled", "doubled"]);
    let served: Value = client()
        .get(format!("{}/__sim/stats", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["webhooks"]["dropped"], 1);
    assert_eq!(served["webhooks"]["duplicated"], 1);
    assert_eq!(stats.webhooks.delivered, 2);
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_until_accepted() {
    let throttled = Answer {
        retry_after: Some(1),
        ..Answer::status(503)
    };
    let rx = Receiver::start([throttled]).await;
    let sim = sim_to(Some(&rx), None).await;
    tag(&sim, ordinary(&sim), "retried");
    let stats = settled(&sim).await;
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, got[1].body, "the same event");
    assert_eq!(
        got[0].header("X-Zendesk-Webhook-Invocation-Id"),
        got[1].header("X-Zendesk-Webhook-Invocation-Id"),
        "attempts of one invocation"
    );
    assert!(
        got.iter().all(|r| signed_by(SECRET, r)),
        "each attempt signed"
    );
    let w = stats.webhooks;
    assert_eq!((w.sent, w.retried, w.delivered, w.failed), (2, 1, 1, 0));
}

#[tokio::test]
async fn zendesk_gives_up_as_documented() {
    // 409: three retries, then given up. 500: never retried. 503 without Retry-After:
    // never retried. A timeout: retried.
    let conflicts = [Answer::status(409); 4];
    let rx = Receiver::start(conflicts).await;
    let sim = sim_to(Some(&rx), None).await;
    tag(&sim, ordinary(&sim), "conflicted");
    let w = settled(&sim).await.webhooks;
    assert_eq!(rx.got().len(), 4);
    assert_eq!((w.sent, w.retried, w.delivered, w.failed), (4, 3, 0, 1));

    for status in [500, 503, 400] {
        let rx = Receiver::start([Answer::status(status)]).await;
        let sim = sim_to(Some(&rx), None).await;
        tag(&sim, ordinary(&sim), "once");
        let w = settled(&sim).await.webhooks;
        assert_eq!(rx.got().len(), 1, "{status}");
        assert_eq!((w.retried, w.failed), (0, 1), "{status}");
    }

    // Longer than Zendesk's 12 s, scaled to 1.2 s: a timeout, retried.
    let slow = Answer {
        delay_ms: 2_500,
        ..Answer::status(200)
    };
    let rx = Receiver::start([slow]).await;
    let sim = Sim::start(SimConfig {
        webhook_timing: WebhookTiming {
            timeout_scale: 0.1,
            ..fast()
        },
        ..config(Some(&rx), None)
    })
    .await
    .unwrap();
    tag(&sim, ordinary(&sim), "slow");
    let w = settled(&sim).await.webhooks;
    assert_eq!(rx.got().len(), 2);
    assert_eq!((w.retried, w.delivered, w.failed), (1, 1, 0));
}

#[tokio::test]
async fn sunco_retries_anything_but_its_non_recoverable_errors() {
    let rx = Receiver::start([Answer::status(500), Answer::status(429)]).await;
    let sim = sim_to(None, Some(&rx)).await;
    let chat = messaging(&sim)[0];
    let url = format!("{}/api/v2/tickets/{chat}", sim.url());
    let solve = json!({ "ticket": { "status": "solved" } });
    assert_eq!(
        api(reqwest::Method::PUT, url, Some(solve), "sim-token")
            .await
            .0,
        200
    );
    let w = settled(&sim).await.webhooks;
    assert_eq!(rx.got().len(), 3);
    assert_eq!((w.retried, w.delivered), (2, 1));

    let rx = Receiver::start([Answer::status(401)]).await;
    let sim = sim_to(None, Some(&rx)).await;
    let chat = messaging(&sim)[0];
    let url = format!("{}/api/v2/tickets/{chat}", sim.url());
    let solve = json!({ "ticket": { "status": "closed" } });
    assert_eq!(
        api(reqwest::Method::PUT, url, Some(solve), "sim-token")
            .await
            .0,
        200
    );
    let w = settled(&sim).await.webhooks;
    assert_eq!(rx.got().len(), 1, "401 is non-recoverable");
    assert_eq!((w.retried, w.failed), (0, 1));
}

#[tokio::test]
async fn a_webhook_created_through_the_api_gets_its_events_with_its_own_secret() {
    let config_rx = Receiver::start([]).await;
    let hook_rx = Receiver::start([]).await;
    let sim = sim_to(Some(&config_rx), None).await;
    let base = sim.url();
    let hooks = format!("{base}/api/v2/webhooks");
    let post = reqwest::Method::POST;
    let create = json!({ "webhook": {
        "name": "Baton relay",
        "status": "active",
        "endpoint": hook_rx.url,
        "http_method": "POST",
        "request_format": "json",
        "subscriptions": ["zen:event-type:ticket.tags_changed"],
        "authentication": { "type": "basic_auth", "add_position": "header",
                            "data": { "username": "relay", "password": "pw" } },
        "custom_headers": { "X-Team": "blue" },
    } });

    let (status, _) = api(post.clone(), hooks.clone(), Some(create.clone()), "wrong").await;
    assert_eq!(status, 401, "authenticated like the rest of the API");
    let (status, created) = api(
        post.clone(),
        hooks.clone(),
        Some(create.clone()),
        "sim-token",
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let hook = &created["webhook"];
    let id = hook["id"].as_str().unwrap().to_string();
    assert_eq!(
        hook["subscriptions"],
        json!(["zen:event-type:ticket.tags_changed"])
    );
    assert_eq!(
        hook["authentication"],
        json!({ "type": "basic_auth", "add_position": "header" })
    );
    assert!(hook.get("signing_secret").is_none());
    assert!(!created.to_string().contains("\"pw\""));

    let (status, secret) = api(
        reqwest::Method::GET,
        format!("{hooks}/{id}/signing_secret"),
        None,
        "sim-token",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(secret["signing_secret"]["algorithm"], "sha256");
    let secret = secret["signing_secret"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(secret, SECRET);

    let mut bad = create.clone();
    bad["webhook"]["request_format"] = json!("xml");
    let (status, body) = api(post.clone(), hooks.clone(), Some(bad), "sim-token").await;
    assert_eq!(status, 400);
    assert!(body["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("json POST"));
    let (status, second) = api(
        post.clone(),
        hooks.clone(),
        Some(create.clone()),
        "sim-token",
    )
    .await;
    assert_eq!(status, 201);
    let second = second["webhook"]["id"].as_str().unwrap().to_string();

    let (status, list) = api(
        reqwest::Method::GET,
        format!("{hooks}?page[size]=1"),
        None,
        "sim-token",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["webhooks"][0]["id"], id.as_str());
    assert_eq!(list["meta"]["has_more"], true);
    let after = list["meta"]["after_cursor"].as_str().unwrap();
    let (_, rest) = api(
        reqwest::Method::GET,
        format!("{hooks}?page[size]=1&page[after]={after}"),
        None,
        "sim-token",
    )
    .await;
    assert_eq!(rest["webhooks"][0]["id"], second.as_str());
    assert_eq!(rest["meta"]["has_more"], false);
    let (status, _) = api(
        reqwest::Method::DELETE,
        format!("{hooks}/{second}"),
        None,
        "sim-token",
    )
    .await;
    assert_eq!(status, 204);

    // A change it subscribes to, and one it does not (a comment through the API).
    let o = ordinary(&sim);
    tag(&sim, o, "relay-me");
    let url = format!("{base}/api/v2/tickets/{o}");
    let reply = json!({ "ticket": { "comment": { "body": "Noted.", "public": false } } });
    assert_eq!(
        api(reqwest::Method::PUT, url, Some(reply), "sim-token")
            .await
            .0,
        200
    );
    settled(&sim).await;

    let got = hook_rx.got();
    assert_eq!(
        got.len(),
        1,
        "only what it subscribed to, once (the deleted one gets none)"
    );
    let r = &got[0];
    assert_eq!(kind(r), "ticket.tags_changed");
    assert_eq!(r.header("X-Zendesk-Webhook-Id"), Some(id.as_str()));
    assert!(signed_by(&secret, r), "signed with its own secret");
    assert!(!signed_by(SECRET, r));
    let basic = base64::engine::general_purpose::STANDARD.encode("relay:pw");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(r.header("x-team"), Some("blue"));
    // The configured target still gets everything.
    let kinds: Vec<String> = config_rx.got().iter().map(kind).collect();
    assert_eq!(kinds, ["ticket.tags_changed", "ticket.comment_added"]);

    let (status, _) = api(
        reqwest::Method::DELETE,
        format!("{hooks}/{id}"),
        None,
        "sim-token",
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = api(
        reqwest::Method::DELETE,
        format!("{hooks}/{id}"),
        None,
        "sim-token",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["errors"][0]["code"], "RecordNotFound");
    tag(&sim, o, "after-delete");
    settled(&sim).await;
    assert_eq!(
        hook_rx.got().len(),
        1,
        "a deleted webhook gets nothing more"
    );
    let stats = sim.stats();
    assert_eq!(stats.requests.get("POST /api/v2/webhooks"), Some(&4));
    assert_eq!(stats.requests.get("DELETE /api/v2/webhooks/{id}"), Some(&3));
}

#[tokio::test]
async fn a_webhook_created_through_the_api_is_heard_without_a_configured_target() {
    let rx = Receiver::start([]).await;
    let sim = Sim::start(SimConfig {
        webhook_timing: fast(),
        ..Default::default()
    })
    .await
    .unwrap();
    let create = json!({ "webhook": {
        "name": "only", "status": "active", "endpoint": rx.url, "http_method": "POST",
        "request_format": "json", "subscriptions": ["zen:event-type:ticket.soft_deleted"],
    } });
    let (status, _) = api(
        reqwest::Method::POST,
        format!("{}/api/v2/webhooks", sim.url()),
        Some(create),
        "sim-token",
    )
    .await;
    assert_eq!(status, 201);
    let o = ordinary(&sim);
    sim.delete_ticket(o);
    let got = rx.wait_for(1).await;
    assert_eq!(kind(&got[0]), "ticket.soft_deleted");
}

#[tokio::test]
async fn show_ticket_sideloads_its_users_and_groups() {
    let sim = Sim::start(SimConfig {
        tickets: 20,
        limits: Limits::unlimited(),
        ..Default::default()
    })
    .await
    .unwrap();
    let (id, requester, assignee, group) = sim.world(|w| {
        let t = w
            .tickets
            .values()
            .find(|t| t.assignee_id.is_some() && t.group_id.is_some())
            .unwrap();
        (
            t.id,
            t.requester_id,
            t.assignee_id.unwrap(),
            t.group_id.unwrap(),
        )
    });
    let url = format!("{}/api/v2/tickets/{id}", sim.url());
    let (status, plain) = api(reqwest::Method::GET, url.clone(), None, "sim-token").await;
    assert_eq!(status, 200);
    assert!(plain.get("users").is_none() && plain.get("groups").is_none());

    let (status, body) = api(
        reqwest::Method::GET,
        format!("{url}?include=users,groups"),
        None,
        "sim-token",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["ticket"], plain["ticket"]);
    let users: BTreeSet<u64> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_u64().unwrap())
        .collect();
    assert_eq!(users, BTreeSet::from([requester, assignee]));
    let names = sim.world(|w| (w.user_name(requester), w.groups[&group].name.clone()));
    assert!(body["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == names.0.as_str()));
    assert_eq!(
        body["groups"],
        json!([{
            "id": group, "name": names.1, "deleted": false, "default": false, "is_public": true,
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        }])
    );

    let (_, users_only) = api(
        reqwest::Method::GET,
        format!("{url}.json?include=users"),
        None,
        "sim-token",
    )
    .await;
    assert!(users_only.get("users").is_some() && users_only.get("groups").is_none());
}
