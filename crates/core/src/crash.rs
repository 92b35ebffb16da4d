//! Fault injection for crash tests: `BATON_CRASH_AT=<point>` makes the process SIGKILL
//! itself when it reaches that point, so a test can stop it at an exact step of a write's
//! life (a timed kill cannot). Without the variable this does nothing.

/// The named steps of a reply's life where a crash test may stop the process.
pub const POINTS: &[&str] = &["enqueued", "sending", "posted"];

pub fn point(name: &str) {
    if std::env::var("BATON_CRASH_AT").is_ok_and(|p| p == name) {
        eprintln!("baton: crash test: killed at {name}");
        // SIGKILL, as an OOM kill or a power cut: no destructor, no flush.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        std::process::abort();
    }
}
