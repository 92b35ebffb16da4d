// Generated from the Rust types of baton-zendesk. Do not edit: `UPDATE_BINDINGS=1 cargo test -p baton-zendesk bindings` rewrites it.

export type NewZendeskAccount = { url: string, email: string, 
/**
 * The API token; goes straight to the OS keychain.
 */
token: string, 
/**
 * A short name; the subdomain when empty.
 */
name: string | null, 
/**
 * Sunshine Conversations, for messaging transcripts when the conversation log is not
 * available to the token.
 */
sunco: NewSunco | null, };

export type NewSunco = { app_id: string, key_id: string, 
/**
 * The key's secret; goes straight to the OS keychain.
 */
secret: string, };

export type NewCredentials = { 
/**
 * The new API token; goes straight to the OS keychain.
 */
token: string, 
/**
 * A new agent email; the stored one when absent.
 */
email: string | null, 
/**
 * A new Sunshine Conversations key for the account's app (or a new app and key).
 */
sunco: NewSunco | null, };
