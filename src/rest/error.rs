//! The domain error as each documented REST form's error body, mapped in this one place.
//!
//! The HTTP status follows grpc-gateway v2's table (runtime/errors.go) from the gRPC code each
//! error stands for, except where a seed documents otherwise: SMN's table has no 401 and answers a
//! missing or bad token with 403.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::RequestId;
use crate::domain::{Error, SignatureFault};

/// Which documented form answers, and so which error codes it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Ack,
    Smn,
}

/// A failed REST call: the domain error, rendered in its form's shape with the request id.
pub struct RestError {
    pub form: Form,
    pub request_id: RequestId,
    pub error: Error,
}

#[derive(Serialize)]
struct Body<'a> {
    request_id: &'a str,
    code: &'a str,
    message: String,
    /// ACK's SDK reads the request id of an error from `requestId`.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    request_id_camel: Option<&'a str>,
}

/// The HTTP status a form answers for `e`.
pub fn status_of(form: Form, e: &Error) -> StatusCode {
    match e {
        Error::InvalidArgument(_) => StatusCode::BAD_REQUEST,
        Error::Unauthenticated(_) | Error::BadSignature(..) => match form {
            Form::Ack => StatusCode::UNAUTHORIZED,
            Form::Smn => StatusCode::FORBIDDEN,
        },
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::AlreadyExists(_) => StatusCode::CONFLICT,
        Error::RevisionMismatch { .. } => StatusCode::PRECONDITION_FAILED,
        Error::Compacted { .. } => StatusCode::GONE,
        Error::ShuttingDown(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::ResourceExhausted(_) => StatusCode::TOO_MANY_REQUESTS,
        Error::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Error::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
        Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The stable error code of each kind of error, per form (tabulated in docs/rest-compat.md, "Errors").
fn error_code(form: Form, e: &Error) -> &'static str {
    let (ack, smn) = match e {
        Error::InvalidArgument(_) => ("InvalidParameter", "SMN.00010400"),
        Error::Unauthenticated(_) => ("Unauthorized", "SMN.00010401"),
        Error::BadSignature(fault, _) => return signature_code(*fault),
        Error::PermissionDenied(_) => ("Forbidden", "SMN.00010403"),
        Error::NotFound(_) => ("ResourceNotFound", "SMN.00010404"),
        Error::AlreadyExists(_) => ("Conflict", "SMN.00010409"),
        Error::RevisionMismatch { .. } => ("PreconditionFailed", "SMN.00010412"),
        Error::Compacted { .. } => ("Gone", "SMN.00010410"),
        Error::ShuttingDown(_) => ("ServiceUnavailable", "SMN.00010503"),
        Error::ResourceExhausted(_) => ("Throttling", "SMN.00010429"),
        Error::DeadlineExceeded => ("GatewayTimeout", "SMN.00010504"),
        Error::RequestTimeout(_) => ("RequestTimeout", "SMN.00010408"),
        Error::TooLarge(_) => ("RequestEntityTooLarge", "SMN.00010413"),
        Error::Unavailable(_) => ("ServiceUnavailable", "SMN.00010503"),
        Error::Internal(_) => ("InternalError", "SMN.00010500"),
    };
    match form {
        Form::Ack => ack,
        Form::Smn => smn,
    }
}

/// The clouds' own names for a failed signature check, so an SDK's exception says which failed.
fn signature_code(fault: SignatureFault) -> &'static str {
    match fault {
        SignatureFault::Incomplete => "IncompleteSignature",
        SignatureFault::UnknownKey => "InvalidAccessKeyId.NotFound",
        SignatureFault::Mismatch => "SignatureDoesNotMatch",
        SignatureFault::TimeSkewed => "RequestTimeTooSkewed",
        SignatureFault::NonceUsed => "SignatureNonceUsed",
        SignatureFault::NotEnabled => "SignatureNotEnabled",
    }
}

/// A request target whose query string is over `--max-query-bytes`: HTTP's own 414, in the form's
/// error shape. It stands for no domain error: it is refused before any call begins.
pub fn query_too_long(form: Form, request_id: &RequestId, max: usize, got: usize) -> Response {
    let body = Body {
        request_id: &request_id.0,
        code: match form {
            Form::Ack => "URITooLong",
            Form::Smn => "SMN.00010414",
        },
        message: format!("query string: must be at most {max} bytes (percent-encoded), got {got}"),
        request_id_camel: (form == Form::Ack).then_some(&*request_id.0),
    };
    (StatusCode::URI_TOO_LONG, Json(body)).into_response()
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let status = status_of(self.form, &self.error);
        let body = Body {
            request_id: &self.request_id.0,
            code: error_code(self.form, &self.error),
            message: self.error.to_string(),
            request_id_camel: (self.form == Form::Ack).then_some(&*self.request_id.0),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// grpc-gateway v2's status for the gRPC code each error stands for.
    #[test]
    fn statuses_are_grpc_gateways_but_smns_403() {
        let table = [
            (Error::invalid("f", "r"), 400),
            (Error::Unauthenticated(String::new()), 401),
            (Error::PermissionDenied(String::new()), 403),
            (Error::NotFound(String::new()), 404),
            (Error::AlreadyExists(String::new()), 409),
            (Error::ResourceExhausted(String::new()), 429),
            (Error::Unavailable(String::new()), 503),
            (Error::DeadlineExceeded, 504),
            (Error::RequestTimeout(String::new()), 408),
            (Error::TooLarge(String::new()), 413),
            (Error::Internal(String::new()), 500),
        ];
        for (e, status) in table {
            assert_eq!(status_of(Form::Ack, &e).as_u16(), status, "{e:?}");
            let smn = if status == 401 { 403 } else { status };
            assert_eq!(status_of(Form::Smn, &e).as_u16(), smn, "{e:?}");
        }
    }
}
