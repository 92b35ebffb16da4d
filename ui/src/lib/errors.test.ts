import { describe, expect, it } from "vitest";
import { failure, serviceOf } from "./errors";
import { errorText } from "./api";

describe("failure", () => {
  const auth = { kind: "auth", message: "Zendesk rejected the credentials for acme (HTTP 401)" };
  const down = { kind: "unreachable", message: "acme.zendesk.com is unreachable: connection refused or failed" };
  const limited = { kind: "rate_limited", message: "Zendesk is rate-limiting GET /api/v2/users/me; retry in 30 s" };

  it("says what to do for a rejected token, an outage and a rate limit, each differently", () => {
    const texts = [auth, down, limited].map((e) => failure(e, "acme.zendesk.com").text);
    expect(texts).toEqual([
      "Zendesk rejected the token: check it and paste it again.",
      "Can't reach acme.zendesk.com: check your connection.",
      "Zendesk asks to wait: try again in a minute.",
    ]);
    expect(new Set(texts).size).toBe(3);
    expect([auth, down, limited].map((e) => failure(e).kind)).toEqual(["auth", "unreachable", "rate_limited"]);
  });

  it("tells a vendor that answers with a server error from one that cannot be reached", () => {
    const failing = { kind: "unavailable", message: "Zendesk answered 502 to GET /api/v2/users/me" };
    expect(failure(failing, "acme.zendesk.com").text).toBe(
      "acme.zendesk.com answered with a server error: try again in a few minutes.",
    );
    expect(failure(failing).text).not.toBe(failure(down).text);
  });

  it("keeps the backend's message as the detail", () => {
    expect(failure(down).detail).toBe(down.message);
    expect(failure(down).text).toBe("Can't reach Zendesk: check your connection.");
  });

  it("names the Sunshine Conversations key when that is what was refused", () => {
    const sunco = { kind: "auth", message: 'Sunshine Conversations app "a" with key "k": Zendesk rejected the credentials for acme (HTTP 401)' };
    expect(failure(sunco).text).toBe("Sunshine Conversations rejected the key: check its id and secret and paste them again.");
  });

  it("shows the message for the other kinds, and whatever was thrown otherwise", () => {
    expect(failure({ kind: "invalid_input", message: "the url is missing or too long" })).toEqual({
      kind: "invalid_input",
      text: "the url is missing or too long",
      detail: "the url is missing or too long",
    });
    expect(failure({ kind: "storage", message: "disk I/O error" }).text).toBe("disk I/O error");
    expect(failure("plain words")).toEqual({ kind: null, text: "plain words", detail: "plain words" });
    expect(failure(null).text).toBe("null");
  });

  it("is what errorText says", () => {
    expect(errorText(limited)).toBe("Zendesk asks to wait: try again in a minute.");
    expect(errorText({ kind: "not_found", message: "conversation 7: not found" })).toBe("conversation 7: not found");
  });
});

describe("serviceOf", () => {
  it("names the host, or Zendesk", () => {
    expect(serviceOf("https://acme.zendesk.com/")).toBe("acme.zendesk.com");
    expect(serviceOf("http://127.0.0.1:4321")).toBe("127.0.0.1:4321");
    expect(serviceOf("acme.zendesk.com")).toBe("acme.zendesk.com");
    expect(serviceOf("")).toBe("Zendesk");
    expect(serviceOf("http://")).toBe("Zendesk");
  });
});
