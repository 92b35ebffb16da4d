use baton_core::sync::FeedError;
use baton_salesforce::SalesforceError;
use baton_zendesk::error::ZendeskError;
use serde::Serialize;

/// What went wrong, as the hosts tell it: a stable `kind` the UI and scripts switch on,
/// and a message a person can act on. Vendor errors keep their meaning across the crate
/// boundary: a rejected token is `auth`, an outage `unreachable`, a local database failure
/// `storage` (never "an unexpected response" from the vendor).
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, ts_rs::TS)]
#[error("{message}")]
pub struct EngineError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The vendor refused the credentials.
    Auth,
    /// The vendor cannot be reached (offline, DNS, the connection broke).
    Unreachable,
    /// The vendor answered with a server error (5xx): it is there, but failing.
    Unavailable,
    /// The vendor asks to wait.
    RateLimited,
    /// The conversation changed since it was read.
    Conflict,
    NotFound,
    /// What was given cannot work; the message says what to fix.
    InvalidInput,
    /// The vendor answered something Baton cannot use.
    Vendor,
    /// This machine's cache failed.
    Storage,
    /// The OS keychain failed.
    Keychain,
    Cancelled,
}

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl From<FeedError> for EngineError {
    fn from(e: FeedError) -> Self {
        let kind = match &e {
            FeedError::Auth { .. } => ErrorKind::Auth,
            FeedError::Unreachable { .. } => ErrorKind::Unreachable,
            FeedError::Server { .. } => ErrorKind::Unavailable,
            FeedError::RateLimited { .. } => ErrorKind::RateLimited,
            FeedError::Invalid { .. } | FeedError::Unreadable { .. } => ErrorKind::Vendor,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<baton_core::Error> for EngineError {
    fn from(e: baton_core::Error) -> Self {
        use baton_core::Error as E;
        let kind = match &e {
            E::Database(_) | E::Migration(_) => ErrorKind::Storage,
            E::NotFound(_) => ErrorKind::NotFound,
            E::Invalid(_) => ErrorKind::InvalidInput,
            E::Keychain(_) => ErrorKind::Keychain,
            E::Cancelled => ErrorKind::Cancelled,
            E::Feed(f) => return f.clone().into(),
        };
        Self::new(kind, e.to_string())
    }
}

impl From<ZendeskError> for EngineError {
    fn from(e: ZendeskError) -> Self {
        let kind = match &e {
            ZendeskError::Auth { .. } => ErrorKind::Auth,
            ZendeskError::Unreachable { .. } => ErrorKind::Unreachable,
            ZendeskError::Server { .. } => ErrorKind::Unavailable,
            ZendeskError::RateLimited { .. } => ErrorKind::RateLimited,
            ZendeskError::NotFound { .. } => ErrorKind::NotFound,
            ZendeskError::Conflict { .. } => ErrorKind::Conflict,
            ZendeskError::Invalid { .. }
            | ZendeskError::TooLarge { .. }
            | ZendeskError::Rejected { .. } => ErrorKind::Vendor,
            ZendeskError::InvalidInput { .. } => ErrorKind::InvalidInput,
            ZendeskError::Sunco { source, .. } => {
                return Self::new(EngineError::from((**source).clone()).kind, e.to_string())
            }
            ZendeskError::Local(local) => return local.clone().into(),
        };
        Self::new(kind, e.to_string())
    }
}

impl From<SalesforceError> for EngineError {
    fn from(e: SalesforceError) -> Self {
        let kind = match &e {
            SalesforceError::Auth { .. } | SalesforceError::SessionExpired { .. } => {
                ErrorKind::Auth
            }
            // The user lacks a permission, or the API is off for the org: as Zendesk's 403,
            // the credentials cannot do this, and someone at the org must change that.
            SalesforceError::Forbidden { .. } => ErrorKind::Auth,
            SalesforceError::Unreachable { .. } => ErrorKind::Unreachable,
            SalesforceError::Server { .. } => ErrorKind::Unavailable,
            SalesforceError::RateLimited { .. } => ErrorKind::RateLimited,
            SalesforceError::NotFound { .. } => ErrorKind::NotFound,
            SalesforceError::MalformedQuery { .. }
            | SalesforceError::InvalidField { .. }
            | SalesforceError::Rejected { .. }
            | SalesforceError::Invalid { .. }
            | SalesforceError::TooLarge { .. } => ErrorKind::Vendor,
            SalesforceError::InvalidInput { .. } => ErrorKind::InvalidInput,
            SalesforceError::Local(local) => return local.clone().into(),
        };
        Self::new(kind, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_keeps_its_kind_across_the_boundary() {
        let auth = ZendeskError::Auth {
            account: "acme".into(),
            status: 401,
        };
        let down = ZendeskError::Unreachable {
            host: "acme.zendesk.com".into(),
            reason: "connection refused or failed".into(),
            connect_failed: true,
        };
        let limited = ZendeskError::RateLimited {
            endpoint: "GET /api/v2/users/me".into(),
            retry_after_secs: 30,
        };
        let local = ZendeskError::Local(baton_core::Error::Database("disk I/O error".into()));
        let failing = ZendeskError::Server {
            endpoint: "GET /api/v2/users/me".into(),
            status: 502,
        };
        let kinds: Vec<ErrorKind> = [auth.clone(), down, limited, local, failing]
            .into_iter()
            .map(|e| EngineError::from(e).kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ErrorKind::Auth,
                ErrorKind::Unreachable,
                ErrorKind::RateLimited,
                ErrorKind::Storage,
                ErrorKind::Unavailable
            ]
        );
        let sunco = ZendeskError::Sunco {
            app_id: "a".into(),
            key_id: "k".into(),
            source: Box::new(auth),
        };
        assert_eq!(EngineError::from(sunco).kind, ErrorKind::Auth);
        let json = serde_json::to_value(EngineError::invalid("no")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "kind": "invalid_input", "message": "no" })
        );
    }

    #[test]
    fn salesforce_failures_keep_their_kind_too() {
        let endpoint = || "GET /services/data/v62.0/query".to_string();
        let cases = [
            (
                SalesforceError::Auth {
                    account: "acme".into(),
                    reason: "the connected app is not approved".into(),
                },
                ErrorKind::Auth,
            ),
            (
                SalesforceError::SessionExpired {
                    account: "acme".into(),
                    message: "INVALID_SESSION_ID".into(),
                },
                ErrorKind::Auth,
            ),
            (
                SalesforceError::Forbidden {
                    endpoint: endpoint(),
                    code: "API_DISABLED_FOR_ORG".into(),
                    message: "API is not enabled".into(),
                },
                ErrorKind::Auth,
            ),
            (
                SalesforceError::Unreachable {
                    host: "acme.my.salesforce.com".into(),
                    reason: "connection refused".into(),
                    connect_failed: true,
                },
                ErrorKind::Unreachable,
            ),
            (
                SalesforceError::Server {
                    endpoint: endpoint(),
                    status: 503,
                },
                ErrorKind::Unavailable,
            ),
            (
                SalesforceError::RateLimited {
                    endpoint: endpoint(),
                    reason: "REQUEST_LIMIT_EXCEEDED".into(),
                    retry_after_secs: 600,
                },
                ErrorKind::RateLimited,
            ),
            (
                SalesforceError::InvalidField {
                    endpoint: endpoint(),
                    field: Some("Chat_Consumer_Type__c".into()),
                    message: "No such column".into(),
                },
                ErrorKind::Vendor,
            ),
            (
                SalesforceError::InvalidInput {
                    reason: "no consumer key".into(),
                },
                ErrorKind::InvalidInput,
            ),
            (
                SalesforceError::Local(baton_core::Error::Keychain("locked".into())),
                ErrorKind::Keychain,
            ),
        ];
        for (e, kind) in cases {
            let said = e.to_string();
            let got = EngineError::from(e);
            assert_eq!(got.kind, kind, "{said}");
            assert_eq!(got.message, said, "the crate's sentence is kept");
        }
    }
}
