//! Real components for the team tests: a `nats-server` with JetStream on 127.0.0.1 with
//! a temporary store directory (the Debian package's binary, or `BATON_NATS_SERVER`),
//! started with the users and permissions `baton relay nats-config` prints.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const RELAY: (&str, &str) = ("relay", "relay-pass");
pub const REP: (&str, &str) = ("maria", "maria-pass");

pub struct NatsServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    conf: PathBuf,
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
                baton_engine::team::nats::server_accounts(RELAY, &[REP], &accounts),
            ),
        )
        .unwrap();
        let child = Self::spawn(&conf);
        NatsServer {
            child,
            port,
            dir,
            conf,
        }
    }

    fn spawn(conf: &PathBuf) -> Child {
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
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            let mut log = vec![];
            while let Some(Ok(line)) = lines.next() {
                if line.contains("Server is ready") {
                    let _ = tx.send(Ok(()));
                }
                log.push(line);
                if log.len() > 200 {
                    log.remove(0);
                }
            }
            let _ = tx.send(Err(log.join("\n")));
        });
        let started = Instant::now();
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Ok(())) => {}
            Ok(Err(log)) => panic!("nats-server stopped before it was ready:\n{log}"),
            Err(_) => panic!("nats-server not ready after {:?}", started.elapsed()),
        }
        child
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops the server (SIGKILL) and starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.child = Self::spawn(&self.conf);
    }

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

/// Waits up to `secs` for `ready`.
pub async fn until<F: std::future::Future<Output = bool>>(secs: u64, mut ready: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if ready().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not ready after {secs} s");
}
