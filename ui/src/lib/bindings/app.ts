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

export type NewSalesforceAccount = { 
/**
 * A short name; the My Domain's, or the username's domain's, when empty.
 */
name: string | null, 
/**
 * `https://login.salesforce.com`, `https://test.salesforce.com` (a sandbox) or the
 * org's My Domain.
 */
login_url: string, 
/**
 * The connected app's consumer key (its client id).
 */
consumer_key: string, 
/**
 * The Salesforce user Baton signs in as.
 */
username: string, 
/**
 * The unencrypted RSA private key whose certificate was uploaded to the connected
 * app, as PEM text (the file the rep picked, read by the window); goes straight to
 * the OS keychain.
 */
private_key: string, 
/**
 * Where the Pub/Sub API is; Salesforce's own endpoint when empty.
 */
pubsub_url: string | null, };
