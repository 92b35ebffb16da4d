// The backend, through Tauri's IPC. Every call returns the Rust types (./bindings).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AccountStatus,
  ActionResult,
  DraftAction,
  Seen,
  DraftReportRow,
  ReplyStatus,
  AccountSummary,
  NewZendeskAccount,
  NewSalesforceAccount,
  NewCredentials,
  Unsent,
  AppInfo,
  ConversationDetail,
  QueueFilter,
  Change,
  QueueItem,
  SearchHit,
  TeamStatus,
  TeamView,
  CategoryRule,
  HandoffFilter,
  HandoffRow,
  NewRule,
  ReviewQuery,
  ReviewSummary,
  SharingStatus,
  Verdict,
} from "./bindings";
import { failure } from "./errors";
import type { TeamJoin } from "./team";
import type { ExportFormat } from "./review";

/** The backend's error, `{kind, message}`, as words that say what to do (lib/errors.ts). */
export function errorText(e: unknown, service?: string): string {
  return failure(e, service).text;
}

export const api = {
  queue: (filter: Partial<QueueFilter> = {}) =>
    invoke<QueueItem[]>("queue", {
      filter: { account_id: null, include_done: false, channel: null, limit: null, my_scope: false, external_ids: null, ...filter } satisfies QueueFilter,
    }),
  detail: (id: number) => invoke<ConversationDetail>("detail", { id }),
  search: (text: string) => invoke<SearchHit[]>("search", { text }),
  statuses: () => invoke<AccountStatus[]>("statuses"),
  appInfo: () => invoke<AppInfo>("app_info"),
  openLink: (url: string) => invoke<void>("open_link", { url }),
  accounts: () => invoke<AccountSummary[]>("accounts"),
  addAccount: (account: NewZendeskAccount) => invoke<AccountSummary>("add_account", { account }),
  /** Signs in to the org with the key first; the key goes straight to the keychain and never comes back. */
  addSalesforceAccount: (account: NewSalesforceAccount) => invoke<AccountSummary>("add_salesforce_account", { account }),
  testAccount: (id: string) => invoke<string>("test_account", { id }),
  updateAccount: (id: string, credentials: NewCredentials) => invoke<AccountSummary>("update_account", { id, credentials }),
  accountUnsent: (id: string) => invoke<Unsent>("account_unsent", { id }),
  /** `force`: the rep confirmed losing the account's unsent replies and saved edits. */
  removeAccount: (id: string, force: boolean) => invoke<void>("remove_account", { id, force }),
  /** Acts on the draft the rep read: `seen` names it and the conversation's version on screen. */
  draftAction: (conversationId: number, seen: Seen, action: DraftAction) =>
    invoke<ActionResult>("draft_action", { conversationId, seen, action }),
  saveEdit: (draftId: number, text: string) => invoke<void>("save_edit", { draftId, text }),
  savedEdit: (draftId: number) => invoke<string | null>("saved_edit", { draftId }),
  replies: (accountId: string, externalId: string) => invoke<ReplyStatus[]>("replies", { accountId, externalId }),
  retryReply: (key: string) => invoke<void>("retry_reply", { key }),
  cancelReply: (key: string) => invoke<void>("cancel_reply", { key }),
  draftReport: (since: number) => invoke<DraftReportRow[]>("draft_report", { since }),
  /** The lead's review: handoffs by category, channel and source over a period, bucketed in
   * the window's local days (`tzOffsetMinutes`: minutes east of UTC). */
  reviewSummary: (query: ReviewQuery, tzOffsetMinutes: number) => invoke<ReviewSummary>("review_summary", { query, tzOffsetMinutes }),
  reviewHandoffs: (filter: HandoffFilter) => invoke<HandoffRow[]>("review_handoffs", { filter }),
  markHandoff: (conversationId: number, verdict: Verdict, note: string | null) => invoke<void>("mark_handoff", { conversationId, verdict, note }),
  unmarkHandoff: (conversationId: number) => invoke<void>("unmark_handoff", { conversationId }),
  sharingStatus: () => invoke<SharingStatus>("sharing_status"),
  categoryRules: () => invoke<CategoryRule[]>("category_rules"),
  /** Replaces the rules (in this order: the first match wins); how many handoffs changed category. */
  saveCategoryRules: (rules: NewRule[]) => invoke<number>("save_category_rules", { rules }),
  previewRule: (rule: NewRule) => invoke<HandoffRow[]>("preview_rule", { rule }),
  exportHandoffs: (filter: HandoffFilter, format: ExportFormat) => invoke<string>("export_handoffs", { filter, format }),
  exportSummary: (query: ReviewQuery, tzOffsetMinutes: number, format: ExportFormat) => invoke<string>("export_summary", { query, tzOffsetMinutes, format }),
  /** The team this desktop reads from (asks the team's NATS; slow when it is offline). */
  teamStatus: () => invoke<TeamStatus>("team_status"),
  /** The password goes straight to the keychain; it never comes back. */
  teamJoin: (request: TeamJoin) => invoke<TeamView>("team_join", request),
  /** False when this desktop was not in a team. */
  teamLeave: () => invoke<boolean>("team_leave"),
  onStoreChanged: (f: (change: Change) => void): Promise<UnlistenFn> => listen<Change>("store-changed", (e) => f(e.payload)),
  onStatus: (f: (s: AccountStatus) => void): Promise<UnlistenFn> => listen<AccountStatus>("status", (e) => f(e.payload)),
  /** A notification was clicked: the conversation it announced. */
  onOpenConversation: (f: (id: number) => void): Promise<UnlistenFn> => listen<number>("open-conversation", (e) => f(e.payload)),
};
