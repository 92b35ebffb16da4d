import { describe, expect, it } from "vitest";
import type { UnsentText } from "./bindings";
import { credentialsRequest, describeUnsent, removalWarning } from "./accounts";

const t = (state: string): UnsentText => ({ external_id: "7", state, text: "Hi Maria" });
const unsent = (replies: number, edits: number) => ({
  replies: Array.from({ length: replies }, () => t("queued")),
  edits: Array.from({ length: edits }, () => t("edit")),
});

describe("removing an account", () => {
  it("says what would be lost, counted", () => {
    expect(describeUnsent(unsent(1, 0))).toBe("1 unsent reply");
    expect(describeUnsent(unsent(2, 1))).toBe("2 unsent replies and 1 saved edit");
    expect(describeUnsent(unsent(0, 3))).toBe("3 saved edits");
    expect(removalWarning("acme", unsent(2, 1))).toBe(
      "acme has 2 unsent replies and 1 saved edit. Removing it deletes them: they are not sent.",
    );
  });
  it("asks nothing when nothing would be lost", () => {
    expect(removalWarning("acme", unsent(0, 0))).toBeNull();
  });
});

describe("the credentials form", () => {
  const form = { token: " tok ", email: "", suncoApp: "", suncoKey: "", suncoSecret: "" };
  it("keeps the stored email and Sunco key unless new ones are given", () => {
    expect(credentialsRequest(form)).toEqual({ token: "tok", email: null, sunco: null });
  });
  it("sends a new Sunco key, for the account's app when no app id is given", () => {
    expect(credentialsRequest({ ...form, email: "a@b.c ", suncoKey: "app_1", suncoSecret: "s" })).toEqual({
      token: "tok",
      email: "a@b.c",
      sunco: { app_id: "", key_id: "app_1", secret: "s" },
    });
  });
});
