//! The REST face, grpc-gateway style: each documented form (one file each) parses its HTTP request
//! into an operation's request, makes one call through the service's pipeline, and renders the
//! answer and errors in that form's documented shape. It is served on the gRPC port.

mod ack;
mod body_limits;
mod call;
mod error;
mod middleware;
mod params;
mod request_line;
mod routes;
mod smn;

use std::sync::Arc;

use axum::{
    Extension, Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderValue, StatusCode, header::CONTENT_TYPE},
    middleware::from_fn_with_state,
    response::{IntoResponse, Response},
};

pub use call::Call;
pub use error::{Form, RestError, status_of};
pub use request_line::LenientRequestLine;
pub use routes::{ROUTES, Route};

use crate::service::Pipeline;

/// The OpenAPI document of every route in [`ROUTES`], committed beside the code.
pub const OPENAPI: &str = include_str!("../../openapi.json");

#[derive(Clone)]
pub struct RestState {
    pipeline: Arc<Pipeline>,
    options: Arc<Options>,
}

/// Settings of the REST face alone.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub max_body_bytes: usize,
    /// How long a request's body may take to arrive, from its headers on.
    pub body_timeout: std::time::Duration,
    /// The longest query string a form's route reads, in bytes as received.
    pub max_query_bytes: usize,
    /// The ACK form's `region_id`, when sent, must be this one.
    pub region_id: Option<String>,
}

/// The id of one REST request: the caller's `X-Request-Id` when it sends a usable one, else new.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

pub fn router(pipeline: Arc<Pipeline>, options: Options) -> Router {
    let max_body_bytes = options.max_body_bytes;
    let state = RestState {
        pipeline,
        options: Arc::new(options),
    };
    let mut router = Router::new();
    for form in [Form::Ack, Form::Smn] {
        let routes = ROUTES.iter().filter(|r| r.form == Some(form));
        let served = routes.fold(Router::new(), |router, route| route.mount(router));
        // Inside the form's extension, so a refusal is in that form's shape; the query limit goes
        // before the signature check, which would otherwise read the whole query first.
        router = router.merge(
            served
                .layer(from_fn_with_state(
                    state.clone(),
                    middleware::read_signature,
                ))
                .route_layer(from_fn_with_state(state.clone(), middleware::limit_query))
                .layer(Extension(form)),
        );
    }
    let router = ROUTES
        .iter()
        .filter(|r| r.form.is_none())
        .fold(router, |router, route| route.mount(router));
    router
        .route_layer(from_fn_with_state(state.clone(), middleware::count_call))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(from_fn_with_state(state.clone(), body_limits::limit_body))
        .layer(axum::middleware::from_fn(middleware::request_id))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Prometheus' text exposition; unauthenticated, like most scrape targets, and free of tenant data.
async fn metrics_text(State(state): State<RestState>) -> impl IntoResponse {
    let pipeline = &state.pipeline;
    let text = pipeline.metrics().render(
        pipeline.pool_stats(),
        pipeline.watchers(),
        &pipeline.read_stats(),
    );
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}

/// Unknown routes: a gRPC caller gets gRPC's UNIMPLEMENTED, anyone else a JSON 404.
async fn fallback(Extension(id): Extension<RequestId>, request: Request) -> Response {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/grpc") {
        return grpc_unimplemented(request.uri().path());
    }
    route_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &id,
        &request,
        "no route for",
    )
}

/// gRPC's answer to a method it does not have: HTTP 200 with status 12 in trailers-only form.
fn grpc_unimplemented(path: &str) -> Response {
    const UNIMPLEMENTED: &str = "12";
    // grpc-message is percent-encoded; a path is ASCII already, but may hold `%` itself.
    let message = format!("no method {path}").replace('%', "%25");
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from_static(UNIMPLEMENTED));
    if let Ok(message) = HeaderValue::from_str(&message) {
        headers.insert("grpc-message", message);
    }
    response
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
