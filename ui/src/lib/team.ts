// A team in Settings and on the status chip: the join form's request, the engine's
// refusals as what to do, which local account each team account feeds, and a team
// account's status in a rep's words.
import type { AccountStatus, TeamAccountView } from "./bindings";
import type { Failure } from "./errors";

/** What the join form holds. */
export type TeamForm = { url: string; user: string; password: string; caFile: string };

/** The `team_join` command's arguments (the password goes straight to the keychain). */
export type TeamJoin = { url: string; user: string; secret: string; caFile: string | null };

/** The join request: fields trimmed, an empty CA file is none. */
export function joinRequest(f: TeamForm): TeamJoin {
  return { url: f.url.trim(), user: f.user.trim(), secret: f.password.trim(), caFile: f.caFile.trim() === "" ? null : f.caFile.trim() };
}

/** The host of a NATS URL ("nats.example.com:4222"), or "the team's NATS". */
export function natsHost(url: string): string {
  const first = (url.split(",")[0] ?? "").trim();
  const rest = first.includes("://") ? first.slice(first.indexOf("://") + 3) : first;
  return rest.split(/[/?#]/)[0] || "the team's NATS";
}

/** A refused join (or a team that cannot be read), as words that say what to do. */
export function teamFailure(e: unknown, url: string): Failure {
  const kind = typeof e === "object" && e !== null && "kind" in e && typeof e.kind === "string" ? (e.kind as Failure["kind"]) : null;
  const message = typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e);
  const host = natsHost(url);
  const text = (() => {
    switch (kind) {
      case "auth":
        return message.includes("refused the login")
          ? `${host} refused the login: check the user name and password and type them again.`
          : `This NATS user may not read the team's updates: ask your team lead for a rep login.`;
      case "unreachable":
        // The TLS refusals say what to do about the certificate themselves.
        return message.startsWith("TLS") ? message : `Can't reach ${host}: check the URL and your connection.`;
      case "not_found":
        return "The team's relay has not listed its accounts yet: try again once it is running.";
      case "unavailable":
        return message.includes("no Baton relay")
          ? `${host} has no Baton relay yet (or this user may not read it): ask your team lead.`
          : `${host} answered with an error: try again in a few minutes.`;
      default:
        return message;
    }
  })();
  return { kind, text, detail: message };
}

/** What a team account is to this desktop. */
export function feeds(a: TeamAccountView): string {
  return a.local_id === null ? "not added here: add this account (with your own token, for replies) to see it" : `feeds your account ${a.local_id}`;
}

/** The status of an account read from a team (its messages say "team"). */
export function isTeamStatus(s: AccountStatus): boolean {
  return s.message === "team · live" || s.message.startsWith("team: ");
}

/** A team account's status in a rep's words; the engine's full message stays the chip's tooltip. */
export function teamWords(s: AccountStatus): string {
  const m = s.message;
  switch (s.state) {
    case "synced":
      return "team · live";
    case "syncing":
      return s.total ? `team · catching up ${s.done}/${s.total}` : "team · catching up…";
    case "idle":
      return "team · connecting…";
    case "auth_failed":
      if (m.includes("refused the login")) return "team · the team's server refused your login: join again in ⚙ Accounts";
      if (m.includes("join the team again")) return "team · your team login is missing: join again in ⚙ Accounts";
      return "team · this login may not read the team: ask your team lead";
    case "unreachable":
      if (m.includes("no Baton relay")) return "team · no relay on the team's server yet; retrying";
      if (m.includes("not listed its accounts")) return "team · waiting for the relay to list its accounts; retrying";
      if (m.includes("TLS")) return "team · the secure connection failed: check the CA file; retrying";
      return "team · can't reach the team's server: check your connection; retrying";
    case "error":
      if (m.includes("does not serve this account")) return "team · the relay does not serve this account: ask your team lead";
      return "team · reading the team's updates failed; retrying";
    default:
      return "team · waiting; retrying";
  }
}
