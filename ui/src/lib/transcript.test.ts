import { describe, expect, it } from "vitest";
import type { Message, Role } from "./bindings";
import { around, follow, grow, handoffIndex, jumpTo, PAGE } from "./transcript";

const msg = (role: Role, created_at: number): Message => ({
  external_id: `${role}-${created_at}`,
  role,
  author_name: null,
  body: "",
  created_at,
  attachments: [],
  internal: role === "system",
});

describe("handoffIndex", () => {
  const log = [msg("customer", 1), msg("system", 2), msg("ai", 3), msg("system", 4), msg("agent", 5)];
  it("opens at the summary stamped with the handoff time", () => {
    expect(handoffIndex(log, 4)).toBe(3);
  });
  it("else at the first system message", () => {
    expect(handoffIndex(log, 99)).toBe(1);
    expect(handoffIndex(log, null)).toBe(1);
  });
  it("else at the newest message", () => {
    expect(handoffIndex([msg("customer", 1), msg("ai", 2)], null)).toBe(1);
    expect(handoffIndex([], null)).toBe(-1);
  });
});

describe("around", () => {
  it("draws a page either side of the anchor, whatever the length", () => {
    expect(around(1000, 500)).toEqual({ lo: 500 - PAGE, hi: 501 + PAGE });
    expect(around(100_000, 50_000, 10)).toEqual({ lo: 49_990, hi: 50_011 });
  });
  it("clamps at both ends", () => {
    expect(around(1000, 3)).toEqual({ lo: 0, hi: 4 + PAGE });
    expect(around(1000, 999)).toEqual({ lo: 999 - PAGE, hi: 1000 });
    expect(around(5, 2)).toEqual({ lo: 0, hi: 5 });
    expect(around(0, -1)).toEqual({ lo: 0, hi: 0 });
  });
});

describe("grow", () => {
  it("adds a page toward the side scrolled to, up to the ends", () => {
    expect(grow({ lo: 100, hi: 200 }, 1000, "start", 40)).toEqual({ lo: 60, hi: 200 });
    expect(grow({ lo: 100, hi: 200 }, 1000, "end", 40)).toEqual({ lo: 100, hi: 240 });
    expect(grow({ lo: 10, hi: 990 }, 1000, "start", 40)).toEqual({ lo: 0, hi: 990 });
    expect(grow({ lo: 10, hi: 990 }, 1000, "end", 40)).toEqual({ lo: 10, hi: 1000 });
  });
});

describe("follow", () => {
  it("shows new messages when the end was shown", () => {
    expect(follow({ lo: 50, hi: 100 }, 100, 103)).toEqual({ lo: 50, hi: 103 });
  });
  it("keeps the slice when the rep is reading further up", () => {
    expect(follow({ lo: 10, hi: 60 }, 100, 103)).toEqual({ lo: 10, hi: 60 });
  });
  it("stays inside a transcript that shrank", () => {
    expect(follow({ lo: 80, hi: 100 }, 100, 50)).toEqual({ lo: 50 - PAGE, hi: 50 });
  });
});

describe("jumpTo", () => {
  it("draws a page at the start, at the end, or around the handoff point", () => {
    expect(jumpTo(1000, "start", 500)).toEqual({ lo: 0, hi: PAGE + 1 });
    expect(jumpTo(1000, "end", 500)).toEqual({ lo: 999 - PAGE, hi: 1000 });
    expect(jumpTo(1000, "anchor", 500)).toEqual(around(1000, 500));
  });
});
