import { describe, expect, it } from "vitest";
import { afterSessionEnd, ago, callLength, callOffset, callRoute, callSecondsOf, clock, endedBy, exact, sessionEnd, skipReason, sourceLabel, waited } from "./format";
import { endedSalesforce } from "./fixtures";

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

describe("how a session ended", () => {
  it("says who ended it in words", () => {
    expect(endedBy("end_user")).toBe("ended by the customer");
    expect(endedBy("agent")).toBe("ended by the agent");
    expect(endedBy("bot")).toBe("ended by the bot");
    expect(endedBy("system")).toBe("ended by the system");
  });
  it("shows a value Baton does not know as the vendor sent it", () => {
    expect(endedBy({ other: "Supervisor" })).toBe("ended (Supervisor)");
    expect(endedBy({ other: "  " })).toBe("ended");
  });
  it("gives the card's sentence, with the time when there is one", () => {
    const at = new Date(2026, 10, 22, 14, 2, 0).getTime();
    expect(sessionEnd({ by: "end_user", at }, at + 60_000)).toBe("Session ended by the customer · 14:02");
    expect(sessionEnd({ by: "end_user", at }, at + 3 * 86_400_000)).toBe("Session ended by the customer · Nov 22 14:02");
    expect(sessionEnd({ by: "system", at: null }, at)).toBe("Session ended by the system");
  });
  it("reads an ended Salesforce row's facts", () => {
    const row = endedSalesforce(7);
    expect(sourceLabel[row.source]).toBe("Salesforce");
    expect(row.ended && endedBy(row.ended.by)).toBe("ended by the customer");
    expect(sourceLabel.zendesk).toBe("Zendesk");
  });
});

describe("a phone handoff", () => {
  it("says where the call went", () => {
    expect(callRoute("+1 415 555 0100", null)).toBe("→ +1 415 555 0100");
    expect(callRoute(null, "SMS")).toBe("follow up by SMS");
    expect(callRoute(undefined, undefined)).toBe("");
  });
  it("takes the call's length from its summary, else from its turns", () => {
    const turns = [
      { role: "customer" as const, created_at: 10_000 },
      { role: "ai" as const, created_at: 70_000 },
      { role: "system" as const, created_at: 999_000 },
      { role: "customer" as const, created_at: 410_000 },
    ];
    expect(callSecondsOf(125, turns)).toBe(125);
    expect(callSecondsOf(null, turns)).toBe(400);
    expect(callSecondsOf(undefined, turns.slice(0, 1))).toBeNull();
    // A customer's message after the handoff (an SMS follow-up) is not the call.
    expect(callSecondsOf(null, turns, 100_000)).toBe(60);
    expect(callLength(400)).toBe("06:40");
    expect(callLength(3723)).toBe("1:02:03");
  });
});

describe("after a messaging session ends", () => {
  it("says the customer is back with the bot and the ticket stays open", () => {
    expect(afterSessionEnd({ by: "end_user", at: 1 }, true)).toBe("The customer is back with the bot. The ticket stays open: follow up by email.");
    expect(afterSessionEnd({ by: "agent", at: 1 }, false)).toBe("The customer is back with the bot.");
    expect(afterSessionEnd({ by: "system", at: null }, false)).toBe("");
  });
});
