// Accounts in Settings: what removing one would lose, the credentials form's request, and
// the Salesforce form's checks, request and refusals.
import type { NewCredentials, NewSalesforceAccount, SourceKind, Unsent } from "./bindings";
import { failure, type Failure } from "./errors";

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "2 unsent replies and 1 saved edit"; empty when nothing would be lost. */
export function describeUnsent(u: Unsent): string {
  const parts: string[] = [];
  if (u.replies.length > 0) parts.push(count(u.replies.length, "unsent reply", "unsent replies"));
  if (u.edits.length > 0) parts.push(count(u.edits.length, "saved edit", "saved edits"));
  return parts.join(" and ");
}

/** The question to ask before removing `id`, or null when nothing would be lost. */
export function removalWarning(id: string, u: Unsent): string | null {
  const lost = describeUnsent(u);
  return lost === "" ? null : `${id} has ${lost}. Removing it deletes them: they are not sent.`;
}

export type CredentialsForm = {
  token: string;
  email: string;
  suncoApp: string;
  suncoKey: string;
  suncoSecret: string;
};

/**
 * The update request: an empty email keeps the stored one; a Sunco key only when its id
 * or secret is given (an empty app id keeps the account's app).
 */
export function credentialsRequest(f: CredentialsForm): NewCredentials {
  const withSunco = f.suncoKey.trim() !== "" || f.suncoSecret !== "";
  return {
    token: f.token.trim(),
    email: f.email.trim() === "" ? null : f.email.trim(),
    sunco: withSunco ? { app_id: f.suncoApp.trim(), key_id: f.suncoKey.trim(), secret: f.suncoSecret.trim() } : null,
  };
}

/** The vendors an account can be at, as the rep reads them. */
export const VENDOR_NAMES: Record<SourceKind, string> = { zendesk: "Zendesk", salesforce: "Salesforce" };

/** What the Salesforce form holds (the key as the PEM text read from the file, or pasted). */
export type SalesforceForm = {
  loginUrl: string;
  consumerKey: string;
  username: string;
  privateKey: string;
  pubsubUrl: string;
  name: string;
};

/** A key file larger than this is no private key (an RSA-4096 PEM is about 3.3 kB). */
export const MAX_KEY_BYTES = 16_384;

/** The URL as typed, with https:// when it names no scheme (as the engine reads it). */
function withScheme(raw: string): string {
  const t = raw.trim();
  return t.includes("://") ? t : `https://${t}`;
}

/** What is wrong with a login or Pub/Sub URL, or null: it must be http(s) and name a host. */
export function urlProblem(raw: string, what: string, example: string): string | null {
  let url: URL;
  try {
    url = new URL(withScheme(raw));
  } catch {
    return `The ${what} is not a URL: give one like ${example}.`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `The ${what} must start with https:// (like ${example}).`;
  if (url.hostname === "") return `The ${what} names no host: give one like ${example}.`;
  return null;
}

/** What is wrong with the PEM text of a private key, or null when it looks like one. */
export function pemProblem(pem: string): string | null {
  const t = pem.trim();
  if (t === "") return "Choose the private key's .pem file (or paste the key).";
  if (t.includes("ENCRYPTED PRIVATE KEY") || t.includes("Proc-Type: 4,ENCRYPTED"))
    return "The private key is encrypted: Baton needs it unencrypted. Decrypt it with `openssl pkey -in KEY.pem -out plain.pem` and choose that.";
  if (!t.includes("-----BEGIN") || !t.includes("PRIVATE KEY-----"))
    return t.includes("CERTIFICATE-----")
      ? "That is a certificate, not a private key: choose the key whose certificate was uploaded to the connected app."
      : "That is no PEM private key (a file beginning -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----).";
  if (new TextEncoder().encode(t).length > MAX_KEY_BYTES) return "That file is too large for a private key.";
  return null;
}

/**
 * What the form says about the key, never the key: "Key loaded from key.pem (1,704
 * bytes)." `file`: the name of the file it was read from (none when pasted).
 */
export function keyStatus(pem: string, file: string | null = null): string {
  if (pem.trim() === "") return "No key loaded.";
  const problem = pemProblem(pem);
  if (problem !== null) return file === null ? problem : `${file}: ${problem}`;
  const bytes = new TextEncoder().encode(pem.trim()).length.toLocaleString("en");
  return `Key loaded${file === null ? "" : ` from ${file}`} (${bytes} bytes).`;
}

/** The first thing to fix before asking the org, with the field it is about; null when none. */
export function salesforceProblem(f: SalesforceForm): { field: keyof SalesforceForm; text: string } | null {
  const example = "https://login.salesforce.com";
  if (f.loginUrl.trim() === "") return { field: "loginUrl", text: `Give the login URL: ${example}, https://test.salesforce.com for a sandbox, or the org's My Domain.` };
  const login = urlProblem(f.loginUrl, "login URL", example);
  if (login !== null) return { field: "loginUrl", text: login };
  if (f.consumerKey.trim() === "") return { field: "consumerKey", text: "Give the consumer key: copy it from the connected app's consumer details." };
  if (f.username.trim() === "") return { field: "username", text: "Give the username: the Salesforce user Baton signs in as." };
  const key = pemProblem(f.privateKey);
  if (key !== null) return { field: "privateKey", text: key };
  if (f.pubsubUrl.trim() !== "") {
    const pubsub = urlProblem(f.pubsubUrl, "Pub/Sub URL", "https://api.pubsub.salesforce.com:7443");
    if (pubsub !== null) return { field: "pubsubUrl", text: pubsub };
  }
  return null;
}

/** The `add_salesforce_account` request: fields trimmed, empty options null. */
export function salesforceRequest(f: SalesforceForm): NewSalesforceAccount {
  const optional = (v: string) => (v.trim() === "" ? null : v.trim());
  return {
    name: optional(f.name),
    login_url: f.loginUrl.trim(),
    consumer_key: f.consumerKey.trim(),
    username: f.username.trim(),
    private_key: `${f.privateKey.trim()}\n`,
    pubsub_url: optional(f.pubsubUrl),
  };
}

/** The host of a Salesforce URL the rep typed, or "Salesforce" when it is not one. */
export function salesforceHost(raw: string): string {
  try {
    return new URL(withScheme(raw)).host || "Salesforce";
  } catch {
    return "Salesforce";
  }
}

/**
 * A refused Salesforce sign-in, as words that say what to do. The org's refusals and the
 * engine's checks carry their own sentence (what to fix: the consumer not approved, the
 * certificate, the clock…): shown as they are. `url`: the login URL or the account's.
 */
export function salesforceFailure(e: unknown, url: string): Failure {
  const f = failure(e, salesforceHost(url));
  switch (f.kind) {
    case "unreachable":
      return { ...f, text: `Can't reach ${salesforceHost(url)}: check the login URL and your connection.` };
    case "rate_limited":
      return { ...f, text: "Salesforce asks to wait: try again in a minute." };
    case "unavailable":
      return f;
    default:
      return { ...f, text: f.detail };
  }
}
