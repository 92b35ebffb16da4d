//! `baton` with a Salesforce org: the simulator's, over real HTTP on 127.0.0.1, signed
//! in to with the demo connected app's key (JWT bearer). Needs a Secret Service (run it
//! inside scripts/with-keyring.sh, as `make test` does).

mod common;

use baton_sim::salesforce::{SfConfig, SfLimits, DEMO_KEY_PEM};
use baton_sim::{Sim, SimConfig};
use common::ok;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn baton(db: &Path, args: &[&str]) -> Output {
    common::baton(db, args, None)
}

fn add(db: &Path, sim: &Sim, name: &str, username: &str, key_file: &Path) -> Output {
    let url = sim.url();
    baton(
        db,
        &[
            "account",
            "add",
            "salesforce",
            "--login-url",
            &url,
            "--client-id",
            "baton-demo-client",
            "--username",
            username,
            "--key-file",
            key_file.to_str().unwrap(),
            "--name",
            name,
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn add_a_salesforce_org_sync_it_and_read_its_queue() {
    let sim = Sim::start(SimConfig {
        seed: 11,
        tickets: 1,
        salesforce: SfConfig {
            sessions: 40,
            limits: SfLimits::unlimited(),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sf.db");
    let key_file = dir.path().join("baton-demo.key");
    std::fs::write(&key_file, DEMO_KEY_PEM).unwrap();
    // A unique name: the tests share the keychain.
    let name = "sf-cli";

    // A user the connected app is not approved for: the crate's sentence, nothing kept.
    let out = add(&db, &sim, "sf-cli-wrong", "someone@acme.test", &key_file);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("the connected app is not approved for someone@acme.test"),
        "{said}"
    );
    assert!(!said.contains("PRIVATE KEY"), "{said}");
    assert!(ok(baton(&db, &["account", "list", "--json"])).trim() == "[]");

    // No key file: a sentence naming it.
    let missing = dir.path().join("nowhere.pem");
    let out = add(&db, &sim, name, "alex@acme.test", &missing);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("cannot read the key file"),
        "{said}"
    );

    let printed = ok(add(&db, &sim, name, "alex@acme.test", &key_file));
    let (me, queues) = sim.org(|o| {
        let names: Vec<String> = o
            .queues_of(&o.me)
            .iter()
            .filter_map(|q| o.record(q)?.text("Name").map(str::to_string))
            .collect();
        (o.me.clone(), names)
    });
    assert!(
        printed.contains(&format!("signed in as alex@acme.test (user {me})")),
        "{printed}"
    );
    assert!(!queues.is_empty());
    for q in &queues {
        assert!(printed.contains(q.as_str()), "queue {q}: {printed}");
    }
    // The keychain has the key: the file is no longer needed.
    std::fs::remove_file(&key_file).unwrap();

    let list = ok(baton(&db, &["account", "list"]));
    assert!(
        list.contains(name) && list.contains("salesforce") && list.contains("alex@acme.test"),
        "{list}"
    );

    let synced = ok(baton(&db, &["sync", "--once"]));
    assert!(synced.starts_with(&format!("{name}: ")), "{synced}");

    let queue: Value =
        serde_json::from_str(&ok(baton(&db, &["queue", "--json", "--all"]))).unwrap();
    let rows = queue.as_array().unwrap();
    assert!(!rows.is_empty(), "the org's sessions are in the queue");
    for row in rows {
        assert_eq!(row["source"], "salesforce", "{row}");
        let id = row["external_id"].as_str().unwrap();
        assert!(
            sim.org(|o| o.record(id).is_some()),
            "{id} is a record of the org"
        );
    }
    let mine: Value =
        serde_json::from_str(&ok(baton(&db, &["queue", "--json", "--mine"]))).unwrap();
    assert!(
        !mine.as_array().unwrap().is_empty(),
        "the demo user has handoffs of their own or their queues'"
    );
    // One session, read as a user would: its id as the queue prints it.
    let first = rows[0]["external_id"].as_str().unwrap();
    let table = ok(baton(&db, &["queue", "--all"]));
    assert!(table.contains(&format!("#{first} ")), "{table}");
    let shown = ok(baton(&db, &["show", first]));
    assert!(
        shown.starts_with(&format!("#{first} ")) && shown.contains("· salesforce"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "Service Console: {}/lightning/r/MessagingSession/{first}/view",
            sim.url()
        )),
        "{shown}"
    );

    ok(baton(&db, &["account", "remove", name]));
    assert!(ok(baton(&db, &["account", "list", "--json"])).trim() == "[]");
}
