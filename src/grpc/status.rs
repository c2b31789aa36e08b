//! The domain error as a gRPC status, mapped in this one place.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::domain::Error;

/// The gRPC code of each domain error.
pub fn code_of(e: &Error) -> Code {
    match e {
        Error::InvalidArgument(_) => Code::InvalidArgument,
        Error::Unauthenticated(_) | Error::BadSignature(..) => Code::Unauthenticated,
        Error::PermissionDenied(_) => Code::PermissionDenied,
        Error::NotFound(_) => Code::NotFound,
        Error::AlreadyExists(_) => Code::AlreadyExists,
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
            _ => Status::new(code, message),
        }
    }
}
