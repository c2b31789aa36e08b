//! What a store call can fail with, read from sqlx's errors at the store's boundary.

use crate::domain;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The statement outran the database's statement timeout and was cancelled.
    #[error("statement cancelled: {0}")]
    Timeout(String),
    #[error("name `{0}` is taken")]
    NameTaken(String),
    #[error("resource `{resource_id}` would carry {count} tags")]
    TooManyTags {
        resource_id: String,
        count: i64,
        max: usize,
    },
    /// A conditional write found its resource at another revision (0: it does not exist).
    #[error("resource `{resource_id}` is at revision {current}, not {expected}")]
    RevisionMismatch {
        resource_id: String,
        expected: i64,
        current: i64,
    },
    /// A read on behalf of a token recognised from memory found the token revoked.
    #[error("the token is no longer live")]
    TokenNotLive,
    #[error("database error: {0}")]
    Other(String),
}

impl From<StoreError> for domain::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
            StoreError::Timeout(_) => Self::DeadlineExceeded,
            StoreError::NameTaken(name) => Self::AlreadyExists(format!(
                "name `{name}` is already used by another resource of this type in this project"
            )),
            StoreError::TooManyTags {
                resource_id,
                count,
                max,
            } => Self::invalid(
                "tags",
                format!(
                    "a resource carries at most {max} tags; resource `{resource_id}` would carry {count}"
                ),
            ),
            StoreError::RevisionMismatch {
                resource_id,
                expected,
                current,
            } => Self::RevisionMismatch {
                resource_id,
                expected,
                current,
            },
            StoreError::TokenNotLive => Self::Unauthenticated("the token is not valid".into()),
            StoreError::Other(detail) => Self::Internal(detail),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
                Self::Unavailable(e.to_string())
            }
            E::Database(db) if db.code().is_some_and(|c| is_unavailable_code(&c)) => {
                Self::Unavailable(e.to_string())
            }
            // query_canceled: what the statement timeout does to a statement that runs too long.
            E::Database(db) if db.code().is_some_and(|c| c == "57014") => {
                Self::Timeout(e.to_string())
            }
            _ => Self::Other(e.to_string()),
        }
    }
}

/// Codes that mean "the database cannot serve now", as opposed to "this statement is wrong":
/// PostgreSQL's connection exceptions (08…), insufficient resources (53…), shutdown and start-up
/// (57P…), a database that refuses connections (55000) or is gone (3D000), rejected credentials
/// (28…), and SQLite's BUSY (5) and LOCKED (6) once the busy timeout has run out.
fn is_unavailable_code(code: &str) -> bool {
    ["08", "53", "57P", "28"]
        .iter()
        .any(|class| code.starts_with(class))
        || ["55000", "3D000", "5", "6"].contains(&code)
}

/// Reads a unique violation on `put_resource` as "that name is taken".
pub(super) fn name_taken(e: sqlx::Error, name: Option<&str>) -> StoreError {
    match (&e, name) {
        (sqlx::Error::Database(db), Some(name)) if db.is_unique_violation() => {
            StoreError::NameTaken(name.to_owned())
        }
        _ => e.into(),
    }
}
