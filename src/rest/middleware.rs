//! What runs around every REST request: its id and log line, its count in the metrics (for the
//! requests that made no call: a call is counted and logged by the pipeline), the query-string
//! limit, and the reading of a signed request's body.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use axum::{
    Extension,
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, header::AUTHORIZATION},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tracing::Instrument;

use super::{Form, RequestId, RestError, RestState, body_limits, error::query_too_long};
use crate::{
    auth::{
        signature::{self, SignedRequest},
        unix_now,
    },
    domain::Error,
    wire,
};

/// Set once the request's call went through the pipeline, which then counted and logged it.
#[derive(Clone, Default)]
pub struct Observed(Arc<AtomicBool>);

impl Observed {
    pub fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_marked(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A signed request as far as it could be checked without the key; the pipeline finishes it.
#[derive(Clone)]
pub struct Signed(pub Arc<Result<SignedRequest, Error>>);

/// Gives every request an id, echoes it in `X-Request-Id`, and opens the span of its log line.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let sent = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    let id: Arc<str> = wire::request_id(sent).into();
    let observed = Observed::default();
    request.extensions_mut().insert(RequestId(id.clone()));
    request.extensions_mut().insert(observed.clone());
    let span = tracing::info_span!("rest", request_id = %id, method = %request.method(), path = %request.uri().path(), project = tracing::field::Empty, trace_id = tracing::field::Empty, span_id = tracing::field::Empty);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let header = HeaderValue::from_str(&id).expect("request ids are visible ASCII");
    response.headers_mut().insert("x-request-id", header);
    if !observed.is_marked() {
        span.in_scope(|| {
            tracing::info!(
                status = response.status().as_u16(),
                latency_ms = started.elapsed().as_secs_f64() * 1000.0,
                "request"
            );
        });
    }
    response
}

/// Counts a routed request that made no call (the document, the metrics, a refusal before the
/// call) by its route template and status.
pub async fn count_call(
    State(state): State<RestState>,
    route: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let observed = request.extensions().get::<Observed>().cloned();
    let response = next.run(request).await;
    if !observed.is_some_and(|o| o.is_marked()) {
        state.pipeline.metrics().observe(
            "rest",
            &format!("{method} {}", route.as_str()),
            response.status().as_str(),
            started.elapsed(),
        );
    }
    response
}

/// Refuses an over-long query string before a handler parses it (ACK's carries JSON).
pub async fn limit_query(
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

/// The signature covers the body, so a signed request's body is read here, once, and handed on.
pub async fn read_signature(
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
    if !signed || !state.pipeline.checks_credentials() {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let limit = state.options.max_body_bytes;
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(e) => {
            let error = body_limits::refused(&e)
                .unwrap_or_else(|| Error::TooLarge(format!("body: must be at most {limit} bytes")));
            return RestError {
                form,
                request_id,
                error,
            }
            .into_response();
        }
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
