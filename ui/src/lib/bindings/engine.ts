// Generated from the Rust types of baton-engine. Do not edit: `UPDATE_BINDINGS=1 cargo test -p baton-engine bindings` rewrites it.

export type ErrorKind = "auth" | "unreachable" | "unavailable" | "rate_limited" | "conflict" | "not_found" | "invalid_input" | "vendor" | "storage" | "keychain" | "cancelled";

export type EngineError = { kind: ErrorKind, message: string, };
