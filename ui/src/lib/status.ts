// An account's sync status as the status chip says it: words a rep understands, with what
// to do next, and a tone for its dot. An account read from a team says so ("team · live").
import type { AccountStatus } from "./bindings";
import { waited } from "./format";
import { isTeamStatus, teamWords } from "./team";

export type Tone = "ok" | "busy" | "warn" | "bad";

export function statusTone(status: AccountStatus): Tone {
  switch (status.state) {
    case "synced": return "ok";
    case "syncing":
    case "idle": return "busy";
    case "rate_limited": return "warn";
    default: return "bad";
  }
}

/** `now` ticks once a second and may be up to a second old; `clock` is the real time. */
export function statusWords(status: AccountStatus, now: number, clock = Date.now()): string {
  // Live is live however long ago the last change came; a team's failures are its own.
  if (isTeamStatus(status)) return teamWords(status);
  switch (status.state) {
    case "synced": return `synced ${waited(status.at, now)} ago`;
    case "syncing": return status.total ? `syncing ${status.done}/${status.total}` : "syncing…";
    case "rate_limited": return `rate-limited by Zendesk, retrying in ${Math.max(0, Math.ceil((status.until - Math.max(now, clock)) / 1000))} s`;
    case "auth_failed": return "Zendesk rejected the token: change it in ⚙ Accounts";
    case "unreachable": return "can't reach Zendesk: check your connection; retrying";
    case "error": return "sync failed: retrying";
    default: return "starting…";
  }
}
