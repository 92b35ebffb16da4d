//! Which of a team's relays works: the one holding a key in a JetStream KV bucket whose
//! entries expire unless renewed. The holder renews every [`RENEW_EVERY`]; when it dies
//! the entry expires after [`LEASE_TTL`] and a standby's `create` succeeds. Renewal is
//! conditional on the revision the holder last wrote, so a holder that was paused past
//! its lease learns it lost it instead of taking it back.

use super::nats::{nats_error, LEASE_BUCKET, LEASE_KEY};
use crate::error::{EngineError, ErrorKind, Result};
use async_nats::jetstream::{self, kv};
use std::time::Duration;

pub const LEASE_TTL: Duration = Duration::from_secs(5);
pub const RENEW_EVERY: Duration = Duration::from_secs(1);

pub async fn bucket(js: &jetstream::Context, replicas: usize) -> Result<kv::Store> {
    super::nats::ensure_bucket(js, LEASE_BUCKET, LEASE_TTL, replicas).await
}

/// A lease this relay holds.
pub struct Lease {
    store: kv::Store,
    holder: String,
    revision: u64,
}

impl Lease {
    /// Takes the lease if nobody holds it; `None` when another relay does.
    pub async fn try_take(store: &kv::Store, holder: &str) -> Result<Option<Lease>> {
        match store
            .create(LEASE_KEY, holder.as_bytes().to_vec().into())
            .await
        {
            Ok(revision) => Ok(Some(Lease {
                store: store.clone(),
                holder: holder.to_string(),
                revision,
            })),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(nats_error("taking the relays' lease", e)),
        }
    }

    /// Who holds the lease now, if anyone.
    pub async fn holder(store: &kv::Store) -> Result<Option<String>> {
        let value = store
            .get(LEASE_KEY)
            .await
            .map_err(|e| nats_error("reading the relays' lease", e))?;
        Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Extends the lease; an error means it is lost (expired and taken, or unreachable
    /// for longer than it lasts) and the holder must stop working.
    pub async fn renew(&mut self) -> Result<()> {
        match self
            .store
            .update(
                LEASE_KEY,
                self.holder.as_bytes().to_vec().into(),
                self.revision,
            )
            .await
        {
            Ok(revision) => {
                self.revision = revision;
                Ok(())
            }
            Err(e) => Err(EngineError::new(
                ErrorKind::Conflict,
                format!("the relays' lease was lost: {e}"),
            )),
        }
    }

    /// Gives the lease up at once (a clean shutdown), so a standby need not wait for it
    /// to expire.
    pub async fn release(self) {
        if let Err(e) = self
            .store
            .purge_expect_revision(LEASE_KEY, Some(self.revision))
            .await
        {
            tracing::warn!(error = %e, "the relays' lease was not released; it expires by itself");
        }
    }
}
