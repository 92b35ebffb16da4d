//! The app's log files: one a day, the last week kept, and the user's alone (0600 in a
//! 0700 directory on Unix), since a log line can name a customer or quote a ticket.

use chrono::{DateTime, Utc};
use std::io;
use std::path::{Path, PathBuf};
use tracing_appender::rolling::{RollingFileAppender, Rotation};

const PREFIX: &str = "baton";
const SUFFIX: &str = "log";

/// tracing-appender creates each day's file with the process's default permissions. This
/// writer creates the day's file private just before the appender opens it (the appender
/// then appends to it as it is), and makes private a file it finds otherwise.
pub struct PrivateDaily {
    inner: RollingFileAppender,
    dir: PathBuf,
    /// The day whose file was last made private.
    day: String,
    clock: fn() -> DateTime<Utc>,
}

impl PrivateDaily {
    /// Opens the log directory (created private, and made private if it exists: it is
    /// Baton's own), making the files already there private too.
    pub fn open(dir: &Path, clock: fn() -> DateTime<Utc>) -> io::Result<Self> {
        // Before the appender is built: with max_log_files it lists the directory to prune
        // before it creates it, and prints "Error reading the log directory/files" on a
        // first launch otherwise (tokio-rs/tracing#3612).
        baton_core::files::create_private_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_file() {
                baton_core::files::make_private(&path)?;
            }
        }
        let mut writer = Self {
            inner: RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix(PREFIX)
                .filename_suffix(SUFFIX)
                .max_log_files(7)
                .build(dir)
                .map_err(io::Error::other)?,
            dir: dir.to_path_buf(),
            day: String::new(),
            clock,
        };
        writer.private_day_file()?;
        Ok(writer)
    }

    /// The file tracing-appender writes today (UTC, as it names them).
    fn private_day_file(&mut self) -> io::Result<()> {
        let day = (self.clock)().format("%Y-%m-%d").to_string();
        if day != self.day {
            let path = self.dir.join(format!("{PREFIX}.{day}.{SUFFIX}"));
            baton_core::files::create_private_file(&path)?;
            self.day = day;
        }
        Ok(())
    }
}

impl io::Write for PrivateDaily {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.private_day_file()?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn log_files_and_their_directory_are_the_users_alone() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("baton/logs");
        let old = {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            let old = dir.join("baton.2020-01-01.log");
            std::fs::write(&old, "an older build's line\n").unwrap();
            std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
            old
        };
        let mut w = PrivateDaily::open(&dir, Utc::now).unwrap();
        w.write_all(b"a line naming a customer\n").unwrap();
        w.flush().unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&old), 0o600);
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(files.len() >= 2, "{files:?}");
        for f in &files {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
        let written = files.iter().any(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains("naming a customer")
        });
        assert!(written, "the line went to a file in the directory");
    }

    /// The appender prints with eprintln!, which the test harness captures: a child process
    /// (this test, run again) opens the logs, and the parent reads the child's stderr.
    #[test]
    fn a_first_launch_says_nothing_about_a_missing_log_directory() {
        const CHILD: &str = "BATON_TEST_FIRST_LAUNCH_LOG_DIR";
        if let Some(dir) = std::env::var_os(CHILD) {
            PrivateDaily::open(Path::new(&dir), Utc::now).unwrap();
            return;
        }
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("data/baton/logs");
        // Test names leave out the crate's name.
        let (_, module) = module_path!().split_once("::").unwrap();
        let name = format!("{module}::a_first_launch_says_nothing_about_a_missing_log_directory");
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &name, "--nocapture"])
            .env(CHILD, &dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(
            stdout.contains("1 passed"),
            "the child ran this test: {stdout}"
        );
        assert!(dir.is_dir());
        assert!(!stderr.contains("Error reading the log"), "{stderr}");
    }

    #[test]
    fn a_new_day_gets_its_file_private_before_the_first_line() {
        fn next_year() -> DateTime<Utc> {
            "2031-03-04T00:00:01Z".parse().unwrap()
        }
        let home = tempfile::tempdir().unwrap();
        let mut w = PrivateDaily::open(home.path(), next_year).unwrap();
        w.write_all(b"x\n").unwrap();
        assert_eq!(mode(&home.path().join("baton.2031-03-04.log")), 0o600);
    }
}
