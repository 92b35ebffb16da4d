//! Syncing the simulator's Salesforce org end to end, over real HTTP on 127.0.0.1: the
//! JWT exchange with the demo connected app's key, refusals and their sentences, a
//! session that expires mid-sync, SOQL paging, transcript windows and the limits.

use baton_core::model::{Role, Scope, Status};
use baton_core::secrets::{MemorySecrets, SecretStore};
use baton_core::store::{AccountRecord, QueueFilter};
use baton_core::sync::{Feed, FeedError, StatusHandle, SyncState, Syncer, SystemClock};
use baton_core::{CancellationToken, Error, Sensitive, Store};
use baton_salesforce::{AuthFlow, SalesforceFeed};
use baton_sim::salesforce::{Entry, Org, SfConfig, SfLimits, Val, DEMO_KEY_PEM};
use baton_sim::{Sim, SimConfig};
use chrono::{Duration, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

const ACCOUNT: &str = "acme";
const STREAM: &str = "salesforce.messaging_sessions";

async fn sim(sessions: usize) -> Sim {
    Sim::start(SimConfig {
        seed: 11,
        tickets: 1,
        salesforce: SfConfig {
            sessions,
            limits: SfLimits::unlimited(),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap()
}

/// The rep's account on the simulator: the demo connected app, signing with its key.
fn account(sim: &Sim) -> AccountRecord {
    baton_salesforce::record(
        ACCOUNT,
        &sim.url(),
        "alex@acme.test",
        "baton-demo-client",
        AuthFlow::JwtBearer,
    )
}

fn keys(account: &AccountRecord, pem: &str) -> MemorySecrets {
    let secrets = MemorySecrets::default();
    secrets
        .put(&account.secret_ref, &Sensitive::new(pem.to_string()))
        .unwrap();
    secrets
}

async fn store(dir: &tempfile::TempDir, account: &AccountRecord) -> Store {
    let store = Store::open(&dir.path().join("baton.db")).await.unwrap();
    store.add_account(account).await.unwrap();
    store
}

async fn syncer(
    dir: &tempfile::TempDir,
    account: &AccountRecord,
    secrets: &MemorySecrets,
) -> (Syncer<SalesforceFeed>, Store) {
    let store = store(dir, account).await;
    let sync = baton_salesforce::syncer(&store, account, secrets, Utc::now().timestamp()).unwrap();
    (sync, store)
}

fn text<'a>(r: &'a baton_sim::salesforce::Record, f: &str) -> Option<&'a str> {
    r.text(f).filter(|t| !t.is_empty())
}

/// What the rep works, by the org's truth: open handoffs (an OpenCX session id, or a
/// bot that passed it on) that are theirs or wait in one of their queues.
fn truth_my_scope(org: &Org) -> BTreeMap<String, Scope> {
    let queues = org.queues_of(&org.me);
    org.sessions()
        .filter(|s| text(s, "Status") != Some("Ended"))
        .filter(|s| {
            text(s, &org.routing.session_id).is_some() || text(s, "AgentType") == Some("BotToAgent")
        })
        .filter_map(|s| {
            let owner = text(s, "OwnerId")?;
            let scope = if owner == org.me {
                Scope::Mine
            } else if queues.iter().any(|q| q == owner) {
                Scope::MyGroups
            } else {
                return None;
            };
            Some((s.id().to_string(), scope))
        })
        .collect()
}

/// The conversations whose transcripts the rep's copy may read (their own and their
/// queues' handoffs, live or ended within the last day), with how many such sessions
/// each has (a returning visitor continues a conversation in a new session).
fn truth_readable(org: &Org) -> BTreeMap<String, u64> {
    let queues = org.queues_of(&org.me);
    let day_ago = Utc::now() - Duration::hours(24);
    org.sessions()
        .filter(|s| {
            text(s, &org.routing.session_id).is_some() || text(s, "AgentType") == Some("BotToAgent")
        })
        .filter(|s| s.time("EndTime").is_none_or(|t| t >= day_ago))
        .filter(|s| {
            text(s, "OwnerId").is_some_and(|o| o == org.me || queues.iter().any(|q| q == o))
        })
        .filter_map(|s| org.conversation_identifier(s).map(str::to_string))
        .fold(BTreeMap::new(), |mut m, c| {
            *m.entry(c).or_default() += 1;
            m
        })
}

fn role(e: &Entry) -> Role {
    match e.role.name() {
        "EndUser" => Role::Customer,
        "Chatbot" => Role::Ai,
        "Agent" => Role::Agent,
        _ => Role::System,
    }
}

fn connect_requests(sim: &Sim) -> u64 {
    sim.stats()
        .requests
        .iter()
        .filter(|(k, _)| k.contains("/connect/"))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn a_first_sync_signs_in_with_the_demo_key_and_reads_the_reps_queue() {
    let sim = sim(60).await;
    let account = account(&sim);
    let secrets = keys(&account, DEMO_KEY_PEM);
    let dir = tempfile::tempdir().unwrap();
    let (sync, store) = syncer(&dir, &account, &secrets).await;
    let report = sync.run_once(&CancellationToken::new()).await.unwrap();
    let (sessions, truth, readable, me) = sim.org(|o| {
        (
            o.sessions().count(),
            truth_my_scope(o),
            truth_readable(o),
            o.me.clone(),
        )
    });
    assert_eq!(report.conversations as usize, sessions);
    assert_eq!(sim.stats().salesforce.tokens_issued, 1);
    let mine = store
        .queue(&QueueFilter {
            my_scope: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let got: BTreeMap<String, Scope> = mine
        .iter()
        .map(|i| (i.external_id.clone(), i.scope))
        .collect();
    assert!(!truth.is_empty());
    assert_eq!(got, truth, "mine and my queues' open handoffs");
    assert_eq!(
        store.account(ACCOUNT).await.unwrap().me_id.as_deref(),
        Some(me.as_str())
    );
    // Connect was asked only about the rep's handoffs, each once.
    let reads = sim.stats().salesforce.connect_reads;
    assert!(!reads.is_empty());
    for (conversation, n) in &reads {
        let sessions = readable.get(conversation).copied().unwrap_or(0);
        assert!(sessions > 0, "{conversation} is not the rep's");
        assert!(
            *n <= sessions,
            "{conversation} read {n} times for {sessions} sessions"
        );
    }
    // The transcript of a live handoff of theirs is the org's, in order, decoded.
    let (id, entries) = sim.org(|o| {
        let s = o
            .sessions()
            .find(|s| {
                truth.contains_key(s.id())
                    && o.sessions()
                        .filter(|x| x.text("ConversationId") == s.text("ConversationId"))
                        .count()
                        == 1
            })
            .expect("a handoff alone in its conversation");
        let ident = o.conversation_identifier(s).unwrap();
        (s.id().to_string(), o.entries_of(ident).to_vec())
    });
    let row = store.conversation_id(Some(ACCOUNT), &id).await.unwrap();
    let detail = store.detail(row).await.unwrap();
    let got: Vec<(Role, String)> = detail
        .messages
        .iter()
        .map(|m| (m.role, m.body.clone()))
        .collect();
    // The AI's handoff summary shows as the system's note, and gives the card its reason.
    let summary = |e: &Entry| e.text.starts_with("OpenCX handoff summary");
    let want: Vec<(Role, String)> = entries
        .iter()
        .map(|e| match summary(e) {
            true => (Role::System, e.text.trim().to_string()),
            false => (role(e), e.text.trim().to_string()),
        })
        .collect();
    assert_eq!(got, want);
    let reason = entries
        .iter()
        .rev()
        .find(|e| summary(e))
        .and_then(|e| e.text.lines().find_map(|l| l.strip_prefix("Reason: ")))
        .expect("the AI said why it handed off");
    assert_eq!(detail.item.reason.as_deref(), Some(reason));
    assert!(detail
        .ticket_url
        .as_deref()
        .is_some_and(|u| u.ends_with(&format!("/lightning/r/MessagingSession/{id}/view"))));
    assert!(detail.item.subject.starts_with("Web chat"));
    // The card's routing attributes are the org's, by the mapping's labels.
    let consumer = sim.org(|o| {
        o.sessions()
            .find(|s| s.id() == id)
            .and_then(|s| text(s, &o.routing.consumer_type).map(|v| v.trim().to_string()))
    });
    let shown: Vec<(String, String)> = detail
        .routing_attributes
        .iter()
        .map(|a| (a.label.clone(), a.value.clone()))
        .collect();
    assert_eq!(
        shown,
        consumer
            .into_iter()
            .map(|v| ("customer".to_string(), v))
            .collect::<Vec<_>>()
    );
    // The org's usage as Salesforce last said it.
    let usage = sync.feed().client().usage();
    assert_eq!(
        usage.api_used,
        Some(sim.stats().salesforce.api_usage as u64)
    );
    assert!(usage.allocation_sentence().is_some());
}

fn feed(account: &AccountRecord, secrets: &MemorySecrets) -> SalesforceFeed {
    let status = StatusHandle::new(ACCOUNT, Arc::new(SystemClock));
    baton_salesforce::connect(account, secrets, status, Utc::now().timestamp_millis()).unwrap()
}

#[tokio::test]
async fn files_sent_in_the_widget_arrive_as_links() {
    let sim = sim(60).await;
    let account = account(&sim);
    let secrets = keys(&account, DEMO_KEY_PEM);
    let (id, name) = sim.org(|o| {
        o.sessions()
            .find_map(|s| {
                let ident = o.conversation_identifier(s)?;
                let e = o.entries_of(ident).iter().find(|e| {
                    e.related_records.iter().any(|r| r == s.id()) && !e.attachments.is_empty()
                })?;
                Some((s.id().to_string(), e.attachments[0].name.clone()))
            })
            .expect("the seed puts a file in a conversation")
    });
    let feed = feed(&account, &secrets);
    let c = feed.conversation(&id).await.unwrap().unwrap();
    let page = feed.transcript(&c, None).await.unwrap();
    let file = page
        .messages
        .iter()
        .flat_map(|m| &m.attachments)
        .find(|a| a.name == name)
        .expect("the file is on its message");
    assert!(file.url.starts_with(&sim.url()), "{}", file.url);
    assert!(file.content_type.is_some());
}

#[tokio::test]
async fn a_transcript_is_read_in_windows_from_the_last_entry() {
    let sim = sim(60).await;
    let mut account = account(&sim);
    account.settings["entries_page_size"] = 3.into();
    let secrets = keys(&account, DEMO_KEY_PEM);
    // A live handoff alone in its conversation, with more entries than a window holds.
    let (id, ident, entries) = sim.org(|o| {
        o.sessions()
            .filter(|s| s.text("Status") != Some("Ended"))
            .find_map(|s| {
                let ident = o.conversation_identifier(s)?;
                let shared = o
                    .sessions()
                    .filter(|x| x.text("ConversationId") == s.text("ConversationId"))
                    .count();
                let entries = o.entries_of(ident).to_vec();
                (shared == 1 && entries.len() > 7)
                    .then(|| (s.id().to_string(), ident.to_string(), entries))
            })
            .expect("a long live conversation")
    });
    let feed = feed(&account, &secrets);
    let c = feed.conversation(&id).await.unwrap().unwrap();
    let page = feed.transcript(&c, None).await.unwrap();
    let got: Vec<String> = page.messages.iter().map(|m| m.body.clone()).collect();
    let want: Vec<String> = entries.iter().map(|e| e.text.trim().to_string()).collect();
    assert_eq!(got, want, "every entry once, in order");
    let windows = sim.stats().salesforce.connect_reads[&ident];
    assert!(
        windows as usize >= entries.len().div_ceil(3),
        "{windows} windows"
    );
    // Read again from the cursor: nothing new, one window.
    let again = feed.transcript(&c, page.cursor.as_deref()).await.unwrap();
    assert!(again.messages.len() <= 1, "at most the last entry again");
    assert_eq!(sim.stats().salesforce.connect_reads[&ident], windows + 1);
}

#[tokio::test]
async fn refused_assertions_say_what_to_fix() {
    let sim = sim(5).await;
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, AccountRecord, String, &str)> = vec![
        {
            let mut a = account(&sim);
            a.login = Some("someone@acme.test".into());
            (
                "wrong user",
                a,
                DEMO_KEY_PEM.into(),
                "not approved for someone@acme.test",
            )
        },
        {
            let mut a = account(&sim);
            a.settings["consumer_key"] = "3MVG9-not-ours".into();
            (
                "wrong consumer key",
                a,
                DEMO_KEY_PEM.into(),
                "consumer key \"3MVG9-not-ours\"",
            )
        },
        {
            let mut a = account(&sim);
            a.settings["audience"] = "https://acme.example".into();
            (
                "wrong audience",
                a,
                DEMO_KEY_PEM.into(),
                "https://test.salesforce.com for a sandbox",
            )
        },
        (
            "another key",
            account(&sim),
            include_str!("fixtures/test-only-key.pem").into(),
            "certificate uploaded to the connected app",
        ),
    ];
    for (i, (what, account, pem, sentence)) in cases.into_iter().enumerate() {
        let secrets = keys(&account, &pem);
        let store = Store::open(&dir.path().join(format!("{i}.db")))
            .await
            .unwrap();
        store.add_account(&account).await.unwrap();
        let sync =
            baton_salesforce::syncer(&store, &account, &secrets, Utc::now().timestamp()).unwrap();
        let got = sync.run_once(&CancellationToken::new()).await;
        let Err(Error::Feed(FeedError::Auth { message })) = got else {
            panic!("{what}: {got:?}");
        };
        assert!(message.contains(sentence), "{what}: {message}");
        assert!(!message.contains("PRIVATE KEY"), "{what}: {message}");
        assert_eq!(
            sync.status().current().state,
            SyncState::AuthFailed,
            "{what}"
        );
    }
    assert_eq!(sim.stats().salesforce.tokens_issued, 0);
}

#[tokio::test]
async fn the_refresh_token_flow_signs_in_too() {
    let sim = sim(5).await;
    let account = baton_salesforce::record(
        ACCOUNT,
        &sim.url(),
        "alex@acme.test",
        "baton-demo-client",
        AuthFlow::RefreshToken,
    );
    let secrets = keys(&account, "baton-demo-refresh-token");
    secrets
        .put(
            &baton_salesforce::client_secret_ref(&account.secret_ref),
            &Sensitive::new("baton-demo-secret".into()),
        )
        .unwrap();
    let who = baton_salesforce::check(&account, &secrets).await.unwrap();
    let (me, queues) = sim.org(|o| (o.me.clone(), o.queues_of(&o.me)));
    assert_eq!(who.me_id, me);
    assert!(queues.iter().all(|q| who.group_ids.contains(q)));
    // A revoked refresh token: a sentence, not a code.
    let stale = keys(&account, "revoked-token");
    stale
        .put(
            &baton_salesforce::client_secret_ref(&account.secret_ref),
            &Sensitive::new("baton-demo-secret".into()),
        )
        .unwrap();
    let e = baton_salesforce::check(&account, &stale).await.unwrap_err();
    assert!(e.to_string().contains("connect the account again"), "{e}");
    assert_eq!(
        e.to_string().matches("refused to sign in").count(),
        1,
        "{e}"
    );
}

#[tokio::test]
async fn a_session_that_expires_mid_sync_signs_in_again_once() {
    let sim = sim(30).await;
    let account = account(&sim);
    let secrets = keys(&account, DEMO_KEY_PEM);
    let dir = tempfile::tempdir().unwrap();
    let (sync, _store) = syncer(&dir, &account, &secrets).await;
    let cancel = CancellationToken::new();
    sync.run_once(&cancel).await.unwrap();
    sim.expire_sf_sessions();
    let changed = sim.org_mut(|o, _| {
        let id = o
            .sessions()
            .find(|s| s.text("Status") == Some("Waiting"))
            .unwrap()
            .id()
            .to_string();
        o.update(&id, &[("Status", Val::str("Active"))], Utc::now(), "005");
        id
    });
    let report = sync.run_once(&cancel).await.unwrap();
    assert!(report.conversations >= 1);
    let stats = sim.stats().salesforce;
    assert_eq!(stats.invalid_session, 1, "one refused request");
    assert_eq!(stats.tokens_issued, 2, "one new sign-in");
    assert_eq!(sync.feed().client().usage().reauthentications, 1);
    let facts = sync.feed().session_facts(&changed).unwrap();
    assert_eq!(facts.status.as_deref(), Some("Active"));
}

#[tokio::test]
async fn a_large_backfill_pages_with_next_records_url() {
    let sim = sim(450).await;
    let mut account = account(&sim);
    account.settings["query_batch_size"] = 200.into();
    let secrets = keys(&account, DEMO_KEY_PEM);
    let dir = tempfile::tempdir().unwrap();
    let (sync, store) = syncer(&dir, &account, &secrets).await;
    let report = sync.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(report.conversations, 450);
    assert_eq!(report.pages, 3);
    let more = sim
        .stats()
        .requests
        .get("GET /services/data/{version}/query/{locator}")
        .copied();
    assert_eq!(more, Some(2), "pages 2 and 3 through nextRecordsUrl");
    assert_eq!(store.counts().await.unwrap().conversations, 450);
    let cursor = store.cursor(ACCOUNT, STREAM).await.unwrap().unwrap();
    assert!(cursor.starts_with("modstamp:"), "{cursor}");
}

#[tokio::test]
async fn a_changed_session_reads_only_its_new_entries_and_an_ended_one_leaves_the_queue() {
    let sim = sim(60).await;
    let account = account(&sim);
    let secrets = keys(&account, DEMO_KEY_PEM);
    let dir = tempfile::tempdir().unwrap();
    let (sync, store) = syncer(&dir, &account, &secrets).await;
    let cancel = CancellationToken::new();
    sync.run_once(&cancel).await.unwrap();
    let truth = sim.org(truth_my_scope);
    let (id, ident) = sim.org(|o| {
        let s = o
            .sessions()
            .find(|s| truth.get(s.id()) == Some(&Scope::Mine))
            .expect("a live handoff of mine");
        (
            s.id().to_string(),
            o.conversation_identifier(s).unwrap().to_string(),
        )
    });
    let row = store.conversation_id(Some(ACCOUNT), &id).await.unwrap();
    let before = store.detail(row).await.unwrap().messages.len();
    let reads_before = connect_requests(&sim);
    // Nothing changed: no Connect read at all.
    sync.run_once(&cancel).await.unwrap();
    assert_eq!(connect_requests(&sim), reads_before);
    // The customer says goodbye and ends the session.
    let now = Utc::now();
    sim.org_mut(|o, _| {
        let last = o.entries_of(&ident).last().unwrap().clone();
        o.add_entry(
            &ident,
            Entry {
                identifier: "9a1f0c2e-0000-4000-8000-000000000001".into(),
                text: "Thanks, that's all <3".into(),
                client_timestamp: now.timestamp_millis() - 1000,
                server_received_timestamp: now.timestamp_millis() - 990,
                related_records: vec![id.clone()],
                attachments: vec![],
                ..last
            },
        );
        o.end_session(&id, "EndUser", now);
    });
    let report = sync.run_once(&cancel).await.unwrap();
    assert_eq!(report.transcripts, 1);
    assert_eq!(connect_requests(&sim), reads_before + 1);
    assert_eq!(sim.stats().salesforce.connect_reads[&ident], 2);
    let detail = store.detail(row).await.unwrap();
    assert_eq!(
        detail.messages.len(),
        before + 1,
        "the new entry, nothing twice"
    );
    assert_eq!(
        detail.messages.last().unwrap().body,
        "Thanks, that's all <3"
    );
    assert_eq!(detail.item.status, Status::Closed);
    let end = detail.item.ended.as_ref().expect("ended");
    assert_eq!(end.by.sentence(), "ended by the customer");
    assert_eq!(
        end.at,
        Some(now.timestamp() * 1000),
        "EndTime, to the second"
    );
    assert!(
        !detail.item.subject.contains("ended by"),
        "{}",
        detail.item.subject
    );
    let live = store.queue(&QueueFilter::default()).await.unwrap();
    assert!(
        live.iter().all(|i| i.external_id != id),
        "ended sessions leave the live queue"
    );
}

#[tokio::test]
async fn the_daily_allocation_used_up_stops_the_sync_with_a_wait() {
    let sim = sim(30).await;
    sim.set_sf_limits(SfLimits {
        daily_api_requests: Some(3),
        connect_per_hour: None,
        ..SfLimits::default()
    });
    let account = account(&sim);
    let secrets = keys(&account, DEMO_KEY_PEM);
    let dir = tempfile::tempdir().unwrap();
    let (sync, _store) = syncer(&dir, &account, &secrets).await;
    let got = sync.run_once(&CancellationToken::new()).await;
    let Err(Error::Feed(FeedError::RateLimited {
        message,
        retry_after_secs,
    })) = got
    else {
        panic!("{got:?}");
    };
    assert!(
        message.contains("daily API allocation is used up"),
        "{message}"
    );
    assert!(message.contains("3 of 3"), "{message}");
    assert!(retry_after_secs >= 60);
    assert!(matches!(
        sync.status().current().state,
        SyncState::RateLimited { .. }
    ));
}

#[tokio::test]
async fn connects_hourly_limit_leaves_transcripts_for_later_and_the_sync_goes_on() {
    let sim = sim(60).await;
    sim.set_sf_limits(SfLimits {
        daily_api_requests: None,
        connect_per_hour: Some(1),
        ..SfLimits::default()
    });
    let account = account(&sim);
    let secrets = keys(&account, DEMO_KEY_PEM);
    let dir = tempfile::tempdir().unwrap();
    let (sync, store) = syncer(&dir, &account, &secrets).await;
    let report = sync.run_once(&CancellationToken::new()).await.unwrap();
    let sessions = sim.org(|o| o.sessions().count());
    assert_eq!(report.conversations as usize, sessions);
    assert_eq!(report.transcripts, 1);
    let problems = store.sync_problems(ACCOUNT).await.unwrap();
    assert!(!problems.is_empty());
    assert!(
        problems.iter().all(|(_, p)| p.contains("hourly")),
        "{problems:?}"
    );
    // The limit is met, then waited out: a few requests in flight at most, not one per session.
    assert!(
        connect_requests(&sim) <= 1 + 4,
        "{}",
        connect_requests(&sim)
    );
}
