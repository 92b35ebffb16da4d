// Which slice of a transcript is drawn. A 1,000-message transcript opens on a few dozen
// messages around the handoff point and grows a page at a time as the rep scrolls toward
// either end, so opening costs the same whatever the length. Pure: transcript.test.ts.
import type { Message } from "./bindings";

/** Messages `lo..hi` (end exclusive) are in the DOM. */
export interface Span {
  lo: number;
  hi: number;
}

/** Messages drawn each side of the anchor at first, and added per step of growth. */
export const PAGE = 40;

/** Where a transcript opens: the handoff summary the system left (the one stamped with the
 * handoff time, else the first), else the newest message. */
export function handoffIndex(messages: Message[], handedOffAt: number | null): number {
  let first = -1;
  for (let k = messages.length - 1; k >= 0; k--) {
    const m = messages[k]!;
    if (m.role !== "system") continue;
    if (handedOffAt !== null && m.created_at === handedOffAt) return k;
    first = k;
  }
  return first >= 0 ? first : messages.length - 1;
}

/** The first slice: a page either side of the anchor. */
export function around(count: number, anchor: number, page = PAGE): Span {
  const at = Math.min(Math.max(anchor, 0), Math.max(count - 1, 0));
  return { lo: Math.max(0, at - page), hi: Math.min(count, at + page + 1) };
}

/** One more page toward the start or the end. */
export function grow(span: Span, count: number, side: "start" | "end", page = PAGE): Span {
  return side === "start"
    ? { lo: Math.max(0, span.lo - page), hi: span.hi }
    : { lo: span.lo, hi: Math.min(count, span.hi + page) };
}

/** The transcript was re-read with `count` messages where it had `before`: if its end was
 * shown, new messages show too (a live chat keeps arriving); otherwise the slice stays. */
export function follow(span: Span, before: number, count: number): Span {
  const hi = span.hi >= before ? count : Math.min(span.hi, count);
  const lo = Math.min(span.lo, hi);
  // Never an empty slice of a transcript that has messages.
  return { lo: lo === hi ? Math.max(0, hi - PAGE) : lo, hi };
}

/** The slice to draw for a jump: the start, the newest message, or the handoff point. */
export function jumpTo(count: number, where: "start" | "end" | "anchor", anchor: number): Span {
  return around(count, where === "start" ? 0 : where === "end" ? count - 1 : anchor);
}
