// The queue's view logic: which rows a view shows, the selection across refreshes, and
// which rows a virtual list renders. Pure functions: tested in queue.test.ts.
import type { Channel, QueueItem, SourceKind, Status } from "./bindings";

export type View = "mine" | "groups" | "all";

export interface Filters {
  view: View;
  /** Empty: every channel (likewise statuses and sources). */
  channels: Channel[];
  statuses?: Status[];
  sources?: SourceKind[];
}

/** "mine": assigned to me; "groups": unassigned in one of my groups (the backend says
 * which, per account, in `scope`). */
export function applyFilters(items: QueueItem[], f: Filters): QueueItem[] {
  return items.filter((i) => {
    if (f.view === "mine" && i.scope !== "mine") return false;
    if (f.view === "groups" && i.scope !== "my_groups") return false;
    if (f.channels.length > 0 && !f.channels.includes(i.channel)) return false;
    if (f.statuses?.length && !f.statuses.includes(i.status)) return false;
    if (f.sources?.length && !f.sources.includes(i.source)) return false;
    return true;
  });
}

/** Counts for the view tabs: "mine 4 · my groups 7". */
export function counts(items: QueueItem[]): { mine: number; groups: number } {
  let mine = 0;
  let groups = 0;
  for (const i of items) {
    if (i.scope === "mine") mine++;
    if (i.scope === "my_groups") groups++;
  }
  return { mine, groups };
}

/** Moves the selection by `delta` rows, clamped to the list. A conversation that left
 * the queue (its reply was sent) stays selected until the rep moves; then the move
 * starts from the row where it was (`lastIndex`). */
export function move(selectedId: number | null, items: QueueItem[], delta: number, lastIndex = 0): number | null {
  if (items.length === 0) return null;
  const at = items.findIndex((i) => i.id === selectedId);
  const from = at >= 0 ? at + delta : delta > 0 ? lastIndex : lastIndex - 1;
  const next = Math.min(Math.max(from, 0), items.length - 1);
  return items[next]?.id ?? null;
}

/** The rows a fixed-height virtual list draws: those in view plus `overscan` each side. */
export function visibleRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  overscan = 6,
): { start: number; end: number } {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const shown = Math.ceil(Math.max(0, viewport) / rowHeight) + 1;
  return {
    start: Math.max(0, first - overscan),
    end: Math.min(count, first + shown + overscan),
  };
}

/** The scrollTop that brings row `index` into view (unchanged when it already is). */
export function scrollToRow(index: number, scrollTop: number, viewport: number, rowHeight: number): number {
  const top = index * rowHeight;
  if (top < scrollTop) return top;
  if (top + rowHeight > scrollTop + viewport) return top + rowHeight - viewport;
  return scrollTop;
}

/** Adds `x` to the list, or takes it out. */
export function toggle<T>(list: T[], x: T): T[] {
  return list.includes(x) ? list.filter((y) => y !== x) : [...list, x];
}

/** The source filter offers what the rows come from, and only when there is a choice
 * (a filter already on stays, so it can be turned off). */
export function sourceChoices(items: QueueItem[], selected: SourceKind[]): SourceKind[] {
  const present = new Set<SourceKind>(selected);
  for (const i of items) present.add(i.source);
  return present.size > 1 || selected.length > 0 ? [...present].sort() : [];
}

const RANK = { mine: 0, my_groups: 1, other: 2 } as const;

/** The backend's queue order (store/queries.rs): mine, my groups' unassigned, the rest;
 * longest waiting first; then by id. */
export function compareQueue(a: QueueItem, b: QueueItem): number {
  return RANK[a.scope] - RANK[b.scope] || a.waiting_since - b.waiting_since || a.id - b.id;
}

/** Conversations a change touched, per account. */
export type Touched = Map<string, Set<string>>;

/** `all` with the touched conversations replaced by `rows`, their current queue rows (a
 * touched conversation absent from `rows` has left the queue), in queue order. */
export function mergeRows(all: QueueItem[], touched: Touched, rows: QueueItem[]): QueueItem[] {
  const kept = all.filter((i) => !touched.get(i.account_id)?.has(i.external_id));
  return [...kept, ...rows].sort(compareQueue);
}
