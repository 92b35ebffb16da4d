// Generated from the Rust types of baton-app. Do not edit: `UPDATE_BINDINGS=1 cargo test -p baton-app bindings` rewrites it.

export type AppInfo = { 
/**
 * Showing the embedded simulator's demo data (no account configured).
 */
demo: boolean, demo_url: string | null, 
/**
 * The rep's own user id, for "mine first".
 */
me_id: string | null, version: string, };
