//! Authentication from a call's headers before its message is read: a call without valid
//! credentials is refused at the cost of its headers, however large (or however compressed) the
//! message it announces. The call then runs with the caller found here.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use tonic::{Status, body::Body, codegen::http, metadata::MetadataValue, server::NamedService};
use tower::{Layer, Service};

use super::{
    api::{GrpcFace, call_span},
    trailers::with_trailing_token,
};
use crate::{
    domain::Principal,
    service::{Credentials, Pipeline},
    wire::{self, CallHeaders},
};

/// The caller a call's headers authenticated, the request id its log line carries, and when the
/// call arrived: its deadline counts from then, not from when its message has been read.
#[derive(Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub request_id: String,
    pub arrived: Instant,
}

/// Wraps the tagging service so each call is authenticated before tonic reads its message.
#[derive(Clone)]
pub struct AuthenticateFirstLayer(pub Arc<Pipeline>);

impl<S> Layer<S> for AuthenticateFirstLayer {
    type Service = AuthenticateFirst<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthenticateFirst {
            inner,
            pipeline: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthenticateFirst<S> {
    inner: S,
    pipeline: Arc<Pipeline>,
}

impl<S: NamedService> NamedService for AuthenticateFirst<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for AuthenticateFirst<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone is the one made ready for the next call; this call takes the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let pipeline = self.pipeline.clone();
        let arrived = Instant::now();
        Box::pin(async move {
            let method = request.uri().path().rsplit('/').next().unwrap_or_default();
            let method = method.to_owned();
            let (request_id, credentials) = {
                let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
                let token = CallHeaders::read(header).token;
                (
                    wire::request_id(header("x-request-id")),
                    Credentials::Token(token),
                )
            };
            match pipeline.authenticate_first(&method, &credentials).await {
                None => inner.call(request).await.map(answered),
                Some(Ok(principal)) => {
                    request.extensions_mut().insert(Authenticated {
                        principal,
                        request_id,
                        arrived,
                    });
                    inner.call(request).await.map(answered)
                }
                Some(Err(e)) => {
                    let span = call_span(&request_id, &method);
                    pipeline.refused(&GrpcFace(&method), &span, &e, arrived.elapsed());
                    Ok(refusal(Status::from(e), &request_id))
                }
            }
        })
    }
}

/// The inner service's answer as sent: a too-large message named as such, a consistency token in
/// the trailers.
fn answered(response: http::Response<Body>) -> http::Response<Body> {
    with_trailing_token(over_limit_is_exhausted(response))
}

/// A request message over `--max-request-bytes` is RESOURCE_EXHAUSTED, as one that grows past it
/// while decompressing already is; tonic answers the first OUT_OF_RANGE (in the trailers-only
/// answer it makes before the call runs), which is for arguments outside a valid range.
fn over_limit_is_exhausted(mut response: http::Response<Body>) -> http::Response<Body> {
    let headers = response.headers_mut();
    let too_large = headers.get("grpc-status").is_some_and(|s| s == "11")
        && headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| m.contains("decoded%20message%20length%20too%20large"));
    if too_large {
        let code = (tonic::Code::ResourceExhausted as i32).to_string();
        headers.insert(
            "grpc-status",
            http::HeaderValue::from_str(&code).expect("digits"),
        );
    }
    response
}

/// A refusal in gRPC's trailers-only form, with the request id.
fn refusal(mut status: Status, request_id: &str) -> http::Response<Body> {
    if let Ok(id) = MetadataValue::try_from(request_id) {
        status.metadata_mut().insert("x-request-id", id);
    }
    status.into_http()
}
