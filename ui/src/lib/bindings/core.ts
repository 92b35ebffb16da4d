// Generated from the Rust types of baton-core. Do not edit: `UPDATE_BINDINGS=1 cargo test -p baton-core bindings` rewrites it.

export type SourceKind = "zendesk" | "salesforce";

export type Channel = "web" | "phone" | "email" | "whatsapp" | "sms" | "other";

export type Role = "customer" | "ai" | "agent" | "system";

export type HandoffMode = "live_chat" | "live_transfer" | "logged_escalation";

export type DraftState = "pending" | "accepted" | "edited" | "rejected" | "sent" | "failed";

export type Status = "new" | "open" | "pending" | "hold" | "solved" | "closed";

export type Scope = "mine" | "my_groups" | "other";

export type Attachment = { name: string, url: string, content_type: string | null, size: number | null, };

export type EndedBy = "agent" | "end_user" | "bot" | "system" | { "other": string };

export type SessionEnd = { by: EndedBy, at: number | null, };

export type RoutingAttribute = { label: string, value: string, };

export type QueueItem = { id: number, account_id: string, external_id: string, source: SourceKind, channel: Channel, status: Status, subject: string, requester_name: string | null, assignee_id: string | null, assignee_name: string | null, group_id: string | null, group_name: string | null, scope: Scope, is_handoff: boolean, handoff_mode: HandoffMode | null, reason: string | null, waiting_since: number, has_pending_draft: boolean, 
/**
 * Why the last sync could not read this conversation whole (shown to the rep);
 * absent when all is well.
 */
sync_problem?: string, 
/**
 * Who ended the session and when, for an ended one ("ended by the customer").
 */
ended?: SessionEnd, 
/**
 * A live transfer's number, for the queue row.
 */
transfer_to?: string, 
/**
 * A logged escalation's follow-up channel, for the queue row.
 */
follow_up?: string, };

export type HandoffDetails = { 
/**
 * What the customer (caller) asked for.
 */
asked_for: string | null, 
/**
 * What the AI could not resolve.
 */
unresolved: string | null, 
/**
 * A live transfer: the number the call was bridged to.
 */
transfer_to: string | null, 
/**
 * A logged escalation: how the caller wants to be followed up (email, SMS,
 * callback), as the summary says it.
 */
follow_up: string | null, 
/**
 * The call's length in seconds.
 */
call_seconds: number | null, 
/**
 * The OpenCX session (recording, reasoning trace) the summary links to.
 */
session_link: string | null, };

export type Handoff = { mode: HandoffMode, reason: string | null, reason_category: string | null, handed_off_at: number, details: HandoffDetails, };

export type RelatedConversation = { id: number, external_id: string, channel: Channel, status: Status, subject: string, created_at: number, ended: SessionEnd | null, };

export type Caller = { known: boolean, name: string | null, contact_id: string | null, };

export type AssistDraft = { id: number, source_note_id: string, text: string, training_url: string | null, state: DraftState, created_at: number, };

export type Message = { external_id: string, role: Role, author_name: string | null, body: string, created_at: number, attachments: Array<Attachment>, 
/**
 * An internal note (never shown to the customer).
 */
internal: boolean, };

export type ConversationDetail = { item: QueueItem, priority: string | null, created_at: number, updated_at: number, ticket_url: string | null, session_url: string | null, opencx_org_id: string | null, opencx_contact_id: string | null, opencx_session_id: string | null, assist_skips: Array<string>, 
/**
 * The org's routing attributes, in display order (empty where there are none).
 */
routing_attributes: Array<RoutingAttribute>, handoff: Handoff | null, 
/**
 * For a call: whether the caller matched a known contact.
 */
caller: Caller | null, 
/**
 * The same customer's other conversations in this account, newest first: an earlier
 * session that ended, or the new one that followed it.
 */
related: Array<RelatedConversation>, messages: Array<Message>, drafts: Array<AssistDraft>, 
/**
 * The conversation's version this detail shows (read in one snapshot with it): a
 * draft action carries it back, so a reply goes out only on what the rep saw.
 */
version: string, };

export type SearchHit = { conversation_id: number, external_id: string, subject: string, role: Role, snippet: string, created_at: number, };

export type QueueFilter = { account_id: string | null, 
/**
 * Include solved and closed conversations, and sessions that ended (whose tickets
 * may stay open for a follow-up by email).
 */
include_done: boolean, channel: Channel | null, limit: number | null, 
/**
 * Only mine and my groups' unassigned: what the tray counts and notifications announce.
 */
my_scope: boolean, 
/**
 * Only these conversations (by the vendor's id, with `account_id`): the rows a change
 * touched, for a UI that merges them rather than re-reading the whole queue.
 */
external_ids: Array<string> | null, };

export type SyncState = { "state": "idle" } | { "state": "syncing", done: number, total: number | null, } | { "state": "synced", at: number, } | { "state": "rate_limited", until: number, } | { "state": "auth_failed" } | { "state": "unreachable" } | { "state": "error" };

export type AccountStatus = { account_id: string, message: string, } & ({ "state": "idle" } | { "state": "syncing", done: number, total: number | null, } | { "state": "synced", at: number, } | { "state": "rate_limited", until: number, } | { "state": "auth_failed" } | { "state": "unreachable" } | { "state": "error" });

export type AccountSummary = { id: string, kind: SourceKind, base_url: string, login: string | null, };

export type Unsent = { replies: Array<UnsentText>, edits: Array<UnsentText>, };

export type UnsentText = { 
/**
 * The ticket it was for.
 */
external_id: string, 
/**
 * The reply's outbox state (`queued`, `failed`, …); `edit` for a saved edit.
 */
state: string, text: string, };

export type Change = { "kind": "conversations", account_id: string, external_ids: Array<string>, } | { "kind": "accounts" } | { "kind": "outbox" };

export type DraftReportRow = { rep: string, topic: string, drafts: number, accepted: number, edited: number, rejected: number, acceptance_rate: number, edit_rate: number, 
/**
 * Mean edit distance of the edited ones, in characters.
 */
mean_edit_distance: number | null, 
/**
 * The rejection reasons, "reason (count)" joined by "; ".
 */
rejection_reasons: string, };

export type DraftAction = { "kind": "accept" } | { "kind": "send", text: string, } | { "kind": "reject", reason: string, };

export type Seen = { draft_id: number, version: string, };

export type ActionResult = { external_id: string, 
/**
 * The outbox key of the reply (none for a rejection).
 */
key: string | null, state: OutboxState | null, message: string | null, };

export type OutboxState = "queued" | "sending" | "sent" | "failed" | "conflict" | "cancelled";

export type ReplyStatus = { key: string, draft_id: number | null, state: OutboxState, message: string | null, };

export type RuleKind = "keyword" | "regex";

export type Verdict = "avoidable" | "needed";

export type Bucket = "day" | "week";

export type CategoryRule = { id: number, category: string, kind: RuleKind, pattern: string, 
/**
 * Rules are tried in this order; the first that matches wins.
 */
position: number, };

export type NewRule = { category: string, kind: RuleKind, pattern: string, };

export type ReviewQuery = { since: number, until: number, bucket: Bucket, 
/**
 * Only this vendor's handoffs and conversations (all when absent), so every number
 * on the screen, and the lists behind them, count the same handoffs.
 */
source?: SourceKind, };

export type CountRow = { 
/**
 * `None`: uncategorised.
 */
category: string | null, channel: Channel, source: SourceKind, count: number, };

export type TrendPoint = { 
/**
 * The bucket's start: local midnight (of a Monday, for weeks) as UTC milliseconds.
 */
bucket_start: number, category: string | null, count: number, };

export type ReasonCount = { reason: string, category: string | null, count: number, };

export type FirstReply = { channel: Channel, 
/**
 * Handoffs of the period on this channel that have a reply.
 */
replied: number, p50_ms: number | null, p90_ms: number | null, };

export type ReviewSummary = { counts: Array<CountRow>, trend: Array<TrendPoint>, 
/**
 * The most frequent reason summaries, at most ten.
 */
top_reasons: Array<ReasonCount>, 
/**
 * Handoffs in the period (by their handoff time).
 */
handed_off: number, 
/**
 * Conversations created in the period: `handed_off / conversations` is the share
 * handed off.
 */
conversations: number, first_reply: Array<FirstReply>, uncategorised: number, };

export type CategoryFilter = string;

export type HandoffFilter = { since: number, until: number, category: CategoryFilter | null, channel: Channel | null, source: SourceKind | null, verdict: Verdict | null, 
/**
 * Only handoffs with exactly this reason (one of the top reasons).
 */
reason?: string, 
/**
 * Only handoffs a human replied to (`true`), or not yet (`false`).
 */
replied?: boolean, 
/**
 * At most this many (newest first); all when absent.
 */
limit: number | null, };

export type HandoffRow = { conversation_id: number, account_id: string, external_id: string, source: SourceKind, channel: Channel, handed_off_at: number, requester_name: string | null, reason: string | null, 
/**
 * `None`: uncategorised.
 */
category: string | null, 
/**
 * From the handoff to the first Agent public reply after it; `None` without one.
 */
first_reply_ms: number | null, ended: SessionEnd | null, verdict: Verdict | null, note: string | null, 
/**
 * The team member whose verdict it is, when it came from another desktop (or came
 * back from the team); `None`: given on this desktop.
 */
marked_by: string | null, };

export type SharingStatus = { 
/**
 * In a team: what this desktop changes reaches the others.
 */
in_team: boolean, 
/**
 * Changes made here that have not reached the team's NATS yet.
 */
waiting: number, 
/**
 * The relay's refusal of the last change this desktop sent, in words.
 */
refusal: string | null, };
