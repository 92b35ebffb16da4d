use baton_core::sync::FeedError;
use serde::Serialize;

/// Errors talking to Salesforce. Messages never contain credentials (no private key,
/// assertion, access or refresh token): they name the host, the endpoint and what
/// Salesforce said, and for a refused login what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SalesforceError {
    /// The org would not give a session: the sentence says what to fix (the consumer
    /// not approved, the wrong audience, this machine's clock, the key...).
    #[error("Salesforce refused to sign in {account}: {reason}")]
    Auth { account: String, reason: String },
    /// `INVALID_SESSION_ID`: the access token expired or was revoked. The client signs
    /// in again once and retries once; this reaches a caller only when that failed too.
    #[error("Salesforce ended the session for {account} and refused a new one ({message})")]
    SessionExpired { account: String, message: String },
    #[error("{host} is unreachable: {reason}")]
    Unreachable {
        host: String,
        reason: String,
        /// No connection was made: the request never left this machine.
        connect_failed: bool,
    },
    /// `REQUEST_LIMIT_EXCEEDED`, Connect's hourly limit (503 on `/connect/`), or a 429.
    #[error("Salesforce is limiting {endpoint}: {reason}; retry in {retry_after_secs} s")]
    RateLimited {
        endpoint: String,
        reason: String,
        retry_after_secs: u64,
    },
    /// `MALFORMED_QUERY`: a SOQL statement Salesforce could not parse.
    #[error("Salesforce could not parse the query sent to {endpoint}: {message}")]
    MalformedQuery { endpoint: String, message: String },
    /// `INVALID_FIELD`: a field the org does not have (a routing attribute's API name
    /// that is misspelt, a field this user may not see, an API version too old).
    #[error("{endpoint}: the org has no field {}: {message}", field.as_deref().unwrap_or("(unnamed)"))]
    InvalidField {
        endpoint: String,
        /// The field's API name, when Salesforce's message names it.
        field: Option<String>,
        message: String,
    },
    #[error("{endpoint}: not found")]
    NotFound { endpoint: String },
    /// 403 other than a limit: the user lacks a permission, the API is off for the org.
    #[error("Salesforce does not let this user use {endpoint} ({code}): {message}")]
    Forbidden {
        endpoint: String,
        code: String,
        message: String,
    },
    #[error("Salesforce answered {status} to {endpoint}")]
    Server { endpoint: String, status: u16 },
    /// Any other error code from the error array.
    #[error("Salesforce refused the request to {endpoint} ({status} {code}): {message}")]
    Rejected {
        endpoint: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{endpoint}: unexpected response: {reason}")]
    Invalid { endpoint: String, reason: String },
    /// Not retried: the same request would bring the same oversized answer.
    #[error("{endpoint}: the answer is larger than {limit_bytes} bytes; refused")]
    TooLarge { endpoint: String, limit_bytes: u64 },
    /// What the user gave cannot work (a URL, a field name, a key that is no RSA key);
    /// the message says what to fix.
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// This machine's side failed (the keychain, the cache), not Salesforce.
    #[error(transparent)]
    Local(#[from] baton_core::Error),
}

impl SalesforceError {
    pub(crate) fn input(reason: impl Into<String>) -> Self {
        SalesforceError::InvalidInput {
            reason: reason.into(),
        }
    }

    /// Worth trying the same request again after a short pause.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SalesforceError::Unreachable { .. }
                | SalesforceError::Server { .. }
                | SalesforceError::Invalid { .. }
        )
    }
}

impl From<SalesforceError> for FeedError {
    fn from(e: SalesforceError) -> Self {
        let message = e.to_string();
        match e {
            SalesforceError::Auth { .. } | SalesforceError::SessionExpired { .. } => {
                FeedError::Auth { message }
            }
            SalesforceError::Unreachable { .. } => FeedError::Unreachable { message },
            SalesforceError::RateLimited {
                retry_after_secs, ..
            } => FeedError::RateLimited {
                message,
                retry_after_secs,
            },
            SalesforceError::Server { .. } => FeedError::Server { message },
            _ => FeedError::Invalid { message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_errors_keep_the_kind_a_rep_can_act_on() {
        let e: FeedError = SalesforceError::Auth {
            account: "acme".into(),
            reason: "the audience is wrong".into(),
        }
        .into();
        assert!(matches!(e, FeedError::Auth { ref message } if message.contains("audience")));
        let e: FeedError = SalesforceError::RateLimited {
            endpoint: "GET /services/data/v62.0/query".into(),
            reason: "daily allocation used up".into(),
            retry_after_secs: 600,
        }
        .into();
        assert!(matches!(
            e,
            FeedError::RateLimited {
                retry_after_secs: 600,
                ..
            }
        ));
        let e: FeedError = SalesforceError::InvalidField {
            endpoint: "q".into(),
            field: Some("Chat_Consumer_Type__c".into()),
            message: "No such column".into(),
        }
        .into();
        assert!(
            matches!(e, FeedError::Invalid { ref message } if message.contains("Chat_Consumer_Type__c"))
        );
    }
}
