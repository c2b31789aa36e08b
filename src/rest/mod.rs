//! The REST face, grpc-gateway style: each documented form (one file each) parses its HTTP request
//! into the API's request message, calls the same core as gRPC, and renders the answer and errors
//! in that form's documented shape. It is served on the gRPC port.

mod ack;
mod error;
mod request_line;
mod smn;

use std::{future::Future, sync::Arc, time::Instant};

use axum::{
    Extension, Router,
    body::Bytes,
    extract::{
        DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State, rejection::BytesRejection,
    },
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE},
        request::Parts,
    },
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use tracing::Instrument;

use error::query_too_long;
pub use error::{Form, RestError, http_status};
pub use request_line::LenientRequestLine;

use crate::{
    auth::{
        Authenticator, presented_token,
        signature::{self, SignedRequest},
        unix_now,
    },
    domain::{Access, Error, Principal},
    service::{Admission, TaggingCore, parse_grpc_timeout},
    telemetry::{Metrics, new_request_id, usable_request_id},
};

/// The OpenAPI document of every route below, committed beside the code.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Every route served, as (method, path template); the OpenAPI document must list exactly these.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/tags"),
    ("PUT", "/tags"),
    ("DELETE", "/tags"),
    ("GET", "/v2/{project_id}/{resource_type}/{resource_id}/tags"),
    (
        "POST",
        "/v2/{project_id}/{resource_type}/{resource_id}/tags",
    ),
    (
        "DELETE",
        "/v2/{project_id}/{resource_type}/{resource_id}/tags/{key}",
    ),
    (
        "POST",
        "/v2/{project_id}/{resource_type}/{resource_id}/tags/action",
    ),
    ("GET", "/v2/{project_id}/{resource_type}/tags"),
    (
        "POST",
        "/v2/{project_id}/{resource_type}/resource_instances/action",
    ),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
];

#[derive(Clone)]
pub struct RestState {
    core: Arc<TaggingCore>,
    auth: Arc<Authenticator>,
    metrics: Arc<Metrics>,
    admission: Admission,
    options: Arc<Options>,
}

/// Settings of the REST face alone.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub max_body_bytes: usize,
    /// The longest query string a form's route reads, in bytes as received.
    pub max_query_bytes: usize,
    /// The ACK form's `region_id`, when sent, must be this one.
    pub region_id: Option<String>,
}

/// The id of one REST request: the caller's `X-Request-Id` when it sends a usable one, else new.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

pub fn router(
    core: Arc<TaggingCore>,
    auth: Arc<Authenticator>,
    metrics: Arc<Metrics>,
    admission: Admission,
    options: Options,
) -> Router {
    let max_body_bytes = options.max_body_bytes;
    let state = RestState {
        core,
        auth,
        metrics,
        admission,
        options: Arc::new(options),
    };
    let signed = || middleware::from_fn_with_state(state.clone(), read_signature);
    // Inside the form's extension, so the refusal is in that form's shape, and before the
    // signature check, which would otherwise read the whole query first.
    let query_limit = || middleware::from_fn_with_state(state.clone(), limit_query);
    Router::new()
        .merge(
            ack::routes()
                .layer(signed())
                .route_layer(query_limit())
                .layer(Extension(Form::Ack)),
        )
        .merge(
            smn::routes()
                .layer(signed())
                .route_layer(query_limit())
                .layer(Extension(Form::Smn)),
        )
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics_text))
        .route_layer(middleware::from_fn_with_state(state.clone(), count_call))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Prometheus' text exposition; unauthenticated, like most scrape targets, and free of tenant data.
async fn metrics_text(State(state): State<RestState>) -> impl IntoResponse {
    let text = state.metrics.render(state.core.pool_stats());
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}

/// Counts each routed call by its route template and status.
async fn count_call(
    State(state): State<RestState>,
    route: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = format!("{} {}", request.method(), route.as_str());
    let response = next.run(request).await;
    state.metrics.observe(
        "rest",
        &method,
        response.status().as_str(),
        started.elapsed(),
    );
    response
}

/// Refuses an over-long query string before a handler parses it (ACK's carries JSON).
async fn limit_query(
    State(state): State<RestState>,
    Extension(form): Extension<Form>,
    Extension(id): Extension<RequestId>,
    request: Request,
    next: Next,
) -> Response {
    let max = state.options.max_query_bytes;
    let got = request.uri().query().map_or(0, str::len);
    if got > max {
        return query_too_long(form, &id, max, got);
    }
    next.run(request).await
}

/// Unknown routes: a gRPC caller gets gRPC's UNIMPLEMENTED, anyone else a JSON 404.
async fn fallback(Extension(id): Extension<RequestId>, request: Request) -> Response {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/grpc") {
        return tonic::Status::unimplemented(format!("no method {}", request.uri().path()))
            .into_http::<axum::body::Body>()
            .into_response();
    }
    route_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &id,
        &request,
        "no route for",
    )
}

/// A known path asked with another method.
async fn method_not_allowed(Extension(id): Extension<RequestId>, request: Request) -> Response {
    let status = StatusCode::METHOD_NOT_ALLOWED;
    route_error(
        status,
        "MethodNotAllowed",
        &id,
        &request,
        "no such method for",
    )
}

fn route_error(
    status: StatusCode,
    code: &str,
    id: &RequestId,
    request: &Request,
    what: &str,
) -> Response {
    let body = RouteError {
        request_id: &id.0,
        request_id_camel: &id.0,
        code,
        message: format!("{what} {} {}", request.method(), request.uri().path()),
    };
    (status, axum::Json(body)).into_response()
}

#[derive(serde::Serialize)]
struct RouteError<'a> {
    request_id: &'a str,
    /// Where ACK's SDK reads the request id; a stray path may come from it.
    #[serde(rename = "requestId")]
    request_id_camel: &'a str,
    code: &'a str,
    message: String,
}

/// Gives every request an id, echoes it in `X-Request-Id`, and logs one line per request with it.
async fn request_id(mut request: Request, next: Next) -> Response {
    let sent = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    let id: Arc<str> = usable_request_id(sent)
        .unwrap_or_else(new_request_id)
        .into();
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("rest", request_id = %id, method = %request.method(), path = %request.uri().path(), project = tracing::field::Empty);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let header = HeaderValue::from_str(&id).expect("request ids are visible ASCII");
    response.headers_mut().insert("x-request-id", header);
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    });
    response
}

/// A signed request as far as it could be checked without the key; [`Call::run`] finishes it.
#[derive(Clone)]
struct Signed(Arc<Result<SignedRequest, Error>>);

/// The signature covers the body, so a signed request's body is read here, once, and handed on.
async fn read_signature(
    State(state): State<RestState>,
    Extension(form): Extension<Form>,
    Extension(request_id): Extension<RequestId>,
    request: Request,
    next: Next,
) -> Response {
    let signed = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(signature::scheme_of)
        .is_some();
    if !signed || !state.auth.enabled() {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let limit = state.options.max_body_bytes;
    let Ok(body) = axum::body::to_bytes(body, limit).await else {
        let error = Error::invalid("body", format!("must be at most {limit} bytes"));
        return RestError {
            form,
            request_id,
            error,
        }
        .into_response();
    };
    let received = signature::Received {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
    };
    if let Some(inspected) = signature::inspect(&received, unix_now()) {
        parts.extensions.insert(Signed(Arc::new(inspected)));
    }
    next.run(Request::from_parts(parts, body.into())).await
}

/// What every handler starts from: the core, the form, the request id and the headers.
pub struct Call {
    state: RestState,
    form: Form,
    request_id: RequestId,
    headers: HeaderMap,
    signed: Option<Signed>,
}

impl FromRequestParts<RestState> for Call {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &RestState) -> Result<Self, StatusCode> {
        let form = parts
            .extensions
            .get::<Form>()
            .copied()
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)?;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)?;
        Ok(Self {
            state: state.clone(),
            form,
            request_id,
            headers: parts.headers.clone(),
            signed: parts.extensions.get::<Signed>().cloned(),
        })
    }
}

impl Call {
    /// A header as UTF-8 text. One that is not UTF-8 reads as U+FFFD rather than as absent, so
    /// it is refused or matches nothing instead of being silently ignored.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| std::str::from_utf8(v.as_bytes()).unwrap_or("\u{FFFD}"))
    }

    fn region(&self) -> Region {
        Region(self.state.options.region_id.clone())
    }

    /// Authenticates the caller, runs `op`, and renders its error in the form's shape.
    async fn run<T, F, Fut>(self, access: Access, op: F) -> Result<T, RestError>
    where
        F: FnOnce(Principal, Arc<TaggingCore>) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let requested = self.header("grpc-timeout").and_then(parse_grpc_timeout);
        let work = async {
            let caller = match &self.signed {
                // `Authorization` holds the signature; a token may come beside it in X-Auth-Token.
                Some(Signed(signed)) => {
                    let signed = signed.as_ref().as_ref().map_err(Clone::clone)?;
                    let token = self.header("x-auth-token");
                    self.state
                        .auth
                        .authenticate_signed(signed, token, access)
                        .await?
                }
                None => {
                    let token =
                        presented_token(self.header("authorization"), self.header("x-auth-token"));
                    self.state.auth.authenticate(token, access).await?
                }
            };
            let unconfirmed = caller.unconfirmed_token.clone();
            let result = op(caller, self.state.core.clone()).await;
            self.state
                .auth
                .forget_if_refused(unconfirmed.as_deref(), &result);
            result
        };
        let result = self.state.admission.run(requested, work).await;
        result.map_err(|error| {
            self.state.metrics.error(error.kind());
            RestError {
                form: self.form,
                request_id: self.request_id,
                error,
            }
        })
    }
}

/// The region this service stands for, if one is configured.
struct Region(Option<String>);

impl Region {
    /// A `region_id` the caller sent must be ours; an empty one says nothing.
    fn check(&self, sent: &str) -> Result<(), Error> {
        match &self.0 {
            Some(ours) if !sent.is_empty() && sent != ours => Err(Error::invalid(
                "region_id",
                format!("must be `{ours}`, the region of this service"),
            )),
            _ => Ok(()),
        }
    }
}

/// Parses a JSON request body; an unreadable or oversized one is a 400 that names the body.
fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, Error> {
    let body = body.map_err(|e| Error::invalid("body", e.body_text()))?;
    serde_json::from_slice(&body).map_err(|e| {
        Error::invalid(
            "body",
            format!("must be a JSON object of the documented shape: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_is_grpc_gateways() {
        use tonic::Code;
        let table = [
            (Code::InvalidArgument, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::Aborted, 409),
            (Code::ResourceExhausted, 429),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
            (Code::Internal, 500),
            (Code::Unknown, 500),
        ];
        for (code, status) in table {
            assert_eq!(http_status(code).as_u16(), status, "{code:?}");
        }
    }
}
