use std::fmt;

/// One broken rule: which field, and what the rule is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Why a signed request was refused; the REST forms name each in their error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFault {
    /// The `Authorization` header is malformed, or a header that must be signed is not.
    Incomplete,
    /// No live access key has that id.
    UnknownKey,
    /// The signature is not the one the request and the key's secret give.
    Mismatch,
    /// The request's date is too far from the server's clock.
    TimeSkewed,
    /// The request's nonce was already used.
    NonceUsed,
    /// The server has no master key, so it can check no signature.
    NotEnabled,
}

/// The one error type of the service; the gRPC and REST faces each map it once.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{}", ViolationList(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{0}")]
    Unauthenticated(String),
    /// A signed request that does not verify; the fault names which check failed.
    #[error("{1}")]
    BadSignature(SignatureFault, String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// A conditional write whose resource is not at the expected revision (0: the resource does
    /// not exist); nothing was applied.
    #[error(
        "resource `{resource_id}` is at revision {current}, not the expected {expected}; nothing was changed"
    )]
    RevisionMismatch {
        resource_id: String,
        expected: i64,
        current: i64,
    },
    /// History asked for from before the oldest revision the change log keeps.
    #[error(
        "the changes after revision {after} were compacted; the oldest revision available is {oldest}: ask for changes after revision {} or later", oldest - 1
    )]
    Compacted { after: i64, oldest: i64 },
    /// The server is shutting down: a stream ends with this, and resumes on another server.
    #[error("{0}")]
    ShuttingDown(String),
    /// Too many calls are in flight; this one was shed before any work.
    #[error("{0}")]
    ResourceExhausted(String),
    /// The call's deadline passed before it finished; its work was abandoned.
    #[error("the deadline passed before the call finished")]
    DeadlineExceeded,
    /// A request over a size limit, which the message names; nothing of it was acted on.
    #[error("{0}")]
    TooLarge(String),
    /// The request's body did not arrive in time; nothing of it was acted on.
    #[error("{0}")]
    RequestTimeout(String),
    /// The database cannot be reached; the detail is for the log, never for the caller.
    #[error("the database is unavailable; retry later")]
    Unavailable(String),
    /// A fault of ours; the detail is for the log, never for the caller.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// The error as an operator reads it: with the cause that callers are not shown.
    pub fn for_operator(&self) -> String {
        match self {
            Self::Unavailable(detail) | Self::Internal(detail) => format!("{self}: {detail}"),
            other => other.to_string(),
        }
    }

    /// A short name of the kind of error, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "invalid_argument",
            Self::Unauthenticated(_) | Self::BadSignature(..) => "unauthenticated",
            Self::PermissionDenied(_) => "permission_denied",
            Self::NotFound(_) => "not_found",
            Self::AlreadyExists(_) => "already_exists",
            Self::RevisionMismatch { .. } => "revision_mismatch",
            Self::Compacted { .. } => "compacted",
            Self::ShuttingDown(_) => "shutting_down",
            Self::ResourceExhausted(_) => "resource_exhausted",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::RequestTimeout(_) => "request_timeout",
            Self::TooLarge(_) => "too_large",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

struct ViolationList<'a>(&'a [FieldViolation]);

impl fmt::Display for ViolationList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", v.field, v.description)?;
        }
        Ok(())
    }
}

/// Collects every broken rule of a request, so the caller learns all of them at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn an_operator_reads_the_cause_a_caller_is_not_shown() {
        let e = Error::Internal("prepared statement \"sqlx_s_1\" already exists".into());
        assert_eq!(e.to_string(), "internal error");
        assert!(
            e.for_operator().contains("sqlx_s_1"),
            "{}",
            e.for_operator()
        );
    }
}
