//! The Salesforce Pub/Sub API (`eventbus.v1`): its messages, the `PubSub` client Baton
//! subscribes with, and the server trait the simulator implements.
//!
//! `eventbus.v1.rs` is generated from `pubsub_api.proto` (read from ../shared/specs, never
//! copied here) and committed, so a build needs neither the proto nor protoc; the test in
//! `tests/generated.rs` makes it again and fails when it differs
//! (`BATON_REGENERATE=1 cargo test -p baton-pubsub` rewrites it).

#[allow(clippy::all, clippy::pedantic, missing_docs)]
#[rustfmt::skip]
mod eventbus_v1 {
    include!("eventbus.v1.rs");
}

pub use eventbus_v1::*;

/// The topic of MessagingSession change events (Change Data Capture).
pub const MESSAGING_SESSION_TOPIC: &str = "/data/MessagingSessionChangeEvent";

/// Salesforce's Pub/Sub endpoint (global, for every org).
pub const ENDPOINT: &str = "https://api.pubsub.salesforce.com:7443";

/// The request metadata that authenticates a call.
pub mod headers {
    pub const ACCESS_TOKEN: &str = "accesstoken";
    pub const INSTANCE_URL: &str = "instanceurl";
    /// The org id (`00D…`).
    pub const TENANT_ID: &str = "tenantid";
}
