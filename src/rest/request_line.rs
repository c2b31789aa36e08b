//! Lets HTTP/1 request targets carry raw `"`, `<` and `>`, as the ACK seed prints its JSON query
//! parameters (`?resource_ids=["c1","c2"]`) and as curl sends them. The HTTP parser refuses those
//! bytes before any handler runs, so this wrapper percent-encodes them in the request line of each
//! HTTP/1 message as it arrives. Everything else passes untouched: headers, bodies (counted by
//! `Content-Length`), and whole connections that speak HTTP/2 (gRPC), send chunked bodies or
//! upgrade, where message boundaries are no longer ours to follow.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::Connected;

/// Longest header line followed; a longer one is left for the HTTP parser to refuse.
const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// In a request line, after `spaces` spaces; `method` holds its first bytes.
    RequestLine { spaces: u8, method: Vec<u8> },
    /// In the header block; `line` is the current header line.
    Headers {
        line: Vec<u8>,
        body: u64,
        opaque: bool,
    },
    /// In a body with this many bytes left.
    Body(u64),
    /// No longer following message boundaries.
    Passthrough,
}

impl State {
    fn request_line() -> Self {
        State::RequestLine {
            spaces: 0,
            method: Vec::new(),
        }
    }
}

/// The rewriting state machine, separate from I/O so it can be tested byte by byte.
#[derive(Debug)]
struct Rewriter {
    state: State,
}

impl Rewriter {
    fn new() -> Self {
        Self {
            state: State::request_line(),
        }
    }

    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for (i, &b) in input.iter().enumerate() {
            if self.state == State::Passthrough {
                out.extend_from_slice(&input[i..]);
                return;
            }
            self.step(b, out);
        }
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) {
        let next = match &mut self.state {
            State::RequestLine { spaces, method } => match b {
                // Empty lines before a request line are allowed and ignored.
                b'\r' | b'\n' if *spaces == 0 && method.is_empty() => None,
                b'\n' if method.as_slice() == b"PRI" => Some(State::Passthrough),
                b'\n' => Some(State::Headers {
                    line: Vec::new(),
                    body: 0,
                    opaque: false,
                }),
                b' ' => {
                    *spaces += 1;
                    None
                }
                b'"' | b'<' | b'>' if *spaces == 1 => {
                    out.extend_from_slice(format!("%{b:02X}").as_bytes());
                    return;
                }
                _ => {
                    if *spaces == 0 && method.len() < 8 {
                        method.push(b);
                    }
                    None
                }
            },
            State::Headers { line, body, opaque } => {
                if b != b'\n' {
                    line.push(b);
                    (line.len() > MAX_LINE).then_some(State::Passthrough)
                } else if line.as_slice() == b"\r" || line.is_empty() {
                    Some(match (*opaque, *body) {
                        (true, _) => State::Passthrough,
                        (false, 0) => State::request_line(),
                        (false, n) => State::Body(n),
                    })
                } else {
                    let (name, value) = split_header(line);
                    if name.eq_ignore_ascii_case(b"content-length") {
                        match std::str::from_utf8(value)
                            .ok()
                            .and_then(|v| v.trim().parse().ok())
                        {
                            Some(n) => *body = n,
                            None => *opaque = true,
                        }
                    } else if name.eq_ignore_ascii_case(b"transfer-encoding")
                        || name.eq_ignore_ascii_case(b"upgrade")
                    {
                        *opaque = true;
                    }
                    line.clear();
                    None
                }
            }
            State::Body(left) => {
                *left -= 1;
                (*left == 0).then(State::request_line)
            }
            State::Passthrough => None,
        };
        out.push(b);
        if let Some(next) = next {
            self.state = next;
        }
    }
}

fn split_header(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b':') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &[]),
    }
}

/// An accepted connection whose HTTP/1 request lines are repaired as they are read.
pub struct LenientRequestLine<T> {
    inner: T,
    rewriter: Rewriter,
    /// What was read from `inner`, before rewriting; reused across reads.
    raw: Vec<u8>,
    /// Rewritten bytes not yet handed out, from `offset` on.
    pending: Vec<u8>,
    offset: usize,
}

impl<T> LenientRequestLine<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            rewriter: Rewriter::new(),
            raw: Vec::new(),
            pending: Vec::new(),
            offset: 0,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for LenientRequestLine<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.offset == this.pending.len() {
            if this.rewriter.state == State::Passthrough {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            this.raw.resize(buf.remaining().max(1), 0);
            let mut raw_buf = ReadBuf::new(&mut this.raw);
            match Pin::new(&mut this.inner).poll_read(cx, &mut raw_buf) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
            this.pending.clear();
            this.offset = 0;
            this.rewriter.push(raw_buf.filled(), &mut this.pending);
        }
        let n = buf.remaining().min(this.pending.len() - this.offset);
        buf.put_slice(&this.pending[this.offset..this.offset + n]);
        this.offset += n;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for LenientRequestLine<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T: Connected> Connected for LenientRequestLine<T> {
    type ConnectInfo = T::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `chunk` bytes.
    fn rewrite(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut r = Rewriter::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            r.push(piece, &mut out);
        }
        out
    }

    fn all_chunkings(input: &[u8]) -> Vec<u8> {
        let whole = rewrite(input, input.len());
        for chunk in [1, 2, 3, 7] {
            assert_eq!(rewrite(input, chunk), whole, "chunk {chunk}");
        }
        whole
    }

    #[test]
    fn quotes_in_the_request_target_are_encoded() {
        let out = all_chunkings(
            b"GET /tags?ids=[\"a\",\"b\"]&x=<y> HTTP/1.1\r\nHost: h\r\nX-Q: \"kept\"\r\n\r\n",
        );
        assert_eq!(
            out,
            b"GET /tags?ids=[%22a%22,%22b%22]&x=%3Cy%3E HTTP/1.1\r\nHost: h\r\nX-Q: \"kept\"\r\n\r\n"
        );
    }

    #[test]
    fn bodies_are_untouched_and_the_next_request_is_repaired() {
        let input = b"PUT /tags HTTP/1.1\r\nContent-Length: 9\r\n\r\n{\"a\":\"b\"}GET /t?q=\"x\" HTTP/1.1\r\n\r\n";
        let out = all_chunkings(input);
        assert_eq!(out, b"PUT /tags HTTP/1.1\r\nContent-Length: 9\r\n\r\n{\"a\":\"b\"}GET /t?q=%22x%22 HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn http2_connections_pass_through() {
        let mut input = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        input.extend_from_slice(b"\x00\x00\x22 \"binary\" frames \"");
        assert_eq!(all_chunkings(&input), input);
    }

    #[test]
    fn chunked_upgraded_and_unreadable_lengths_stop_the_rewriting() {
        for header in [
            "Transfer-Encoding: chunked",
            "Upgrade: h2c",
            "Content-Length: nine",
        ] {
            let input =
                format!("POST /x HTTP/1.1\r\n{header}\r\n\r\nGET /t?q=\"x\" HTTP/1.1\r\n\r\n");
            assert_eq!(
                all_chunkings(input.as_bytes()),
                input.as_bytes(),
                "{header}"
            );
        }
    }
}
