//! What a request's body may cost: its size, `--max-body-bytes`, and its time, `--body-timeout-ms`
//! from its headers on, so a client that announces a large body and trickles it cannot hold a
//! connection and a handler open. The body is wrapped, not read here: a request refused from its
//! headers (authentication comes first) never has its body read at all. Whoever reads it gets an
//! error naming the limit, which `refused` turns into the answer: 413 or 408.

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
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

use super::RestState;
use crate::domain::Error;

#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("the request body did not arrive within {0} ms")]
    TooSlow(u128),
    #[error("body: must be at most {0} bytes")]
    TooLarge(usize),
}

/// A body that fails once its deadline has passed or its size exceeds the limit.
struct Limited {
    inner: Body,
    timer: Pin<Box<Sleep>>,
    timeout: Duration,
    left: usize,
    max: usize,
}

impl HttpBody for Limited {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.timer.as_mut().poll(cx).is_ready() {
            let refused = Refused::TooSlow(self.timeout.as_millis());
            return Poll::Ready(Some(Err(axum::Error::new(refused))));
        }
        // An announced length over the limit is refused before any of it is read.
        if self.inner.size_hint().lower() > self.left as u64 {
            return Poll::Ready(Some(Err(axum::Error::new(Refused::TooLarge(self.max)))));
        }
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &frame
            && let Some(data) = frame.data_ref()
        {
            match self.left.checked_sub(data.len()) {
                Some(left) => self.left = left,
                None => {
                    return Poll::Ready(Some(Err(axum::Error::new(Refused::TooLarge(self.max)))));
                }
            }
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Puts the limits on the request's body; the clock starts now, its headers read.
pub async fn limit_body(State(state): State<RestState>, request: Request, next: Next) -> Response {
    let timeout = state.options.body_timeout;
    let max = state.options.max_body_bytes;
    let request = request.map(|inner| {
        Body::new(Limited {
            inner,
            timer: Box::pin(tokio::time::sleep(timeout)),
            timeout,
            left: max,
            max,
        })
    });
    next.run(request).await
}

/// The answer to a body whose reading failed on one of its limits.
pub fn refused(e: &(dyn StdError + 'static)) -> Option<Error> {
    let mut source = Some(e);
    while let Some(e) = source {
        match e.downcast_ref::<Refused>() {
            Some(r @ Refused::TooSlow(_)) => return Some(Error::RequestTimeout(r.to_string())),
            Some(r @ Refused::TooLarge(_)) => return Some(Error::TooLarge(r.to_string())),
            None => source = e.source(),
        }
    }
    None
}
