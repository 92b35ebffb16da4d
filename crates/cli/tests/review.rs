//! `baton report handoffs` and `baton report rules` over a cache seeded with known handoffs.

mod common;

use baton_core::model::*;
use baton_core::store::{AccountRecord, AuthKind};
use baton_core::Store;
use common::{baton, ok};

const HOUR: Millis = 3_600_000;

/// Monday 2026-11-23 00:00 UTC.
fn t0() -> Millis {
    chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
        .unwrap()
        .timestamp_millis()
}

fn handoff(
    id: &str,
    channel: Channel,
    reason: &str,
    at: Millis,
    reply_after: Option<Millis>,
) -> Bundle {
    let messages = reply_after
        .map(|d| Message {
            external_id: format!("{id}-reply"),
            role: Role::Agent,
            author_name: Some("Alex".into()),
            body: "Hi, I am here".into(),
            created_at: at + d,
            attachments: vec![],
            internal: false,
        })
        .into_iter()
        .collect();
    Bundle {
        conversation: Conversation {
            subject: format!("ticket {id}"),
            requester_name: Some("=SUM(A1:A9), Maria".into()),
            created_at: at - 60_000,
            updated_at: at + HOUR,
            handoff: Some(HandoffFacts {
                mode: HandoffMode::LiveChat,
                handed_off_at: Some(at),
            }),
            version: "v1".into(),
            wants_transcript: true,
            ..Conversation::new(id, SourceKind::Zendesk, channel, at)
        },
        transcript: Some(TranscriptPage {
            messages,
            handoff_reason: Some(reason.into()),
            ..Default::default()
        }),
        problem: None,
    }
}

async fn seeded(db: &std::path::Path) {
    let store = Store::open(db).await.unwrap();
    store
        .add_account(&AccountRecord {
            id: "acme".into(),
            kind: SourceKind::Zendesk,
            base_url: "https://acme.zendesk.com".into(),
            login: Some("lead@acme.test".into()),
            auth_kind: AuthKind::ApiToken,
            secret_ref: "test:acme".into(),
            settings: serde_json::json!({}),
            me_id: None,
            created_at: 0,
        })
        .await
        .unwrap();
    let t0 = t0();
    let page = vec![
        handoff(
            "101",
            Channel::Web,
            "Customer asked for a human",
            t0 + HOUR,
            Some(60_000),
        ),
        handoff(
            "102",
            Channel::Phone,
            "Wants a refund",
            t0 + 2 * HOUR,
            Some(180_000),
        ),
        handoff("103", Channel::Web, "Sings, badly", t0 + 3 * HOUR, None),
        // After the period.
        handoff(
            "104",
            Channel::Web,
            "asked for a human",
            t0 + 30 * 24 * HOUR,
            None,
        ),
    ];
    store
        .commit_page("acme", "tickets", &page, None, 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn report_handoffs_as_csv_lists_the_periods_handoffs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    seeded(&db).await;
    let period = ["--since", "2026-11-23", "--until", "2026-11-29"];
    let csv = ok(baton(
        &db,
        &[&["report", "handoffs", "--format", "csv"], &period[..]].concat(),
        None,
    ));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header[..3],
        ["conversation_id", "account_id", "external_id"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let got: Vec<(&str, &str, &str, &str, &str, &str)> = rows
        .iter()
        .map(|r| (&r[2], &r[4], &r[5], &r[7], &r[8], &r[9]))
        .collect();
    assert_eq!(
        got,
        [
            ("103", "web", "2026-11-23T03:00:00Z", "Sings, badly", "", ""),
            (
                "102",
                "phone",
                "2026-11-23T02:00:00Z",
                "Wants a refund",
                "policy_or_account",
                "180000"
            ),
            (
                "101",
                "web",
                "2026-11-23T01:00:00Z",
                "Customer asked for a human",
                "asked_for_human",
                "60000"
            ),
        ]
    );
    // Vendor text is data: never a formula in a spreadsheet.
    assert_eq!(&rows[0][6], "'=SUM(A1:A9), Maria");

    let web = ok(baton(
        &db,
        &[
            &[
                "report",
                "handoffs",
                "--format",
                "csv",
                "--channel",
                "web",
                "--category",
                "uncategorised",
            ],
            &period[..],
        ]
        .concat(),
        None,
    ));
    assert_eq!(web.lines().count(), 2, "{web}");
    assert!(web.lines().nth(1).unwrap().contains(",103,"), "{web}");

    let json: serde_json::Value = serde_json::from_str(&ok(baton(
        &db,
        &[&["report", "handoffs", "--format", "json"], &period[..]].concat(),
        None,
    )))
    .unwrap();
    assert_eq!(json["summary"]["handed_off"], 3);
    assert_eq!(json["summary"]["uncategorised"], 1);
    assert_eq!(json["handoffs"].as_array().unwrap().len(), 3);

    let table = ok(baton(
        &db,
        &[&["report", "handoffs"], &period[..]].concat(),
        None,
    ));
    assert!(table.contains("asked_for_human"), "{table}");
    assert!(
        table.contains("Handed off: 3 of 3 conversations (100%)"),
        "{table}"
    );

    let bad = baton(&db, &["report", "handoffs", "--category", "shipping"], None);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown category \"shipping\""));

    let rules: serde_json::Value = serde_json::from_str(&ok(baton(
        &db,
        &["report", "rules", "--format", "json"],
        None,
    )))
    .unwrap();
    assert_eq!(rules.as_array().unwrap().len(), 30);
    assert_eq!(rules[0]["category"], "asked_for_human");
    assert!(ok(baton(&db, &["report", "rules"], None)).contains("login loop"));
}
