//! What a change to the account did to its tickets, found by comparing the tickets
//! before and after it. Every way the world changes (the live scenario, an API write, a
//! test's `world_mut`) goes through the same comparison, so none of them can forget to
//! announce what it did.

use crate::world::World;
use std::collections::BTreeMap;

/// What a ticket looked like, as far as the events Zendesk announces go.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    status: &'static str,
    assignee_id: Option<u64>,
    group_id: Option<u64>,
    tags: Vec<String>,
    /// Its events' ids, sorted.
    events: Vec<u64>,
}

/// The account's tickets as they are now.
pub(crate) type Snapshot = BTreeMap<u64, Seen>;

/// One thing that happened to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Created,
    /// Deleted as an agent deletes: the ticket stays, with status `deleted`.
    SoftDeleted,
    Undeleted,
    /// Gone from the account altogether.
    PermanentlyDeleted,
    StatusChanged {
        previous: &'static str,
    },
    AgentAssignmentChanged {
        previous: Option<u64>,
    },
    GroupAssignmentChanged {
        previous: Option<u64>,
    },
    TagsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// A comment or a messaging message (which one, its wire says).
    EventAdded {
        event_id: u64,
    },
}

pub(crate) fn snapshot(w: &World) -> Snapshot {
    w.tickets
        .values()
        .map(|t| {
            let mut events: Vec<u64> = t.events.iter().map(|e| e.id).collect();
            events.sort_unstable();
            let seen = Seen {
                status: t.status,
                assignee_id: t.assignee_id,
                group_id: t.group_id,
                tags: t.tags.clone(),
                events,
            };
            (t.id, seen)
        })
        .collect()
}

/// The changes from `before` to the world as it is, ticket by ticket in id order, each
/// ticket's changes in the order Zendesk would list them.
pub(crate) fn diff(before: &Snapshot, w: &World) -> Vec<(u64, Vec<Change>)> {
    let mut out = vec![];
    for t in w.tickets.values() {
        let Some(was) = before.get(&t.id) else {
            out.push((t.id, vec![Change::Created]));
            continue;
        };
        let mut changes = vec![];
        match (was.status == "deleted", t.status == "deleted") {
            (false, true) => changes.push(Change::SoftDeleted),
            (true, false) => changes.push(Change::Undeleted),
            _ if was.status != t.status => changes.push(Change::StatusChanged {
                previous: was.status,
            }),
            _ => {}
        }
        if was.assignee_id != t.assignee_id {
            changes.push(Change::AgentAssignmentChanged {
                previous: was.assignee_id,
            });
        }
        if was.group_id != t.group_id {
            changes.push(Change::GroupAssignmentChanged {
                previous: was.group_id,
            });
        }
        let added: Vec<String> = t
            .tags
            .iter()
            .filter(|tag| !was.tags.contains(tag))
            .cloned()
            .collect();
        let removed: Vec<String> = was
            .tags
            .iter()
            .filter(|tag| !t.tags.contains(tag))
            .cloned()
            .collect();
        if !added.is_empty() || !removed.is_empty() {
            changes.push(Change::TagsChanged { added, removed });
        }
        changes.extend(
            t.events
                .iter()
                .filter(|e| was.events.binary_search(&e.id).is_err())
                .map(|e| Change::EventAdded { event_id: e.id }),
        );
        if !changes.is_empty() {
            out.push((t.id, changes));
        }
    }
    out.extend(
        before
            .keys()
            .filter(|id| !w.tickets.contains_key(id))
            .map(|id| (*id, vec![Change::PermanentlyDeleted])),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Generator;
    use crate::world::{Event, Kind, Truth, Wire};
    use chrono::Utc;

    #[test]
    fn every_kind_of_change_is_found_and_nothing_else() {
        let now = Utc::now();
        let mut g = Generator::new(4, now);
        let mut w = g.world(6);
        // A tagged ticket first, so there is a tag to take off.
        let mut ids: Vec<u64> = w.tickets.keys().copied().collect();
        let tagged = ids
            .iter()
            .position(|id| !w.tickets[id].tags.is_empty())
            .unwrap();
        ids.swap(0, tagged);
        let before = snapshot(&w);
        assert!(diff(&before, &w).is_empty(), "no change, no event");

        let t = w.tickets.get_mut(&ids[0]).unwrap();
        let old_status = t.status;
        t.status = if old_status == "hold" { "open" } else { "hold" };
        let old_assignee = t.assignee_id;
        t.assignee_id = Some(42);
        let old_group = t.group_id;
        t.group_id = Some(43);
        t.tags.push("vip".into());
        let gone = t.tags.remove(0);
        t.events.push(Event {
            id: 9_999_999,
            created_at: now,
            text: "Hello".into(),
            attachments: vec![],
            wire: Wire::Comment {
                author_id: 1,
                public: true,
            },
            truth: Truth::Turn { role: "agent" },
        });
        w.tickets.get_mut(&ids[1]).unwrap().status = "deleted";
        w.tickets.remove(&ids[2]);
        let new = g.ticket(&mut w, Kind::WebHandoff, now);

        let found = diff(&before, &w);
        assert_eq!(
            found.last(),
            Some(&(ids[2], vec![Change::PermanentlyDeleted])),
            "tickets gone come last"
        );
        let found: BTreeMap<u64, Vec<Change>> = found.into_iter().collect();
        let want: BTreeMap<u64, Vec<Change>> = [
            (
                ids[0],
                vec![
                    Change::StatusChanged {
                        previous: old_status,
                    },
                    Change::AgentAssignmentChanged {
                        previous: old_assignee,
                    },
                    Change::GroupAssignmentChanged {
                        previous: old_group,
                    },
                    Change::TagsChanged {
                        added: vec!["vip".into()],
                        removed: vec![gone],
                    },
                    Change::EventAdded {
                        event_id: 9_999_999,
                    },
                ],
            ),
            (ids[1], vec![Change::SoftDeleted]),
            (ids[2], vec![Change::PermanentlyDeleted]),
            (new, vec![Change::Created]),
        ]
        .into_iter()
        .collect();
        assert_eq!(found, want);

        let before = snapshot(&w);
        w.tickets.get_mut(&ids[1]).unwrap().status = "open";
        assert_eq!(diff(&before, &w), vec![(ids[1], vec![Change::Undeleted])]);
    }
}
