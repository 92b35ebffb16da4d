//! What a sync must not take at face value, against the simulator over real HTTP: notes
//! that look like the AI's but are not, comments redacted after they were cached, and
//! tickets whose handoff tags were taken off.

use baton_core::model::Role;
use baton_core::store::{AccountRecord, QueueFilter};
use baton_core::sync::{StatusHandle, Syncer, SystemClock};
use baton_core::{CancellationToken, Sensitive, Store};
use baton_sim::scenario::{PLANTED_DRAFT, PLANTED_SUMMARY, SEEDED_CARD};
use baton_sim::world::{AuthorType, Event, Kind, Truth, Wire, REDACTED};
use baton_sim::{Limits, Sim, SimConfig};
use baton_zendesk::{Settings, ZendeskFeed};
use std::sync::Arc;
use std::time::Duration;

const ACCOUNT: &str = "acme";

async fn sim() -> Sim {
    Sim::start(SimConfig {
        seed: 42,
        tickets: 120,
        limits: Limits::unlimited(),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn store(dir: &tempfile::TempDir, base_url: &str) -> Store {
    let store = Store::open(&dir.path().join("p.db")).await.unwrap();
    store.add_account(&account(base_url)).await.unwrap();
    store
}

fn account(base_url: &str) -> AccountRecord {
    baton_zendesk::accounts::record(ACCOUNT, base_url, Some("alex@acme.test"))
}

fn syncer(store: &Store, url: &str) -> Syncer<ZendeskFeed> {
    let status = StatusHandle::new(ACCOUNT, Arc::new(SystemClock));
    let mut client = baton_zendesk::client(&account(url), Sensitive::new("sim-token".into()))
        .unwrap()
        .with_status(status.clone());
    client.rate_window = Duration::from_secs(1);
    let settings = Settings {
        export_page_size: 25,
        transcript_page_size: 10,
        ..Default::default()
    };
    let feed = ZendeskFeed::new(client, settings, chrono::Utc::now().timestamp());
    Syncer::new(store.clone(), ACCOUNT, feed, status)
}

async fn sync(s: &Syncer<ZendeskFeed>) {
    s.run_once(&CancellationToken::new()).await.unwrap();
}

/// The ticket (by id) whose events include one with exactly this text.
fn ticket_with(sim: &Sim, text: &str) -> u64 {
    sim.world(|w| {
        w.tickets
            .values()
            .find(|t| t.events.iter().any(|e| e.text == text))
            .map(|t| t.id)
            .unwrap_or_else(|| panic!("the scenario has {text:?}"))
    })
}

async fn detail(store: &Store, ticket: u64) -> baton_core::model::ConversationDetail {
    let id = store
        .conversation_id(Some(ACCOUNT), &ticket.to_string())
        .await
        .unwrap();
    store.detail(id).await.unwrap()
}

#[tokio::test]
async fn an_end_users_notes_with_the_ai_markers_are_ordinary_notes() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, &sim.url()).await;
    let s = syncer(&store, &sim.url());
    sync(&s).await;

    // The plant sits on an Assist ticket the AI skipped: it would be its only "draft".
    let planted = ticket_with(&sim, PLANTED_DRAFT);
    let d = detail(&store, planted).await;
    assert!(d.drafts.is_empty(), "{:?}", d.drafts);
    let note = d
        .messages
        .iter()
        .find(|m| m.body == PLANTED_DRAFT)
        .expect("shown as a note");
    assert_eq!((note.role, note.internal), (Role::Customer, true));
    let queue = store.queue(&QueueFilter::default()).await.unwrap();
    assert!(
        !queue.iter().any(|q| q.external_id == planted.to_string()),
        "no draft, no handoff: not in the queue"
    );

    // On a handoff, the summary heading from a customer does not replace the AI's reason.
    let handoff = ticket_with(&sim, PLANTED_SUMMARY);
    let reason = sim.world(|w| {
        w.tickets[&handoff]
            .events
            .iter()
            .find_map(|e| match &e.truth {
                Truth::Summary { reason, .. } => Some(reason.clone()),
                _ => None,
            })
            .unwrap()
    });
    let d = detail(&store, handoff).await;
    assert_eq!(d.handoff.unwrap().reason.as_deref(), Some(reason.as_str()));
    let note = d
        .messages
        .iter()
        .find(|m| m.body == PLANTED_SUMMARY)
        .expect("shown as a note");
    assert_eq!((note.role, note.internal), (Role::Customer, true));

    // The AI's own drafts still arrive.
    let with_drafts = sim.world(|w| {
        w.tickets
            .values()
            .filter(|t| t.status == "open")
            .filter(|t| {
                t.events
                    .iter()
                    .any(|e| matches!(e.truth, Truth::Draft { .. }))
            })
            .map(|t| t.id)
            .collect::<Vec<_>>()
    });
    assert!(!with_drafts.is_empty());
    for t in with_drafts {
        assert!(!detail(&store, t).await.drafts.is_empty(), "ticket {t}");
    }
}

#[tokio::test]
async fn a_redaction_leaves_the_cache_and_the_search_index() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, &sim.url()).await;
    let s = syncer(&store, &sim.url());
    sync(&s).await;
    assert!(
        !s.feed()
            .client()
            .usage()
            .requests
            .contains_key("GET /api/v2/tickets/{id}/audits"),
        "a first read costs no audit request"
    );
    // Redacted before Baton ever read it.
    assert!(store.search("4111", 10).await.unwrap().is_empty());
    let seeded = ticket_with(
        &sim,
        &format!(
            "My card is {}, can you check the charge?",
            SEEDED_CARD.chars().map(|_| REDACTED).collect::<String>()
        ),
    );
    assert!(detail(&store, seeded)
        .await
        .messages
        .iter()
        .any(|m| m.body.contains(REDACTED)));

    // A customer writes a card number on a messaging handoff (conversation log) and on
    // an email ticket (comments); Baton caches both.
    const SECRET: &str = "zq7card4242";
    let text = format!("my card is {SECRET} exp 12/29");
    let now = chrono::Utc::now();
    let written: Vec<(u64, u64)> = sim.world_mut(|w, _| {
        let pick = |kinds: &[Kind]| {
            w.tickets
                .values()
                .find(|t| kinds.contains(&t.kind) && t.status == "open")
                .map(|t| (t.id, t.requester_id))
                .unwrap()
        };
        let (chat, chat_customer) = pick(&[Kind::WebHandoff]);
        let (mail, mail_customer) = pick(&[Kind::Assist, Kind::Ordinary]);
        let mut out = vec![];
        for (ticket, wire) in [
            (
                chat,
                Wire::Message {
                    author: AuthorType::User,
                    author_name: w.user_name(chat_customer),
                    author_id: Some(chat_customer),
                },
            ),
            (
                mail,
                Wire::Comment {
                    author_id: mail_customer,
                    public: true,
                },
            ),
        ] {
            let id = w.next_id();
            w.tickets.get_mut(&ticket).unwrap().events.push(Event {
                id,
                created_at: now,
                text: text.clone(),
                attachments: vec![],
                wire,
                truth: Truth::Turn { role: "customer" },
            });
            w.touch(ticket, now);
            out.push((ticket, id));
        }
        out
    });
    sync(&s).await;
    assert_eq!(
        store.search(SECRET, 10).await.unwrap().len(),
        2,
        "cached and searchable first"
    );

    // An agent redacts both; the next sync leaves no trace of the number.
    let later = now + chrono::Duration::seconds(5);
    sim.world_mut(|w, _| {
        for (ticket, event) in &written {
            assert!(w.redact(*ticket, *event, SECRET, later));
        }
    });
    sync(&s).await;
    assert!(store.search(SECRET, 10).await.unwrap().is_empty());
    for (ticket, _) in &written {
        let d = detail(&store, *ticket).await;
        assert!(
            !d.messages.iter().any(|m| m.body.contains(SECRET)),
            "ticket {ticket}"
        );
        assert!(d.messages.iter().any(|m| m.body.contains(REDACTED)));
    }

    // Nothing new redacted: the transcript is not read again from the start.
    let before = s.feed().client().usage();
    sim.world_mut(|w, _| w.touch(written[1].0, later + chrono::Duration::seconds(5)));
    sync(&s).await;
    let after = s.feed().client().usage();
    let comments = |u: &baton_zendesk::Usage| {
        u.requests
            .get("GET /api/v2/tickets/{id}/comments")
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(comments(&after) - comments(&before), 1);
}

#[tokio::test]
async fn a_ticket_that_loses_its_handoff_tags_leaves_the_handoff_queue() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, &sim.url()).await;
    let s = syncer(&store, &sim.url());
    sync(&s).await;
    let queue = store.queue(&QueueFilter::default()).await.unwrap();
    let ticket: u64 = sim.world(|w| {
        w.tickets
            .values()
            .find(|t| t.is_handoff() && queue.iter().any(|q| q.external_id == t.id.to_string()))
            .map(|t| t.id)
            .unwrap()
    });
    assert!(detail(&store, ticket).await.handoff.is_some());

    sim.world_mut(|w, _| assert!(w.remove_handoff_tags(ticket, chrono::Utc::now())));
    sync(&s).await;
    let d = detail(&store, ticket).await;
    assert!(d.handoff.is_none());
    assert!(!d.messages.is_empty(), "still a cached conversation");
    let queue = store.queue(&QueueFilter::default()).await.unwrap();
    assert!(!queue.iter().any(|q| q.external_id == ticket.to_string()));
}
