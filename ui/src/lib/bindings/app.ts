// Generated from the Rust types of baton-app. Do not edit: `UPDATE_BINDINGS=1 cargo test -p baton-app bindings` rewrites it.

import type { EngineError, TeamView } from "./engine";

export type AppInfo = { 
/**
 * Showing the embedded simulator's demo data (no account configured).
 */
demo: boolean, demo_url: string | null, 
/**
 * The rep's own user id, for "mine first".
 */
me_id: string | null, version: string, };

export type TeamStatus = { 
/**
 * `null`: not in a team. Joined: where and as whom, with the team's accounts when its
 * NATS answered (none listed when it did not: see `problem`).
 */
team: TeamView | null, 
/**
 * Why the team's accounts could not be read just now (offline, login refused, …).
 */
problem: EngineError | null, };
