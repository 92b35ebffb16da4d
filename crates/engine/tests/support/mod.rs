//! Real components for the team tests: a `nats-server` with JetStream on 127.0.0.1 with
//! a temporary store directory (the Debian package's binary, or `BATON_NATS_SERVER`),
//! started with the users and permissions `baton relay nats-config` prints; three of
//! them as a cluster; a CA for their TLS ([`tls`]); and a team around them ([`team`]).

#![allow(dead_code)]

pub mod team;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const RELAY: (&str, &str) = ("relay", "relay-pass");
pub const REP: (&str, &str) = ("maria", "maria-pass");
/// How the team member `who` (user, password) logs in to the NATS at `url`.
pub fn login_of(url: &str, who: (&str, &str)) -> baton_engine::team::nats::NatsLogin {
    baton_engine::team::nats::NatsLogin {
        url: url.to_string(),
        user: who.0.into(),
        secret: baton_core::Sensitive::new(who.1.into()),
        ca_file: None,
    }
}

/// A second member: the team's lead, where the relay names leads.
pub const LEAD: (&str, &str) = ("lee", "lee-pass");

pub struct NatsServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    conf: PathBuf,
    log: Arc<Log>,
}

/// What a server wrote to stderr, as it comes.
#[derive(Default)]
struct Log {
    lines: Mutex<LogLines>,
    changed: Condvar,
}

#[derive(Default)]
struct LogLines {
    lines: Vec<String>,
    /// The process closed its stderr (it stopped).
    ended: bool,
}

impl Log {
    /// Waits for a line containing `what` written after the first `from` lines.
    fn wait_for(&self, from: usize, what: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut log = self.lines.lock().unwrap();
        loop {
            if log.lines.iter().skip(from).any(|l| l.contains(what)) {
                return Ok(());
            }
            if log.ended {
                return Err(format!(
                    "nats-server stopped before it wrote {what:?}:\n{}",
                    log.lines.join("\n")
                ));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "nats-server did not write {what:?} in {timeout:?}:\n{}",
                    log.lines.join("\n")
                ));
            }
            log = self.changed.wait_timeout(log, deadline - now).unwrap().0;
        }
    }

    fn len(&self) -> usize {
        self.lines.lock().unwrap().lines.len()
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary() -> String {
    if let Ok(b) = std::env::var("BATON_NATS_SERVER") {
        return b;
    }
    // Debian installs it in /usr/sbin, which is not on every user's PATH.
    if std::path::Path::new("/usr/sbin/nats-server").exists() {
        return "/usr/sbin/nats-server".into();
    }
    "nats-server".into()
}

impl NatsServer {
    /// One server with the team's users for `accounts`; `extra` is appended to its
    /// configuration (TLS, a cluster block).
    pub fn start(accounts: &[&str], extra: &str) -> NatsServer {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, free_port(), accounts, extra)
    }

    pub fn start_in(
        dir: tempfile::TempDir,
        port: u16,
        accounts: &[&str],
        extra: &str,
    ) -> NatsServer {
        let accounts: Vec<String> = accounts.iter().map(|a| a.to_string()).collect();
        let conf = dir.path().join("nats.conf");
        let store = dir.path().join("jetstream");
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:{port}\nserver_name: n{port}\njetstream {{ store_dir: {:?} }}\n{}\n{extra}\n",
                store.display().to_string(),
                baton_engine::team::nats::server_accounts(RELAY, &[REP, LEAD], &[LEAD.0.to_string()], &accounts),
            ),
        )
        .unwrap();
        let log = Arc::new(Log::default());
        let child = Self::spawn(&conf, &log);
        NatsServer {
            child,
            port,
            dir,
            conf,
            log,
        }
    }

    /// Three servers clustered on 127.0.0.1 (routes to each other, one cluster name,
    /// each its own store), with JetStream's metadata leader elected. Streams of three
    /// replicas can be created once [`cluster_ready`] has returned.
    pub fn cluster(accounts: &[&str]) -> Vec<NatsServer> {
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let nodes: Vec<NatsServer> = routes
            .iter()
            .map(|&route| {
                let others: Vec<String> = routes
                    .iter()
                    .filter(|&&r| r != route)
                    .map(|r| format!("nats-route://127.0.0.1:{r}"))
                    .collect();
                let block = format!(
                    "cluster {{\n  name: baton\n  listen: 127.0.0.1:{route}\n  routes: [{}]\n}}\n",
                    others.join(", ")
                );
                NatsServer::start(accounts, &block)
            })
            .collect();
        for n in &nodes {
            // "Self is new JetStream cluster metadata leader", or "JetStream cluster new
            // metadata leader: n…/baton" on the others.
            n.log
                .wait_for(0, "metadata leader", Duration::from_secs(20))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        nodes
    }

    fn spawn(conf: &PathBuf, log: &Arc<Log>) -> Child {
        let mut child = Command::new(binary())
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): install it with scripts/install-deps.sh (the nats-server package)",
                    binary()
                )
            });
        let stderr = child.stderr.take().unwrap();
        let from = log.len();
        {
            let mut lines = log.lines.lock().unwrap();
            lines.ended = false;
        }
        let writer = log.clone();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            while let Some(Ok(line)) = lines.next() {
                let mut log = writer.lines.lock().unwrap();
                log.lines.push(line);
                writer.changed.notify_all();
            }
            writer.lines.lock().unwrap().ended = true;
            writer.changed.notify_all();
        });
        if let Err(e) = log.wait_for(from, "Server is ready", Duration::from_secs(20)) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{e}");
        }
        child
    }

    /// What the server has written so far (its log: stderr), from every start.
    pub fn log(&self) -> impl Fn() -> Vec<String> + Send + Sync + 'static {
        let log = self.log.clone();
        move || log.lines.lock().unwrap().lines.clone()
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// This server's name in its cluster (`server_name`), as stream info names leaders.
    pub fn name(&self) -> String {
        format!("n{}", self.port)
    }

    /// How the relay and the desktops reach this server: plain `nats://`, one replica.
    pub fn endpoint(&self) -> team::Endpoint {
        team::Endpoint {
            url: self.url(),
            ca_file: None,
            replicas: 1,
        }
    }

    /// Stops the server (SIGKILL) and starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.child = Self::spawn(&self.conf, &self.log);
    }

    /// SIGKILL: no goodbye to its clients or its cluster.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until a cluster takes streams of three replicas: a probe stream is created
/// and deleted (the metadata leader may not know every peer yet when it is elected).
pub async fn cluster_ready(nodes: &[NatsServer]) {
    use async_nats::jetstream::stream;
    let client = async_nats::ConnectOptions::with_user_and_password(
        RELAY.0.to_string(),
        RELAY.1.to_string(),
    )
    .connect(nodes[0].url())
    .await
    .unwrap();
    let js = async_nats::jetstream::new(client);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let created = js
            .create_stream(stream::Config {
                name: "PROBE".into(),
                subjects: vec!["probe.>".into()],
                num_replicas: 3,
                storage: stream::StorageType::Memory,
                ..Default::default()
            })
            .await;
        match created {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "the cluster is not ready for R3 yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the cluster does not take a stream of 3 replicas: {e}"),
        }
    }
    js.delete_stream("PROBE").await.unwrap();
}

/// Waits up to `secs` for `ready`.
pub async fn until<F: std::future::Future<Output = bool>>(secs: u64, ready: impl FnMut() -> F) {
    within(secs, "ready", ready).await
}

/// Waits up to `secs` for `ready`; the panic says `what` was awaited.
pub async fn within<F: std::future::Future<Output = bool>>(
    secs: u64,
    what: &str,
    mut ready: impl FnMut() -> F,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if ready().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not {what} after {secs} s");
}
