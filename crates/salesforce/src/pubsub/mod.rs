//! Changes through the Pub/Sub API: the subscription to `MessagingSessionChangeEvent`
//! and the decoding of its Avro events.

pub mod event;
pub mod subscription;
