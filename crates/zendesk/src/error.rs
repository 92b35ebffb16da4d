use baton_core::sync::FeedError;
use serde::Serialize;

/// Errors talking to Zendesk. Messages never contain credentials: they name the host
/// and the endpoint, not the request.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ZendeskError {
    #[error("Zendesk rejected the credentials for {account} (HTTP {status})")]
    Auth { account: String, status: u16 },
    #[error("{host} is unreachable: {reason}")]
    Unreachable {
        host: String,
        reason: String,
        /// No connection was made: the request never left this machine.
        connect_failed: bool,
    },
    #[error("Zendesk is rate-limiting {endpoint}; retry in {retry_after_secs} s")]
    RateLimited {
        endpoint: String,
        retry_after_secs: u64,
    },
    #[error("Zendesk answered {status} to {endpoint}")]
    Server { endpoint: String, status: u16 },
    #[error("{endpoint}: not found")]
    NotFound { endpoint: String },
    #[error("the ticket changed since it was read (updated {current_updated_at})")]
    Conflict { current_updated_at: String },
    #[error("{endpoint}: unexpected response: {reason}")]
    Invalid { endpoint: String, reason: String },
    /// Not retried: the same request would bring the same oversized answer.
    #[error("{endpoint}: the answer is larger than {limit_bytes} bytes; refused")]
    TooLarge { endpoint: String, limit_bytes: u64 },
    #[error("Zendesk refused the request to {endpoint} ({status}): {reason}")]
    Rejected {
        endpoint: String,
        status: u16,
        reason: String,
    },
    /// What the user gave cannot work (a URL, an id, a token for someone else); the
    /// message says what to fix.
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// Checking a Sunshine Conversations key: what the app answered, about which app.
    #[error("Sunshine Conversations app {app_id:?} with key {key_id:?}: {source}")]
    Sunco {
        app_id: String,
        key_id: String,
        source: Box<ZendeskError>,
    },
    /// This machine's side failed (the cache, the keychain), not Zendesk.
    #[error(transparent)]
    Local(#[from] baton_core::Error),
}

impl ZendeskError {
    pub(crate) fn input(reason: impl Into<String>) -> Self {
        ZendeskError::InvalidInput {
            reason: reason.into(),
        }
    }
}

impl ZendeskError {
    /// Zendesk certainly did not act on the request: it was never sent, or refused
    /// before any work (a rate limit, maintenance). A write that failed so can be
    /// cancelled, and needs no look on the ticket before it is tried again.
    pub fn not_acted_on(&self) -> bool {
        matches!(
            self,
            ZendeskError::Unreachable {
                connect_failed: true,
                ..
            } | ZendeskError::RateLimited { .. }
                | ZendeskError::Server { status: 503, .. }
        )
    }

    /// Worth trying the same request again after a pause.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ZendeskError::Unreachable { .. }
                | ZendeskError::Server { .. }
                | ZendeskError::Invalid { .. }
                | ZendeskError::RateLimited { .. }
        )
    }
}

impl From<ZendeskError> for FeedError {
    fn from(e: ZendeskError) -> Self {
        let message = e.to_string();
        match e {
            ZendeskError::Auth { .. } => FeedError::Auth { message },
            ZendeskError::Unreachable { .. } => FeedError::Unreachable { message },
            ZendeskError::RateLimited {
                retry_after_secs, ..
            } => FeedError::RateLimited {
                message,
                retry_after_secs,
            },
            ZendeskError::Server { .. } => FeedError::Server { message },
            _ => FeedError::Invalid { message },
        }
    }
}
