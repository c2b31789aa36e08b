//! A write's consistency token in the trailers of its answer. tonic sends a unary answer's
//! metadata as headers only; the token goes where gRPC clients read what a call ended with.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::{
    Status,
    body::Body,
    codegen::{Bytes, http},
};

use crate::domain::CONSISTENCY_HEADER;

/// Set on an answer (its extensions) to send this value as the `x-consistency-token` trailer.
#[derive(Clone)]
pub struct TrailingToken(pub http::HeaderValue);

/// The answer with its [`TrailingToken`], if it has one, added to its trailers.
pub fn with_trailing_token(response: http::Response<Body>) -> http::Response<Body> {
    let Some(TrailingToken(token)) = response.extensions().get::<TrailingToken>().cloned() else {
        return response;
    };
    response.map(|inner| {
        Body::new(WithTrailer {
            inner,
            token: Some(token),
        })
    })
}

struct WithTrailer {
    inner: Body,
    /// Taken once it is sent.
    token: Option<http::HeaderValue>,
}

impl WithTrailer {
    fn trailers(&mut self, mut trailers: http::HeaderMap) -> http::HeaderMap {
        if let Some(token) = self.token.take() {
            trailers.insert(CONSISTENCY_HEADER, token);
        }
        trailers
    }
}

impl HttpBody for WithTrailer {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        Poll::Ready(match frame {
            Some(Ok(frame)) => Some(Ok(match frame.into_trailers() {
                Ok(trailers) => Frame::trailers(self.trailers(trailers)),
                Err(frame) => frame,
            })),
            // tonic always ends an answer with its trailers; should it not, they are sent here.
            None if self.token.is_some() => {
                Some(Ok(Frame::trailers(self.trailers(http::HeaderMap::new()))))
            }
            other => other,
        })
    }

    fn is_end_stream(&self) -> bool {
        self.token.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
