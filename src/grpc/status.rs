//! The domain error as a gRPC status, mapped in this one place.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::domain::Error;

/// The `reason` and `domain` of the `google.rpc.ErrorInfo` a failed conditional write carries.
pub const REVISION_MISMATCH: &str = "REVISION_MISMATCH";
/// The `reason` of the `google.rpc.ErrorInfo` of history asked for from before the oldest kept.
pub const REVISION_COMPACTED: &str = "REVISION_COMPACTED";
pub const ERROR_DOMAIN: &str = "tagging.v1";

/// The gRPC code of each domain error.
pub fn code_of(e: &Error) -> Code {
    match e {
        Error::InvalidArgument(_) => Code::InvalidArgument,
        Error::Unauthenticated(_) | Error::BadSignature(..) => Code::Unauthenticated,
        Error::PermissionDenied(_) => Code::PermissionDenied,
        Error::NotFound(_) => Code::NotFound,
        Error::AlreadyExists(_) => Code::AlreadyExists,
        Error::RevisionMismatch { .. } => Code::Aborted,
        Error::Compacted { .. } => Code::OutOfRange,
        Error::ShuttingDown(_) => Code::Unavailable,
        Error::ResourceExhausted(_) | Error::TooLarge(_) => Code::ResourceExhausted,
        Error::DeadlineExceeded | Error::RequestTimeout(_) => Code::DeadlineExceeded,
        Error::Unavailable(_) => Code::Unavailable,
        Error::Internal(_) => Code::Internal,
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
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
            Error::RevisionMismatch {
                resource_id,
                current,
                ..
            } => Status::with_error_details(
                code,
                message,
                ErrorDetails::with_error_info(
                    REVISION_MISMATCH,
                    ERROR_DOMAIN,
                    [
                        ("resource_id".to_owned(), resource_id),
                        ("current_revision".to_owned(), current.to_string()),
                    ],
                ),
            ),
            Error::Compacted { oldest, .. } => Status::with_error_details(
                code,
                message,
                ErrorDetails::with_error_info(
                    REVISION_COMPACTED,
                    ERROR_DOMAIN,
                    [("oldest_revision".to_owned(), oldest.to_string())],
                ),
            ),
            _ => Status::new(code, message),
        }
    }
}
