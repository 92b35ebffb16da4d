//! Webhooks the simulator signs, checked by Baton's verifier: the two sides were written
//! apart, so each checks the other.

use baton_core::Sensitive;
use baton_sim::webhooks::{signed_request, ZendeskEvent, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use baton_sim::{Sim, SimConfig};
use baton_zendesk::webhooks::{
    TicketChange, TicketHint, WebhookError, ZendeskHeaders, ZendeskVerifier,
};
use chrono::{DateTime, Duration, Utc};

const SECRET: &str = "sim-webhook-signing-secret";

fn verifier() -> ZendeskVerifier {
    ZendeskVerifier::new(Sensitive::new(SECRET.into()))
}

fn headers(r: &baton_sim::webhooks::WebhookRequest) -> ZendeskHeaders<'_> {
    ZendeskHeaders::from_pairs(r.header_pairs())
}

fn at(ts: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(ts)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn a_sim_built_webhook_verifies_and_reads_as_its_ticket() {
    let sent = at("2026-11-01T10:00:00Z");
    for (event_type, change) in [
        ("zen:event-type:ticket.created", TicketChange::Created),
        (
            "zen:event-type:ticket.comment_added",
            TicketChange::CommentAdded,
        ),
        (
            "zen:event-type:ticket.status_changed",
            TicketChange::StatusChanged,
        ),
        (
            "zen:event-type:messaging_ticket.message_added",
            TicketChange::MessageAdded,
        ),
    ] {
        let event = ZendeskEvent::new(event_type, 4321, sent);
        let request = signed_request(SECRET, &event, sent, 1);
        let hint = verifier()
            .hint(
                headers(&request),
                &request.body,
                sent + Duration::seconds(2),
            )
            .unwrap();
        assert_eq!(
            hint,
            Some(TicketHint {
                ticket_id: 4321,
                change,
                event_id: Some(event.id.clone()),
                account_id: Some(baton_sim::webhooks::ACCOUNT_ID),
            }),
            "{event_type}"
        );
    }
}

#[test]
fn a_tampered_sim_webhook_does_not_verify() {
    let sent = at("2026-11-01T10:00:00Z");
    let now = sent + Duration::seconds(2);
    let event = ZendeskEvent::new("zen:event-type:ticket.status_changed", 4321, sent);
    let good = signed_request(SECRET, &event, sent, 1);
    verifier().verify(headers(&good), &good.body, now).unwrap();

    // Another ticket id in the body, the signature kept.
    let mut body = good.clone();
    let text = String::from_utf8(body.body).unwrap();
    body.body = text.replace("4321", "4322").into_bytes();
    assert_eq!(
        verifier()
            .verify(headers(&body), &body.body, now)
            .unwrap_err(),
        WebhookError::BadSignature
    );

    // A later timestamp (to slip past the staleness check), the signature kept.
    let mut ts = good.clone();
    for (name, value) in &mut ts.headers {
        if name == TIMESTAMP_HEADER {
            *value = "2026-11-01T10:04:00Z".into();
        }
    }
    assert_eq!(
        verifier().verify(headers(&ts), &ts.body, now).unwrap_err(),
        WebhookError::BadSignature
    );

    // Signed with another secret.
    let other = signed_request("not-the-secret", &event, sent, 1);
    assert_eq!(
        verifier()
            .verify(headers(&other), &other.body, now)
            .unwrap_err(),
        WebhookError::BadSignature
    );

    // The signature taken off.
    let mut unsigned = good.clone();
    unsigned.headers.retain(|(n, _)| n != SIGNATURE_HEADER);
    assert_eq!(
        verifier()
            .verify(headers(&unsigned), &unsigned.body, now)
            .unwrap_err(),
        WebhookError::Unsigned {
            header: SIGNATURE_HEADER
        }
    );

    // Genuine, but held back ten minutes (a replay, or a retry signed long ago).
    assert!(matches!(
        verifier().verify(headers(&good), &good.body, sent + Duration::minutes(10)),
        Err(WebhookError::Stale { skew_secs: 600, .. })
    ));
}

#[tokio::test]
async fn a_webhook_about_a_simulated_ticket_names_that_ticket() {
    let sim = Sim::start(SimConfig {
        seed: 7,
        tickets: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let (handoff, ordinary) = sim.world(|w| {
        let handoff = w
            .tickets
            .values()
            .find(|t| t.kind.is_messaging())
            .unwrap()
            .id;
        let ordinary = w
            .tickets
            .values()
            .find(|t| !t.kind.is_messaging())
            .unwrap()
            .id;
        (handoff, ordinary)
    });
    let now = Utc::now();
    let r = sim
        .zendesk_webhook(SECRET, ordinary, "zen:event-type:ticket.tags_changed", now)
        .unwrap();
    let hint = verifier().hint(headers(&r), &r.body, now).unwrap().unwrap();
    assert_eq!(
        (hint.ticket_id, hint.change),
        (ordinary, TicketChange::TagsChanged)
    );

    let r = sim
        .zendesk_webhook(
            SECRET,
            handoff,
            "zen:event-type:messaging_ticket.message_added",
            now,
        )
        .unwrap();
    let hint = verifier().hint(headers(&r), &r.body, now).unwrap().unwrap();
    assert_eq!(
        (hint.ticket_id, hint.change),
        (handoff, TicketChange::MessageAdded)
    );

    assert!(sim
        .zendesk_webhook(SECRET, 999_999_999, "zen:event-type:ticket.created", now)
        .is_none());
}
