//! Connections that carry no call are closed after `--idle-timeout-ms`: a client that opens a
//! connection (or only sends HTTP/2's preface) and then sends nothing holds a socket and its
//! buffers for no one. So is one whose peer takes nothing of what the server writes for as long
//! (a stream's reader that stopped reading): its answer would never finish. Each connection's I/O knows how many calls are in flight on it and since
//! when it has had none; calls (and the bodies of their answers) count themselves in and out.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Bytes, HttpBody},
    http::{Request, Response},
};
use http_body::{Frame, SizeHint};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep},
};
use tonic::transport::server::Connected;

/// How busy one connection is. It is the connection's `ConnectInfo`, so every request on it
/// carries it in its extensions.
#[derive(Debug, Clone)]
pub struct Activity(Arc<Mutex<Busy>>);

#[derive(Debug)]
struct Busy {
    in_flight: usize,
    idle_since: Instant,
}

impl Activity {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Busy {
            in_flight: 0,
            idle_since: Instant::now(),
        })))
    }

    /// A call begins; it ends when the guard is dropped.
    pub fn begin(&self) -> InFlight {
        self.busy().in_flight += 1;
        InFlight(self.clone())
    }

    /// How long the connection has had no call in flight; `None` while one is.
    fn idle_for(&self, now: Instant) -> Option<Duration> {
        let busy = self.busy();
        (busy.in_flight == 0).then(|| now.saturating_duration_since(busy.idle_since))
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, Busy> {
        // A panic while the lock was held leaves only two integers behind, still usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One call in flight on a connection.
#[derive(Debug)]
pub struct InFlight(Activity);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut busy = self.0.busy();
        busy.in_flight -= 1;
        if busy.in_flight == 0 {
            busy.idle_since = Instant::now();
        }
    }
}

/// A response body that keeps its call in flight until it has been sent whole.
pub struct Tracked<B> {
    inner: B,
    _call: Option<InFlight>,
}

impl<B> Tracked<B> {
    pub fn new(inner: B, call: Option<InFlight>) -> Self {
        Self { inner, _call: call }
    }
}

impl<B: HttpBody<Data = Bytes> + Unpin> HttpBody for Tracked<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's I/O that reads as closed once the connection has been idle for `timeout`.
pub struct IdleTimeout<T> {
    inner: T,
    activity: Activity,
    timeout: Duration,
    timer: Pin<Box<Sleep>>,
    /// Set while a write waits for the peer to take data; it fails the write when it fires.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> IdleTimeout<T> {
    pub fn new(inner: T, timeout: Duration) -> Self {
        Self {
            inner,
            activity: Activity::new(),
            timeout,
            timer: Box::pin(tokio::time::sleep(timeout)),
            stalled: None,
        }
    }

    /// `progress` of a write or flush: a pending one fails once the peer has taken nothing for
    /// the idle timeout, which closes the connection.
    fn unless_stalled<R>(
        &mut self,
        cx: &mut Context<'_>,
        progress: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if progress.is_ready() {
            self.stalled = None;
            return progress;
        }
        let timeout = self.timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if stalled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the peer took nothing of the answer for the idle timeout",
            )));
        }
        Poll::Pending
    }

    /// Whether the idle time has run out; otherwise the timer is set for when it next may.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.timer.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            match self.activity.idle_for(now) {
                Some(idle) if idle >= self.timeout => return true,
                Some(idle) => self.timer.as_mut().reset(now + (self.timeout - idle)),
                None => self.timer.as_mut().reset(now + self.timeout),
            }
        }
        false
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.expired(cx) {
            // The end of the stream: the server closes the connection as if the client had.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let progress = Pin::new(&mut self.inner).poll_write(cx, data);
        self.unless_stalled(cx, progress)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let progress = Pin::new(&mut self.inner).poll_flush(cx);
        self.unless_stalled(cx, progress)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T> Connected for IdleTimeout<T> {
    type ConnectInfo = Activity;

    fn connect_info(&self) -> Activity {
        self.activity.clone()
    }
}

/// Counts each call on its connection, from its request until its answer's body has been sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountCallsLayer;

impl<S> tower::Layer<S> for CountCallsLayer {
    type Service = CountCalls<S>;

    fn layer(&self, inner: S) -> CountCalls<S> {
        CountCalls(inner)
    }
}

#[derive(Debug, Clone)]
pub struct CountCalls<S>(S);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for CountCalls<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<Tracked<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let call = request.extensions().get::<Activity>().map(Activity::begin);
        let answer = self.0.call(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|body| Tracked::new(body, call)))
        })
    }
}
