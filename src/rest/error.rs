//! The domain error as each documented REST form's error body, mapped in this one place.
//!
//! The HTTP status follows grpc-gateway v2's table from the gRPC code, except where a seed documents
//! otherwise: SMN's table has no 401 and answers a missing or bad token with 403.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tonic::Code;

use super::RequestId;
use crate::{
    domain::Error,
    grpc::{code_of, log_hidden_cause},
};

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

/// grpc-gateway v2's mapping (runtime/errors.go).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status"),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The stable error code of each status class, per form (tabulated in the README).
fn error_code(form: Form, code: Code) -> &'static str {
    match (form, code) {
        (Form::Ack, Code::InvalidArgument) => "InvalidParameter",
        (Form::Ack, Code::Unauthenticated) => "Unauthorized",
        (Form::Ack, Code::PermissionDenied) => "Forbidden",
        (Form::Ack, Code::NotFound) => "ResourceNotFound",
        (Form::Ack, Code::AlreadyExists) => "Conflict",
        (Form::Ack, Code::Unavailable) => "ServiceUnavailable",
        (Form::Ack, Code::DeadlineExceeded) => "GatewayTimeout",
        (Form::Ack, Code::ResourceExhausted) => "Throttling",
        (Form::Ack, _) => "InternalError",
        (Form::Smn, Code::InvalidArgument) => "SMN.00010400",
        (Form::Smn, Code::Unauthenticated) => "SMN.00010401",
        (Form::Smn, Code::PermissionDenied) => "SMN.00010403",
        (Form::Smn, Code::NotFound) => "SMN.00010404",
        (Form::Smn, Code::AlreadyExists) => "SMN.00010409",
        (Form::Smn, Code::Unavailable) => "SMN.00010503",
        (Form::Smn, Code::DeadlineExceeded) => "SMN.00010504",
        (Form::Smn, Code::ResourceExhausted) => "SMN.00010429",
        (Form::Smn, _) => "SMN.00010500",
    }
}

/// A request target whose query string is over `--max-query-bytes`: HTTP's own 414, in the form's
/// error shape. It has no gRPC code: it is refused before any call begins.
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
        log_hidden_cause(&self.error);
        let code = code_of(&self.error);
        let status = match (self.form, code) {
            (Form::Smn, Code::Unauthenticated) => StatusCode::FORBIDDEN,
            _ => http_status(code),
        };
        let body = Body {
            request_id: &self.request_id.0,
            code: match &self.error {
                Error::BadSignature(fault, _) => fault.code(),
                _ => error_code(self.form, code),
            },
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
