import { describe, expect, it } from "vitest";
import { item } from "./fixtures";
import type { QueueItem, SearchHit } from "./bindings";
import { Board, type Backend, type Surface } from "./state.svelte";
import type { KeyPress } from "./keys";

const hit = (conversation_id: number): SearchHit => ({ conversation_id, external_id: String(conversation_id), role: "customer", created_at: 0, snippet: "refund" }) as SearchHit;

/** A board over four rows (1 and 3 mine), with what it asked of the window written down. */
function board() {
  const asked: string[] = [];
  const surface: Surface = {
    focusSearch: () => asked.push("focus search"),
    blurSearch: () => asked.push("blur search"),
    blurField: () => asked.push("blur field"),
    focusDetail: () => asked.push("focus detail"),
    draftAction: (which) => asked.push(`draft ${which}`),
    moveTranscript: (m) => asked.push(`transcript ${m}`),
  };
  // The keyboard never reaches the backend.
  const b = new Board({} as Backend, surface);
  b.all = [item(1, { scope: "mine" }), item(2), item(3, { scope: "mine", channel: "phone" }), item(4)];
  b.selected = 1;
  b.rememberPlace();
  const press = (key: string, more: Partial<KeyPress> = {}) => b.press({ key, typing: false, ...more });
  return { b, asked, press };
}

describe("the keyboard", () => {
  it("moves through the queue as filtered with j/k and opens with Enter", () => {
    const { b, asked, press } = board();
    expect(press("j")).toBe(true);
    expect(b.selected).toBe(2);
    press("3");
    press("1");
    expect(b.view).toBe("mine");
    b.selected = 1;
    press("ArrowDown");
    expect(b.selected).toBe(3);
    press("k");
    expect(b.selected).toBe(1);
    press("Enter");
    expect(b.focusDetail).toBe(true);
    expect(asked).toEqual(["focus detail"]);
    press("j");
    expect(b.focusDetail).toBe(false);
    press("2");
    expect(b.view).toBe("groups");
  });

  it("carries on from where the selection was after its row left the queue", () => {
    const { b, press } = board();
    b.selected = 3;
    b.rememberPlace();
    b.all = b.all.filter((i) => i.id !== 3);
    b.rememberPlace();
    press("j");
    expect(b.selected).toBe(4);
  });

  it("hands the draft and transcript keys to the open conversation, and / to the search box", () => {
    const { asked, press } = board();
    for (const k of ["a", "e", "r", "PageDown", "PageUp", "Home", "End", "h", "/"]) expect(press(k)).toBe(true);
    expect(asked).toEqual([
      "draft accept",
      "draft edit",
      "draft reject",
      "transcript page-down",
      "transcript page-up",
      "transcript transcript-start",
      "transcript transcript-end",
      "transcript handoff-point",
      "focus search",
    ]);
  });

  it("opens the overlays, and Esc closes the topmost first, then leaves the conversation", () => {
    const { b, press, asked } = board();
    press("?");
    expect(b.help).toBe(true);
    press(",");
    expect(b.settings).toBe(true);
    press("Escape");
    expect([b.settings, b.help]).toEqual([false, true]);
    press("?");
    expect(b.help).toBe(false);
    press("R");
    expect(b.report).toBe(true);
    press("Escape");
    expect(b.report).toBe(false);
    press("v");
    expect(b.review).toBe(true);
    // Esc in a note or a rule leaves the field first; the review stays open.
    press("Escape", { typing: true });
    expect(b.review).toBe(true);
    expect(asked.at(-1)).toBe("blur field");
    press("Escape");
    expect(b.review).toBe(false);
    press("Enter");
    press("Escape");
    expect(b.focusDetail).toBe(false);
  });

  it("leaves every key but Esc to the accounts form, the report and the review", () => {
    for (const overlay of ["settings", "report", "review"] as const) {
      const { b, asked, press } = board();
      b[overlay] = true;
      for (const k of ["j", "Enter", "a", "1", "?", "/", "PageDown", "v", "R"]) expect(press(k), k).toBe(false);
      expect([b.selected, b.view, b.help, asked]).toEqual([1, "all", false, []]);
      expect(press("Escape")).toBe(true);
      expect(b[overlay]).toBe(false);
    }
  });

  it("takes the keys while help is shown but moves nothing behind it", () => {
    const { b, asked, press } = board();
    b.help = true;
    for (const k of ["j", "k", "a", "PageDown"]) expect(press(k), k).toBe(true);
    expect(b.selected).toBe(1);
    expect(asked).toEqual([]);
  });

  it("leaves typing alone; Enter opens the first hit and Esc clears the search", () => {
    const { b, asked, press } = board();
    b.query = "refund";
    b.hits = [hit(4), hit(2)];
    expect(press("j", { typing: true })).toBe(false);
    expect(b.selected).toBe(1);
    expect(press("Enter", { typing: true })).toBe(false);
    expect([b.selected, b.focusDetail, b.query, b.hits]).toEqual([4, true, "", null]);
    b.query = "login";
    b.hits = [];
    expect(press("Escape", { typing: true })).toBe(true);
    expect([b.query, b.hits]).toEqual(["", null]);
    expect(asked).toEqual(["blur search"]);
  });

  it("leaves combinations to the system", () => {
    const { b, press } = board();
    expect(press("j", { ctrl: true })).toBe(false);
    expect(press("3", { meta: true })).toBe(false);
    expect(b.selected).toBe(1);
  });
});

describe("a clicked notification", () => {
  it("opens its conversation over whatever was on screen, clearing filters that hide it", () => {
    const { b, asked } = board();
    b.view = "mine";
    b.channels = ["phone"];
    b.help = b.report = b.review = true;
    b.query = "x";
    b.openFromNotification(2);
    expect([b.selected, b.focusDetail, b.view, b.channels, b.help, b.report, b.review, b.query]).toEqual([2, true, "all", [], false, false, false, ""]);
    expect(asked).toEqual(["focus detail"]);
    // A conversation the filters show keeps them.
    b.channels = ["web"];
    b.openFromNotification(4);
    expect(b.channels).toEqual(["web"]);
  });
});
