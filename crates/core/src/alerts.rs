//! What deserves the rep's attention when the queue changes: how many are waiting in
//! their scope, which handoffs just arrived there, and the words the shell shows for them
//! (the tray's tooltip, a notification's title and body). The shell only displays them.

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

/// The tray icon's tooltip for that count.
pub fn tray_tooltip(waiting: usize) -> String {
    format!("Baton: {waiting} waiting")
}

/// At most this many handoffs are named in one notification: it is a glance, and a
/// desktop shows only a few lines anyway.
const NAMED_AT_MOST: usize = 3;

/// What one desktop notification says about newly arrived handoffs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
    /// The conversation a click opens: the first listed.
    pub opens: i64,
}

/// One notification for the handoffs that just arrived (`Arrivals::update`), or none if
/// none did. One handoff is named in the title with its reason below; several are counted
/// in the title and the first few listed as "who: why".
pub fn notice(fresh: &[&QueueItem]) -> Option<Notice> {
    let first = fresh.first()?;
    let (title, body) = match fresh {
        [one] => (
            format!("New handoff: {}", who(one)),
            one.reason.clone().unwrap_or_else(|| one.subject.clone()),
        ),
        many => (
            format!("{} new handoffs", many.len()),
            many.iter()
                .take(NAMED_AT_MOST)
                .map(|i| format!("{}: {}", who(i), why(i)))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    };
    Some(Notice {
        title,
        body,
        opens: first.id,
    })
}

/// The requester, or the subject when the vendor did not name one.
fn who(item: &QueueItem) -> &str {
    item.requester_name.as_deref().unwrap_or(&item.subject)
}

/// The handoff's reason, or the subject when there is none.
fn why(item: &QueueItem) -> &str {
    item.reason.as_deref().unwrap_or(&item.subject)
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
            ended: None,
            transfer_to: None,
            follow_up: None,
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

    fn named(id: i64, who: Option<&str>, subject: &str, reason: Option<&str>) -> QueueItem {
        QueueItem {
            requester_name: who.map(Into::into),
            subject: subject.into(),
            reason: reason.map(Into::into),
            ..item(id, Scope::Mine, true)
        }
    }

    #[test]
    fn nothing_new_is_no_notification() {
        assert_eq!(notice(&[]), None);
    }

    #[test]
    fn one_handoff_is_named_with_its_reason() {
        let maria = named(7, Some("Maria L."), "Refund", Some("wants a supervisor"));
        assert_eq!(
            notice(&[&maria]),
            Some(Notice {
                title: "New handoff: Maria L.".into(),
                body: "wants a supervisor".into(),
                opens: 7,
            })
        );
        // No name and no reason: the subject stands in for both.
        let bare = named(8, None, "Login loop", None);
        let n = notice(&[&bare]).unwrap();
        assert_eq!(
            (n.title.as_str(), n.body.as_str()),
            ("New handoff: Login loop", "Login loop")
        );
    }

    #[test]
    fn several_are_counted_the_first_three_listed_and_a_click_opens_the_first() {
        let items = [
            named(3, Some("Ana"), "s3", Some("refund")),
            named(1, None, "Printer on fire", None),
            named(2, Some("Bo"), "s2", None),
            named(4, Some("Cy"), "s4", Some("not listed")),
        ];
        let fresh: Vec<&QueueItem> = items.iter().collect();
        let n = notice(&fresh).unwrap();
        assert_eq!(n.title, "4 new handoffs");
        assert_eq!(
            n.body,
            "Ana: refund\nPrinter on fire: Printer on fire\nBo: s2"
        );
        assert_eq!(n.opens, 3);
    }

    #[test]
    fn the_tray_says_how_many_wait() {
        assert_eq!(tray_tooltip(0), "Baton: 0 waiting");
        assert_eq!(tray_tooltip(12), "Baton: 12 waiting");
    }
}
