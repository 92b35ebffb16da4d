// A command's error, `{kind, message}` (the engine's `EngineError`), as words that say
// what to do. The kind decides the words; the message is shown as it is for the kinds a
// rep has nothing to do about but read.
import type { ErrorKind } from "./bindings";

/** What failed, for a person: the words, and the kind when the backend gave one. */
export interface Failure {
  kind: ErrorKind | null;
  text: string;
  /** The backend's own message (for a tooltip), when the words replace it. */
  detail: string;
}

/** `e` as a failure. `service` names what was called ("acme.zendesk.com"), for "can't reach …". */
export function failure(e: unknown, service = "Zendesk"): Failure {
  const kind = typeof e === "object" && e !== null && "kind" in e && typeof e.kind === "string" ? (e.kind as ErrorKind) : null;
  const message = typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e);
  const text = (() => {
    switch (kind) {
      case "auth":
        // The Sunshine Conversations key is checked with the token; its refusal names it.
        return message.startsWith("Sunshine Conversations")
          ? "Sunshine Conversations rejected the key: check its id and secret and paste them again."
          : "Zendesk rejected the token: check it and paste it again.";
      case "unreachable":
        return `Can't reach ${service}: check your connection.`;
      case "rate_limited":
        return "Zendesk asks to wait: try again in a minute.";
      case "unavailable":
        return `${service} answered with a server error: try again in a few minutes.`;
      default:
        return message;
    }
  })();
  return { kind, text, detail: message };
}

/** The host of a URL the rep typed or an account's, or "Zendesk" when it is not one. */
export function serviceOf(url: string): string {
  try {
    return new URL(url.includes("://") ? url : `https://${url}`).host || "Zendesk";
  } catch {
    return "Zendesk";
  }
}
