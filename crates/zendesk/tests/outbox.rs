//! Replies through the outbox to the simulator, over real HTTP.

use baton_core::outbox::{deliver, OutboxState, Reply};
use baton_core::sync::Clock;
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
        .add_account(&baton_zendesk::accounts::record(
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
        .enqueue_reply("acme", ticket, None, key, r, None, 0)
        .await
        .unwrap();
}

/// The round's time, as the outbox's clock.
struct At(i64);
impl Clock for At {
    fn now(&self) -> i64 {
        self.0
    }
}

/// Where the rounds start: ten days ago, so every round is in the past of the
/// simulator's clock, as attempts are when Baton later looks for them.
fn rounds_start() -> i64 {
    chrono::Utc::now().timestamp_millis() - 10 * 86_400_000
}

/// One deliverer's round: claims and delivers what is due, in order.
async fn deliver_due(s: &Setup) -> Vec<OutboxState> {
    let now =
        At(rounds_start() + 100_000 * s.round.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let (mut out, mut after) = (vec![], 0);
    while let Some(it) = s
        .store
        .outbox_claim_next("acme", "1:1", after, now.0)
        .await
        .unwrap()
    {
        after = it.id;
        out.push(
            deliver(&s.store, &s.poster, &it, "1:1", &now)
                .await
                .unwrap(),
        );
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

/// "Did it already post?" counts only the rep's own comment made since the first attempt:
/// a colleague's identical words, or the rep's own from before, are not this reply; and
/// after a definite 409, "send anyway" posts without asking.
#[tokio::test]
async fn only_the_reps_own_comment_since_the_first_attempt_counts_as_already_posted() {
    let s = setup().await;
    let (id, stale, me) = ticket(&s.sim);
    let tid: u64 = id.parse().unwrap();
    let said_before = |s: &Setup, author: Option<u64>, text: &str| {
        s.sim.world_mut(|w, _| {
            let eid = w.next_id();
            // Well before this reply's first attempt (the rounds start ten days ago).
            let earlier = chrono::Utc::now() - chrono::Duration::days(30);
            let t = w.tickets.get_mut(&tid).unwrap();
            let author_id = author.unwrap_or(t.requester_id + 1_000_000);
            t.events.push(baton_sim::world::Event {
                id: eid,
                created_at: earlier,
                text: text.into(),
                attachments: vec![],
                wire: baton_sim::world::Wire::Comment {
                    author_id,
                    public: true,
                },
                truth: baton_sim::world::Truth::Turn { role: "agent" },
            });
        })
    };
    let dropped_once = |s: &Setup| {
        s.sim.set_faults(Faults {
            drops: 1,
            ..Default::default()
        })
    };
    let count = |s: &Setup, text: &str| s.sim.world(|w| w.tickets[&tid].public_comments_with(text));

    // A colleague already wrote "Thanks for waiting!"; the rep's own request is dropped
    // before Zendesk got it: looked for, not found (not the rep's), posted.
    said_before(&s, None, "Thanks for waiting!");
    dropped_once(&s);
    enqueue(&s, &id, "a", &reply("Thanks for waiting!", true, None, &me)).await;
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Queued]);
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Sent]);
    assert_eq!(
        count(&s, "Thanks for waiting!"),
        2,
        "the colleague's comment was not this reply"
    );

    // The rep wrote "All sorted." long before this reply's first attempt: not this reply.
    said_before(&s, Some(me.parse().unwrap()), "All sorted.");
    dropped_once(&s);
    enqueue(&s, &id, "b", &reply("All sorted.", true, None, &me)).await;
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Queued]);
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Sent]);
    assert_eq!(
        count(&s, "All sorted."),
        2,
        "the rep's earlier comment was not this reply"
    );

    // After a definite 409, "send anyway" sends without looking.
    let (_, _, _) = ticket(&s.sim);
    said_before(&s, Some(me.parse().unwrap()), "Done!");
    enqueue(&s, &id, "c", &reply("Done!", true, Some(stale), &me)).await;
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Conflict]);
    s.store.outbox_retry("c", None, 0).await.unwrap();
    let looks = || {
        s.sim
            .stats()
            .requests
            .get("GET /api/v2/tickets/{id}/comments")
            .copied()
    };
    let looked_before = looks();
    assert!(
        looked_before.is_some(),
        "the dropped requests were looked for"
    );
    assert_eq!(deliver_due(&s).await, vec![OutboxState::Sent]);
    assert_eq!(count(&s, "Done!"), 2);
    assert_eq!(looks(), looked_before, "no look after a definite 409");
}
