//! The domain error as a gRPC status, mapped in this one place.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::domain::Error;

/// The gRPC code of each domain error; the REST face derives its HTTP status from this too.
pub fn code_of(e: &Error) -> Code {
    match e {
        Error::InvalidArgument(_) => Code::InvalidArgument,
        Error::Unauthenticated(_) | Error::BadSignature(..) => Code::Unauthenticated,
        Error::PermissionDenied(_) => Code::PermissionDenied,
        Error::NotFound(_) => Code::NotFound,
        Error::AlreadyExists(_) => Code::AlreadyExists,
        Error::ResourceExhausted(_) => Code::ResourceExhausted,
        Error::DeadlineExceeded => Code::DeadlineExceeded,
        Error::Unavailable(_) => Code::Unavailable,
        Error::Internal(_) => Code::Internal,
    }
}

/// Logs what the caller must not see: the cause of an unavailable database or of an internal
/// fault.
pub fn log_hidden_cause(e: &Error) {
    match e {
        Error::Unavailable(detail) => tracing::warn!(error = %detail, "database unavailable"),
        Error::Internal(detail) => tracing::error!(error = %detail, "internal error"),
        _ => {}
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        log_hidden_cause(&e);
        let message = e.to_string();
        let code = code_of(&e);
        match e {
            Error::InvalidArgument(violations) => Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request(
                    violations
                        .into_iter()
                        .map(|v| FieldViolation::new(v.field, v.description))
                        .collect::<Vec<_>>(),
                ),
            ),
            _ => Status::new(code, message),
        }
    }
}
