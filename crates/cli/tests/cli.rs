//! The `baton` binary, driven as a user would, against the simulator on 127.0.0.1.
//! Needs a Secret Service (`make test` runs it inside scripts/with-keyring.sh).

use baton_sim::{Faults, Limits, Sim, SimConfig};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn baton(db: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(out: Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

/// A unique account name per test: they share the keychain.
fn add(db: &Path, sim: &Sim, name: &str, token: &str) -> Output {
    add_with(db, sim, name, token, &[])
}

/// `baton account add` with more options (`--sunco-…`); `secrets` go in on stdin.
fn add_with(db: &Path, sim: &Sim, name: &str, secrets: &str, more: &[&str]) -> Output {
    let url = sim.url();
    let mut args = vec![
        "account",
        "add",
        "zendesk",
        "--url",
        &url,
        "--email",
        "alex@acme.test",
        "--name",
        name,
    ];
    args.extend_from_slice(more);
    baton(db, &args, Some(secrets))
}

/// A simulator without rate limits.
async fn unlimited_sim(tickets: usize) -> Sim {
    Sim::start(SimConfig {
        tickets,
        limits: Limits::unlimited(),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Open tickets with an Assist draft, and the draft's text, as the scenario made them.
fn open_drafts(sim: &Sim) -> Vec<(u64, String)> {
    sim.world(|w| {
        w.tickets
            .values()
            .filter(|t| t.status != "solved" && t.status != "closed")
            .filter_map(|t| {
                t.events.iter().find_map(|e| match &e.truth {
                    baton_sim::world::Truth::Draft { text, .. } => Some((t.id, text.clone())),
                    _ => None,
                })
            })
            .collect()
    })
}

fn strip_ids(mut v: Value) -> Value {
    match &mut v {
        Value::Object(m) => {
            m.remove("id");
            m.remove("account_id");
            for x in m.values_mut() {
                *x = strip_ids(x.take());
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = strip_ids(x.take());
            }
        }
        _ => {}
    }
    v
}

/// Everything a user can read back: the whole queue and every conversation in it.
fn everything(db: &Path) -> Value {
    let queue = json(baton(db, &["queue", "--json", "--all"], None));
    let details: Vec<Value> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            strip_ids(json(baton(
                db,
                &["show", i["external_id"].as_str().unwrap(), "--json"],
                None,
            )))
        })
        .collect();
    serde_json::json!({ "queue": strip_ids(queue), "details": details })
}

#[tokio::test(flavor = "multi_thread")]
async fn add_sync_queue_show_search_remove() {
    let sim = unlimited_sim(40).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let out = ok(add(&db, &sim, "cli-flow", "sim-token\n"));
    assert!(
        out.contains("Added cli-flow") && out.contains("Alex Rivera"),
        "{out}"
    );
    let list = ok(baton(&db, &["account", "list"], None));
    assert!(
        list.contains("cli-flow") && !list.contains("sim-token"),
        "{list}"
    );

    let out = ok(baton(&db, &["sync", "--once"], None));
    assert!(out.contains("40 conversations"), "{out}");

    let queue = json(baton(&db, &["queue", "--json"], None));
    let items = queue.as_array().unwrap();
    let mine = json(baton(&db, &["queue", "--json", "--mine"], None));
    let mine = mine.as_array().unwrap();
    assert!(
        !mine.is_empty() && mine.len() < items.len() && mine.iter().all(|i| i["scope"] != "other"),
        "--mine: only mine and my groups' unassigned"
    );
    let open_handoffs = sim.world(|w| {
        w.tickets
            .values()
            .filter(|t| t.kind.is_handoff() && !matches!(t.status, "solved" | "closed"))
            .count()
    });
    assert!(items.len() >= open_handoffs && open_handoffs > 0);
    let me = sim.world(|w| w.me.to_string());
    let mine = items
        .iter()
        .take_while(|i| i["assignee_id"] == me.as_str())
        .count();
    assert!(
        items[mine..]
            .iter()
            .all(|i| i["assignee_id"] != me.as_str()),
        "the rep's own conversations come first"
    );

    // Show a handoff with a script payload in its transcript: printed as text.
    let (id, payload) = sim.world(|w| {
        w.tickets
            .values()
            .filter(|t| t.kind.is_handoff())
            .find_map(|t| {
                t.events
                    .iter()
                    .find(|e| e.text.contains("<script>"))
                    .map(|e| (t.id, e.text.clone()))
            })
            .expect("the scenario has a script payload")
    });
    let shown = ok(baton(&db, &["show", &id.to_string()], None));
    assert!(
        shown.contains(&payload),
        "the payload shows literally:\n{shown}"
    );
    assert!(shown.contains("Reason: "), "{shown}");
    let detail = json(baton(
        &db,
        &["show", &format!("cli-flow:{id}"), "--json"],
        None,
    ));
    assert!(detail["handoff"]["reason"].as_str().unwrap().len() > 10);

    let hits = json(baton(&db, &["search", "pwned", "--json"], None));
    assert!(hits
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["external_id"] == id.to_string().as_str()));

    let missing = baton(&db, &["show", "999999"], None);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no conversation 999999"));

    ok(baton(&db, &["account", "remove", "cli-flow"], None));
    assert_eq!(
        json(baton(&db, &["queue", "--json", "--all"], None)),
        serde_json::json!([])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_and_bad_hosts_fail_clearly_and_store_nothing() {
    let sim = Sim::start(SimConfig {
        tickets: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let out = add(&db, &sim, "cli-badtoken", "not-the-token");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cli-badtoken") && err.contains("rejected the credentials"),
        "{err}"
    );
    assert!(!err.contains("not-the-token"));
    assert!(!ok(baton(&db, &["account", "list"], None)).contains("cli-badtoken"));

    let out = baton(
        &db,
        &[
            "account",
            "add",
            "zendesk",
            "--url",
            "http://127.0.0.1:1",
            "--email",
            "a@b.c",
            "--name",
            "cli-dead",
        ],
        Some("t"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("127.0.0.1:1") && err.contains("unreachable"),
        "{err}"
    );

    let out = baton(
        &db,
        &[
            "account", "add", "zendesk", "--url", "ftp://x", "--email", "a@b.c",
        ],
        Some("t"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an http(s) URL"));

    let out = baton(&db, &["sync", "--once"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no accounts yet"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_sync_then_resume_equals_an_uninterrupted_sync() {
    let sim = unlimited_sim(150).await;
    let dir = tempfile::tempdir().unwrap();
    let reference = with_small_pages(&dir, &sim, "cli-ref").await;
    ok(baton(&reference, &["sync", "--once"], None));
    let want = everything(&reference);

    let db = with_small_pages(&dir, &sim, "cli-killed").await;
    sim.set_faults(Faults {
        slow: u32::MAX,
        slow_ms: 25,
        ..Default::default()
    });
    for delay in [150, 250, 350, 450] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("--db")
            .arg(&db)
            .args(["sync", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let partial = json(baton(&db, &["queue", "--json", "--all"], None));
    let full = want["queue"].as_array().unwrap().len();
    assert!(
        partial.as_array().unwrap().len() < full,
        "the kills landed before the end"
    );
    sim.set_faults(Faults::default());
    ok(baton(&db, &["sync", "--once"], None));
    assert!(
        everything(&db) == want,
        "the resumed cache differs from the uninterrupted one"
    );
}

/// A database with the account added, set to small pages (the settings are the
/// account's JSON options) so kills land between pages and inside them.
async fn with_small_pages(dir: &tempfile::TempDir, sim: &Sim, name: &str) -> PathBuf {
    let db = dir.path().join(format!("{name}.db"));
    ok(add(&db, sim, name, "sim-token"));
    let store = baton_core::Store::open(&db).await.unwrap();
    sqlx::query("UPDATE accounts SET settings = json_set(settings, '$.export_page_size', 10, '$.transcript_page_size', 10)")
        .execute(store.pool())
        .await
        .unwrap();
    db
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_with_sunshine_conversations_reads_transcripts_there() {
    let config = SimConfig {
        tickets: 20,
        limits: Limits::unlimited(),
        ..Default::default()
    };
    let sim = Sim::start(config.clone()).await.unwrap();
    sim.set_faults(Faults {
        no_conversation_log: true,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sunco.db");
    let secrets = format!("sim-token\n{}\n", config.sunco_secret);
    let sunco = [
        "--sunco-app-id",
        &config.sunco_app_id,
        "--sunco-key-id",
        &config.sunco_key_id,
    ];
    ok(add_with(&db, &sim, "cli-sunco", &secrets, &sunco));
    ok(baton(&db, &["sync", "--once"], None));
    let handoff = sim.world(|w| {
        w.tickets
            .values()
            .find(|t| t.kind.is_handoff())
            .map(|t| (t.id, t.events[0].text.clone()))
            .unwrap()
    });
    let detail = json(baton(
        &db,
        &["show", &handoff.0.to_string(), "--json"],
        None,
    ));
    assert_eq!(detail["messages"][0]["body"], handoff.1.as_str());
    assert!(
        detail["handoff"]["reason"].is_string(),
        "the summary note still comes from the comments"
    );
    ok(baton(&db, &["account", "remove", "cli-sunco"], None));

    // Only one secret given for two: a clear error, nothing stored.
    let out = add_with(&db, &sim, "cli-sunco", "sim-token\n", &sunco);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Sunshine Conversations secret"));
    assert!(!ok(baton(&db, &["account", "list"], None)).contains("cli-sunco"));
}

#[tokio::test(flavor = "multi_thread")]
async fn drafts_are_sent_once_and_reported() {
    let sim = unlimited_sim(60).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drafts.db");
    ok(add(&db, &sim, "cli-drafts", "sim-token"));
    ok(baton(&db, &["sync", "--once"], None));
    // Three open Assist tickets with a draft each.
    let drafted: Vec<(u64, String)> = open_drafts(&sim).into_iter().take(3).collect();
    assert_eq!(drafted.len(), 3, "the scenario has drafts");
    let count = |id: u64, text: &str| sim.world(|w| w.tickets[&id].public_comments_with(text));

    let (a, a_text) = &drafted[0];
    assert!(ok(baton(&db, &["draft", "accept", &a.to_string()], None)).contains("Sent"));
    assert_eq!(count(*a, a_text), 1);
    let again = baton(&db, &["draft", "accept", &a.to_string()], None);
    assert!(
        !again.status.success()
            && String::from_utf8_lossy(&again.stderr).contains("no pending Assist draft")
    );
    assert_eq!(count(*a, a_text), 1, "never twice");

    let (b, _) = &drafted[1];
    let edited = "Hi! I've refunded you in full — thanks for waiting.";
    assert!(ok(baton(
        &db,
        &["draft", "send", &b.to_string(), "--text", edited],
        None
    ))
    .contains("Sent"));
    assert_eq!(count(*b, edited), 1);

    let (c, c_text) = &drafted[2];
    ok(baton(
        &db,
        &[
            "draft",
            "reject",
            &c.to_string(),
            "--reason",
            "wrong policy",
        ],
        None,
    ));
    assert_eq!(count(*c, c_text), 0);

    let outbox = json(baton(&db, &["outbox", "--json"], None));
    assert_eq!(outbox.as_array().unwrap().len(), 2);
    assert!(outbox
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["state"] == "sent" && i["reply"]["public"] == true));

    let report = json(baton(&db, &["report", "drafts", "--format", "json"], None));
    let sum = |k: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[k].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(
        (
            sum("drafts"),
            sum("accepted"),
            sum("edited"),
            sum("rejected")
        ),
        (3, 1, 1, 1)
    );
    assert!(report
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["rep"] == "alex@acme.test"));
    assert!(report
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["rejection_reasons"] == "wrong policy (1)"));
    assert!(report
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["mean_edit_distance"].as_f64().unwrap_or(0.0) > 10.0));
    let csv = ok(baton(
        &db,
        &[
            "report",
            "drafts",
            "--format",
            "csv",
            "--since",
            "2020-01-01",
        ],
        None,
    ));
    assert!(
        csv.starts_with("rep,topic,drafts,accepted,edited,rejected,acceptance_rate"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), report.as_array().unwrap().len() + 1);
    let future = json(baton(
        &db,
        &[
            "report",
            "drafts",
            "--format",
            "json",
            "--since",
            "2999-01-01",
        ],
        None,
    ));
    assert_eq!(future, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_every_step_of_a_reply_still_posts_it_exactly_once() {
    let sim = unlimited_sim(60).await;
    let drafted: Vec<(u64, String)> = open_drafts(&sim);
    for (k, point) in baton_core::crash::POINTS.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("crash.db");
        ok(add(&db, &sim, &format!("cli-crash-{k}"), "sim-token"));
        ok(baton(&db, &["sync", "--once"], None));
        let (ticket, text) = &drafted[k];
        let killed = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("--db")
            .arg(&db)
            .args(["draft", "accept", &ticket.to_string()])
            .env("BATON_CRASH_AT", point)
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            killed.status.signal(),
            Some(9),
            "killed at {point}: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
        // Restart: the sync delivers what the outbox holds.
        ok(baton(&db, &["sync", "--once"], None));
        ok(baton(&db, &["sync", "--once"], None));
        assert_eq!(
            sim.world(|w| w.tickets[ticket].public_comments_with(text)),
            1,
            "one public reply after a kill at {point}"
        );
        let outbox = json(baton(&db, &["outbox", "--json"], None));
        assert_eq!(outbox[0]["state"], "sent", "{point}");
    }
}
