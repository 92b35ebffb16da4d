//! Which webhook requests a change to the account makes, and to whom. Each Zendesk event
//! goes to the configured Zendesk target and to every active API-created webhook that
//! subscribes to its type; a change's Sunco events go, in one payload, to the Sunco
//! target. Bodies are built while the world is locked (they read the tickets); targets
//! are picked and requests queued after it is released.

use crate::changes::Change;
use crate::delivery::{Credential, Envelope};
use crate::webhooks::{ZendeskEvent, WEBHOOK_ID};
use crate::world::World;
use crate::{lock, sunco_webhooks, Shared};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::atomic::Ordering;

/// Who made a change, for the events' `actor_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Actor {
    /// The agent whose token the API request carried.
    Me,
    /// Nobody in particular: the author of what was added, else Zendesk itself.
    World,
}

/// The events one change announces, bodies built.
#[derive(Debug, Default)]
pub(crate) struct Announcement {
    zendesk: Vec<ZendeskEvent>,
    sunco: Vec<Value>,
}

impl Announcement {
    pub fn is_empty(&self) -> bool {
        self.zendesk.is_empty() && self.sunco.is_empty()
    }
}

impl Shared {
    /// The events for `changed`, numbered from the account's event counter. Each
    /// ticket's Zendesk events form one `meta.sequence`: one action, several events.
    pub(crate) fn announce(
        &self,
        w: &World,
        changed: &[(u64, Vec<Change>)],
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Announcement {
        let actor = match actor {
            Actor::Me => Some(w.me),
            Actor::World => None,
        };
        let next_id = || self.next_event.fetch_add(1, Ordering::Relaxed) + 1;
        let mut out = Announcement::default();
        for (ticket, changes) in changed {
            let mut events: Vec<ZendeskEvent> = changes
                .iter()
                .filter_map(|c| ZendeskEvent::for_change(w, *ticket, c, actor, at))
                .collect();
            for e in &mut events {
                e.id = format!("01SIMEVT{:018}", next_id());
            }
            let sequence = events.first().map(|e| e.id.clone()).unwrap_or_default();
            let total = events.len();
            for (k, e) in events.iter_mut().enumerate() {
                e.set_sequence(&sequence, k + 1, total);
            }
            out.zendesk.extend(events);
            for c in changes {
                for mut e in sunco_webhooks::events_for(w, &self.base_url, *ticket, c, at) {
                    e["id"] = Value::String(format!("{:024x}", next_id()));
                    out.sunco.push(e);
                }
            }
        }
        out
    }

    /// Queues the requests for `a` to every target that wants them.
    pub(crate) fn deliver(&self, a: Announcement) {
        let mut queued = vec![];
        {
            let hooks = lock(&self.hooks);
            for e in &a.zendesk {
                let body = bytes::Bytes::from(e.body());
                let config = self.zendesk_target.as_ref().map(|t| {
                    (
                        WEBHOOK_ID.to_string(),
                        t.url.clone(),
                        t.secret.clone(),
                        vec![],
                    )
                });
                let created = hooks.wanting(&e.event_type).map(|h| {
                    (
                        h.id.clone(),
                        h.endpoint.clone(),
                        h.secret.clone(),
                        h.headers(),
                    )
                });
                for (webhook_id, url, secret, headers) in config.into_iter().chain(created) {
                    queued.push(Envelope::new(
                        format!("zendesk:{webhook_id}"),
                        url,
                        body.clone(),
                        Credential::Zendesk {
                            webhook_id: webhook_id.clone(),
                            secret,
                        },
                        headers,
                        format!("{webhook_id}:{}", e.id),
                    ));
                }
            }
        }
        if let (Some(t), false) = (&self.sunco_target, a.sunco.is_empty()) {
            let ids: Vec<&str> = a.sunco.iter().filter_map(|e| e["id"].as_str()).collect();
            let key = format!("sunco:{}", ids.join(","));
            let body = sunco_webhooks::payload(&self.sunco_app_id, a.sunco);
            queued.push(Envelope::new(
                "sunco".into(),
                t.url.clone(),
                body.into(),
                Credential::Sunco {
                    key: t.secret.clone(),
                },
                vec![],
                key,
            ));
        }
        if queued.is_empty() {
            return;
        }
        lock(&self.stats).webhooks.in_flight += queued.len() as u64;
        for e in queued {
            self.outbox.send(e);
        }
    }

    /// Whether anyone would hear of a change: skips comparing the world when nobody would.
    pub(crate) fn watched(&self) -> bool {
        self.zendesk_target.is_some()
            || self.sunco_target.is_some()
            || !lock(&self.hooks).is_empty()
    }
}
