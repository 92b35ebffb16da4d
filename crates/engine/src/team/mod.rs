//! A team on one engine: a relay reads each vendor account once and publishes domain
//! records to NATS JetStream; every desktop reads them into its own cache. Replies still
//! go from each desktop, with the rep's own credentials, through its outbox.

pub mod config;
pub mod consume;
pub mod desk;
pub mod inbox;
pub mod lease;
pub mod nats;
pub mod publish;
pub mod records;
pub mod relay;
pub mod setup;
pub mod share;
