//! What a team's members share besides the vendor's conversations, on real components:
//! a lead's verdicts and category rules and a rep's draft outcomes go from one desktop,
//! through the member's own subject and the relay's checks, to every other desktop; what
//! a member may not share is refused, in words, on their own desktop.

mod support;

use baton_core::model::DraftState;
use baton_core::review::{HandoffFilter, NewRule, RuleKind, Verdict};
use baton_core::Store;
use baton_engine::team::nats as team_nats;
use baton_engine::team::share;
use std::time::Duration;
use support::team::{desktop_of, relay_config, run_desktop, same_as_relay, start_relay, Team};
use support::{login_of, until, NatsServer, LEAD, RELAY, REP};

fn all() -> HandoffFilter {
    HandoffFilter {
        since: 0,
        until: i64::MAX,
        ..Default::default()
    }
}

/// The cache's category rules, as a lead writes them.
async fn rules_of(store: &Store) -> Vec<NewRule> {
    store
        .category_rules()
        .await
        .unwrap()
        .iter()
        .map(NewRule::from)
        .collect()
}

/// A handoff of the cache, by the vendor's id, with its verdict and who gave it.
async fn handoff(store: &Store, external_id: &str) -> Option<baton_core::review::HandoffRow> {
    store
        .review_handoffs(&all())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.external_id == external_id)
}

#[tokio::test(flavor = "multi_thread")]
async fn verdicts_rules_and_draft_outcomes_reach_every_desktop_and_only_leads_share_verdicts() {
    let nats = NatsServer::start(&["acme"], "");
    let endpoint = nats.endpoint();
    let (t, dir) = Team::without_relay(vec![nats], endpoint).await;
    let (mut config, secrets) = relay_config(&t.nats, &t.sim, t.relay_port, dir.path(), 3600);
    config.leads = vec![LEAD.0.to_string()];
    let (relay, _cancel) = start_relay(config, secrets, t.relay_port).await;
    until(30, || {
        let relay = relay.clone();
        async move { relay.is_active() }
    })
    .await;

    let (_lead_dir, lead, lead_secrets) = desktop_of(&t, &t.nats, LEAD).await;
    let (_rep_dir, rep, rep_secrets) = desktop_of(&t, &t.nats, REP).await;
    let lead_running = run_desktop(&lead, lead_secrets);
    let rep_running = run_desktop(&rep, rep_secrets);
    until(30, || same_as_relay(&lead, &relay)).await;
    until(30, || same_as_relay(&rep, &relay)).await;

    // The lead's verdict reaches the rep, with the lead's name.
    let rows = lead.review_handoffs(&all()).await.unwrap();
    assert!(rows.len() >= 2, "the simulator's handoffs: {}", rows.len());
    let (first, second) = (&rows[0], &rows[1]);
    lead.mark_handoff(
        first.conversation_id,
        Verdict::Avoidable,
        Some("The FAQ answers this".into()),
        1_000,
    )
    .await
    .unwrap();
    until(10, || async {
        handoff(&rep, &first.external_id).await.is_some_and(|r| {
            r.verdict == Some(Verdict::Avoidable)
                && r.note.as_deref() == Some("The FAQ answers this")
                && r.marked_by.as_deref() == Some(LEAD.0)
        })
    })
    .await;

    // The lead's rules reach the rep, and recategorise the rep's cache as the lead's.
    let mut rules = rules_of(&lead).await;
    rules.insert(
        0,
        NewRule {
            category: "other".into(),
            kind: RuleKind::Regex,
            pattern: ".".into(),
        },
    );
    lead.save_category_rules(rules.clone(), 2_000)
        .await
        .unwrap();
    until(10, || async { rules_of(&rep).await == rules }).await;
    let recategorised = handoff(&rep, &second.external_id).await.unwrap();
    assert_eq!(
        recategorised.category,
        handoff(&lead, &second.external_id).await.unwrap().category
    );
    if second.reason.is_some() {
        assert_eq!(recategorised.category.as_deref(), Some("other"));
    }

    // The rep is not a lead: its verdict stays on its desktop, and the relay says why.
    rep.mark_handoff(second.conversation_id, Verdict::Needed, None, 3_000)
        .await
        .unwrap();
    until(10, || async {
        rep.sharing_status()
            .await
            .unwrap()
            .refusal
            .is_some_and(|r| r.contains("only the team's leads"))
    })
    .await;
    assert_eq!(
        handoff(&lead, &second.external_id).await.unwrap().verdict,
        None,
        "a rep's verdict never reached the lead"
    );

    // A rep's rejection of a draft reaches the lead's drafts report.
    let mut pending = None;
    for id in rep.external_ids("acme").await.unwrap() {
        let cid = rep.conversation_id(Some("acme"), &id).await.unwrap();
        let d = rep.detail(cid).await.unwrap();
        if let Some(draft) = d.drafts.iter().find(|d| d.state == DraftState::Pending) {
            pending = Some((id, draft.clone()));
            break;
        }
    }
    let (ticket, draft) = pending.expect("the simulator has a pending draft");
    rep.record_outcome(
        draft.id,
        DraftState::Rejected,
        None,
        Some("quotes the old refund policy"),
        "maria@acme.test",
        4_000,
    )
    .await
    .unwrap();
    until(10, || async {
        let cid = lead.conversation_id(Some("acme"), &ticket).await.unwrap();
        let d = lead.detail(cid).await.unwrap();
        d.drafts
            .iter()
            .any(|d| d.source_note_id == draft.source_note_id && d.state == DraftState::Rejected)
    })
    .await;
    let report = lead.draft_report(0).await.unwrap();
    let maria = report
        .iter()
        .find(|r| r.rep == "maria@acme.test")
        .unwrap_or_else(|| panic!("the rep in the lead's report: {report:?}"));
    assert_eq!(maria.rejected, 1);
    assert!(maria
        .rejection_reasons
        .contains("quotes the old refund policy"));
    // The rep's verdict waits on its desktop (it goes if the relay names the rep a lead);
    // its outcome went.
    assert_eq!(rep.sharing_status().await.unwrap().waiting, 1);
    assert_eq!(lead.sharing_status().await.unwrap().refusal, None);
    // A second member's outcome for the same draft does not replace the first: the relay
    // refuses it, and says so on that member's desktop.
    let lead_cid = lead.conversation_id(Some("acme"), &ticket).await.unwrap();
    let lead_draft = lead
        .detail(lead_cid)
        .await
        .unwrap()
        .drafts
        .into_iter()
        .find(|d| d.source_note_id == draft.source_note_id)
        .unwrap();
    lead.record_outcome(
        lead_draft.id,
        DraftState::Edited,
        Some("A shorter answer."),
        None,
        "lee@acme.test",
        5_000,
    )
    .await
    .unwrap();
    until(10, || async {
        lead.sharing_status()
            .await
            .unwrap()
            .refusal
            .is_some_and(|r| r.contains("maria already recorded"))
    })
    .await;

    // A desktop that joins later loads what the team shared, without anyone sending it again.
    let (_late_dir, late, late_secrets) = desktop_of(&t, &t.nats, REP).await;
    let late_running = run_desktop(&late, late_secrets);
    until(30, || async {
        rules_of(&late).await == rules
            && handoff(&late, &first.external_id)
                .await
                .is_some_and(|r| r.verdict == Some(Verdict::Avoidable))
            && handoff(&late, &second.external_id)
                .await
                .is_some_and(|r| r.verdict.is_none())
    })
    .await;
    until(10, || async {
        late.draft_report(0)
            .await
            .unwrap()
            .iter()
            .any(|r| r.rep == "maria@acme.test" && r.rejected == 1)
    })
    .await;
    for r in [&lead_running, &rep_running, &late_running] {
        r.stop();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_may_send_only_to_its_own_subject() {
    let nats = NatsServer::start(&["acme"], "");
    let endpoint = nats.endpoint();
    let (t, relay, _cancel) = Team::start(vec![nats], endpoint, 3600).await;
    assert!(relay.is_active());
    let client = team_nats::connect(&login_of(&t.nats.url, REP), "test rep")
        .await
        .unwrap();
    let js = async_nats::jetstream::new(client);
    let acked = |subject: String| {
        let js = js.clone();
        async move {
            match js.publish(subject, b"{}".to_vec().into()).await {
                Err(_) => false,
                Ok(ack) => tokio::time::timeout(Duration::from_secs(5), ack)
                    .await
                    .is_ok_and(|r| r.is_ok()),
            }
        }
    };
    assert!(
        acked(share::in_subject(REP.0, "outcome")).await,
        "its own subject takes its draft outcomes"
    );
    for forged in [
        share::in_subject(REP.0, "mark"),
        share::in_subject(LEAD.0, "rules"),
        "baton-shared.rules".to_string(),
        "baton-shared.refused.lee".to_string(),
    ] {
        assert!(
            !acked(forged.clone()).await,
            "a rep may not publish to {forged}"
        );
    }
    // Nor have the server publish for it: a push consumer of a stream it may read,
    // delivering into subjects the team's streams and buckets store.
    let stream = js.get_stream("BATON_acme").await.unwrap();
    for deliver in [
        "baton-shared.rules",
        "baton-in.lee.rules",
        "$KV.baton_lease.relay",
        "baton.acme.conv.1",
    ] {
        let _ = stream
            .create_consumer(async_nats::jetstream::consumer::push::Config {
                deliver_subject: deliver.into(),
                ..Default::default()
            })
            .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let relay_js = async_nats::jetstream::new(
        team_nats::connect(&login_of(&t.nats.url, RELAY), "test")
            .await
            .unwrap(),
    );
    let shared = relay_js.get_stream(share::SHARED_STREAM).await.unwrap();
    assert!(
        shared
            .get_last_raw_message_by_subject("baton-shared.rules")
            .await
            .is_err(),
        "no rules but a lead's"
    );
    let lease = relay_js.get_key_value("baton_lease").await.unwrap();
    let holder = lease.get("relay").await.unwrap().unwrap();
    assert!(
        String::from_utf8_lossy(&holder).starts_with("relay-"),
        "the lease is a relay's: {holder:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_sending_one_queued_change_store_it_once() {
    // No relay: what the desktops send stays in the inbound queue, to be counted.
    let nats = NatsServer::start(&["acme"], "");
    let url = nats.url();
    let relay_js = async_nats::jetstream::new(
        team_nats::connect(&login_of(&url, RELAY), "test")
            .await
            .unwrap(),
    );
    share::ensure_streams(&relay_js, 1).await.unwrap();

    // One desktop's cache, opened twice as the app and the CLI would, each with its own
    // NATS connection.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let app = Store::open(&path).await.unwrap();
    let cli = Store::open(&path).await.unwrap();
    app.join_team(&baton_core::store::Membership {
        nats_url: url.clone(),
        user_name: LEAD.0.into(),
        ca_file: None,
        joined_at: 1,
    })
    .await
    .unwrap();
    let member = share::Member {
        user: LEAD.0.into(),
        accounts: vec![],
        leads: vec![LEAD.0.into()],
    };
    let (a, b) = (
        async_nats::jetstream::new(
            team_nats::connect(&login_of(&url, LEAD), "app")
                .await
                .unwrap(),
        ),
        async_nats::jetstream::new(
            team_nats::connect(&login_of(&url, LEAD), "cli")
                .await
                .unwrap(),
        ),
    );
    // Each round queues one change and both send at once; a round where only one of them
    // found it proves nothing, so rounds go on until both sent one.
    let all = rules_of(&app).await;
    let (mut rounds, mut both) = (0, 0);
    while both < 3 && rounds < 20 {
        rounds += 1;
        app.save_category_rules(all[..rounds].to_vec(), rounds as i64)
            .await
            .unwrap();
        let (sent_a, sent_b) = tokio::join!(
            share::send_queued(&a, &app, &member),
            share::send_queued(&b, &cli, &member)
        );
        if sent_a.unwrap().sent + sent_b.unwrap().sent == 2 {
            both += 1;
        }
        assert_eq!(app.sharing_status().await.unwrap().waiting, 0);
    }
    assert_eq!(
        both, 3,
        "both processes sent the same change in 3 of {rounds} rounds"
    );
    let mut inbox = relay_js.get_stream(share::IN_STREAM).await.unwrap();
    assert_eq!(
        inbox.info().await.unwrap().state.messages,
        rounds as u64,
        "each change stored once, however many processes sent it"
    );
}
