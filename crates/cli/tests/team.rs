//! A team as people run it: `baton relay` processes (two: one works, one stands by) on a
//! real nats-server, and a rep's `baton` joining the team and syncing from it. The active
//! relay is SIGKILLed while it publishes; the standby takes over and the rep's cache
//! converges to the simulator's account. Needs a Secret Service (`make test` runs this
//! inside scripts/with-keyring.sh).

mod common;
#[path = "../../engine/tests/support/mod.rs"]
mod support;

use baton_core::Store;
use baton_sim::{Sim, SimConfig, WebhookTarget, WebhookTiming};
use common::{baton, ok};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::team::relay_toml;
use support::{free_port, NatsServer, RELAY, REP};

const WEBHOOK_SECRET: &str = "whsec-cli-team";

/// A `baton relay` process, its stdout lines forwarded for waiting on.
struct RelayProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl RelayProcess {
    fn start(dir: &Path, port: u16, nats: &NatsServer, sim: &Sim) -> RelayProcess {
        let config = write_config(dir, port, nats, sim, 12, None);
        let token = SimConfig::default().token;
        Self::spawn(
            &config,
            &[
                ("BATON_NATS_PASSWORD", RELAY.1),
                ("BATON_ACME_TOKEN", &token),
                ("BATON_ACME_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ],
        )
    }

    fn spawn(config: &Path, env: &[(&str, &str)]) -> RelayProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("relay")
            .arg("--config")
            .arg(config)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        RelayProcess { child, lines }
    }

    fn wait_for(&self, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("the relay did not say {text:?} within {secs} s");
    }

    fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A relay.toml in `dir` (its cache there too).
fn write_config(
    dir: &Path,
    port: u16,
    nats: &NatsServer,
    sim: &Sim,
    export_every_secs: u64,
    secrets_file: Option<&Path>,
) -> std::path::PathBuf {
    let config = dir.join("relay.toml");
    let text = relay_toml(
        &nats.endpoint(),
        sim,
        port,
        dir,
        export_every_secs,
        secrets_file,
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// What the simulator's account holds now: each live ticket's update time (in seconds:
/// Zendesk's API gives no finer).
fn vendor_state(sim: &Sim) -> BTreeMap<String, i64> {
    sim.world(|w| {
        w.tickets
            .values()
            .filter(|t| t.status != "deleted")
            .map(|t| (t.id.to_string(), t.updated_at.timestamp()))
            .collect()
    })
}

async fn cache_state(db: &Path) -> BTreeMap<String, i64> {
    let store = Store::open(db).await.unwrap();
    let mut out = BTreeMap::new();
    for id in store.external_ids("acme").await.unwrap() {
        let s = store.snapshot("acme", &id).await.unwrap().unwrap();
        out.insert(id, s.conversation.updated_at / 1000);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_standby_relay_takes_over_from_a_sigkilled_one_and_the_rep_converges() {
    let nats = NatsServer::start(&["acme"], "");
    let (port_a, port_b) = (free_port(), free_port());
    let sim = Sim::start(SimConfig {
        tickets: 40,
        live_every: None,
        zendesk_webhook: Some(WebhookTarget::new(
            format!("http://127.0.0.1:{port_a}/webhooks/zendesk/acme"),
            WEBHOOK_SECRET,
        )),
        webhook_timing: WebhookTiming {
            wait_scale: 0.01,
            timeout_scale: 0.1,
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let (dir_a, dir_b, home) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut a = RelayProcess::start(dir_a.path(), port_a, &nats, &sim);
    a.wait_for("working", 20);
    let b = RelayProcess::start(dir_b.path(), port_b, &nats, &sim);
    b.wait_for("standing by", 20);

    // The rep: an account with their own token (replies, and who they are), then the team.
    let db = home.path().join("baton.db");
    ok(baton(
        &db,
        &[
            "account",
            "add",
            "zendesk",
            "--name",
            "acme",
            "--url",
            &sim.url(),
            "--email",
            &SimConfig::default().email,
        ],
        Some(&format!("{}\n", SimConfig::default().token)),
    ));
    let joined = ok(baton(
        &db,
        &["team", "join", &nats.url(), "--user", REP.0],
        Some(&format!("{}\n", REP.1)),
    ));
    assert!(joined.contains("feeds your account acme"), "{joined}");
    // The password went to the keychain: nothing of it in the cache's files.
    for f in std::fs::read_dir(home.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(REP.1.len()).any(|w| w == REP.1.as_bytes()),
            "the NATS password is in the cache"
        );
    }

    // Changes keep coming while the active relay is killed mid-publish.
    let changes = {
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut n = 0;
        while Instant::now() < deadline {
            sim.world_mut(|w, g| g.live_step(w, chrono::Utc::now()));
            n += 1;
            if n == 10 {
                a.sigkill();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        n
    };
    assert!(changes > 10);
    b.wait_for("working", 20);

    // The rep's cache converges to the vendor's account, through the new relay.
    let want = vendor_state(&sim);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let out = ok(baton(&db, &["sync", "--once"], None));
        assert!(out.contains("from the team"), "{out}");
        let have = cache_state(&db).await;
        if have == want {
            break;
        }
        let differ: Vec<_> = want
            .iter()
            .filter(|(id, at)| have.get(*id) != Some(at))
            .map(|(id, at)| (id, at, have.get(id)))
            .collect();
        let extra: Vec<_> = have.keys().filter(|id| !want.contains_key(*id)).collect();
        assert!(
            Instant::now() < deadline,
            "the rep's cache did not converge to the simulator's account: {differ:?} differ; {extra:?} should not be there"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let status = ok(baton(&db, &["team", "status"], None));
    assert!(status.contains(REP.0), "{status}");
    let left = ok(baton(&db, &["team", "leave"], None));
    assert!(left.contains("Left the team"), "{left}");
}

#[tokio::test(flavor = "multi_thread")]
async fn relay_setup_makes_the_webhook_once_and_keeps_its_secret_for_the_relay() {
    let nats = NatsServer::start(&["acme"], "");
    let sim = Sim::start(SimConfig {
        tickets: 10,
        live_every: None,
        webhook_timing: WebhookTiming {
            wait_scale: 0.01,
            timeout_scale: 0.1,
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("relay.secrets");
    std::fs::write(
        &secrets,
        format!(
            "nats_password = \"{}\"\n[acme]\ntoken = \"{}\"\n",
            RELAY.1,
            SimConfig::default().token
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let port = free_port();
    // The export waits an hour: what reaches the relay comes by the webhook setup made.
    let config = write_config(dir.path(), port, &nats, &sim, 3600, Some(&secrets));
    let setup = |expect: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["relay", "setup", "zendesk", "--public-url"])
            .arg(format!("http://127.0.0.1:{port}"))
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let text = ok(out);
        assert!(text.contains(expect), "{text}");
        text
    };
    let first = setup("created");
    let again = setup("was already there");
    assert_eq!(
        first.split_whitespace().nth(2),
        again.split_whitespace().nth(2),
        "the same webhook"
    );
    let kept: toml::Table = toml::from_str(&std::fs::read_to_string(&secrets).unwrap()).unwrap();
    let signing = kept["acme"]["webhook_secret"].as_str().unwrap();
    assert!(signing.len() >= 16, "the signing secret is kept");
    assert!(
        !first.contains(signing) && !again.contains(signing),
        "and never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the secrets file stays its owner's");
    }
    let relay = RelayProcess::spawn(&config, &[]);
    relay.wait_for("working", 20);
    let relay_db = dir.path().join("relay.db");
    let store = Store::open(&relay_db).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.external_ids("acme").await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the first export did not arrive");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ticket = sim.world_mut(|w, g| g.live_step(w, chrono::Utc::now()));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let have = store.snapshot("acme", &ticket.to_string()).await.unwrap();
        if have.is_some_and(|s| !s.messages.is_empty()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the change did not come by the webhook setup made ({:?})",
            sim.stats().webhooks
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
