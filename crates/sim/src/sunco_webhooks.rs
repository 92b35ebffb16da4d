//! Sunshine Conversations webhook payloads for what happens to a messaging ticket's
//! conversation, shaped as the Sunco OpenAPI's `x-webhooks` envelope (`app`, `webhook`,
//! `events`) and event schemas (`eventSubSchema`, `conversationTruncated`,
//! `messageWebhook`). The shared secret travels as `X-API-Key`; Sunco signs nothing.
//!
//! A messaging ticket is its conversation handed to the Agent Workspace, so:
//! - the ticket appearing is `switchboard:passControl` to the Agent Workspace;
//! - a messaging message added is `conversation:message`;
//! - the ticket solved or closed is `switchboard:passControl` back to the bot, with
//!   `reason: ticketClosed`.
//!
//! Agent comments on a messaging ticket stay comments here (the world keeps them apart
//! from the conversation), so they announce nothing to Sunco.

use crate::changes::Change;
use crate::world::{Ticket, Wire, World, FIELD_SUNCO};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// The header carrying a Sunco webhook's shared secret.
pub const API_KEY_HEADER: &str = "X-API-Key";
/// The simulated Sunco webhook's id (`webhook.id` in each payload).
pub const SUNCO_WEBHOOK_ID: &str = "5f4eaef81e3dcc117c7b0001";

/// The switchboard integrations a simulated conversation moves between.
fn integration(agent_workspace: bool) -> Value {
    if agent_workspace {
        json!({
            "id": "5ef21b86e933b7355c110001",
            "name": "zd-agentWorkspace",
            "integrationId": "5ef21b86e933b7355c110002",
            "integrationType": "zd:agentWorkspace",
        })
    } else {
        json!({
            "id": "5ef21b86e933b7355c110003",
            "name": "bot",
            "integrationId": "5ef21b86e933b7355c110004",
            "integrationType": "custom",
        })
    }
}

/// The Sunco conversation behind a ticket, when it is a messaging one.
fn conversation_id(t: &Ticket) -> Option<&str> {
    if !t.kind.is_messaging() {
        return None;
    }
    t.custom_fields
        .iter()
        .find(|(f, _)| *f == FIELD_SUNCO)
        .and_then(|(_, v)| v.as_deref())
}

/// Sunco's time format, `YYYY-MM-DDThh:mm:ss.SSSZ`.
fn sunco_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The Sunco events one change to a ticket of `w` makes, without their `id` (the caller
/// numbers them). None for tickets that are not messaging ones.
pub(crate) fn events_for(
    w: &World,
    base_url: &str,
    ticket_id: u64,
    change: &Change,
    at: DateTime<Utc>,
) -> Vec<Value> {
    let Some(t) = w.tickets.get(&ticket_id) else {
        return vec![];
    };
    let Some(conversation) = conversation_id(t) else {
        return vec![];
    };
    let in_agent_workspace = !matches!(t.status, "solved" | "closed");
    let conversation = json!({
        "id": conversation,
        "type": "personal",
        "activeSwitchboardIntegration": integration(in_agent_workspace),
    });
    let event = |kind: &str, payload: Value| json!({ "type": kind, "createdAt": sunco_time(at), "payload": payload });
    match change {
        Change::Created => vec![event(
            "switchboard:passControl",
            json!({ "conversation": conversation }),
        )],
        Change::StatusChanged { previous }
            if !in_agent_workspace && !matches!(*previous, "solved" | "closed") =>
        {
            vec![event(
                "switchboard:passControl",
                json!({ "conversation": conversation, "reason": "ticketClosed" }),
            )]
        }
        Change::EventAdded { event_id } => {
            let added = t.events.iter().find(|e| e.id == *event_id);
            let mut out: Vec<Value> = added
                .and_then(|e| crate::json::sunco_message(base_url, e))
                .map(|message| {
                    event(
                        "conversation:message",
                        json!({ "conversation": conversation, "message": message }),
                    )
                })
                .into_iter()
                .collect();
            // An agent ending the session hands the conversation back to the bot.
            if let Some(Wire::Activity {
                kind: crate::world::ACTIVITY_TRANSFER_TO_EMAIL,
            }) = added.map(|e| &e.wire)
            {
                // Released, no integration is in control: the spec omits the field.
                let back = json!({ "id": conversation["id"], "type": "personal" });
                out.push(event(
                    "switchboard:releaseControl",
                    json!({ "conversation": back, "reason": "transferToEmail" }),
                ));
            }
            out
        }
        _ => vec![],
    }
}

/// The body Sunco posts: its app, this webhook, and the events.
pub(crate) fn payload(app_id: &str, events: Vec<Value>) -> Vec<u8> {
    let v = json!({
        "app": { "id": app_id },
        "webhook": { "id": SUNCO_WEBHOOK_ID, "version": "v2" },
        "events": events,
    });
    serde_json::to_vec(&v).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Generator;
    use crate::world::{AuthorType, Event, Truth, Wire};

    #[test]
    fn a_messaging_ticket_announces_its_handoff_messages_and_close() {
        let now = Utc::now();
        let mut w = Generator::new(5, now).world(12);
        let t = w
            .tickets
            .values()
            .find(|t| t.kind.is_messaging() && !matches!(t.status, "solved" | "closed"))
            .unwrap()
            .clone();
        let ordinary = w.tickets.values().find(|t| !t.kind.is_messaging()).unwrap();
        assert!(events_for(&w, "http://sim", ordinary.id, &Change::Created, now).is_empty());

        let handoff = events_for(&w, "http://sim", t.id, &Change::Created, now);
        assert_eq!(handoff.len(), 1);
        assert_eq!(handoff[0]["type"], "switchboard:passControl");
        let c = &handoff[0]["payload"]["conversation"];
        assert_eq!(c["id"], crate::world::sunco_conversation_id(t.id));
        assert_eq!(
            c["activeSwitchboardIntegration"]["integrationType"],
            "zd:agentWorkspace"
        );

        w.tickets.get_mut(&t.id).unwrap().events.push(Event {
            id: 77_777,
            created_at: now,
            text: "Still there?".into(),
            attachments: vec![],
            wire: Wire::Message {
                author: AuthorType::User,
                author_name: "Maria".into(),
                author_id: Some(t.requester_id),
            },
            truth: Truth::Turn { role: "customer" },
        });
        let added = Change::EventAdded { event_id: 77_777 };
        let message = events_for(&w, "http://sim", t.id, &added, now);
        assert_eq!(message[0]["type"], "conversation:message");
        let m = &message[0]["payload"]["message"];
        assert_eq!(m["id"], format!("{:024x}", 77_777));
        assert_eq!(m["author"]["type"], "user");
        assert_eq!(
            m["content"],
            json!({"type": "text", "text": "Still there?"})
        );

        w.tickets.get_mut(&t.id).unwrap().status = "solved";
        let closed = Change::StatusChanged { previous: t.status };
        let released = events_for(&w, "http://sim", t.id, &closed, now);
        assert_eq!(released[0]["type"], "switchboard:passControl");
        assert_eq!(released[0]["payload"]["reason"], "ticketClosed");
        assert_eq!(
            released[0]["payload"]["conversation"]["activeSwitchboardIntegration"]["name"],
            "bot"
        );
        let reclosed = Change::StatusChanged { previous: "solved" };
        assert!(events_for(&w, "http://sim", t.id, &reclosed, now).is_empty());

        let body: Value = serde_json::from_slice(&payload("app1", released)).unwrap();
        assert_eq!(body["app"]["id"], "app1");
        assert_eq!(body["webhook"]["version"], "v2");
        assert_eq!(body["events"].as_array().unwrap().len(), 1);
    }
}
