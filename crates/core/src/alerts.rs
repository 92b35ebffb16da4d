//! What deserves the rep's attention when the queue changes: how many are waiting in
//! their scope, and which handoffs just arrived there. The shell turns these into a tray
//! count and desktop notifications.

use crate::model::{QueueItem, Scope};
use std::collections::HashSet;

/// Mine, or unassigned in one of my groups.
pub fn in_my_scope(item: &QueueItem) -> bool {
    matches!(item.scope, Scope::Mine | Scope::MyGroups)
}

/// Remembers which handoffs were already announced.
#[derive(Debug, Default)]
pub struct Arrivals {
    seen: HashSet<i64>,
    primed: bool,
}

impl Arrivals {
    /// The handoffs in my scope not seen before. The first call only learns what is
    /// there: a rep opening Baton is not greeted by a notification per old conversation.
    pub fn update<'a>(&mut self, queue: &'a [QueueItem]) -> Vec<&'a QueueItem> {
        let fresh: Vec<&QueueItem> = queue
            .iter()
            .filter(|i| i.is_handoff && in_my_scope(i) && !self.seen.contains(&i.id))
            .collect();
        self.seen.extend(queue.iter().map(|i| i.id));
        if !self.primed {
            self.primed = true;
            return vec![];
        }
        fresh
    }
}

/// How many are waiting in my scope (the tray's count).
pub fn waiting(queue: &[QueueItem]) -> usize {
    queue.iter().filter(|i| in_my_scope(i)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn item(id: i64, scope: Scope, handoff: bool) -> QueueItem {
        QueueItem {
            id,
            account_id: "a".into(),
            external_id: id.to_string(),
            source: SourceKind::Zendesk,
            channel: Channel::Web,
            status: Status::Open,
            subject: String::new(),
            requester_name: None,
            assignee_id: None,
            assignee_name: None,
            group_id: None,
            group_name: None,
            scope,
            is_handoff: handoff,
            handoff_mode: handoff.then_some(HandoffMode::LiveChat),
            reason: None,
            waiting_since: 0,
            has_pending_draft: !handoff,
            sync_problem: None,
        }
    }

    #[test]
    fn only_new_handoffs_in_my_scope_are_announced_and_only_once() {
        let mut a = Arrivals::default();
        use Scope::*;
        let first = vec![item(1, MyGroups, true), item(2, Mine, true)];
        assert!(a.update(&first).is_empty(), "nothing on start");
        let next = vec![
            item(1, MyGroups, true),
            item(3, Mine, true),
            item(4, Other, true),
            item(5, MyGroups, false),
            item(6, MyGroups, true),
        ];
        let ids: Vec<i64> = a.update(&next).iter().map(|i| i.id).collect();
        assert_eq!(ids, vec![3, 6]);
        assert!(a.update(&next).is_empty(), "announced once");
        assert_eq!(waiting(&next), 4);
    }
}
