import { describe, expect, it } from "vitest";
import type { AccountStatus, TeamAccountView } from "./bindings";
import { feeds, isTeamStatus, joinRequest, natsHost, teamFailure, teamWords } from "./team";
import { statusTone, statusWords } from "./status";

const at = (s: Record<string, unknown>) => ({ account_id: "acme", message: "", ...s }) as AccountStatus;
const URL = "nats://127.0.0.1:4222";

describe("joinRequest", () => {
  it("trims what was typed and sends no CA file when none was given", () => {
    expect(joinRequest({ url: ` ${URL} `, user: " maria ", password: " pw\n", caFile: "  " })).toEqual({ url: URL, user: "maria", secret: "pw", caFile: null });
    expect(joinRequest({ url: URL, user: "maria", password: "pw", caFile: " /etc/baton/ca.pem " }).caFile).toBe("/etc/baton/ca.pem");
  });
});

describe("natsHost", () => {
  it("names the server of a URL, or the team's NATS", () => {
    expect(natsHost(URL)).toBe("127.0.0.1:4222");
    expect(natsHost("wss://nats.example.com/ws")).toBe("nats.example.com");
    expect(natsHost("tls://a:4222, tls://b:4222")).toBe("a:4222");
    expect(natsHost("")).toBe("the team's NATS");
  });
});

describe("teamFailure", () => {
  // The engine's own messages (crates/engine/src/team/nats.rs and desk.rs).
  const refused = { kind: "auth", message: `NATS at ${URL} refused the login of "maria"` };
  const denied = { kind: "auth", message: "reading the team's accounts: permissions violation for publish" };
  const down = { kind: "unreachable", message: `cannot reach NATS at ${URL}: IO error: Connection refused (os error 111)` };
  const tls = { kind: "unreachable", message: "TLS with NATS at tls://n:4222 failed: invalid peer certificate: UnknownIssuer (the server's certificate is not signed by a CA this computer trusts: give the team's CA file)" };
  const norelay = { kind: "unavailable", message: "the team's NATS has no Baton relay yet (or this user may not read it): stream not found" };
  const unlisted = { kind: "not_found", message: "the team's relay has not listed its accounts yet" };

  it("says what to do for each refusal, each differently, keeping the engine's words as the detail", () => {
    const texts = [refused, denied, down, norelay, unlisted].map((e) => teamFailure(e, URL).text);
    expect(texts).toEqual([
      "127.0.0.1:4222 refused the login: check the user name and password and type them again.",
      "This NATS user may not read the team's updates: ask your team lead for a rep login.",
      "Can't reach 127.0.0.1:4222: check the URL and your connection.",
      "127.0.0.1:4222 has no Baton relay yet (or this user may not read it): ask your team lead.",
      "The team's relay has not listed its accounts yet: try again once it is running.",
    ]);
    expect(new Set(texts).size).toBe(texts.length);
    expect(teamFailure(down, URL)).toMatchObject({ kind: "unreachable", detail: down.message });
    // Never the Zendesk words: it is not Zendesk that refused.
    for (const t of texts) expect(t).not.toMatch(/Zendesk|token/);
  });

  it("keeps a TLS refusal's own advice, and shows other messages as they are", () => {
    expect(teamFailure(tls, "tls://n:4222").text).toBe(tls.message);
    const invalid = { kind: "invalid_input", message: "put the user name and password in their own fields, not in the URL" };
    expect(teamFailure(invalid, URL).text).toBe(invalid.message);
    expect(teamFailure("plain words", URL)).toEqual({ kind: null, text: "plain words", detail: "plain words" });
  });
});

describe("feeds", () => {
  const a = (local_id: string | null): TeamAccountView => ({ team_id: "acme", vendor: "zendesk", url: "https://acme.zendesk.com", local_id });
  it("names the local account a team account feeds, or says to add it", () => {
    expect(feeds(a("acme-local"))).toBe("feeds your account acme-local");
    expect(feeds(a(null))).toBe("not added here: add this account (with your own token, for replies) to see it");
  });
});

describe("a team account on the status chip", () => {
  // The engine's messages (crates/engine/src/team/desk.rs, consume.rs).
  const live = at({ state: "synced", at: 0, message: "team · live" });

  it("says live however long ago the last change came", () => {
    expect(isTeamStatus(live)).toBe(true);
    expect(statusWords(live, 3_600_000, 3_600_000)).toBe("team · live");
    expect(statusTone(live)).toBe("ok");
    // An account synced by itself still says when.
    expect(statusWords(at({ state: "synced", at: 0, message: "synced" }), 120_000, 120_000)).toBe("synced 2m ago");
    expect(isTeamStatus(at({ state: "error", message: "team rejected the credentials" }))).toBe(false);
  });

  it("counts a catch-up", () => {
    expect(statusWords(at({ state: "syncing", done: 3, total: 10, message: "team: catching up, 7 to go" }), 0, 0)).toBe("team · catching up 3/10");
    expect(statusWords(at({ state: "syncing", done: 0, total: null, message: "team: catching up" }), 0, 0)).toBe("team · catching up…");
  });

  it("words each failure as what is wrong and what to do, never as Zendesk's", () => {
    const failures = [
      at({ state: "auth_failed", message: `team: NATS at ${URL} refused the login of "maria"; retrying` }),
      at({ state: "auth_failed", message: "team: no secret stored for this account; join the team again" }),
      at({ state: "auth_failed", message: "team: reading the team's stream BATON_acme: permissions violation; retrying" }),
      at({ state: "unreachable", message: `team: cannot reach NATS at ${URL}: IO error: Connection refused (os error 111); retrying` }),
      at({ state: "unreachable", message: `team: lost the connection to NATS at ${URL}; retrying` }),
      at({ state: "unreachable", message: "team: the team's NATS has no Baton relay yet (or this user may not read it): stream not found; retrying" }),
      at({ state: "unreachable", message: "team: the team's relay has not listed its accounts yet; retrying" }),
      at({ state: "unreachable", message: "team: TLS with NATS at tls://n:4222 failed: invalid peer certificate: UnknownIssuer; retrying" }),
      at({ state: "error", message: "team: the team's relay does not serve this account; ask your team lead, or leave the team to sync it yourself" }),
      at({ state: "error", message: "team: a transcript part: timed out; retrying" }),
    ];
    const words = failures.map((s) => statusWords(s, 0, 0));
    expect(words).toEqual([
      "team · the team's server refused your login: join again in ⚙ Accounts",
      "team · your team login is missing: join again in ⚙ Accounts",
      "team · this login may not read the team: ask your team lead",
      "team · can't reach the team's server: check your connection; retrying",
      "team · can't reach the team's server: check your connection; retrying",
      "team · no relay on the team's server yet; retrying",
      "team · waiting for the relay to list its accounts; retrying",
      "team · the secure connection failed: check the CA file; retrying",
      "team · the relay does not serve this account: ask your team lead",
      "team · reading the team's updates failed; retrying",
    ]);
    // A server that refuses the connection and one that went away mid-stream read the same.
    expect(new Set(words).size).toBe(words.length - 1);
    for (const w of words) expect(w).not.toMatch(/Zendesk|token/);
    // Short enough for a chip beside others at 900 px.
    for (const w of words) expect(w.length).toBeLessThanOrEqual(72);
    expect(failures.map((s) => statusTone(s))).toEqual(failures.map(() => "bad"));
    expect(teamWords(at({ state: "idle", message: "team: connecting" }))).toBe("team · connecting…");
  });
});
