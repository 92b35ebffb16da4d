//! A team on real components: the simulator (sending signed webhooks), a real
//! `nats-server` with JetStream, a relay, and desktops reading the team's stream into
//! their own caches. Everything on 127.0.0.1.

mod support;

use baton_core::{CancellationToken, Sensitive};
use baton_engine::team::nats::{self as team_nats, NatsLogin};
use baton_engine::team::relay::Relay;
use std::sync::Arc;
use std::time::Duration;
use support::team::{
    changed_since, contents, desktop, relay, run_desktop, same_as_relay, transcript_reads, Team,
    WEBHOOK_SECRET,
};
use support::{free_port, until, NatsServer, REP};

async fn team(export_every_secs: u64) -> (Team, Arc<Relay>, CancellationToken) {
    let nats = NatsServer::start(&["acme"], "");
    let endpoint = nats.endpoint();
    Team::start(vec![nats], endpoint, export_every_secs).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_at_the_vendor_reaches_a_joined_desktop_by_webhook() {
    // The export runs once at the start, then not for an hour: what arrives later came
    // by webhook.
    let (t, relay, _cancel) = team(3600).await;
    let (_dir, store, secrets) = desktop(&t).await;
    let running = run_desktop(&store, secrets);
    until(30, || same_as_relay(&store, &relay)).await;
    assert_eq!(
        running.statuses[0].current().message,
        "team · live",
        "the status chip's words"
    );
    // A desktop in a team asks the vendor who the rep is, and nothing else.
    let vendor_before = t.sim.stats().total();
    let before = contents(&store).await;
    let ticket = t.customer_writes();
    until(10, || changed_since(&store, &before, &ticket)).await;
    until(10, || same_as_relay(&store, &relay)).await;
    assert!(t.sim.stats().webhooks.delivered > 0, "it came by webhook");
    let spent = t.sim.stats().total() - vendor_before;
    assert!(
        spent <= 4,
        "the relay's reads of one change: {spent} requests"
    );
    running.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_webhook_is_caught_by_the_export() {
    let (t, relay, _cancel) = team(12).await;
    let (_dir, store, secrets) = desktop(&t).await;
    let running = run_desktop(&store, secrets);
    until(30, || same_as_relay(&store, &relay)).await;
    t.sim.set_faults(baton_sim::Faults {
        webhook_drop_share: 1.0,
        ..Default::default()
    });
    let before = contents(&store).await;
    let ticket = t.customer_writes();
    until(30, || changed_since(&store, &before, &ticket)).await;
    let webhooks = t.sim.stats().webhooks;
    assert!(
        webhooks.dropped > 0 && webhooks.delivered == 0,
        "its webhook was lost: {webhooks:?}"
    );
    running.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_replayed_stale_and_oversized_webhooks_are_refused() {
    let (t, relay, _cancel) = team(3600).await;
    until(10, || {
        let relay = relay.clone();
        async move { relay.is_active() }
    })
    .await;
    let url = format!("http://127.0.0.1:{}/webhooks/zendesk/acme", t.relay_port);
    let http = reqwest::Client::new();
    let send = |req: baton_sim::webhooks::WebhookRequest| {
        let mut r = http.post(&url);
        for (n, v) in req.header_pairs() {
            r = r.header(n, v);
        }
        r.body(req.body.clone()).send()
    };
    let ticket = t.sim.world(|w| *w.tickets.keys().next().unwrap());
    let now = chrono::Utc::now();
    let event = "zen:event-type:ticket.comment_added";
    let genuine = t
        .sim
        .zendesk_webhook(WEBHOOK_SECRET, ticket, event, now)
        .unwrap();
    assert_eq!(send(genuine.clone()).await.unwrap().status(), 200);
    // The same request again is a replay.
    assert_eq!(send(genuine).await.unwrap().status(), 401);
    let forged = t
        .sim
        .zendesk_webhook("not-the-secret", ticket, event, now)
        .unwrap();
    assert_eq!(send(forged).await.unwrap().status(), 401);
    let old = now - chrono::Duration::minutes(30);
    let stale = t
        .sim
        .zendesk_webhook(WEBHOOK_SECRET, ticket, event, old)
        .unwrap();
    assert_eq!(send(stale).await.unwrap().status(), 401);
    let unsigned = http.post(&url).body("{}").send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    // The relay answers before it has read the whole body, and may close the connection
    // while the client is still writing it: a reset is that race, not an answer; try again.
    let mut answered = None;
    for _ in 0..5 {
        match http
            .post(&url)
            .body(vec![b'x'; 2 * 1024 * 1024])
            .send()
            .await
        {
            Ok(r) => {
                answered = Some(r.status());
                break;
            }
            Err(e) => eprintln!("the oversized webhook's connection: {e}"),
        }
    }
    assert_eq!(answered.map(|s| s.as_u16()), Some(413));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reps_login_reads_the_team_but_cannot_publish_to_it() {
    let (t, relay, _cancel) = team(3600).await;
    until(30, || {
        let relay = relay.clone();
        async move { !relay.store().external_ids("acme").await.unwrap().is_empty() }
    })
    .await;
    let login = support::login_of(&t.nats.url, REP);
    let client = team_nats::connect(&login, "test rep").await.unwrap();
    let js = async_nats::jetstream::new(client);
    let subject = "baton.acme.conv.1";
    let forged = js
        .publish(
            subject,
            b"{\"kind\":\"deleted\",\"schema\":1,\"external_id\":\"1\"}"
                .to_vec()
                .into(),
        )
        .await;
    let refused = match forged {
        Err(_) => true,
        Ok(ack) => tokio::time::timeout(Duration::from_secs(5), ack)
            .await
            .map_or(true, |r| r.is_err()),
    };
    assert!(refused, "a rep's publish must not be acknowledged");
    let bucket = js.get_key_value(team_nats::TEAM_BUCKET).await.unwrap();
    assert!(
        bucket.get(team_nats::ACCOUNTS_KEY).await.unwrap().is_some(),
        "a rep reads the team's KV"
    );
    let put = tokio::time::timeout(
        Duration::from_secs(5),
        bucket.put(team_nats::cursor_key("acme"), "forged".into()),
    )
    .await;
    assert!(
        !matches!(put, Ok(Ok(_))),
        "a rep may not write the team's KV"
    );
    let wrong = NatsLogin {
        secret: Sensitive::new("wrong".into()),
        ..login
    };
    let e = team_nats::connect(&wrong, "test rep").await.unwrap_err();
    assert_eq!(e.kind, baton_engine::ErrorKind::Auth);
    assert!(!e.message.contains("wrong"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_desktop_offline_for_a_while_catches_up_exactly_and_a_new_one_loads_everything() {
    let (t, relay, _cancel) = team(3600).await;
    let (_dir, store, secrets) = desktop(&t).await;
    let running = run_desktop(&store, secrets.clone());
    until(30, || same_as_relay(&store, &relay)).await;
    running.stop();
    running.stopped().await;
    // While the laptop sleeps: new handoffs, customers writing again, a long
    // transcript, a deletion.
    let mut touched = vec![];
    for _ in 0..12 {
        touched.push(t.sim.world_mut(|w, g| g.live_step(w, chrono::Utc::now())));
    }
    touched.push(
        t.sim
            .world_mut(|w, g| g.long_ticket(w, 1000, chrono::Utc::now())),
    );
    let gone = t.sim.world(|w| *w.tickets.keys().next().unwrap());
    t.sim.delete_ticket(gone);
    until(20, || {
        let relay = relay.clone();
        let touched = touched.clone();
        async move {
            let have = relay.store().external_ids("acme").await.unwrap();
            touched.iter().all(|id| have.contains(&id.to_string()))
                && !have.contains(&gone.to_string())
        }
    })
    .await;
    let running = run_desktop(&store, secrets);
    until(20, || same_as_relay(&store, &relay)).await;
    let long = contents(&store).await[&touched.last().unwrap().to_string()]
        .messages
        .len();
    assert!(
        long >= 1000,
        "the long transcript came whole ({long} messages)"
    );
    running.stop();

    // A desktop that joins now gets the latest of every record, deletions included.
    let (_dir2, fresh, secrets2) = desktop(&t).await;
    let running2 = run_desktop(&fresh, secrets2);
    until(20, || same_as_relay(&fresh, &relay)).await;
    assert!(!contents(&fresh).await.contains_key(&gone.to_string()));
    running2.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standby_relay_takes_over_and_resumes_from_the_cursor_in_kv() {
    let (t, first, first_cancel) = team(3600).await;
    until(30, || {
        let first = first.clone();
        async move { first.is_active() && !first.store().external_ids("acme").await.unwrap().is_empty() }
    })
    .await;
    let standby_dir = tempfile::tempdir().unwrap();
    let standby_port = free_port();
    // Webhooks still go to the first relay's address: what the second reads after it
    // takes over, its export (every 6 s) catches.
    let (second, _second_cancel) =
        relay(&t.nats, &t.sim, standby_port, standby_dir.path(), 12).await;
    // The standby reads the stream into its own cache while it waits.
    until(20, || same_as_relay(second.store(), &first)).await;
    assert!(!second.is_active());
    let transcripts_before = transcript_reads(&t.sim);
    first_cancel.cancel();
    until(10, || {
        let second = second.clone();
        async move { second.is_active() }
    })
    .await;
    // It resumed from the cursor in KV: no backfill from the start.
    let ticket = t.sim.world_mut(|w, g| g.live_step(w, chrono::Utc::now()));
    until(20, || {
        let second = second.clone();
        async move {
            second
                .store()
                .snapshot("acme", &ticket.to_string())
                .await
                .unwrap()
                .is_some()
        }
    })
    .await;
    let (_dir, store, secrets) = desktop(&t).await;
    let running = run_desktop(&store, secrets);
    until(20, || same_as_relay(&store, &second)).await;
    // A backfill from the start would read every transcript again.
    let read = transcript_reads(&t.sim) - transcripts_before;
    assert!(
        read <= 3,
        "{read} transcripts read after the takeover: it did not resume"
    );
    running.stop();
}
