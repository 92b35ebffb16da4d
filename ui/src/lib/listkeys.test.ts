import { describe, expect, it } from "vitest";
import type { Attachment, DraftReportRow, SearchHit } from "./bindings";
import { keyed, keyedAttachments, keyedHits, keyedReportRows } from "./listkeys";

const keysOf = (rows: { key: string }[]) => rows.map((r) => r.key);
const distinct = (rows: { key: string }[]) => new Set(keysOf(rows)).size === rows.length;

describe("list keys", () => {
  it("are unique when the natural keys repeat, keep the first as it was, and keep every item in order", () => {
    const rows = keyed(["a", "b", "a", "a"], (x) => x);
    expect(rows).toEqual([
      { key: "a", item: "a" },
      { key: "b", item: "b" },
      { key: "a#1", item: "a" },
      { key: "a#2", item: "a" },
    ]);
  });

  it("stay unique when a natural key already looks like a repeat", () => {
    const rows = keyed(["a#1", "a", "a", "a#1"], (x) => x);
    expect(distinct(rows)).toBe(true);
    expect(rows[0]?.key).toBe("a#1");
  });

  it("give two identical search hits (same words, same conversation, same second) two keys", () => {
    const hit: SearchHit = { conversation_id: 7, external_id: "4812", subject: "Refund", role: "customer", snippet: "hello?", created_at: 1_700_000_000_000 };
    const rows = keyedHits([hit, { ...hit }, { ...hit, conversation_id: 8 }]);
    expect(rows).toHaveLength(3);
    expect(distinct(rows)).toBe(true);
  });

  it("keep report rows apart whose rep and topic only collide when joined", () => {
    const row = (rep: string, topic: string): DraftReportRow => ({ rep, topic, drafts: 1, accepted: 1, edited: 0, rejected: 0, acceptance_rate: 1, edit_rate: 0, mean_edit_distance: null, rejection_reasons: "" });
    // The old key, rep + topic, was "abc" for the first two.
    const rows = keyedReportRows([row("ab", "c"), row("a", "bc"), row("ab", "c")]);
    expect(distinct(rows)).toBe(true);
  });

  it("give two attachments with one URL two keys", () => {
    const a: Attachment = { name: "receipt.pdf", url: "https://acme.zendesk.com/attachments/1", content_type: null, size: null };
    const rows = keyedAttachments([a, { ...a, name: "receipt (1).pdf" }]);
    expect(distinct(rows)).toBe(true);
    expect(rows.map((r) => r.item.name)).toEqual(["receipt.pdf", "receipt (1).pdf"]);
  });
});
