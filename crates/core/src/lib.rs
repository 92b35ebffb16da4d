//! Baton's core: the domain model, the SQLite store (which owns every SQL statement),
//! the vendor-neutral sync and outbox state machines, note parsing and secrets.
//!
//! It must not know a vendor, a host or the network: no HTTP, no Tauri, no vendor JSON.

pub mod alerts;
pub mod bindings;
pub mod crash;
pub mod drafts;
pub mod error;
pub mod files;
pub mod model;
pub mod notes;
pub mod outbox;
pub mod review;
pub mod secrets;
pub mod sensitive;
pub mod store;
pub mod sync;

pub use error::{Error, Result};
pub use sensitive::Sensitive;
pub use store::Store;
pub use tokio_util::sync::CancellationToken;
