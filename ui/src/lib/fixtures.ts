// Queue rows for the tests: what the backend sends, with only what a test cares about set.
import type { QueueItem } from "./bindings";

export function item(id: number, over: Partial<QueueItem> = {}): QueueItem {
  return {
    id,
    account_id: "a",
    external_id: String(id),
    source: "zendesk",
    channel: "web",
    status: "open",
    subject: `s${id}`,
    requester_name: null,
    assignee_id: null,
    assignee_name: null,
    group_id: null,
    group_name: null,
    scope: "other",
    is_handoff: true,
    handoff_mode: "live_chat",
    reason: null,
    waiting_since: id,
    has_pending_draft: false,
    ...over,
  };
}

/** A Salesforce session its customer ended (at 1,900 ms), as the backend sends it. */
export function endedSalesforce(id: number, over: Partial<QueueItem> = {}): QueueItem {
  return item(id, {
    external_id: `0Mw00000000000${id}AAA`,
    source: "salesforce",
    status: "closed",
    subject: "Web chat",
    requester_name: "Maria L.",
    ended: { by: "end_user", at: 1_900 },
    ...over,
  });
}

