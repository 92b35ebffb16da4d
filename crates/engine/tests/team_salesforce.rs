//! A team's relay serving a Salesforce org beside a Zendesk account: the relay holds the
//! org's one Pub/Sub subscription, and what its events name reaches every joined
//! desktop through NATS. Everything on 127.0.0.1 (the simulator, nats-server).

mod support;

use baton_core::model::Status;
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::{CancellationToken, Sensitive, Store};
use baton_engine::team::config::{RelayConfig, RelaySecrets};
use baton_engine::team::desk;
use baton_engine::team::relay::Relay;
use baton_sim::salesforce::DEMO_KEY_PEM;
use baton_sim::SimConfig;
use std::collections::HashMap;
use std::sync::Arc;
use support::team::{relay_toml, run_desktop, Team};
use support::{until, NatsServer, RELAY, REP};

const ORG: &str = "acme-sf";

async fn snapshot_status(store: &Store, id: &str) -> Option<Status> {
    let row = store.conversation_id(Some(ORG), id).await.ok()?;
    Some(store.detail(row).await.ok()?.item.status)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_holds_the_orgs_one_subscription_and_its_changes_reach_a_desktop() {
    let nats = NatsServer::start(&["acme", ORG], "");
    let endpoint = nats.endpoint();
    let (t, dir) = Team::without_relay(vec![nats], endpoint).await;
    // The Zendesk account as every team test has it, and the org beside it. The export
    // runs once an hour: what reaches the desktop later came by event.
    let toml = format!(
        "{}\n[[accounts]]\nid = \"{ORG}\"\nvendor = \"salesforce\"\nurl = \"{url}\"\nlogin = \"alex@acme.test\"\n\
         [accounts.settings]\nconsumer_key = \"baton-demo-client\"\npubsub_url = \"{pubsub}\"\n",
        relay_toml(&t.nats, &t.sim, t.relay_port, dir.path(), 3600, None),
        url = t.sim.url(),
        pubsub = t.sim.pubsub_url(),
    );
    let config = RelayConfig::parse(&toml).unwrap();
    // The key comes from the environment, never from relay.toml.
    let mut env = HashMap::from([
        ("BATON_NATS_PASSWORD".to_string(), RELAY.1.to_string()),
        ("BATON_ACME_TOKEN".to_string(), SimConfig::default().token),
    ]);
    let missing = RelaySecrets::load(&config, env.clone()).unwrap();
    let err = match Relay::start(config.clone(), missing, "relay-sf").await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a relay without the org's key started"),
    };
    assert!(err.contains("BATON_ACME_SF_PRIVATE_KEY"), "{err}");
    env.insert("BATON_ACME_SF_PRIVATE_KEY".into(), DEMO_KEY_PEM.into());
    let secrets = RelaySecrets::load(&config, env).unwrap();
    let relay = Arc::new(Relay::start(config, secrets, "relay-sf").await.unwrap());
    let cancel = CancellationToken::new();
    {
        let (r, c) = (relay.clone(), cancel.clone());
        tokio::spawn(async move { r.run(c).await.unwrap() });
    }
    until(30, || {
        let relay = relay.clone();
        async move { relay.is_active() }
    })
    .await;

    // A rep's desktop with both accounts, joined: each team account feeds its own.
    let desk_dir = tempfile::tempdir().unwrap();
    let store = Store::open(&desk_dir.path().join("baton.db"))
        .await
        .unwrap();
    let secrets = Arc::new(MemorySecrets::default());
    let zendesk =
        baton_zendesk::accounts::record("acme", &t.sim.url(), Some(&SimConfig::default().email));
    store.add_account(&zendesk).await.unwrap();
    secrets
        .put(
            &zendesk.secret_ref,
            &Sensitive::new(SimConfig::default().token),
        )
        .unwrap();
    let org = baton_salesforce::record(
        ORG,
        &t.sim.url(),
        "alex@acme.test",
        "baton-demo-client",
        baton_salesforce::AuthFlow::JwtBearer,
    );
    store.add_account(&org).await.unwrap();
    secrets
        .put(&org.secret_ref, &Sensitive::new(DEMO_KEY_PEM.to_string()))
        .unwrap();
    let view = desk::join(
        &store,
        secrets.as_ref(),
        &t.nats.url,
        REP.0,
        Sensitive::new(REP.1.to_string()),
        t.nats.ca_file.clone(),
        1,
    )
    .await
    .unwrap();
    let fed: Vec<(String, Option<String>)> = view
        .accounts
        .iter()
        .map(|a| (a.vendor.clone(), a.local_id.clone()))
        .collect();
    assert!(
        fed.contains(&("salesforce".into(), Some(ORG.into()))),
        "{fed:?}"
    );
    assert!(
        fed.contains(&("zendesk".into(), Some("acme".into()))),
        "{fed:?}"
    );
    let running = run_desktop(&store, secrets);

    // The org's sessions reach the desktop through the team's stream.
    until(30, || {
        let (store, relay) = (store.clone(), relay.clone());
        async move {
            let want = relay.store().external_ids(ORG).await.unwrap();
            !want.is_empty() && store.external_ids(ORG).await.unwrap() == want
        }
    })
    .await;
    // A customer ends a session in the org: its event reaches the relay, and the
    // session, ended, reaches the desktop.
    let known = relay.store().external_ids(ORG).await.unwrap();
    let now = chrono::Utc::now();
    let id = t.sim.org_mut(|o, _| {
        let id = o
            .sessions()
            .find(|s| s.text("Status") != Some("Ended") && known.iter().any(|k| k == s.id()))
            .expect("an open session the team has")
            .id()
            .to_string();
        assert!(o.end_session(&id, "EndUser", now));
        id
    });
    until(15, || {
        let (store, id) = (store.clone(), id.clone());
        async move { snapshot_status(&store, &id).await == Some(Status::Closed) }
    })
    .await;
    // One subscription for the whole team: the relay's (the desktop never subscribes).
    assert_eq!(t.sim.stats().salesforce.pubsub_subscribes, 1);
    running.stop();
    cancel.cancel();
}
