// Keys for keyed `{#each}` blocks. Svelte throws on a repeated key, in production too
// (each_key_duplicate), which takes the whole list, and with it the screen, down. The
// natural keys of vendor data are not unique: two search hits can be the same words in
// one conversation at the same second, two attachments can share a URL, and a rep and
// topic joined without a separator collide ("ab"+"c" and "a"+"bc"). So these lists get
// their keys from here: the natural key, made unique.
// Use: `{#each keyedHits(hits) as { key, item: h } (key)}`.
import type { Attachment, DraftReportRow, SearchHit } from "./bindings";

// Joins the parts of a natural key: a control character, which the parts never hold.
const SEP = "\u001f";

/**
 * Each item with its key, in order: the natural key, with `#n` added to its n-th repeat.
 * Unique whatever the input, and stable for an item as long as the ones before it with
 * the same natural key stay (so a row keeps its DOM when others come and go).
 */
export function keyed<T>(items: readonly T[], natural: (item: T) => string): { key: string; item: T }[] {
  const next = new Map<string, number>();
  const used = new Set<string>();
  return items.map((item) => {
    const base = natural(item);
    let n = next.get(base) ?? 0;
    let key = n === 0 ? base : `${base}#${n}`;
    // A natural key may itself end in "#n": skip past any key already given out.
    while (used.has(key)) key = `${base}#${++n}`;
    next.set(base, n + 1);
    used.add(key);
    return { key, item };
  });
}

export const keyedHits = (hits: readonly SearchHit[]) =>
  keyed(hits, (h) => [h.conversation_id, h.created_at, h.snippet].join(SEP));

export const keyedReportRows = (rows: readonly DraftReportRow[]) =>
  keyed(rows, (r) => [r.rep, r.topic].join(SEP));

export const keyedAttachments = (attachments: readonly Attachment[]) =>
  keyed(attachments, (a) => a.url);
