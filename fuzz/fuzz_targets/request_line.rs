//! The HTTP/1 request-line shim, `LenientRequestLine`, on arbitrary byte streams read in arbitrary
//! pieces. The input's first byte says how many pattern bytes follow (0-7); each pattern byte sets
//! the size of one read from the connection (1-32), whether that read first answers `Pending`, and
//! the room the reader offers (1, 3, 16 or 8192 bytes), cycling. The rest is the stream.
//!
//! Checked: no panic; the output is the same however the stream is cut; the output is the input
//! with some `"`, `<`, `>` percent-encoded and nothing else changed; in the first message every such
//! byte of the request target (between the first two spaces of the request line) is encoded and
//! none of the header block is; after an HTTP/2 preface nothing is changed.

#![no_main]

use std::{
    collections::{HashMap, HashSet},
    pin::Pin,
    task::{Context, Poll, Waker},
};

use libfuzzer_sys::fuzz_target;
use tagging_service::rest::LenientRequestLine;
use tokio::io::{AsyncRead, ReadBuf};

const ROOMS: [usize; 4] = [1, 3, 16, 8192];
const ENCODED: [u8; 3] = [b'"', b'<', b'>'];

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let (pattern, stream) = rest.split_at(usize::from(count % 8).min(rest.len()));
    let whole = read_all(stream, &[], stream.len() + 1);
    let cut = read_all(stream, pattern, 0);
    assert_eq!(cut, whole, "the output depends on how the stream was cut");
    let encoded = encoded_positions(stream, &whole);
    let expected = first_message_targets(stream);
    for (i, &b) in stream.iter().enumerate() {
        match expected.get(&i) {
            Some(true) => assert_eq!(
                encoded.contains(&i),
                ENCODED.contains(&b),
                "byte {i} of the request target"
            ),
            Some(false) => assert!(!encoded.contains(&i), "byte {i} outside the request target"),
            None => {}
        }
    }
});

/// A connection that hands out the stream in the pattern's pieces.
struct Pieces<'a> {
    stream: &'a [u8],
    pattern: &'a [u8],
    reads: usize,
    waited: bool,
}

impl AsyncRead for Pieces<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let step = self
            .pattern
            .get(self.reads % self.pattern.len().max(1))
            .copied();
        if step.is_some_and(|s| s & 0x20 != 0) && !self.waited {
            self.waited = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.waited = false;
        self.reads += 1;
        let size = step.map_or(usize::MAX, |s| 1 + usize::from(s & 0x1f));
        let n = size.min(buf.remaining()).min(self.stream.len());
        buf.put_slice(&self.stream[..n]);
        self.stream = &self.stream[n..];
        Poll::Ready(Ok(()))
    }
}

/// Reads the rewritten stream to its end; `room` 0 takes each read's room from the pattern.
fn read_all(stream: &[u8], pattern: &[u8], room: usize) -> Vec<u8> {
    let mut conn = LenientRequestLine::new(Pieces {
        stream,
        pattern,
        reads: 0,
        waited: false,
    });
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    for read in 0.. {
        let room = match (room, pattern.get(read % pattern.len().max(1))) {
            (0, Some(step)) => ROOMS[usize::from(step >> 6)],
            (0, None) => ROOMS[3],
            (room, _) => room,
        };
        let mut storage = vec![0; room];
        let mut buf = ReadBuf::new(&mut storage);
        match Pin::new(&mut conn).poll_read(&mut cx, &mut buf) {
            Poll::Pending => continue,
            Poll::Ready(result) => result.expect("reading a slice never fails"),
        }
        if buf.filled().is_empty() {
            break;
        }
        out.extend_from_slice(buf.filled());
    }
    out
}

/// Which input bytes came out percent-encoded; panics if the output is anything but the input
/// with some of `"`, `<`, `>` encoded.
fn encoded_positions(input: &[u8], output: &[u8]) -> HashSet<usize> {
    let mut encoded = HashSet::new();
    let mut at = 0;
    for (i, &b) in input.iter().enumerate() {
        if output.get(at) == Some(&b) {
            at += 1;
        } else if ENCODED.contains(&b)
            && output.get(at..at + 3) == Some(format!("%{b:02X}").as_bytes())
        {
            encoded.insert(i);
            at += 3;
        } else {
            panic!("byte {i} ({b:#04x}) changed");
        }
    }
    assert_eq!(at, output.len(), "bytes added at the end");
    encoded
}

/// For the first message, which input positions must be encoded if they hold `"`, `<` or `>`
/// (true: in the request target) and which must never be (false: the rest of the request line
/// and the header block, or everything after an HTTP/2 preface).
fn first_message_targets(input: &[u8]) -> HashMap<usize, bool> {
    let mut out = HashMap::new();
    let start = input
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(input.len());
    let line_end = input[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(input.len(), |p| start + p);
    let line = &input[start..line_end];
    let spaces: Vec<usize> = line
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b' ')
        .map(|(i, _)| i)
        .take(2)
        .collect();
    for i in 0..line.len() {
        let in_target =
            spaces.first().is_some_and(|&s| i > s) && spaces.get(1).is_none_or(|&s| i < s);
        out.insert(start + i, in_target);
    }
    if line_end == input.len() {
        return out;
    }
    let method = &line[..spaces.first().copied().unwrap_or(line.len())];
    let headers_end = if method == b"PRI" {
        input.len()
    } else {
        let after = &input[line_end..];
        let blank = |sep: &[u8]| after.windows(sep.len()).position(|w| w == sep);
        [blank(b"\n\n"), blank(b"\n\r\n")]
            .into_iter()
            .flatten()
            .min()
            .map_or(input.len(), |p| line_end + p)
    };
    for i in line_end..headers_end {
        out.insert(i, false);
    }
    out
}
