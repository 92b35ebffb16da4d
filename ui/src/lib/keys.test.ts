import { describe, expect, it } from "vitest";
import { actionFor } from "./keys";

describe("shortcuts", () => {
  it("maps the documented keys", () => {
    const t = (key: string) => actionFor({ key, typing: false });
    expect([t("j"), t("ArrowDown"), t("k"), t("ArrowUp")]).toEqual(["down", "down", "up", "up"]);
    expect([t("Enter"), t("Escape"), t("/"), t("?"), t(",")]).toEqual(["open", "back", "search", "help", "settings"]);
    expect([t("1"), t("2"), t("3"), t("x")]).toEqual(["view-mine", "view-groups", "view-all", null]);
    expect([t("a"), t("e"), t("r"), t("R"), t("v")]).toEqual(["accept", "edit", "reject", "report", "review"]);
    expect([t("PageDown"), t("PageUp"), t("Home"), t("End"), t("h")]).toEqual(["page-down", "page-up", "transcript-start", "transcript-end", "handoff-point"]);
    // Space stays with the focused button: it is how a keyboard presses one.
    expect(t(" ")).toBeNull();
  });
  it("leaves typing alone, except Esc", () => {
    expect(actionFor({ key: "j", typing: true })).toBeNull();
    expect(actionFor({ key: "/", typing: true })).toBeNull();
    expect(actionFor({ key: "a", typing: true })).toBeNull();
    expect(actionFor({ key: "Home", typing: true })).toBeNull();
    expect(actionFor({ key: "Escape", typing: true })).toBe("back");
  });
  it("ignores combinations that belong to the system", () => {
    expect(actionFor({ key: "k", ctrl: true, typing: false })).toBeNull();
    expect(actionFor({ key: "j", meta: true, typing: false })).toBeNull();
  });
});
