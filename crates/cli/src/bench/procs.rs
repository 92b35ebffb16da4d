//! The benchmarks' other processes (the simulator, nats-server, the relay) and what
//! Linux says each costs: CPU time from `/proc/PID/stat`, memory from
//! `/proc/PID/status`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A child process, killed when dropped.
pub struct Child(std::process::Child);

impl Child {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A binary beside this one (`baton-sim`), or this one itself.
fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .expect("own path")
        .with_file_name(name)
}

/// Starts `baton-sim` on a free port with `args`; returns it and its URL.
pub fn sim(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let exe = sibling("baton-sim");
    let mut child = Command::new(&exe)
        .args(["--port", "0"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "start {}: {e} (build it: cargo build --release -p baton-sim)",
                exe.display()
            )
        });
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines
        .next()
        .and_then(|l| l.ok())
        .expect("sim prints its address");
    // Its other lines (where webhooks go) are read and dropped, so it never blocks.
    std::thread::spawn(move || for _ in lines {});
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("an address")
        .to_string();
    (Child(child), url)
}

/// The simulator's `/__sim/stats`, as JSON (a plain HTTP/1.0 GET: nothing else is needed
/// for it, and it is not counted as an API request).
pub fn sim_stats(url: &str) -> serde_json::Value {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).expect("the simulator answers");
    write!(
        s,
        "GET /__sim/stats HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .expect("a body");
    serde_json::from_str(body).expect("stats parse")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// nats-server with JetStream on 127.0.0.1, its store in `dir`, with the team's users as
/// `baton relay nats-config` would write them (relay and one rep user, `rep`).
pub struct Nats {
    pub child: Child,
    pub url: String,
}

pub const RELAY_USER: (&str, &str) = ("relay", "relay-bench-pass");
pub const REP_USER: (&str, &str) = ("rep", "rep-bench-pass");

impl Nats {
    pub fn start(binary: &Path, dir: &Path, accounts: &[String]) -> Nats {
        let port = free_port();
        let conf = dir.join("nats.conf");
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:{port}\nserver_name: bench{port}\njetstream {{ store_dir: {:?} }}\n{}\n",
                dir.join("jetstream").display().to_string(),
                baton_engine::team::nats::server_accounts(RELAY_USER, &[REP_USER], &[], accounts),
            ),
        )
        .expect("nats.conf");
        let mut child = Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): install nats-server (scripts/install-deps.sh)",
                    binary.display()
                )
            });
        let stderr = child.stderr.take().expect("stderr");
        let child = Child(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut last = vec![];
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Server is ready") {
                    let _ = tx.send(Ok(()));
                }
                last.push(line);
                if last.len() > 50 {
                    last.remove(0);
                }
            }
            let _ = tx.send(Err(last.join("\n")));
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => {}
            Ok(Err(log)) => panic!("nats-server stopped:\n{log}"),
            Err(_) => panic!("nats-server not ready after 30 s"),
        }
        Nats {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        }
    }
}

/// This binary again, in its hidden `relay` mode, with the relay's secrets in its
/// environment. Returns it and its stdout lines.
pub fn relay(config: &Path, env: &[(&str, String)]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg("relay")
        .arg("--config")
        .arg(config)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        // Its stdin closing tells it this process is gone.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the relay");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (Child(child), rx)
}

/// Waits for a line of `lines` starting with `prefix`; panics after `timeout`.
pub fn expect_line(lines: &mpsc::Receiver<String>, prefix: &str, timeout: Duration) -> String {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => return line,
            Ok(_) => {}
            Err(_) => panic!("no {prefix:?} from the relay within {timeout:?}"),
        }
    }
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds (user + system) a process has used, all its threads.
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of stat(5), 11 and 12 after the name.
    (ticks(11) + ticks(12)) / clock_ticks_per_sec()
}

/// Resident memory now and its peak (VmRSS, VmHWM), in MiB.
pub fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// One process's CPU over a stretch of time.
pub struct CpuWindow {
    pid: u32,
    cpu: f64,
    at: std::time::Instant,
}

impl CpuWindow {
    pub fn start(pid: u32) -> Self {
        Self {
            pid,
            cpu: cpu_secs(pid),
            at: std::time::Instant::now(),
        }
    }

    /// CPU used since the start, as a share of one core (100 % = one core busy).
    pub fn percent(&self) -> f64 {
        (cpu_secs(self.pid) - self.cpu) / self.at.elapsed().as_secs_f64() * 100.0
    }
}

/// The whole machine's CPU over a stretch of time (every process, not only these).
pub struct MachineCpu {
    busy: u64,
    total: u64,
}

fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let times: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
    let total: u64 = times.iter().take(8).sum();
    let idle = times.get(3).copied().unwrap_or(0) + times.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

impl MachineCpu {
    pub fn start() -> Self {
        let (busy, total) = machine_ticks();
        Self { busy, total }
    }

    /// Busy since the start, as a share of one core (200 % = both cores of two).
    pub fn percent(&self) -> f64 {
        let (busy, total) = machine_ticks();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        (busy - self.busy) as f64 / (total - self.total).max(1) as f64 * cores * 100.0
    }
}
