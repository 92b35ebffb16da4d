//! Which of a team's relays works: the one holding a key in a JetStream KV bucket whose
//! entries expire unless renewed. The holder renews every [`RENEW_EVERY`]; when it dies
//! the entry expires after [`LEASE_TTL`] and a standby's `create` succeeds. Renewal is
//! conditional on the revision the holder last wrote, so a holder that was paused past
//! its lease learns it lost it instead of taking it back.

use super::nats::{nats_error, LEASE_BUCKET, LEASE_KEY};
use crate::error::{EngineError, ErrorKind, Result};
use async_nats::jetstream::{self, kv};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

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
    held_until: HeldUntil,
}

/// Until when the holder may act as the holder, by its own clock: the last successful
/// renewal (or the take) plus the lease less a margin, so it stops before any standby can
/// take the lease over. Checked before every publish and every cursor write: a relay
/// that lost its lease mid-round stops there, instead of overwriting the next holder.
#[derive(Clone)]
pub struct HeldUntil(Arc<Mutex<Instant>>);

impl HeldUntil {
    fn from_now() -> Self {
        HeldUntil(Arc::new(Mutex::new(Instant::now() + LEASE_TTL - MARGIN)))
    }

    fn extend(&self, from: Instant) {
        *self.0.lock().expect("lease lock") = from + LEASE_TTL - MARGIN;
    }

    fn end(&self) {
        *self.0.lock().expect("lease lock") = Instant::now();
    }

    pub fn holds(&self) -> bool {
        Instant::now() < *self.0.lock().expect("lease lock")
    }

    /// An error to stop on when the lease is no longer certainly held.
    pub fn check(&self) -> Result<()> {
        if self.holds() {
            Ok(())
        } else {
            Err(EngineError::new(
                ErrorKind::Conflict,
                "this relay no longer certainly holds the lease: stopped before writing",
            ))
        }
    }
}

/// How long before the lease could expire the holder stops acting on it.
const MARGIN: Duration = Duration::from_secs(1);

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
                held_until: HeldUntil::from_now(),
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

    pub fn held_until(&self) -> HeldUntil {
        self.held_until.clone()
    }

    /// Extends the lease. A failed renewal is tried again until the lease could have
    /// expired (an R3 bucket electing a new leader takes a moment); an error means it is
    /// lost — taken by another relay, or unreachable for as long as it lasts — and the
    /// holder must stop.
    pub async fn renew(&mut self) -> Result<()> {
        loop {
            let sent = Instant::now();
            let answer = tokio::time::timeout(
                RENEW_EVERY,
                self.store.update(
                    LEASE_KEY,
                    self.holder.as_bytes().to_vec().into(),
                    self.revision,
                ),
            )
            .await;
            match answer {
                Ok(Ok(revision)) => {
                    self.revision = revision;
                    self.held_until.extend(sent);
                    return Ok(());
                }
                Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    self.held_until.end();
                    return Err(EngineError::new(
                        ErrorKind::Conflict,
                        "the relays' lease was taken by another relay",
                    ));
                }
                other => {
                    if !self.held_until.holds() {
                        self.held_until.end();
                        let why = match other {
                            Ok(Err(e)) => e.to_string(),
                            _ => "no answer".into(),
                        };
                        return Err(EngineError::new(
                            ErrorKind::Conflict,
                            format!("the relays' lease could not be renewed in time: {why}"),
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// Gives the lease up at once (a clean shutdown), so a standby need not wait for it
    /// to expire.
    pub async fn release(self) {
        self.held_until.end();
        if let Err(e) = self
            .store
            .purge_expect_revision(LEASE_KEY, Some(self.revision))
            .await
        {
            tracing::warn!(error = %e, "the relays' lease was not released; it expires by itself");
        }
    }
}
