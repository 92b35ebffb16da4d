import { describe, expect, it } from "vitest";
import type { UnsentText } from "./bindings";
import {
  credentialsRequest,
  describeUnsent,
  keyStatus,
  MAX_KEY_BYTES,
  pemProblem,
  removalWarning,
  salesforceFailure,
  salesforceProblem,
  salesforceRequest,
  type SalesforceForm,
} from "./accounts";

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

const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
const sf: SalesforceForm = {
  loginUrl: " https://login.salesforce.com ",
  consumerKey: " 3MVG9-client ",
  username: " alex@acme.test ",
  privateKey: `\n${PEM}\n\n`,
  pubsubUrl: " ",
  name: "",
};

describe("the Salesforce form", () => {
  it("sends the fields trimmed, empty options as null", () => {
    expect(salesforceProblem(sf)).toBeNull();
    expect(salesforceRequest(sf)).toEqual({
      name: null,
      login_url: "https://login.salesforce.com",
      consumer_key: "3MVG9-client",
      username: "alex@acme.test",
      private_key: PEM,
      pubsub_url: null,
    });
    expect(salesforceRequest({ ...sf, name: " acme ", pubsubUrl: " http://127.0.0.1:7443 " })).toMatchObject({
      name: "acme",
      pubsub_url: "http://127.0.0.1:7443",
    });
  });

  it("takes a sandbox, a My Domain or a bare host as the login URL, but only http(s)", () => {
    for (const ok of ["https://test.salesforce.com", "acme.my.salesforce.com", "http://127.0.0.1:8090"]) {
      expect(salesforceProblem({ ...sf, loginUrl: ok }), ok).toBeNull();
    }
    for (const bad of ["ftp://login.salesforce.com", "https://", "javascript:alert(1)", "   "]) {
      expect(salesforceProblem({ ...sf, loginUrl: bad })?.field, bad).toBe("loginUrl");
    }
    expect(salesforceProblem({ ...sf, loginUrl: "ftp://login.salesforce.com" })?.text).toMatch(/https:\/\//);
  });

  it("names the first missing field, so the form can go to it", () => {
    expect(salesforceProblem({ ...sf, consumerKey: " " })?.field).toBe("consumerKey");
    expect(salesforceProblem({ ...sf, username: "" })?.field).toBe("username");
    expect(salesforceProblem({ ...sf, privateKey: "" })?.field).toBe("privateKey");
    expect(salesforceProblem({ ...sf, pubsubUrl: "grpc://pubsub" })).toEqual({
      field: "pubsubUrl",
      text: "The Pub/Sub URL must start with https:// (like https://api.pubsub.salesforce.com:7443).",
    });
  });

  it("takes a PEM private key, RSA or PKCS#8, and says what else a file is", () => {
    expect(pemProblem(PEM)).toBeNull();
    expect(pemProblem(PEM.replaceAll("PRIVATE KEY", "RSA PRIVATE KEY"))).toBeNull();
    expect(pemProblem("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")).toMatch(/no PEM private key/);
    expect(pemProblem("PRIVATE KEY-----")).toMatch(/no PEM private key/);
    expect(pemProblem("-----BEGIN CERTIFICATE-----\nMIID\n-----END CERTIFICATE-----")).toMatch(/certificate, not a private key/);
    expect(pemProblem(PEM.replaceAll("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"))).toMatch(/encrypted/);
    expect(pemProblem(PEM + "A".repeat(MAX_KEY_BYTES))).toMatch(/too large/);
  });

  it("says a key is loaded and how large, never what it is", () => {
    expect(keyStatus("")).toBe("No key loaded.");
    expect(keyStatus(`  ${PEM}`)).toBe(`Key loaded (${PEM.trim().length} bytes).`);
    expect(keyStatus(PEM, "baton.pem")).toBe(`Key loaded from baton.pem (${PEM.trim().length} bytes).`);
    expect(keyStatus(PEM + "A".repeat(1000), "big.pem")).toMatch(/\(1,\d{3} bytes\)/);
    for (const s of [keyStatus(PEM), keyStatus(PEM, "baton.pem")]) expect(s).not.toContain("MIIE");
    expect(keyStatus("hello")).toMatch(/no PEM private key/);
    expect(keyStatus("-----BEGIN CERTIFICATE-----", "server.crt")).toMatch(/^server\.crt: That is a certificate/);
  });
});

describe("a refused Salesforce sign-in", () => {
  const login = "https://acme.my.salesforce.com";
  it("shows the org's own sentence, which says what to fix", () => {
    const refused = {
      kind: "auth",
      message: "Salesforce refused to sign in acme: the user has not approved the consumer: pre-authorize it in the connected app's policies",
    };
    expect(salesforceFailure(refused, login)).toEqual({ kind: "auth", text: refused.message, detail: refused.message });
    const invalid = { kind: "invalid_input", message: 'an account named "acme" already exists; pick another name' };
    expect(salesforceFailure(invalid, login).text).toBe(invalid.message);
  });
  it("names the host it could not reach, and never speaks of Zendesk", () => {
    const down = { kind: "unreachable", message: "acme.my.salesforce.com is unreachable: dns error" };
    expect(salesforceFailure(down, login).text).toBe("Can't reach acme.my.salesforce.com: check the login URL and your connection.");
    expect(salesforceFailure(down, "not a url ::").text).toMatch(/^Can't reach Salesforce/);
    const limited = { kind: "rate_limited", message: "Salesforce is limiting /services/oauth2/token: x; retry in 30 s" };
    expect(salesforceFailure(limited, login).text).toBe("Salesforce asks to wait: try again in a minute.");
    const failing = { kind: "unavailable", message: "Salesforce answered 503 to /services/oauth2/token" };
    for (const e of [down, limited, failing]) expect(salesforceFailure(e, login).text).not.toMatch(/Zendesk/);
  });
});
