//! The runtime every host shares — the desktop app, the `baton` CLI, and the team relay to
//! come: which vendor each account is (one arm per vendor), the sync loops and their
//! schedules, outbox delivery, draft actions, accounts, and the demo. Hosts parse input,
//! call this, and render.
//!
//! It must not know a host: no Tauri, no terminal. Vendor HTTP and JSON stay in the
//! vendor crates; SQL stays in `baton_core::store`.

pub mod accounts;
// Only its test runs it: it writes the UI's `engine.ts`.
#[cfg(test)]
mod bindings;
pub mod demo;
pub mod error;
#[cfg(test)]
mod memory;
pub mod replies;
pub mod runtime;
pub mod team;
pub mod vendor;

pub use error::{EngineError, ErrorKind};
pub use runtime::{keychain, Running, KEYCHAIN_SERVICE};
