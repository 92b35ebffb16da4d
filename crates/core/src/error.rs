use serde::Serialize;

/// Errors of the core crate. Serializes as `{kind, message}` for the UI and CLI JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum Error {
    #[error("database error: {0}")]
    Database(String),
    #[error("the database schema could not be migrated: {0}")]
    Migration(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("keychain error: {0}")]
    Keychain(String),
    #[error("{0}")]
    Feed(#[from] crate::sync::FeedError),
    #[error("cancelled")]
    Cancelled,
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Error::NotFound("row".into()),
            other => Error::Database(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::Migration(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
