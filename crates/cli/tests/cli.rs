//! The `baton` binary, driven as a user would, against the simulator on 127.0.0.1.
//! Needs a Secret Service (`make test` runs it inside scripts/with-keyring.sh).

mod common;

use baton_sim::{Faults, Limits, Sim, SimConfig};
use common::{baton, ok};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

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

/// A simulator without rate limits, and a database with its account added as `name` and
/// synced once.
async fn synced(tickets: usize, name: &str) -> (Sim, tempfile::TempDir, PathBuf) {
    let sim = unlimited_sim(tickets).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(format!("{name}.db"));
    ok(add(&db, &sim, name, "sim-token"));
    ok(baton(&db, &["sync", "--once"], None));
    (sim, dir, db)
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
    let full = rows_written(&reference).await;

    let db = with_small_pages(&dir, &sim, "cli-killed").await;
    sim.set_faults(Faults {
        slow: u32::MAX,
        slow_ms: 25,
        ..Default::default()
    });
    // Each run is killed as soon as it has committed something new, so every kill lands
    // after a write and before the end: a kill that came before the first write, or
    // after the last, would test nothing.
    let mut written = rows_written(&db).await;
    assert_eq!(written, 0, "the killed copy starts empty");
    for round in 0..4 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("--db")
            .arg(&db)
            .args(["sync", "--once"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while rows_written(&db).await <= written {
            assert!(
                child.try_wait().unwrap().is_none(),
                "round {round}: the sync ended before writing anything new"
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "round {round}: no write within a minute"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let now = rows_written(&db).await;
        assert!(
            now > written,
            "round {round}: what was committed before the kill is still there ({now} rows, {written} before)"
        );
        written = now;
    }
    assert!(
        written < full,
        "the kills landed before the end ({written} of {full} rows)"
    );
    let partial = json(baton(&db, &["queue", "--json", "--all"], None));
    let queued = partial.as_array().unwrap().len();
    assert!(
        queued > 0 && queued < want["queue"].as_array().unwrap().len(),
        "a partial queue after the kills: {queued} rows"
    );
    sim.set_faults(Faults::default());
    ok(baton(&db, &["sync", "--once"], None));
    assert!(
        everything(&db) == want,
        "the resumed cache differs from the uninterrupted one"
    );
}

/// Conversations and messages committed in the cache (read beside a running `baton`:
/// WAL lets a reader in while it writes).
async fn rows_written(db: &Path) -> i64 {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(db))
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM conversations) + (SELECT count(*) FROM messages)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    n
}

/// A database with the account added, set to small pages (the settings are the
/// account's JSON options) so kills land between pages and inside them.
async fn with_small_pages(dir: &tempfile::TempDir, sim: &Sim, name: &str) -> PathBuf {
    let db = dir.path().join(format!("{name}.db"));
    ok(add(&db, sim, name, "sim-token"));
    let store = baton_core::Store::open(&db).await.unwrap();
    let mut account = store.account(name).await.unwrap();
    account.settings["export_page_size"] = 10.into();
    account.settings["transcript_page_size"] = 10.into();
    store.update_account(&account).await.unwrap();
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
    let (sim, _dir, db) = synced(60, "cli-drafts").await;
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

/// "Don't send" (`baton outbox --cancel KEY`): a reply the rep cancels never reaches
/// Zendesk, whether it was waiting for Zendesk to come back (queued, which every sync
/// would otherwise deliver) or stopped because the ticket changed (conflict); and
/// "send anyway" cannot bring it back.
#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_reply_never_reaches_zendesk() {
    let (sim, _dir, db) = synced(60, "cli-cancel").await;
    let drafted = open_drafts(&sim);
    assert!(drafted.len() >= 3, "the scenario has three drafts");
    let (waiting, changed) = (drafted[0].0, drafted[1].0);
    // Every ticket update the simulator was sent that carries this text (refused ones too).
    let arrived = |text: &str| {
        sim.stats()
            .ticket_updates
            .iter()
            .filter(|u| u.to_string().contains(text))
            .count()
    };
    let outbox_row = |ticket: u64| -> Value {
        json(baton(&db, &["outbox", "--json"], None))
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["external_id"] == ticket.to_string().as_str())
            .cloned()
            .unwrap_or_else(|| panic!("no outbox row for #{ticket}"))
    };

    // Zendesk cannot take it now (rate-limited): the reply waits in the outbox.
    let queued_text = "Cancelled while queued: never send this";
    sim.set_faults(Faults {
        rate_limits: 1_000,
        rate_limit_secs: 60,
        ..Default::default()
    });
    let said = ok(baton(
        &db,
        &["draft", "send", &waiting.to_string(), "--text", queued_text],
        None,
    ));
    assert!(said.contains("Queued"), "{said}");
    let row = outbox_row(waiting);
    assert_eq!(row["state"], "queued");
    let key = row["idempotency_key"].as_str().unwrap().to_string();
    ok(baton(&db, &["outbox", "--cancel", &key], None));
    assert_eq!(outbox_row(waiting)["state"], "cancelled");
    sim.set_faults(Faults::default());

    // The ticket moved after the sync: the reply stops as a conflict.
    let conflict_text = "Cancelled after a conflict: never send this";
    sim.world_mut(|w, _| w.touch(changed, chrono::Utc::now() + chrono::Duration::seconds(5)));
    let said = ok(baton(
        &db,
        &[
            "draft",
            "send",
            &changed.to_string(),
            "--text",
            conflict_text,
        ],
        None,
    ));
    assert!(said.contains("Not sent"), "{said}");
    let row = outbox_row(changed);
    assert_eq!(row["state"], "conflict");
    let conflict_key = row["idempotency_key"].as_str().unwrap().to_string();
    // The refused attempt reached the simulator (and was answered 409); nothing more may.
    let refused = arrived(conflict_text);
    assert_eq!(refused, 1, "one refused attempt");
    ok(baton(&db, &["outbox", "--cancel", &conflict_key], None));
    assert_eq!(outbox_row(changed)["state"], "cancelled");

    // Syncs deliver what is due; "send anyway" on a cancelled reply is refused.
    ok(baton(&db, &["sync", "--once"], None));
    ok(baton(&db, &["sync", "--once"], None));
    for k in [&key, &conflict_key] {
        let retry = baton(&db, &["outbox", "--retry", k], None);
        assert!(!retry.status.success(), "a cancelled reply was sent anyway");
    }
    ok(baton(&db, &["sync", "--once"], None));
    for (ticket, text, before) in [(waiting, queued_text, 0), (changed, conflict_text, refused)] {
        assert_eq!(
            arrived(text),
            before,
            "#{ticket}: a cancelled reply was sent to the simulator"
        );
        assert_eq!(
            sim.world(|w| w.tickets[&ticket].public_comments_with(text)),
            0
        );
        assert_eq!(outbox_row(ticket)["state"], "cancelled");
    }
    // The test can see a reply arrive: one the rep did not cancel does.
    let sent_text = "Not cancelled: this one goes";
    ok(baton(
        &db,
        &[
            "draft",
            "send",
            &drafted[2].0.to_string(),
            "--text",
            sent_text,
        ],
        None,
    ));
    assert_eq!(arrived(sent_text), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_change_in_place_and_removal_asks_before_losing_replies() {
    let sim = unlimited_sim(30).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("update.db");
    ok(add(&db, &sim, "cli-update", "sim-token\n"));
    ok(baton(&db, &["sync", "--once"], None));
    let queue = json(baton(&db, &["queue", "--json", "--all"], None));
    assert!(!queue.as_array().unwrap().is_empty());

    // A wrong token is checked and refused; the working one stays.
    let out = baton(
        &db,
        &["account", "update", "cli-update"],
        Some("wrong-token\n"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("rejected the credentials"),
        "{err}"
    );
    assert!(!err.contains("wrong-token"), "{err}");
    ok(baton(&db, &["sync", "--once"], None));

    let out = ok(baton(
        &db,
        &["account", "update", "cli-update"],
        Some("sim-token\n"),
    ));
    assert!(
        out.contains("Updated cli-update") && out.contains("Alex Rivera"),
        "{out}"
    );
    assert_eq!(
        json(baton(&db, &["queue", "--json", "--all"], None)),
        queue,
        "the cache is kept"
    );

    // Zendesk is down when the rep sends: the reply waits in the outbox.
    let (ticket, text) = open_drafts(&sim).remove(0);
    sim.set_faults(Faults {
        down: true,
        ..Default::default()
    });
    baton(&db, &["draft", "accept", &ticket.to_string()], None);
    let outbox = json(baton(&db, &["outbox", "--json"], None));
    assert!(
        outbox
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["state"] != "sent" && i["state"] != "cancelled"),
        "{outbox}"
    );

    // Without a terminal, removal says what would be lost and needs --force.
    let out = baton(&db, &["account", "remove", "cli-update"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    let first_words: String = text.lines().next().unwrap().chars().take(20).collect();
    assert!(
        !out.status.success()
            && err.contains("1 unsent reply")
            && err.contains("--force")
            && err.contains(first_words.trim()),
        "{err}"
    );
    assert!(ok(baton(&db, &["account", "list"], None)).contains("cli-update"));
    ok(baton(
        &db,
        &["account", "remove", "cli-update", "--force"],
        None,
    ));
    assert!(!ok(baton(&db, &["account", "list"], None)).contains("cli-update"));
}

#[test]
fn plain_http_to_another_host_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("http.db");
    let out = baton(
        &db,
        &[
            "account",
            "add",
            "zendesk",
            "--url",
            "http://acme.zendesk.com",
            "--email",
            "a@b.c",
            "--name",
            "cli-http",
        ],
        Some("a-token\n"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("unencrypted") && err.contains("https"),
        "{err}"
    );
    assert!(!ok(baton(&db, &["account", "list"], None)).contains("cli-http"));
}

/// Two `baton sync` processes (the app beside a terminal) deliver over one outbox while
/// the rep acts from a third, against a Zendesk that answers writes late and loses some
/// answers: every reply reaches the customer exactly once and ends `sent`, "send anyway"
/// included; a cancelled reply never arrives, whoever races it.
#[tokio::test(flavor = "multi_thread")]
async fn two_deliverers_in_two_processes_post_every_reply_exactly_once() {
    let (sim, _dir, db) = synced(80, "cli-race").await;
    let drafted = open_drafts(&sim);
    assert!(drafted.len() >= 6, "the scenario has drafts to act on");
    // Writes land at once but are answered 2 s later; the first two answers are lost.
    sim.set_faults(Faults {
        write_delay_ms: 2_000,
        lost_write_answers: 2,
        ..Default::default()
    });
    let syncs: Vec<std::process::Child> = (0..2)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_baton"))
                .arg("--db")
                .arg(&db)
                .arg("sync")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let t = |k: usize| drafted[k].0.to_string();
    let text = |k: usize| drafted[k].1.clone();
    let draft_id = |ticket: &str| -> i64 {
        let d = json(baton(&db, &["show", ticket, "--json"], None));
        d["drafts"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|d| d["state"] == "pending")
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    // Accepted and edited, while both syncs deliver.
    let edited = format!("Edited reply for #{}", t(1));
    let accepting = [
        vec!["draft".to_string(), "accept".into(), t(0)],
        vec![
            "draft".into(),
            "send".into(),
            t(1),
            "--text".into(),
            edited.clone(),
        ],
    ];
    std::thread::scope(|s| {
        for args in &accepting {
            let db = &db;
            s.spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                ok(baton(db, &args, None))
            });
        }
    });
    // Read at a version the ticket has moved past: held as a conflict, then "send anyway"
    // (no stamp) from the CLI while both syncs run.
    let held = |k: usize| {
        let d = draft_id(&t(k));
        let out = ok(baton(
            &db,
            &[
                "draft",
                "accept",
                &t(k),
                "--draft",
                &d.to_string(),
                "--seen",
                "2000-01-01T00:00:00Z",
            ],
            None,
        ));
        assert!(out.contains("Not sent"), "held for the rep: {out}");
        format!("draft-{d}")
    };
    let anyway = held(2);
    ok(baton(&db, &["outbox", "--retry", &anyway], None));
    // Cancelled while held: never sent.
    let cancelled = held(3);
    ok(baton(&db, &["outbox", "--cancel", &cancelled], None));
    // "Send anyway" and "don't send" at the same moment: one of them wins, cleanly.
    let raced = held(4);
    std::thread::scope(|s| {
        let db = &db;
        let raced = &raced;
        s.spawn(move || baton(db, &["outbox", "--retry", raced], None));
        s.spawn(move || baton(db, &["outbox", "--cancel", raced], None));
    });

    let settled = |items: &Value| {
        items
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "sent" || i["state"] == "cancelled")
    };
    let mut items = json(baton(&db, &["outbox", "--json"], None));
    for _ in 0..120 {
        if settled(&items) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        items = json(baton(&db, &["outbox", "--json"], None));
    }
    for mut p in syncs {
        let _ = p.kill();
        let _ = p.wait();
    }
    assert!(settled(&items), "every reply settled: {items:#}");
    assert_eq!(items.as_array().unwrap().len(), 5);
    let state = |key: &str| {
        items
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["idempotency_key"] == key)
            .unwrap()["state"]
            .clone()
    };
    let arrived =
        |k: usize, body: &str| sim.world(|w| w.tickets[&drafted[k].0].public_comments_with(body));
    assert_eq!(arrived(0, &text(0)), 1, "accepted: once");
    assert_eq!(arrived(1, &edited), 1, "edited: once");
    assert_eq!(arrived(2, &text(2)), 1, "sent anyway: once");
    assert_eq!(state(&anyway), "sent");
    assert_eq!(arrived(3, &text(3)), 0, "cancelled: never");
    assert_eq!(state(&cancelled), "cancelled");
    let raced_arrivals = arrived(4, &text(4));
    match state(&raced).as_str().unwrap() {
        "sent" => assert_eq!(raced_arrivals, 1),
        "cancelled" => assert_eq!(raced_arrivals, 0),
        other => panic!("raced reply ended {other}"),
    }
}

/// The rep reads a draft; before the keypress a newer draft and a customer message arrive
/// (synced, or not yet synced). Nothing goes out that the rep did not see: the reply is
/// held, saying why, for "send anyway" or "don't send".
#[tokio::test(flavor = "multi_thread")]
async fn a_draft_goes_out_only_as_the_rep_saw_it() {
    let (sim, _dir, db) = synced(80, "cli-seen").await;
    let drafted = open_drafts(&sim);
    // What the rep read: the draft and the version on screen.
    let read = |ticket: u64| {
        let d = json(baton(&db, &["show", &ticket.to_string(), "--json"], None));
        let draft = d["drafts"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|d| d["state"] == "pending")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        (
            draft.to_string(),
            d["version"].as_str().unwrap().to_string(),
        )
    };
    let arrives = |ticket: u64, kind: &str, text: &str| {
        sim.world_mut(|w, _| {
            let at = chrono::Utc::now() + chrono::Duration::seconds(2);
            let eid = w.next_id();
            let ai = w.integration_user;
            let t = w.tickets.get_mut(&ticket).unwrap();
            let (wire, truth) = match kind {
                "customer" => (
                    baton_sim::world::Wire::Comment {
                        author_id: t.requester_id,
                        public: true,
                    },
                    baton_sim::world::Truth::Turn { role: "customer" },
                ),
                _ => (
                    baton_sim::world::Wire::Comment {
                        author_id: ai,
                        public: false,
                    },
                    baton_sim::world::Truth::Draft {
                        text: text.into(),
                        training_url: String::new(),
                    },
                ),
            };
            let body = match kind {
                "customer" => text.to_string(),
                _ => format!("{text}\n—\nDrafted by OpenCX AI Assist. Review before sending."),
            };
            t.events.push(baton_sim::world::Event {
                id: eid,
                created_at: at,
                text: body,
                attachments: vec![],
                wire,
                truth,
            });
            w.touch(ticket, at);
        })
    };
    let accept = |ticket: u64, (draft, version): &(String, String)| {
        ok(baton(
            &db,
            &[
                "draft",
                "accept",
                &ticket.to_string(),
                "--draft",
                draft,
                "--seen",
                version,
            ],
            None,
        ))
    };
    let posted =
        |ticket: u64, text: &str| sim.world(|w| w.tickets[&ticket].public_comments_with(text));

    // 1. A newer draft and a customer message arrive and are synced before the keypress.
    let (t1, text1) = drafted[0].clone();
    let seen = read(t1);
    arrives(t1, "customer", "Wait, I already got the refund!");
    arrives(t1, "draft", "Glad it arrived! Anything else?");
    ok(baton(&db, &["sync", "--once"], None));
    let out = accept(t1, &seen);
    assert!(
        out.contains("Not sent") && out.contains("newer Assist draft"),
        "{out}"
    );
    assert_eq!(
        posted(t1, &text1),
        0,
        "the draft the rep read did not go out unseen"
    );

    // 2. The customer writes, synced: held, quoting what they wrote.
    let (t2, text2) = drafted[1].clone();
    let seen = read(t2);
    arrives(t2, "customer", "Also, my address changed.");
    ok(baton(&db, &["sync", "--once"], None));
    let out = accept(t2, &seen);
    assert!(
        out.contains("Not sent") && out.contains("my address changed"),
        "{out}"
    );
    assert_eq!(posted(t2, &text2), 0);

    // 3. The customer writes and Baton has not synced it yet: Zendesk's safe_update on the
    // version the rep saw refuses it, and the rep is told what was written.
    let (t3, text3) = drafted[2].clone();
    let seen = read(t3);
    arrives(t3, "customer", "Never mind, cancel the order.");
    let out = accept(t3, &seen);
    assert!(
        out.contains("Not sent") && out.contains("cancel the order"),
        "{out}"
    );
    assert_eq!(posted(t3, &text3), 0);

    // 4. Baton could not read what changed (the transcript is refused): what the rep read
    // may be missing the customer's last words, so it is held.
    let (t5, text5) = drafted[4].clone();
    let seen = read(t5);
    sim.set_faults(Faults {
        forbidden_tickets: vec![t5],
        ..Default::default()
    });
    sim.world_mut(|w, _| w.touch(t5, chrono::Utc::now()));
    ok(baton(&db, &["sync", "--once"], None));
    sim.set_faults(Faults::default());
    let seen = (
        seen.0,
        json(baton(&db, &["show", &t5.to_string(), "--json"], None))["version"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let out = accept(t5, &seen);
    assert!(
        out.contains("Not sent") && out.contains("could not read"),
        "{out}"
    );
    assert_eq!(posted(t5, &text5), 0);

    // Nothing changed: it goes out, once.
    let (t4, text4) = drafted[3].clone();
    let seen = read(t4);
    let out = accept(t4, &seen);
    assert!(out.contains("Sent"), "{out}");
    assert_eq!(posted(t4, &text4), 1);
}

/// A ticket deleted in Zendesk (listed as deleted, 404 on its log) and one whose
/// transcript is forbidden: `baton sync --once` completes (exit 0), the deleted one leaves
/// the cache, the forbidden one stays and says why.
#[tokio::test(flavor = "multi_thread")]
async fn sync_once_drops_a_deleted_ticket_and_marks_an_unreadable_one() {
    let sim = unlimited_sim(30).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    ok(add(&db, &sim, "deleted-once", "sim-token"));
    let handoffs: Vec<u64> = sim.world(|w| {
        w.tickets
            .values()
            .filter(|t| t.kind.is_handoff() && !matches!(t.status, "solved" | "closed"))
            .map(|t| t.id)
            .take(2)
            .collect()
    });
    let (deleted, forbidden) = (handoffs[0], handoffs[1]);
    ok(baton(&db, &["sync", "--once"], None));
    ok(baton(&db, &["show", &deleted.to_string(), "--json"], None));

    sim.delete_ticket(deleted);
    sim.set_faults(Faults {
        forbidden_tickets: vec![forbidden],
        ..Default::default()
    });
    // The forbidden ticket changed, so its transcript is read (and refused).
    sim.world_mut(|w, _| w.touch(forbidden, chrono::Utc::now()));
    ok(baton(&db, &["sync", "--once"], None));
    let queue = json(baton(&db, &["queue", "--json", "--all"], None));
    let ids: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["external_id"].as_str().unwrap())
        .collect();
    assert!(!ids.is_empty() && !ids.contains(&deleted.to_string().as_str()));
    assert!(
        !baton(&db, &["show", &deleted.to_string()], None)
            .status
            .success(),
        "gone from the cache"
    );
    let shown = ok(baton(&db, &["show", &forbidden.to_string()], None));
    assert!(shown.contains("could not read"), "{shown}");

    // A new database whose first sync meets the ticket only as deleted.
    let fresh = dir.path().join("fresh.db");
    ok(add(&fresh, &sim, "deleted-fresh", "sim-token"));
    ok(baton(&fresh, &["sync", "--once"], None));
    for (db, name) in [(&db, "deleted-once"), (&fresh, "deleted-fresh")] {
        ok(baton(db, &["account", "remove", name], None));
    }
}

/// `baton account ai-authors` names the user the OpenCX integration posts as: only that
/// user's notes become drafts.
#[tokio::test(flavor = "multi_thread")]
async fn ai_authors_decide_whose_notes_are_drafts() {
    let sim = unlimited_sim(40).await;
    let dir = tempfile::tempdir().unwrap();
    let (ticket, _) = open_drafts(&sim).remove(0);
    let ai = sim.world(|w| w.integration_user);
    let drafts_seen = |db: &Path| {
        json(baton(db, &["show", &ticket.to_string(), "--json"], None))["drafts"]
            .as_array()
            .unwrap()
            .len()
    };
    let other = dir.path().join("other.db");
    ok(add(&other, &sim, "cli-ai-other", "sim-token"));
    let said = ok(baton(
        &other,
        &["account", "ai-authors", "cli-ai-other"],
        None,
    ));
    assert!(said.contains("named OpenCX"), "the default: {said}");
    let said = ok(baton(
        &other,
        &["account", "ai-authors", "cli-ai-other", "--user-id", "1"],
        None,
    ));
    assert!(said.contains("Zendesk user 1"), "{said}");
    ok(baton(&other, &["sync", "--once"], None));
    assert_eq!(
        drafts_seen(&other),
        0,
        "notes by someone else are not drafts"
    );

    let theirs = dir.path().join("theirs.db");
    ok(add(&theirs, &sim, "cli-ai-theirs", "sim-token"));
    ok(baton(
        &theirs,
        &[
            "account",
            "ai-authors",
            "cli-ai-theirs",
            "--user-id",
            &ai.to_string(),
        ],
        None,
    ));
    ok(baton(&theirs, &["sync", "--once"], None));
    assert!(drafts_seen(&theirs) > 0, "the integration user's notes are");
    for (db, name) in [(&other, "cli-ai-other"), (&theirs, "cli-ai-theirs")] {
        ok(baton(db, &["account", "remove", name, "--force"], None));
    }
}
