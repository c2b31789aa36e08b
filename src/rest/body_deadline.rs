//! A deadline on a request's body: it must arrive whole within `--body-timeout-ms` of its
//! headers, so a client that announces a large body and trickles it cannot hold a connection and
//! a handler open. The body is wrapped, not read here: a request refused from its headers
//! (authentication comes first) never has its body read at all.

use std::{
    error::Error as StdError,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use tokio::time::Sleep;

use super::RestState;
use crate::domain::Error;

/// What a body read past its deadline fails with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0} ms")]
struct BodyTimedOut(u128);

/// A body that fails once its deadline has passed.
struct Deadline {
    inner: Body,
    timer: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        if self.timer.as_mut().poll(cx).is_ready() {
            let e = BodyTimedOut(self.timeout.as_millis());
            return Poll::Ready(Some(Err(axum::Error::new(e))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Puts the deadline on the request's body; the clock starts now, its headers read.
pub async fn body_deadline(
    State(state): State<RestState>,
    request: Request,
    next: Next,
) -> Response {
    let timeout = state.options.body_timeout;
    let request = request.map(|inner| {
        Body::new(Deadline {
            inner,
            timer: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        })
    });
    next.run(request).await
}

/// The error to answer when reading a body failed because its deadline passed.
pub fn timed_out(e: &(dyn StdError + 'static)) -> Option<Error> {
    let mut source = Some(e);
    while let Some(e) = source {
        if let Some(t) = e.downcast_ref::<BodyTimedOut>() {
            return Some(Error::RequestTimeout(t.to_string()));
        }
        source = e.source();
    }
    None
}
