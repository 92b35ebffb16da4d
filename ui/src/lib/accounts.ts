// Accounts in Settings: what removing one would lose, and the credentials form's request.
import type { NewCredentials, Unsent } from "./bindings";

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
