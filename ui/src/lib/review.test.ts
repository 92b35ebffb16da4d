import { describe, expect, it } from "vitest";
import {
  DAY_MS,
  bucketLabel,
  categoryLabel,
  drillTitle,
  duration,
  exportName,
  filterFor,
  lastDays,
  marked,
  sharingLine,
  moveRule,
  orderCategories,
  percent,
  pivot,
  ruleProblem,
  rulesChanged,
  trendSeries,
  tzOffsetMinutes,
} from "./review";
import type { HandoffRow, ReviewSummary } from "./bindings";

// 2026-11-02 00:00 UTC was a Monday.
const MON = Date.UTC(2026, 10, 2);

const row = (conversation_id: number, over: Partial<HandoffRow> = {}): HandoffRow => ({
  conversation_id,
  account_id: "a",
  external_id: String(conversation_id),
  source: "zendesk",
  channel: "web",
  handed_off_at: MON,
  requester_name: null,
  reason: "wants a human",
  category: "asked_for_human",
  first_reply_ms: null,
  ended: null,
  verdict: null,
  marked_by: null,
  note: null,
  ...over,
});

describe("categories", () => {
  it("are worded, unknown ones by their id, none as uncategorised", () => {
    expect(categoryLabel("upset")).toBe("Customer upset");
    expect(categoryLabel(null)).toBe("Uncategorised");
    expect(categoryLabel("uncategorised")).toBe("Uncategorised");
    expect(categoryLabel("billing_dispute")).toBe("billing dispute");
  });
  it("come in a fixed order: known, then others by name, uncategorised last", () => {
    expect(orderCategories([null, "zeta", "upset", "alpha"])).toEqual([
      "asked_for_human", "no_answer", "policy_or_account", "upset", "technical", "other", "alpha", "zeta", null,
    ]);
    expect(orderCategories([])).not.toContain(null);
  });
});

describe("the category × channel table", () => {
  const counts: ReviewSummary["counts"] = [
    { category: "upset", channel: "phone", source: "zendesk", count: 3 },
    { category: "upset", channel: "phone", source: "salesforce", count: 2 },
    { category: "upset", channel: "web", source: "salesforce", count: 1 },
    { category: null, channel: "email", source: "zendesk", count: 4 },
  ];
  it("pivots both sources into cells, row and column totals", () => {
    const t = pivot(counts, "all");
    expect(t.channels).toEqual(["web", "phone", "email"]);
    const upset = t.rows.find((r) => r.category === "upset")!;
    expect(upset.cells).toEqual({ phone: 5, web: 1 });
    expect(upset.total).toBe(6);
    expect(t.rows.at(-1)).toMatchObject({ category: null, key: "uncategorised", label: "Uncategorised", total: 4 });
    expect(t.columnTotals).toEqual({ web: 1, phone: 5, email: 4 });
    expect(t.total).toBe(10);
    // Every known category has its row, with nothing in it when there was none.
    expect(t.rows.find((r) => r.category === "technical")).toMatchObject({ cells: {}, total: 0 });
  });
  it("splits by source: only that source's handoffs and channels", () => {
    const t = pivot(counts, "salesforce");
    expect(t.channels).toEqual(["web", "phone"]);
    expect(t.total).toBe(3);
    expect(t.rows.some((r) => r.category === null)).toBe(false);
  });
});

describe("drilling down", () => {
  const range = { since: MON, until: MON + 30 * DAY_MS };
  it("turns a clicked cell into the backend's filter", () => {
    expect(filterFor(range, { category: "upset", channel: "phone" })).toEqual({
      since: MON, until: MON + 30 * DAY_MS, category: "upset", channel: "phone", source: null, verdict: null, limit: 500,
    });
    expect(filterFor(range, { category: "uncategorised", source: "salesforce" }, "avoidable")).toMatchObject({ category: "uncategorised", source: "salesforce", verdict: "avoidable", channel: null });
    expect(filterFor(range, {})).toMatchObject({ category: null, channel: null, source: null });
    // An export holds every handoff behind the number, not a list's worth.
    expect(filterFor(range, { channel: "web" }, "needed", null)).toMatchObject({ channel: "web", verdict: "needed", limit: null });
  });
  it("narrows a bar to its bucket, within the period", () => {
    const f = filterFor(range, { category: "technical", bucket: { start: MON - 3 * DAY_MS, size: 7 * DAY_MS, label: "" } });
    expect([f.since, f.until]).toEqual([MON, MON + 4 * DAY_MS]);
    const last = filterFor(range, { bucket: { start: MON + 29 * DAY_MS, size: 7 * DAY_MS, label: "" } });
    expect([last.since, last.until]).toEqual([MON + 29 * DAY_MS, MON + 30 * DAY_MS]);
  });
  it("asks the backend for a top reason's handoffs, or the replied-to ones, only", () => {
    expect(filterFor(range, { category: "asked_for_human", reason: "refund" })).toMatchObject({ category: "asked_for_human", reason: "refund" });
    expect(filterFor(range, { channel: "web", replied: true })).toMatchObject({ channel: "web", replied: true });
    expect(filterFor(range, { channel: "web" })).not.toHaveProperty("replied");
    expect(drillTitle({ channel: "web", replied: true })).toBe("web · replied to");
  });
  it("titles the list with what was clicked", () => {
    expect(drillTitle({})).toBe("All handoffs");
    expect(drillTitle({ category: "upset", channel: "phone", source: "salesforce" })).toBe("Customer upset · phone · Salesforce");
    expect(drillTitle({ category: "uncategorised", bucket: { start: 0, size: 1, label: "Mon 2 Nov" } })).toBe("Uncategorised · Mon 2 Nov");
    expect(drillTitle({ reason: "refund", category: "other" })).toBe("“refund” · Other");
  });
});

describe("buckets and the trend", () => {
  it("labels days and weeks in the backend's offset", () => {
    expect(bucketLabel(MON, "day", 0)).toBe("Mon 2 Nov");
    expect(bucketLabel(MON, "week", 0)).toBe("week of 2 Nov");
    // Local midnight in UTC+1 is 23:00 UTC the day before.
    expect(bucketLabel(MON - 60 * 60_000, "day", 60)).toBe("Mon 2 Nov");
    expect(bucketLabel(MON + 5 * 3600_000, "day", -300)).toBe("Mon 2 Nov");
  });
  it("gives minutes east of UTC", () => {
    expect(tzOffsetMinutes({ getTimezoneOffset: () => -60 } as Date)).toBe(60);
    expect(tzOffsetMinutes({ getTimezoneOffset: () => 300 } as Date)).toBe(-300);
    expect(Object.is(tzOffsetMinutes({ getTimezoneOffset: () => 0 } as Date), 0)).toBe(true);
  });
  it("fills the period's empty buckets with 0, a series per category that has handoffs", () => {
    const range = { since: MON + 3600_000, until: MON + 4 * DAY_MS + 3600_000 };
    const t = trendSeries(
      [
        { bucket_start: MON + DAY_MS, category: "upset", count: 2 },
        { bucket_start: MON + 3 * DAY_MS, category: null, count: 1 },
        { bucket_start: MON + 3 * DAY_MS, category: "upset", count: 4 },
        { bucket_start: MON + 3 * DAY_MS, category: "technical", count: 0 },
      ],
      range,
      "day",
      0,
    );
    expect(t.starts).toEqual([0, 1, 2, 3, 4].map((d) => MON + d * DAY_MS));
    expect(t.labels[0]).toBe("Mon 2 Nov");
    expect(t.series.map((s) => [s.key, s.data])).toEqual([
      ["upset", [0, 2, 0, 4, 0]],
      ["uncategorised", [0, 0, 0, 1, 0]],
    ]);
  });
  it("has no bucket when there is no handoff", () => {
    expect(trendSeries([], lastDays(7, MON), "week", 0)).toEqual({ starts: [], labels: [], series: [] });
  });
  it("steps by weeks", () => {
    const t = trendSeries([{ bucket_start: MON, category: "other", count: 1 }], { since: MON - 10 * DAY_MS, until: MON + 2 * DAY_MS }, "week", 0);
    expect(t.starts).toEqual([MON - 14 * DAY_MS, MON - 7 * DAY_MS, MON]);
    expect(t.series[0]!.data).toEqual([0, 0, 1]);
  });
});

describe("numbers in words", () => {
  it("gives shares as percentages, never dividing by nothing", () => {
    expect(percent(1, 4)).toBe("25%");
    expect(percent(0, 4)).toBe("0%");
    expect(percent(1, 1000)).toBe("<1%");
    expect(percent(999, 1000)).toBe(">99%");
    expect(percent(4, 4)).toBe("100%");
    expect(percent(0, 0)).toBe("—");
  });
  it("words durations like the queue's waits", () => {
    expect(duration(null)).toBe("—");
    expect(duration(45_000)).toBe("45s");
    expect(duration(12 * 60_000)).toBe("12m");
    expect(duration(65 * 60_000)).toBe("1h 05m");
    expect(duration(2 * DAY_MS + 4 * 3600_000)).toBe("2d 4h");
  });
});

describe("marks", () => {
  it("set and clear one row's verdict and note", () => {
    const rows = [row(1), row(2)];
    const after = marked(rows, 2, "avoidable", "the policy is in the help center");
    expect(after[1]).toMatchObject({ verdict: "avoidable", note: "the policy is in the help center" });
    expect(after[0]).toBe(rows[0]);
    expect(marked(after, 2, null, "ignored")[1]).toMatchObject({ verdict: null, note: null });
    // A verdict from the team, changed here, is this lead's now.
    const fromTeam = [{ ...row(3), verdict: "needed" as const, marked_by: "lee" }];
    expect(marked(fromTeam, 3, "avoidable", null)[0]?.marked_by).toBeNull();
  });

  it("say whether they reach the team", () => {
    expect(sharingLine(null)).toBeNull();
    expect(sharingLine({ in_team: false, waiting: 3, refusal: null })).toBeNull();
    expect(sharingLine({ in_team: true, waiting: 0, refusal: null })).toBe("Marks, rules and draft outcomes are shared with your team");
    expect(sharingLine({ in_team: true, waiting: 1, refusal: null })).toBe("1 change waiting to reach your team");
    expect(sharingLine({ in_team: true, waiting: 2, refusal: null })).toBe("2 changes waiting to reach your team");
    expect(sharingLine({ in_team: true, waiting: 2, refusal: "only leads (12:00)" })).toBe("Your team's relay refused your last change: only leads (12:00)");
  });
});

describe("rules", () => {
  it("say what stops a rule from being saved", () => {
    expect(ruleProblem({ category: "upset", kind: "keyword", pattern: "angry" })).toBeNull();
    expect(ruleProblem({ category: "upset", kind: "keyword", pattern: "  " })).toBe("The pattern is empty.");
    // Rust's syntax, which JavaScript's RegExp refuses: the backend judges regexes.
    expect(ruleProblem({ category: "upset", kind: "regex", pattern: "(?i)refund|(?x) a b" })).toBeNull();
    expect(ruleProblem({ category: "nope", kind: "keyword", pattern: "x" })).toMatch(/not a category/);
  });
  it("notice a change, including a new order", () => {
    const a = { category: "upset", kind: "keyword" as const, pattern: "angry" };
    const b = { category: "technical", kind: "regex" as const, pattern: "log ?in" };
    expect(rulesChanged([a, b], [{ ...a }, { ...b }])).toBe(false);
    expect(rulesChanged([a, b], [b, a])).toBe(true);
    expect(rulesChanged([a, b], [a])).toBe(true);
    expect(rulesChanged([a], [{ ...a, pattern: "furious" }])).toBe(true);
  });
  it("move within the list, not past its ends", () => {
    expect(moveRule(["a", "b", "c"], 2, -1)).toEqual(["a", "c", "b"]);
    expect(moveRule(["a", "b", "c"], 0, 1)).toEqual(["b", "a", "c"]);
    const same = ["a", "b"];
    expect(moveRule(same, 0, -1)).toBe(same);
    expect(moveRule(same, 1, 1)).toBe(same);
  });
});

describe("exports", () => {
  it("are named by what and the period's local dates", () => {
    expect(exportName("handoffs", { since: MON, until: MON + 6 * DAY_MS }, "csv", 0)).toBe("baton-handoffs-2026-11-02-2026-11-08.csv");
    // 22:00 UTC on 1 Nov is 23:00 in UTC+1, 1 Nov; midnight UTC is 01:00 on 2 Nov there.
    expect(exportName("summary", { since: MON - 2 * 3600_000, until: MON }, "json", 60)).toBe("baton-summary-2026-11-01-2026-11-02.json");
    expect(exportName("summary", { since: MON - 2 * 3600_000, until: MON }, "json", 180)).toBe("baton-summary-2026-11-02-2026-11-02.json");
  });
});
