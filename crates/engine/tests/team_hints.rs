//! What a relay does with webhooks: a burst for one ticket becomes one read, and a
//! Sunshine Conversations webhook about a messaging conversation reads its ticket.

mod support;

use baton_engine::team::config::RelaySecrets;
use baton_engine::team::relay::Relay;
use baton_sim::{Sim, SimConfig, WebhookTarget, WebhookTiming};
use std::collections::HashMap;
use std::sync::Arc;
use support::team::{relay_config, Endpoint, Team};
use support::{free_port, within, NatsServer, RELAY};

fn ticket_reads(sim: &Sim) -> u64 {
    sim.stats()
        .requests
        .iter()
        .filter(|(k, _)| k.as_str() == "GET /api/v2/tickets/{id}")
        .map(|(_, n)| n)
        .sum()
}

fn local(nats: &NatsServer) -> Endpoint {
    Endpoint {
        url: nats.url(),
        ca_file: None,
        replicas: 1,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_webhooks_for_one_ticket_is_one_read() {
    let nats = NatsServer::start(&["acme"], "");
    let (t, relay, _cancel) = Team::start(vec![], local(&nats), 3600).await;
    within(30, "the first export", || {
        let relay = relay.clone();
        async move { relay.is_active() && !relay.store().external_ids("acme").await.unwrap().is_empty() }
    })
    .await;
    let ticket = t.sim.world(|w| *w.tickets.keys().next().unwrap());
    let before = ticket_reads(&t.sim);
    let url = format!("http://127.0.0.1:{}/webhooks/zendesk/acme", t.relay_port);
    let http = reqwest::Client::new();
    let now = chrono::Utc::now();
    let events = [
        "zen:event-type:ticket.comment_added",
        "zen:event-type:ticket.status_changed",
        "zen:event-type:ticket.tags_changed",
        "zen:event-type:ticket.agent_assignment_changed",
        "zen:event-type:ticket.group_assignment_changed",
    ];
    let mut sent = vec![];
    for (i, event) in events.iter().cycle().take(20).enumerate() {
        let at = now + chrono::Duration::milliseconds(i as i64);
        let req = t
            .sim
            .zendesk_webhook(support::team::WEBHOOK_SECRET, ticket, event, at)
            .unwrap();
        let mut r = http.post(&url);
        for (n, v) in req.header_pairs() {
            r = r.header(n, v);
        }
        sent.push(r.body(req.body.clone()).send());
    }
    for answer in futures::future::join_all(sent).await {
        assert_eq!(answer.unwrap().status(), 200);
    }
    within(10, "the ticket read", || {
        let sim = &t.sim;
        async move { ticket_reads(sim) > before }
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let reads = ticket_reads(&t.sim) - before;
    assert!(
        reads <= 2,
        "20 webhooks for one ticket made {reads} reads of it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sunshine_conversations_message_reads_its_ticket() {
    const SUNCO_SECRET: &str = "sunco-webhook-key";
    let nats = NatsServer::start(&["acme"], "");
    let port = free_port();
    // Only Sunshine Conversations sends webhooks; the export waits an hour.
    let sim = Sim::start(SimConfig {
        tickets: 30,
        live_every: None,
        sunco_webhook: Some(WebhookTarget::new(
            format!("http://127.0.0.1:{port}/webhooks/sunco/acme"),
            SUNCO_SECRET,
        )),
        webhook_timing: WebhookTiming {
            wait_scale: 0.01,
            timeout_scale: 0.1,
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = relay_config(&local(&nats), &sim, port, dir.path(), 3600);
    let env = HashMap::from([
        ("BATON_NATS_PASSWORD".to_string(), RELAY.1.to_string()),
        ("BATON_ACME_TOKEN".to_string(), SimConfig::default().token),
        (
            "BATON_ACME_SUNCO_WEBHOOK_SECRET".to_string(),
            SUNCO_SECRET.to_string(),
        ),
    ]);
    let secrets = RelaySecrets::load(&config, env).unwrap();
    let relay = Arc::new(Relay::start(config, secrets, "relay-sunco").await.unwrap());
    let cancel = baton_core::CancellationToken::new();
    let (r, c) = (relay.clone(), cancel.clone());
    tokio::spawn(async move { r.run(c).await.unwrap() });
    within(30, "the first export", || {
        let relay = relay.clone();
        async move { relay.is_active() && !relay.store().external_ids("acme").await.unwrap().is_empty() }
    })
    .await;
    let known = relay.store().external_ids("acme").await.unwrap();
    // Customers write until one writes on a messaging conversation the relay has seen.
    let mut tries = 0;
    let (ticket, before) = loop {
        tries += 1;
        assert!(
            tries < 200,
            "no customer wrote again on a known messaging ticket"
        );
        let id = sim
            .world_mut(|w, g| g.live_step(w, chrono::Utc::now()))
            .to_string();
        if !known.contains(&id) {
            continue;
        }
        let messaging = sim.world(|w| {
            let t = &w.tickets[&id.parse::<u64>().unwrap()];
            t.kind.is_messaging()
                && t.custom_fields
                    .iter()
                    .any(|(f, v)| *f == baton_sim::world::FIELD_SUNCO && v.is_some())
        });
        if messaging {
            let before = relay.store().snapshot("acme", &id).await.unwrap().unwrap();
            break (id, before);
        }
    };
    within(
        10,
        "the ticket read after its Sunshine Conversations message",
        || {
            let relay = relay.clone();
            let (ticket, before) = (ticket.clone(), before.clone());
            async move {
                relay
                    .store()
                    .snapshot("acme", &ticket)
                    .await
                    .unwrap()
                    .is_some_and(|s| s.messages.len() > before.messages.len())
            }
        },
    )
    .await;
    assert!(sim.stats().webhooks.delivered > 0);
    cancel.cancel();
}
