//! Replies through the outbox to the simulator, over real HTTP.

use baton_core::outbox::{deliver, OutboxState, Reply};
use baton_core::store::AccountRecord;
use baton_core::{Sensitive, Store};
use baton_sim::{Faults, Limits, Sim, SimConfig};
use baton_zendesk::poster::ZendeskPoster;
use baton_zendesk::{Auth, Client};
use std::time::Duration;

struct Setup {
    /// The outbox's clock: each round of deliveries is well after the last one's backoff.
    round: std::sync::atomic::AtomicI64,
    sim: Sim,
    store: Store,
    poster: ZendeskPoster,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let sim = Sim::start(SimConfig {
        tickets: 10,
        limits: Limits::unlimited(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("o.db")).await.unwrap();
    store
        .add_account(&AccountRecord::zendesk(
            "acme",
            &sim.url(),
            Some("alex@acme.test"),
        ))
        .await
        .unwrap();
    let auth = Auth::ApiToken {
        email: "alex@acme.test".into(),
        token: Sensitive::new("sim-token".into()),
    };
    let mut client = Client::new(&sim.url(), "acme", auth).unwrap();
    client.max_attempts = 1;
    Setup {
        round: Default::default(),
        poster: ZendeskPoster::new(client),
        sim,
        store,
        _dir: dir,
    }
}

/// A ticket, its current stamp and the rep's id.
fn ticket(sim: &Sim) -> (String, String, String) {
    sim.world(|w| {
        let t = w.tickets.values().next().unwrap();
        (
            t.id.to_string(),
            baton_sim::json::time(t.updated_at),
            w.me.to_string(),
        )
    })
}

fn reply(body: &str, public: bool, stamp: Option<String>, me: &str) -> Reply {
    Reply {
        body: body.into(),
        public,
        author_id: Some(me.into()),
        updated_stamp: stamp,
    }
}

/// Puts a reply in the outbox, as the rep's action does, under the idempotency key `key`.
async fn enqueue(s: &Setup, ticket: &str, key: &str, r: &Reply) {
    s.store
        .enqueue_reply("acme", ticket, None, key, r, 0)
        .await
        .unwrap();
}

async fn deliver_due(s: &Setup) -> Vec<OutboxState> {
    let now = 100_000 * s.round.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut out = vec![];
    for it in s.store.outbox_due("acme", now).await.unwrap() {
        out.push(deliver(&s.store, &s.poster, &it, now).await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_reply_goes_out_once_public_by_explicit_flag_with_author_and_safe_update() {
    let s = setup().await;
    let (id, stamp, me) = ticket(&s.sim);
    enqueue(
        &s,
        &id,
        "r1",
        &reply("Refund issued ✅", true, Some(stamp.clone()), &me),
    )
    .await;
    enqueue(&s, &id, "n1", &reply("note to self", false, None, &me)).await;
    assert_eq!(
        deliver_due(&s).await,
        vec![OutboxState::Sent, OutboxState::Sent]
    );
    let t = s
        .sim
        .world(|w| w.tickets[&id.parse::<u64>().unwrap()].clone());
    assert_eq!(t.public_comments_with("Refund issued ✅"), 1);
    assert_eq!(
        t.public_comments_with("note to self"),
        0,
        "an internal note stays internal"
    );
    let bodies = s.sim.stats().ticket_updates;
    let sent = &bodies[0]["ticket"];
    assert_eq!(
        sent["comment"]["public"],
        serde_json::json!(true),
        "public is sent, not defaulted"
    );
    assert_eq!(
        sent["comment"]["author_id"],
        serde_json::json!(me.parse::<u64>().unwrap())
    );
    assert_eq!(
        (sent["safe_update"].clone(), sent["updated_stamp"].clone()),
        (serde_json::json!(true), serde_json::json!(stamp))
    );
    assert_eq!(
        bodies[1]["ticket"]["comment"]["public"],
        serde_json::json!(false)
    );
}

#[tokio::test]
async fn a_ticket_that_moved_is_a_conflict_until_the_rep_sends_anyway() {
    let s = setup().await;
    let (id, stale, me) = ticket(&s.sim);
    // The customer writes again after the rep read the ticket.
    let later = chrono::Utc::now() + chrono::Duration::seconds(5);
    s.sim.world_mut(|w, _| {
        let tid: u64 = id.parse().unwrap();
        let eid = w.next_id();
        let t = w.tickets.get_mut(&tid).unwrap();
        t.events.push(baton_sim::world::Event {
            id: eid,
            created_at: later,
            text: "Actually, I found the receipt!".into(),
            attachments: vec![],
            wire: baton_sim::world::Wire::Comment {
                author_id: t.requester_id,
                public: true,
            },
            truth: baton_sim::world::Truth::Turn { role: "customer" },
        });
        w.touch(tid, later);
    });
    let stale_reply = reply("Sure thing", true, Some(stale), &me);
    enqueue(&s, &id, "c1", &stale_reply).await;
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Conflict]);
    let why = s.store.outbox_item("c1").await.unwrap().last_error.unwrap();
    assert!(
        why.contains("Actually, I found the receipt!"),
        "says what changed: {why}"
    );
    let (_, fresh, _) = ticket(&s.sim);
    s.store.outbox_retry("c1", Some(fresh), 2).await.unwrap();
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Sent]);
    assert_eq!(
        s.sim
            .world(|w| w.tickets[&id.parse::<u64>().unwrap()].public_comments_with("Sure thing")),
        1
    );
}

#[tokio::test]
async fn a_timeout_after_the_request_reached_zendesk_never_posts_twice() {
    let s = setup().await;
    let (id, _, me) = ticket(&s.sim);
    s.sim.set_faults(Faults {
        lost_answers: 1,
        ..Default::default()
    });
    enqueue(&s, &id, "t1", &reply("Only once, please", true, None, &me)).await;
    assert_eq!(
        deliver_due(&s).await,
        vec![OutboxState::Queued],
        "the answer was lost: retry later"
    );
    assert_eq!(
        deliver_due(&s).await,
        vec![OutboxState::Sent],
        "found on the ticket"
    );
    assert_eq!(s.sim.stats().ticket_updates.len(), 1, "one PUT in all");
    assert_eq!(
        s.sim
            .world(|w| w.tickets[&id.parse::<u64>().unwrap()]
                .public_comments_with("Only once, please")),
        1
    );
}

#[tokio::test]
async fn with_zendesk_down_a_reply_waits_and_goes_out_once_it_is_back() {
    let s = setup().await;
    let (id, _, me) = ticket(&s.sim);
    s.sim.set_faults(Faults {
        down: true,
        ..Default::default()
    });
    enqueue(&s, &id, "d1", &reply("Back soon", true, None, &me)).await;
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Queued]);
    assert_eq!(
        deliver_due(&s).await,
        vec![OutboxState::Queued],
        "still down"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.sim.set_faults(Faults::default());
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Sent]);
    assert_eq!(
        s.sim
            .world(|w| w.tickets[&id.parse::<u64>().unwrap()].public_comments_with("Back soon")),
        1
    );
    assert!(s
        .store
        .outbox_due("acme", i64::MAX / 2)
        .await
        .unwrap()
        .is_empty());
}
