// How times, roles and modes read in the UI. Pure functions: tested in format.test.ts.
import type { Channel, EndedBy, HandoffMode, Role, SessionEnd, SourceKind } from "./bindings";

/** "45s", "12m", "1h 05m", "2d 4h": how long someone has waited. */
export function waited(since: number, now: number): string {
  const s = Math.max(0, Math.floor((now - since) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** "just now", "6m ago", "3h ago", "2d ago". */
export function ago(at: number, now: number): string {
  const s = Math.floor((now - at) / 1000);
  if (s < 45) return "just now";
  return `${waited(at, now)} ago`.replace(/ \d+m ago$/, " ago").replace(/ \d+h ago$/, " ago");
}

/** The exact local time, for tooltips: "2026-11-22 10:42:07". */
export function exact(at: number): string {
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "10:42" today, else "Nov 20 10:42". */
export function clock(at: number, now: number): string {
  const d = new Date(at);
  const n = new Date(now);
  const hm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  if (d.toDateString() === n.toDateString()) return hm;
  return `${d.toLocaleString("en", { month: "short" })} ${d.getDate()} ${hm}`;
}

/** A phone transcript's offset into the call: "+02:15", "+1:02:15". */
export function callOffset(at: number, start: number): string {
  return `+${callLength((at - start) / 1000)}`;
}

/** A call's length as a clock: "06:40", "1:02:03". */
export function callLength(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${m}:${sec}` : `${m}:${sec}`;
}

/** A call's length in seconds: as its summary says, else from its first turn to its last
 * before the handoff (the call is the caller's and the AI's turns; what follows is the
 * follow-up); null when neither tells. */
export function callSecondsOf(said: number | null | undefined, messages: readonly { role: Role; created_at: number }[], handedOffAt?: number): number | null {
  if (said != null) return said;
  const turns = messages.filter((m) => (m.role === "customer" || m.role === "ai") && (handedOffAt === undefined || m.created_at <= handedOffAt));
  const first = turns[0];
  const last = turns[turns.length - 1];
  return first && last && turns.length > 1 ? (last.created_at - first.created_at) / 1000 : null;
}

/** Where a call went, for the queue and the card: "→ +1 415 555 0100" for a live
 * transfer, "follow up by SMS" for a logged escalation; empty when the summary said neither. */
export function callRoute(transfer_to: string | null | undefined, follow_up: string | null | undefined): string {
  if (transfer_to) return `→ ${transfer_to}`;
  if (follow_up) return `follow up by ${follow_up}`;
  return "";
}

export const roleLabel: Record<Role, string> = {
  customer: "Customer",
  ai: "AI",
  agent: "Agent",
  system: "System",
};

export const modeLabel: Record<HandoffMode, string> = {
  live_chat: "Live chat",
  live_transfer: "Live transfer",
  logged_escalation: "Logged escalation",
};

export const channelLabel: Record<Channel, string> = {
  web: "web",
  phone: "phone",
  email: "email",
  whatsapp: "WhatsApp",
  sms: "SMS",
  other: "other",
};

/** Why Assist stayed quiet, from the tag suffix (`opencx_skipped_*`), in words. */
export function skipReason(tag: string): string {
  if (tag.includes("no_assist_list")) return "The topic is on the no-assist list";
  if (tag.includes("not_helpful_answer")) return "The AI judged its answer incomplete";
  return tag.replace(/_/g, " ");
}

/** The source badge on a queue row and the card. */
export const sourceLabel: Record<SourceKind, string> = {
  zendesk: "Zendesk",
  salesforce: "Salesforce",
};

const endedByText: Record<Exclude<EndedBy, { other: string }>, string> = {
  agent: "ended by the agent",
  end_user: "ended by the customer",
  bot: "ended by the bot",
  system: "ended by the system",
};

/** "ended by the customer"; a value Baton does not know is shown as the vendor sent it. */
export function endedBy(by: EndedBy): string {
  if (typeof by === "string") return endedByText[by];
  const said = by.other.trim();
  return said ? `ended (${said})` : "ended";
}

/** "Session ended by the customer · 14:02" (no time when the vendor gave none). */
export function sessionEnd(end: SessionEnd, now: number): string {
  const when = end.at === null ? "" : ` · ${clock(end.at, now)}`;
  return `Session ${endedBy(end.by)}${when}`;
}

/** What an ended messaging session means for the rep, when the ticket outlives it. */
export function afterSessionEnd(end: SessionEnd, ticketOpen: boolean): string {
  const bot = end.by === "end_user" || end.by === "agent" ? "The customer is back with the bot. " : "";
  return ticketOpen ? `${bot}The ticket stays open: follow up by email.` : bot.trim();
}
