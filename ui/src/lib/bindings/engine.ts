// Generated from the Rust types of baton-engine. Do not edit: `UPDATE_BINDINGS=1 cargo test -p baton-engine bindings` rewrites it.

export type ErrorKind = "auth" | "unreachable" | "unavailable" | "rate_limited" | "conflict" | "not_found" | "invalid_input" | "vendor" | "storage" | "keychain" | "cancelled";

export type EngineError = { kind: ErrorKind, message: string, };

export type TeamView = { nats_url: string, user_name: string, accounts: Array<TeamAccountView>, };

export type TeamAccountView = { team_id: string, vendor: string, url: string, 
/**
 * The local account it feeds; `None`: add an account for this URL (with your own
 * credentials, for replies) to see its conversations.
 */
local_id: string | null, };
