import { describe, expect, it } from "vitest";
import { endedSalesforce, item } from "./fixtures";
import type { QueueItem } from "./bindings";
import { applyFilters, compareQueue, counts, mergeRows, move, scrollToRow, sourceChoices, toggle, visibleRange } from "./queue";

const items = [
  item(1, { assignee_id: "me", scope: "mine" }),
  item(2, { scope: "my_groups" }),
  item(3, { channel: "phone", assignee_id: "other" }),
  item(4, { channel: "phone", scope: "my_groups" }),
];

describe("filters", () => {
  it("shows mine, my groups or all, and by channel", () => {
    expect(applyFilters(items, { view: "mine", channels: [] }).map((i) => i.id)).toEqual([1]);
    expect(applyFilters(items, { view: "groups", channels: [] }).map((i) => i.id)).toEqual([2, 4]);
    expect(applyFilters(items, { view: "all", channels: ["phone"] }).map((i) => i.id)).toEqual([3, 4]);
    const mixed = [item(5, { status: "new" }), item(6, { status: "pending", source: "salesforce" })];
    expect(applyFilters(mixed, { view: "all", channels: [], statuses: ["pending"] }).map((i) => i.id)).toEqual([6]);
    expect(applyFilters(mixed, { view: "all", channels: [], sources: ["zendesk"] }).map((i) => i.id)).toEqual([5]);
    expect(toggle(toggle([] as string[], "a"), "a")).toEqual([]);
    expect(counts(items)).toEqual({ mine: 1, groups: 2 });
  });
});

describe("selection", () => {
  it("moves by rows, clamped at the ends", () => {
    expect(move(1, items, 1)).toBe(2);
    expect(move(4, items, 1)).toBe(4);
    expect(move(1, items, -1)).toBe(1);
    expect(move(null, items, 1)).toBe(1);
  });
  it("continues from where a conversation that left the queue was", () => {
    // #3 (index 2) was sent and left: j goes to what is now at index 2, k to index 1.
    const left = items.filter((i) => i.id !== 3);
    expect(move(3, left, 1, 2)).toBe(4);
    expect(move(3, left, -1, 2)).toBe(2);
    expect(move(3, [], 1, 2)).toBeNull();
  });
});

describe("virtual list", () => {
  it("draws only the rows in view plus overscan, even for 10,000 rows", () => {
    expect(visibleRange(0, 600, 60, 10_000, 2)).toEqual({ start: 0, end: 13 });
    const r = visibleRange(60 * 5000, 600, 60, 10_000, 2);
    expect(r).toEqual({ start: 4998, end: 5013 });
    expect(r.end - r.start).toBeLessThan(20);
    expect(visibleRange(60 * 9_999, 600, 60, 10_000, 2).end).toBe(10_000);
  });
  it("scrolls just enough to show the selected row", () => {
    expect(scrollToRow(3, 0, 600, 60)).toBe(0);
    expect(scrollToRow(20, 0, 600, 60)).toBe(660);
    expect(scrollToRow(2, 600, 600, 60)).toBe(120);
  });
});

describe("sourceChoices", () => {
  it("offers no source filter when every row comes from one source", () => {
    expect(sourceChoices([item(1), item(2)], [])).toEqual([]);
  });
  it("offers the sources present when there is a choice", () => {
    expect(sourceChoices([item(1), item(2, { source: "salesforce" })], [])).toEqual(["salesforce", "zendesk"]);
  });
  it("keeps a filter that is on, so it can be turned off", () => {
    expect(sourceChoices([item(1)], ["salesforce"])).toEqual(["salesforce", "zendesk"]);
  });
});

describe("mergeRows", () => {
  const q = [item(1, { scope: "mine", waiting_since: 5 }), item(2, { scope: "my_groups", waiting_since: 1 }), item(3, { waiting_since: 2 }), item(4, { waiting_since: 9 })];
  it("keeps the backend's order: scope, then longest waiting, then id", () => {
    const shuffled = [q[3]!, q[1]!, q[0]!, q[2]!, item(0, { waiting_since: 9 })];
    expect(shuffled.sort(compareQueue).map((i) => i.id)).toEqual([1, 2, 3, 0, 4]);
  });
  it("replaces touched rows, drops those that left the queue, adds new ones in place", () => {
    const touched = new Map([["a", new Set(["2", "3", "7"])]]);
    const rows = [item(3, { scope: "mine", waiting_since: 8 }), item(7, { waiting_since: 3 })];
    expect(mergeRows(q, touched, rows).map((i) => [i.id, i.scope])).toEqual([
      [1, "mine"],
      [3, "mine"],
      [7, "other"],
      [4, "other"],
    ]);
  });
  it("takes out a Salesforce session that ended: the backend no longer lists it live", () => {
    const live = endedSalesforce(5, { status: "open", ended: undefined, waiting_since: 4 });
    const touched = new Map([["a", new Set([live.external_id])]]);
    const before = [...q, live].sort(compareQueue);
    expect(before.map((i) => i.id)).toContain(5);
    expect(mergeRows(before, touched, []).map((i) => i.id)).toEqual([1, 2, 3, 4]);
  });
  it("filters Salesforce rows, ended ones shown with done, like any other", () => {
    const rows = [item(1), endedSalesforce(2), endedSalesforce(3, { channel: "phone" })];
    expect(applyFilters(rows, { view: "all", channels: [], sources: ["salesforce"] }).map((i) => i.id)).toEqual([2, 3]);
    expect(applyFilters(rows, { view: "all", channels: ["phone"], sources: ["salesforce"] }).map((i) => i.id)).toEqual([3]);
    expect(applyFilters(rows, { view: "all", channels: [], statuses: ["closed"] }).map((i) => i.id)).toEqual([2, 3]);
  });
  it("leaves other accounts' rows with the same ids alone", () => {
    const other = item(2, { account_id: "b" });
    const touched = new Map([["a", new Set(["2"])]]);
    expect(mergeRows([...q, other], touched, []).filter((i) => i.id === 2).map((i) => i.account_id)).toEqual(["b"]);
  });
});
