// The lead's review of why the AI hands off: the pure logic of its screen (Review.svelte,
// Rules.svelte): periods and buckets, the category × channel table, the drill-down
// filters, percentages and durations, rules. Tested in review.test.ts. The backend's types
// (ReviewSummary, HandoffRow, …) are in ./bindings.
import type { Bucket, Channel, HandoffFilter, HandoffRow, NewRule, ReviewSummary, SharingStatus, SourceKind, Verdict } from "./bindings";
import { waited } from "./format";

/** How `export_handoffs` writes the list. */
export type ExportFormat = "csv" | "json";

// ---- Categories ----

export const CATEGORIES = ["asked_for_human", "no_answer", "policy_or_account", "upset", "technical", "other"] as const;
export type Category = (typeof CATEGORIES)[number];
/** A category as the filter names it: its id, or "uncategorised" for none. */
export const UNCATEGORISED = "uncategorised";

const CATEGORY_LABEL: Record<Category, string> = {
  asked_for_human: "Asked for a human",
  no_answer: "AI had no answer",
  policy_or_account: "Policy or account",
  upset: "Customer upset",
  technical: "Technical problem",
  other: "Other",
};

/** The category in words; one Baton does not know reads as its id. */
export function categoryLabel(c: string | null): string {
  if (c === null || c === UNCATEGORISED) return "Uncategorised";
  return (CATEGORY_LABEL as Record<string, string>)[c] ?? c.replace(/_/g, " ");
}

/** The key a category has in the filter, the table and the chart. */
export const categoryKey = (c: string | null): string => c ?? UNCATEGORISED;

/** Known categories in their order, then any others by name, uncategorised last. */
export function orderCategories(seen: Iterable<string | null>): (string | null)[] {
  const others = new Set<string>();
  let none = false;
  for (const c of seen) {
    if (c === null) none = true;
    else if (!(CATEGORIES as readonly string[]).includes(c)) others.add(c);
  }
  return [...CATEGORIES, ...[...others].sort(), ...(none ? [null] : [])];
}

// ---- Periods and buckets ----

export const DAY_MS = 86_400_000;
export const bucketMs = (b: Bucket) => (b === "day" ? DAY_MS : 7 * DAY_MS);

export interface Range {
  since: number;
  until: number;
}
/** The last `days` days up to `now`. */
export const lastDays = (days: number, now: number): Range => ({ since: now - days * DAY_MS, until: now });

/** Minutes east of UTC (the backend's offset for local days), from JS's minutes west. */
export const tzOffsetMinutes = (at: Date = new Date()): number => -at.getTimezoneOffset() || 0;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** A bucket's start in words, in the offset the backend bucketed in: "Mon 3 Nov", "week of 3 Nov". */
export function bucketLabel(start: number, bucket: Bucket, tzMinutes: number): string {
  const d = new Date(start + tzMinutes * 60_000);
  const date = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  return bucket === "day" ? `${WEEKDAYS[d.getUTCDay()]} ${date}` : `week of ${date}`;
}

export interface Trend {
  starts: number[];
  labels: string[];
  series: { category: string | null; key: string; label: string; data: number[] }[];
}

/** The trend as one series per category over every bucket of the period, the empty ones as 0. */
export function trendSeries(trend: ReviewSummary["trend"], range: Range, bucket: Bucket, tzMinutes: number): Trend {
  const size = bucketMs(bucket);
  const known = [...new Set(trend.map((t) => t.bucket_start))].sort((a, b) => a - b);
  const starts: number[] = [];
  if (known.length > 0) {
    // The backend's bucket starts, stepped back to cover `since` and on to `until`.
    let s = known[0]!;
    while (s > range.since) s -= size;
    for (; s < range.until || s <= known[known.length - 1]!; s += size) starts.push(s);
  }
  const at = new Map(starts.map((s, k) => [s, k]));
  const cats = orderCategories(trend.map((t) => t.category)).filter((c) => trend.some((t) => t.category === c && t.count > 0));
  const series = cats.map((category) => ({ category, key: categoryKey(category), label: categoryLabel(category), data: starts.map(() => 0) }));
  for (const t of trend) {
    const k = at.get(t.bucket_start);
    const s = series.find((x) => x.category === t.category);
    if (k !== undefined && s) s.data[k]! += t.count;
  }
  return { starts, labels: starts.map((s) => bucketLabel(s, bucket, tzMinutes)), series };
}

// ---- The category × channel table ----

export type SourceChoice = SourceKind | "all";

export interface Table {
  channels: Channel[];
  rows: { category: string | null; key: string; label: string; cells: Partial<Record<Channel, number>>; total: number }[];
  columnTotals: Partial<Record<Channel, number>>;
  total: number;
}

const CHANNEL_ORDER: Channel[] = ["web", "phone", "email", "whatsapp", "sms", "other"];

/** The counts pivoted: a row per category (every known one, uncategorised when there are
 * any), a column per channel that has a handoff, for one source or both. */
export function pivot(counts: ReviewSummary["counts"], source: SourceChoice): Table {
  const these = counts.filter((c) => source === "all" || c.source === source);
  const channels = CHANNEL_ORDER.filter((ch) => these.some((c) => c.channel === ch && c.count > 0));
  const rows = orderCategories(these.map((c) => c.category)).map((category) => ({
    category,
    key: categoryKey(category),
    label: categoryLabel(category),
    cells: {} as Partial<Record<Channel, number>>,
    total: 0,
  }));
  const columnTotals: Partial<Record<Channel, number>> = {};
  let total = 0;
  for (const c of these) {
    const row = rows.find((r) => r.category === c.category)!;
    row.cells[c.channel] = (row.cells[c.channel] ?? 0) + c.count;
    row.total += c.count;
    columnTotals[c.channel] = (columnTotals[c.channel] ?? 0) + c.count;
    total += c.count;
  }
  return { channels, rows, columnTotals, total };
}

// ---- Drilling down ----

/** What a clicked number stands for: undefined fields are "any". */
export interface Drill {
  /** A category id, or "uncategorised". */
  category?: string;
  channel?: Channel;
  source?: SourceKind;
  /** One bucket of the trend. */
  bucket?: { start: number; size: number; label: string };
  /** One of the top reasons. */
  reason?: string;
  /** Only the handoffs a human replied to. */
  replied?: boolean;
}

/** The most handoffs one list shows (an export holds them all). */
export const LIST_LIMIT = 500;
/** The most handoffs `preview_rule` answers with. */
export const PREVIEW_LIMIT = 50;

/** The backend's filter for the handoffs behind a number, within the period: at most a
 * list's worth, or all of them (`limit` null) for an export. */
export function filterFor(range: Range, drill: Drill, verdict: Verdict | null = null, limit: number | null = LIST_LIMIT): HandoffFilter {
  const since = drill.bucket ? Math.max(range.since, drill.bucket.start) : range.since;
  const until = drill.bucket ? Math.min(range.until, drill.bucket.start + drill.bucket.size) : range.until;
  return {
    since,
    until,
    category: drill.category ?? null,
    channel: drill.channel ?? null,
    source: drill.source ?? null,
    verdict,
    ...(drill.reason === undefined ? {} : { reason: drill.reason }),
    ...(drill.replied === undefined ? {} : { replied: drill.replied }),
    limit,
  };
}

/** The list's heading: "Customer upset · phone · Zendesk · week of 3 Nov", "All handoffs". */
export function drillTitle(drill: Drill): string {
  const parts: string[] = [];
  if (drill.reason !== undefined) parts.push(`“${drill.reason}”`);
  if (drill.category !== undefined) parts.push(categoryLabel(drill.category));
  if (drill.channel) parts.push(drill.channel);
  if (drill.source) parts.push(drill.source === "zendesk" ? "Zendesk" : "Salesforce");
  if (drill.bucket) parts.push(drill.bucket.label);
  if (drill.replied) parts.push("replied to");
  return parts.length === 0 ? "All handoffs" : parts.join(" · ");
}

// ---- Numbers in words ----

/** "42%"; "<1%" for a small share that is not none; "—" when there is nothing to divide. */
export function percent(part: number, whole: number): string {
  if (whole <= 0) return "—";
  const p = (part / whole) * 100;
  if (p > 0 && p < 1) return "<1%";
  if (p < 100 && p > 99) return ">99%";
  return `${Math.round(p)}%`;
}

/** A duration as the queue words waits ("45s", "12m", "1h 05m"); "—" when there is none. */
export const duration = (ms: number | null): string => (ms === null ? "—" : waited(0, ms));

/** The row after a mark on this desktop: its verdict and note set, or cleared; the verdict
 * is this lead's now. */
export const marked = (rows: HandoffRow[], id: number, verdict: Verdict | null, note: string | null): HandoffRow[] =>
  rows.map((r) => (r.conversation_id === id ? { ...r, verdict, note: verdict === null ? null : note, marked_by: null } : r));

/** Whether what a lead marks and the rules they save reach the team, in words; null alone. */
export function sharingLine(s: SharingStatus | null): string | null {
  if (!s || !s.in_team) return null;
  if (s.refusal) return `Your team's relay refused your last change: ${s.refusal}`;
  if (s.waiting > 0) return `${s.waiting} ${s.waiting === 1 ? "change" : "changes"} waiting to reach your team`;
  return "Marks, rules and draft outcomes are shared with your team";
}

// ---- Rules ----

/** What is wrong with a rule before it is saved, in words; null when it can be saved. A
 * regex is the backend's (Rust's syntax, not JavaScript's): it says, on preview or save,
 * whether one compiles. */
export function ruleProblem(rule: NewRule): string | null {
  if (rule.pattern.trim() === "") return "The pattern is empty.";
  if (!(CATEGORIES as readonly string[]).includes(rule.category)) return `“${rule.category}” is not a category.`;
  return null;
}

/** True when the rules differ from the saved ones (order counts: the first match wins). */
export const rulesChanged = (saved: NewRule[], edited: NewRule[]): boolean =>
  saved.length !== edited.length || saved.some((r, k) => r.category !== edited[k]!.category || r.kind !== edited[k]!.kind || r.pattern !== edited[k]!.pattern);

/** Moves the rule at `from` by `by` places (a no-op past either end). */
export function moveRule<T>(rules: T[], from: number, by: number): T[] {
  const to = from + by;
  if (from < 0 || from >= rules.length || to < 0 || to >= rules.length) return rules;
  const next = [...rules];
  const [r] = next.splice(from, 1);
  next.splice(to, 0, r!);
  return next;
}

// ---- Exports ----

/** "baton-handoffs-2026-11-01-2026-11-30.csv": the period, in local dates. */
export function exportName(what: "handoffs" | "summary", range: Range, format: ExportFormat, tzMinutes: number): string {
  const day = (at: number) => new Date(at + tzMinutes * 60_000).toISOString().slice(0, 10);
  return `baton-${what}-${day(range.since)}-${day(range.until)}.${format}`;
}
