import { describe, expect, it } from "vitest";
import { ago, callOffset, clock, exact, skipReason, waited } from "./format";

describe("waited", () => {
  it("reads naturally at every scale", () => {
    expect(waited(0, 45_000)).toBe("45s");
    expect(waited(0, 12 * 60_000)).toBe("12m");
    expect(waited(0, 3_900_000)).toBe("1h 05m");
    expect(waited(0, 2 * 86_400_000 + 4 * 3_600_000)).toBe("2d 4h");
  });
  it("never goes negative when clocks disagree", () => {
    expect(waited(10_000, 0)).toBe("0s");
  });
  it("ticks: the same start reads longer a minute later", () => {
    expect(waited(0, 60_000)).toBe("1m");
    expect(waited(0, 120_000)).toBe("2m");
  });
});

describe("times", () => {
  it("says how long ago, coarsely", () => {
    expect(ago(0, 10_000)).toBe("just now");
    expect(ago(0, 6 * 60_000)).toBe("6m ago");
    expect(ago(0, 3 * 3_600_000 + 5 * 60_000)).toBe("3h ago");
    expect(ago(0, 2 * 86_400_000 + 3_600_000)).toBe("2d ago");
  });
  it("gives the exact time and a short clock", () => {
    const at = new Date(2026, 10, 22, 9, 5, 7).getTime();
    expect(exact(at)).toBe("2026-11-22 09:05:07");
    expect(clock(at, at + 60_000)).toBe("09:05");
    expect(clock(at, at + 3 * 86_400_000)).toBe("Nov 22 09:05");
  });
  it("shows call offsets for phone transcripts", () => {
    expect(callOffset(135_000, 0)).toBe("+02:15");
    expect(callOffset(3_735_000, 0)).toBe("+1:02:15");
  });
  it("words the Assist skip reasons", () => {
    expect(skipReason("assist_mode_because_of_the_topic_in_no_assist_list")).toMatch(/no-assist list/);
    expect(skipReason("not_helpful_answer")).toMatch(/incomplete/);
    expect(skipReason("something_new")).toBe("something new");
  });
});
