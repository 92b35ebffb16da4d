import { describe, expect, it } from "vitest";
import type { AccountStatus } from "./bindings";
import { statusTone, statusWords } from "./status";

const at = (s: Record<string, unknown>) => ({ account_id: "acme", message: "", ...s }) as AccountStatus;

describe("statusWords", () => {
  it("words a rejected token, an outage and a rate limit each differently, saying what to do", () => {
    const now = 1_000_000;
    const words = [
      statusWords(at({ state: "auth_failed" }), now, now),
      statusWords(at({ state: "unreachable" }), now, now),
      statusWords(at({ state: "rate_limited", until: now + 30_000 }), now, now),
    ];
    expect(words).toEqual([
      "Zendesk rejected the token: change it in ⚙ Accounts",
      "can't reach Zendesk: check your connection; retrying",
      "rate-limited by Zendesk, retrying in 30 s",
    ]);
    expect(new Set(words).size).toBe(3);
    expect(["auth_failed", "unreachable", "rate_limited"].map((state) => statusTone(at({ state, until: now })))).toEqual(["bad", "bad", "warn"]);
  });

  it("counts a rate limit down by the real clock, never below zero", () => {
    const s = at({ state: "rate_limited", until: 10_000 });
    expect(statusWords(s, 0, 4_200)).toBe("rate-limited by Zendesk, retrying in 6 s");
    expect(statusWords(s, 12_000, 12_000)).toBe("rate-limited by Zendesk, retrying in 0 s");
  });

  it("says the rest plainly", () => {
    expect(statusWords(at({ state: "synced", at: 0 }), 120_000, 120_000)).toBe("synced 2m ago");
    expect(statusWords(at({ state: "syncing", done: 3, total: 10 }), 0, 0)).toBe("syncing 3/10");
    expect(statusWords(at({ state: "syncing", done: 0, total: null }), 0, 0)).toBe("syncing…");
    expect(statusWords(at({ state: "error" }), 0, 0)).toBe("sync failed: retrying");
    expect(statusWords(at({ state: "idle" }), 0, 0)).toBe("starting…");
    expect(statusTone(at({ state: "synced", at: 0 }))).toBe("ok");
    expect(statusTone(at({ state: "idle" }))).toBe("busy");
  });
});
