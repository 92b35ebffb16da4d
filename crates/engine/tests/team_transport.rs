//! How a team's desktops and relays reach NATS: TLS with the team's own CA, WebSocket
//! (plain and TLS) for networks that pass only HTTP(S), and a three-node cluster that
//! keeps the team's stream when a node dies. Real `nats-server`s, the simulator, the
//! relay and desktops, all on 127.0.0.1.

mod support;

use async_nats::jetstream;
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::{Sensitive, Store};
use baton_engine::team::desk;
use baton_engine::team::lease::{Lease, LEASE_TTL, RENEW_EVERY};
use baton_engine::team::nats::{self as team_nats, stream_name, NatsLogin};
use baton_engine::ErrorKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::team::{
    changed_since, contents, desktop_via, run_desktop, same_as_relay, Endpoint, RelayProcess, Team,
};
use support::tls::TestCa;
use support::{cluster_ready, free_port, within, NatsServer, RELAY, REP};

fn rep_login(url: &str, ca_file: Option<PathBuf>) -> NatsLogin {
    NatsLogin {
        url: url.to_string(),
        user: REP.0.into(),
        secret: Sensitive::new(REP.1.into()),
        ca_file,
    }
}

/// A desktop that joined through `nats` reads everything the relay has, then a change
/// at the vendor arrives on the same connection.
async fn a_desktop_reads_the_team_through(
    t: &Team,
    relay: &baton_engine::team::relay::Relay,
    nats: &Endpoint,
) {
    let (_dir, store, secrets) = desktop_via(t, nats).await;
    let m = store.membership().await.unwrap().unwrap();
    assert_eq!(
        m.nats_url, nats.url,
        "the membership keeps the URL joined with"
    );
    assert_eq!(
        m.ca_file.map(PathBuf::from),
        nats.ca_file,
        "and the CA: the running desktop connects with it"
    );
    let running = run_desktop(&store, secrets);
    within(30, "the desktop like the relay", || {
        same_as_relay(&store, relay)
    })
    .await;
    assert_eq!(running.statuses[0].current().message, "team · live");
    let before = contents(&store).await;
    let ticket = t.customer_writes();
    within(15, "the change at the desktop", || {
        changed_since(&store, &before, &ticket)
    })
    .await;
    within(10, "the desktop like the relay again", || {
        same_as_relay(&store, relay)
    })
    .await;
    running.stop();
    running.stopped().await;
}

/// Joining refused: the error, and nothing kept (no membership, no secret).
async fn join_refused(nats_url: &str, ca_file: Option<PathBuf>) -> baton_engine::EngineError {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("baton.db")).await.unwrap();
    let secrets = MemorySecrets::default();
    let e = desk::join(
        &store,
        &secrets,
        nats_url,
        REP.0,
        Sensitive::new(REP.1.into()),
        ca_file,
        1,
    )
    .await
    .unwrap_err();
    assert!(store.membership().await.unwrap().is_none());
    assert!(secrets.get(desk::TEAM_SECRET_REF).is_err());
    assert!(!e.message.contains(REP.1), "{e}");
    e
}

fn assert_refused_for_tls(e: &baton_engine::EngineError, url: &str, what: &str) {
    assert_eq!(e.kind, ErrorKind::Unreachable, "{e}");
    assert!(
        e.message
            .starts_with(&format!("TLS with NATS at {url} failed")),
        "{e}"
    );
    assert!(e.message.contains(what), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn over_tls_with_the_teams_ca_the_relay_publishes_and_a_desktop_reads() {
    let ca = TestCa::new();
    // At the top level: every client of this server must use TLS.
    let nats = NatsServer::start(&["acme"], &ca.server_block());
    let endpoint = Endpoint {
        url: format!("tls://127.0.0.1:{}", nats.port),
        ca_file: Some(ca.ca.clone()),
        replicas: 1,
    };
    let (t, relay, _cancel) = Team::start(vec![nats], endpoint, 3600).await;
    a_desktop_reads_the_team_through(&t, &relay, &t.nats).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_without_the_teams_ca_or_without_tls_at_the_server_is_refused_and_says_tls() {
    let ca = TestCa::new();
    let nats = NatsServer::start(&["acme"], &ca.server_block());
    let tls = format!("tls://127.0.0.1:{}", nats.port);
    // The control: with the CA, this login is taken.
    team_nats::connect(&rep_login(&tls, Some(ca.ca.clone())), "test")
        .await
        .unwrap();

    // The same URL, trusting the system's CAs only.
    let e = join_refused(&tls, None).await;
    assert_refused_for_tls(&e, &tls, "certificate");
    assert!(e.message.contains("give the team's CA file"), "{e}");

    // A CA that did not sign the server's certificate.
    let other = TestCa::new();
    let e = join_refused(&tls, Some(other.ca.clone())).await;
    assert_refused_for_tls(&e, &tls, "not signed by the CA file given");

    // A plain nats:// URL: the server's INFO says TLS is required, and async-nats
    // starts TLS before it sends the login (the password never goes out in clear), so
    // the refusal is the same certificate's; with the CA, the same URL works over TLS.
    let plain = format!("nats://127.0.0.1:{}", nats.port);
    let e = join_refused(&plain, None).await;
    assert_refused_for_tls(&e, &plain, "certificate");
    team_nats::connect(&rep_login(&plain, Some(ca.ca.clone())), "test")
        .await
        .unwrap();

    // tls:// at a server that does not speak TLS.
    let no_tls = NatsServer::start(&["acme"], "");
    let url = format!("tls://127.0.0.1:{}", no_tls.port);
    let e = join_refused(&url, Some(ca.ca.clone())).await;
    assert_refused_for_tls(&e, &url, "does it take TLS on this port?");
}

#[tokio::test(flavor = "multi_thread")]
async fn over_websocket_the_relay_publishes_and_a_desktop_reads() {
    let ws = free_port();
    let nats = NatsServer::start(
        &["acme"],
        &format!("websocket {{\n  listen: \"127.0.0.1:{ws}\"\n  no_tls: true\n}}"),
    );
    // The relay, too, over WebSocket: publishing, KV and the lease through it.
    let endpoint = Endpoint {
        url: format!("ws://127.0.0.1:{ws}"),
        ca_file: None,
        replicas: 1,
    };
    let (t, relay, _cancel) = Team::start(vec![nats], endpoint, 3600).await;
    a_desktop_reads_the_team_through(&t, &relay, &t.nats).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn over_secure_websocket_with_the_teams_ca_a_desktop_reads_and_without_it_is_refused() {
    let ca = TestCa::new();
    let wss = free_port();
    let nats = NatsServer::start(
        &["acme"],
        &format!(
            "websocket {{\n  listen: \"127.0.0.1:{wss}\"\n  {}\n}}",
            ca.server_block()
        ),
    );
    let endpoint = nats.endpoint();
    let (t, relay, _cancel) = Team::start(vec![nats], endpoint, 3600).await;
    let url = format!("wss://127.0.0.1:{wss}");
    let e = join_refused(&url, None).await;
    assert_refused_for_tls(&e, &url, "certificate");
    let secure = Endpoint {
        url,
        ca_file: Some(ca.ca.clone()),
        replicas: 1,
    };
    a_desktop_reads_the_team_through(&t, &relay, &secure).await;
}

/// A relay's NATS client, for looking at the cluster: leaders, replicas, the lease.
async fn look(url: &str) -> jetstream::Context {
    let login = NatsLogin {
        url: url.to_string(),
        user: RELAY.0.into(),
        secret: Sensitive::new(RELAY.1.into()),
        ca_file: None,
    };
    team_nats::jetstream(&team_nats::connect(&login, "test look").await.unwrap())
}

/// A stream as the cluster reports it.
struct Placed {
    leader: Option<String>,
    /// The followers that are up to date.
    current: Vec<String>,
    messages: u64,
    last_sequence: u64,
}

async fn placed(js: &jetstream::Context, stream: &str) -> Option<Placed> {
    let info = js.get_stream(stream).await.ok()?.info().await.ok()?.clone();
    let cluster = info.cluster.expect("a clustered stream");
    Some(Placed {
        leader: cluster.leader,
        current: cluster
            .replicas
            .iter()
            .filter(|r| r.current)
            .map(|r| r.name.clone())
            .collect(),
        messages: info.state.messages,
        last_sequence: info.state.last_sequence,
    })
}

/// Where the readers' consumers are: the desktop's and the standby's ordered consumers
/// (one replica each), which have a pull request waiting. (Those of relays that stopped
/// reading have none, and linger until the server drops them as inactive, after 30 s.)
async fn reader_hosts(js: &jetstream::Context) -> Vec<String> {
    use futures::TryStreamExt;
    js.get_stream(stream_name("acme"))
        .await
        .unwrap()
        .consumers()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.num_waiting > 0)
        .filter_map(|c| c.cluster.and_then(|c| c.leader))
        .collect()
}

/// Asks a stream's leader to step down (the cluster elects another at random) until
/// `wanted` says yes to where it is.
async fn lead(js: &jetstream::Context, stream: &str, wanted: impl Fn(&str) -> bool) {
    for _ in 0..20 {
        let leader = placed(js, stream).await.and_then(|p| p.leader);
        let Some(leader) = leader else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if wanted(&leader) {
            return;
        }
        let answer = js
            .client()
            .request(
                format!("$JS.API.STREAM.LEADER.STEPDOWN.{stream}"),
                bytes::Bytes::new(),
            )
            .await
            .unwrap();
        let answer = String::from_utf8_lossy(&answer.payload).into_owned();
        assert!(answer.contains("\"success\":true"), "{stream}: {answer}");
        // While it elects one, nobody answers for the stream: ask again and again.
        within(20, "a new leader after a step down", || async {
            tokio::time::timeout(Duration::from_secs(1), placed(js, stream))
                .await
                .ok()
                .flatten()
                .and_then(|p| p.leader)
                .is_some_and(|l| l != leader)
        })
        .await;
    }
    panic!("{stream}'s leader does not go where it is wanted");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_three_node_cluster_the_stream_outlives_a_node_and_a_standby_takes_over_a_crashed_relay(
) {
    let started = Instant::now();
    let nodes = NatsServer::cluster(&["acme"]);
    cluster_ready(&nodes).await;
    let urls: Vec<String> = nodes.iter().map(|n| n.url()).collect();
    let names: Vec<String> = nodes.iter().map(|n| n.name()).collect();
    let endpoint = Endpoint {
        url: urls[0].clone(),
        ca_file: None,
        replicas: 3,
    };
    let (mut t, first_dir) = Team::without_relay(nodes, endpoint).await;
    // Both export every 6 s: whichever holds the lease finds a change, even when its
    // webhook went to the other.
    let first = RelayProcess::start(&t.nats, &t.sim, t.relay_port, first_dir.path(), 12).await;
    within(30, "the first relay working", || {
        let r = first.relay.clone();
        async move { r.is_active() && !r.store().external_ids("acme").await.unwrap().is_empty() }
    })
    .await;
    // Each on its own node.
    let standby_dir = tempfile::tempdir().unwrap();
    let standby = RelayProcess::start(
        &t.nats.with_url(urls[1].clone()),
        &t.sim,
        free_port(),
        standby_dir.path(),
        12,
    )
    .await;
    let (_dir, store, secrets) = desktop_via(&t, &t.nats.with_url(urls[2].clone())).await;
    let running = run_desktop(&store, secrets);
    within(30, "the desktop like the relay", || {
        same_as_relay(&store, &first.relay)
    })
    .await;
    within(20, "the standby like the relay", || {
        same_as_relay(standby.relay.store(), &first.relay)
    })
    .await;
    assert!(!standby.relay.is_active());
    let mut relays = [first, standby];

    // The team's stream and buckets have three replicas, all current.
    let js = look(&urls[0]).await;
    let lease_stream = format!("KV_{}", team_nats::LEASE_BUCKET);
    for s in [
        stream_name("acme"),
        lease_stream.clone(),
        format!("KV_{}", team_nats::TEAM_BUCKET),
    ] {
        let mut stream = js.get_stream(&s).await.unwrap();
        assert_eq!(stream.info().await.unwrap().config.num_replicas, 3, "{s}");
        let p = placed(&js, &s).await.unwrap();
        assert_eq!(
            p.current.len(),
            2,
            "{s}: two followers besides {:?}",
            p.leader
        );
    }

    // The node to kill leads the team's stream, and hosts neither a reader's consumer
    // nor the lease's leader: a reader whose consumer (one replica) was there would
    // notice only after two missed heartbeats of 15 s, and the holder of a lease whose
    // leader dies cannot renew it until the bucket has a new one, and loses it. (Where
    // the consumers are is read twice, for a reader between two pull requests.)
    let mut hosts = reader_hosts(&js).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    hosts.extend(reader_hosts(&js).await);
    assert!(!hosts.is_empty(), "the readers have consumers");
    let victim = names.iter().find(|n| !hosts.contains(n)).cloned();
    let victim = victim.expect("two readers leave a node free");
    lead(&js, &stream_name("acme"), |l| l == victim).await;
    lead(&js, &lease_stream, |l| l != victim).await;
    let dead = names.iter().position(|n| *n == victim).unwrap();
    let alive = look(&urls[(dead + 1) % 3]).await;
    let before_kill = placed(&alive, &stream_name("acme")).await.unwrap();

    // SIGKILL it, and at once a customer writes. The clients on it find the other
    // nodes (the servers told them of each other), a follower becomes the stream's
    // leader, and the change reaches the desktop.
    let before = contents(&store).await;
    t.servers[dead].kill();
    let killed_at = Instant::now();
    let ticket = t.customer_writes();
    within(25, "the change at the desktop after the kill", || {
        changed_since(&store, &before, &ticket)
    })
    .await;
    let reached = killed_at.elapsed();
    let after = placed(&alive, &stream_name("acme"))
        .await
        .expect("the stream answers");
    let leader = after.leader.expect("the stream has a leader");
    assert_ne!(leader, victim);
    assert!(after.messages >= before_kill.messages, "nothing was lost");
    assert!(after.last_sequence > before_kill.last_sequence);
    eprintln!("a change made as {victim} died reached the desktop {reached:?} later; {leader} leads the stream");

    // The node comes back and catches up. (With it still dead, nats-server 2.9 keeps
    // placing about a third of new one-replica consumers on the dead peer, where their
    // creation times out: a standby's take-over would wait 5 s each time.)
    t.servers[dead].restart();
    within(20, "the restarted node current again", || async {
        placed(&alive, &stream_name("acme"))
            .await
            .is_some_and(|p| p.current.contains(&victim))
    })
    .await;

    // The relay holding the lease crashes: it gives nothing up.
    let lease_kv = alive.get_key_value(team_nats::LEASE_BUCKET).await.unwrap();
    let holder = Lease::holder(&lease_kv).await.unwrap();
    let active = relays
        .iter()
        .position(|r| r.relay.is_active())
        .expect("a relay works");
    assert_eq!(holder.as_ref(), Some(&relays[active].holder));
    relays[active].crash().await;
    let crashed_at = Instant::now();
    assert_eq!(
        Lease::holder(&lease_kv).await.unwrap(),
        holder,
        "a crashed relay leaves its lease to expire"
    );
    let other = relays[1 - active].relay.clone();
    within(
        (LEASE_TTL + Duration::from_secs(4)).as_secs(),
        "the standby working",
        || {
            let other = other.clone();
            async move { other.is_active() }
        },
    )
    .await;
    let took = crashed_at.elapsed();
    assert!(
        took >= LEASE_TTL - RENEW_EVERY - Duration::from_millis(500),
        "{took:?}: it did not wait for the lease to expire"
    );
    assert!(took <= LEASE_TTL + Duration::from_secs(3), "{took:?}");

    // What changes now, the new holder reads (by its export: the webhooks go to the
    // crashed relay's port) and publishes; the desktop converges to its cache.
    let before = contents(&store).await;
    let ticket = t.customer_writes();
    within(20, "the change at the desktop after the take-over", || {
        changed_since(&store, &before, &ticket)
    })
    .await;
    within(10, "the desktop like the new holder", || {
        same_as_relay(&store, &other)
    })
    .await;
    running.stop();
    eprintln!(
        "the standby took over {took:?} after the crash; the whole test: {:?}",
        started.elapsed()
    );
}
