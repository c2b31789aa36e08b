//! The whole REST adapter in-process: arbitrary requests through the real router over SQLite.
//!
//! An input reads like an HTTP request, so seeds are written by hand:
//!
//! ```text
//! GET /tags?resource_type=CLUSTER&resource_ids=["c-1"]
//! X-Auth-Token: $TOKEN
//!
//! optional body
//! ```
//!
//! In header values `$TOKEN`, `$RO`, `$SYS` and `$OTHER` stand for a token of project `demo`, a
//! read-only one, a system one and one of project `other`; `$AK` for an access key id of `demo`
//! and `$ACSDATE` / `$SDKDATE` for the time now in the two signature schemes' formats, so signed
//! requests reach the canonical request and the key lookup; a header `X-Fuzz-No-Auth` sends the
//! request to the router with authentication off. Checked: no panic, never a 5xx (a 504 only when
//! the request asked for a deadline), every error answer a JSON error body carrying the request's
//! id, and no system tag shown to a caller without a system token.

#![no_main]

use axum::{
    body::Body,
    http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, header},
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tagging_service_fuzz::{is_reserved, runtime, service, signature_dates};
use tower::ServiceExt;

const METHODS: [Method; 7] = [
    Method::GET,
    Method::PUT,
    Method::POST,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
    Method::PATCH,
];

/// What the request's headers ask for, which decides what its answer may be.
struct Flags {
    no_auth: bool,
    system: bool,
    /// A `grpc-timeout` header asks for a deadline, which a slow enough call may then miss.
    deadline: bool,
    grpc: bool,
}

fuzz_target!(|data: &[u8]| {
    let Some((request, flags)) = parse(data) else {
        return;
    };
    let service = service();
    let router = if flags.no_auth {
        service.rest_no_auth.clone()
    } else {
        service.rest.clone()
    };
    let what = format!("{} {}", request.method(), request.uri());
    let head = request.method() == Method::HEAD;
    let (response, body) = runtime().block_on(async {
        let response = router.oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("a readable body");
        (Response::from_parts(parts, ()), body)
    });
    check(&what, head, &flags, &response, &body);
});

fn parse(data: &[u8]) -> Option<(Request<Body>, Flags)> {
    let (head, body) = split_once(data, b"\n\n")
        .or_else(|| split_once(data, b"\r\n\r\n"))
        .unwrap_or((data, &[]));
    let mut lines = head.split(|&b| b == b'\n').map(trim_cr);
    let first = lines.next()?;
    let (method, target) = split_once(first, b" ").unwrap_or((first, b"/"));
    let method = METHODS
        .iter()
        .find(|m| m.as_str().as_bytes() == method)
        .unwrap_or(&METHODS[method.len() % METHODS.len()])
        .clone();
    let mut request = Request::builder()
        .method(method)
        .uri(uri(target)?)
        .body(Body::from(body.to_vec()))
        .ok()?;
    let tokens = &service().tokens;
    let (acs_date, sdk_date) = signature_dates();
    let (mut no_auth, mut system, mut deadline, mut grpc) = (false, false, false, false);
    for line in lines {
        let Some((name, value)) = split_once(line, b":") else {
            continue;
        };
        let Ok(name) = HeaderName::from_bytes(name.trim_ascii()) else {
            continue;
        };
        let mut value = value.trim_ascii_start().to_vec();
        system |= contains(&value, b"$SYS");
        for (stand_in, token) in [
            (&b"$TOKEN"[..], &tokens.demo),
            (&b"$RO"[..], &tokens.read_only),
            (&b"$SYS"[..], &tokens.system),
            (&b"$OTHER"[..], &tokens.other),
            (&b"$AK"[..], &tokens.access_key_id),
            (&b"$ACSDATE"[..], &acs_date),
            (&b"$SDKDATE"[..], &sdk_date),
        ] {
            value = replace(&value, stand_in, token.as_bytes());
        }
        let Ok(value) = HeaderValue::from_bytes(&value) else {
            continue;
        };
        no_auth |= name == "x-fuzz-no-auth";
        deadline |= name == "grpc-timeout";
        grpc |= name == header::CONTENT_TYPE && value.as_bytes().starts_with(b"application/grpc");
        request.headers_mut().append(name, value);
    }
    let flags = Flags {
        no_auth,
        system,
        deadline,
        grpc,
    };
    Some((request, flags))
}

/// The request target as the HTTP layer would hand it on: the shim percent-encodes what the HTTP
/// parser refuses, and a target it cannot read never reaches the router.
fn uri(target: &[u8]) -> Option<Uri> {
    let mut target = target.to_vec();
    if target.ends_with(b" HTTP/1.1") {
        target.truncate(target.len() - b" HTTP/1.1".len());
    }
    if !target.starts_with(b"/") {
        target.insert(0, b'/');
    }
    if let Ok(uri) = Uri::try_from(target.as_slice()) {
        return Some(uri);
    }
    let mut encoded = Vec::with_capacity(target.len() * 3);
    for b in target {
        if b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^'
            )
        {
            encoded.push(b);
        } else {
            encoded.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    Uri::try_from(encoded).ok()
}

fn check(what: &str, head: bool, flags: &Flags, response: &Response<()>, body: &[u8]) {
    let status = response.status();
    let shown = String::from_utf8_lossy(body);
    assert!(
        !status.is_server_error() || (flags.deadline && status == StatusCode::GATEWAY_TIMEOUT),
        "{what}: {status} {shown}"
    );
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{what}: no X-Request-Id"));
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // A gRPC call to an unknown method is answered in gRPC, by design.
    if head || (flags.grpc && content_type.starts_with("application/grpc")) {
        return;
    }
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(content_type, "application/json", "{what}: {status} {shown}");
        let error: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!("{what}: {status}: the error body is not JSON ({e}): {shown}")
        });
        assert_eq!(error["request_id"], request_id, "{what}: {shown}");
        assert!(error["code"].is_string(), "{what}: no code: {shown}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: no message: {shown}"
        );
    } else if status.is_success() && content_type == "application/json" {
        let answer: Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("{what}: {status}: the answer is not JSON ({e}): {shown}"));
        if !flags.system {
            assert!(
                !shows_reserved(&answer),
                "{what}: a system tag shown: {shown}"
            );
        }
    }
}

/// Whether a tag key under a reserved prefix appears anywhere in an answer.
fn shows_reserved(answer: &Value) -> bool {
    match answer {
        Value::Object(fields) => fields.iter().any(|(name, value)| {
            (matches!(name.as_str(), "key" | "tag_key") && value.as_str().is_some_and(is_reserved))
                || shows_reserved(value)
        }),
        Value::Array(items) => items.iter().any(shows_reserved),
        _ => false,
    }
}

fn split_once<'a>(data: &'a [u8], separator: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = data.windows(separator.len()).position(|w| w == separator)?;
    Some((&data[..at], &data[at + separator.len()..]))
}

fn contains(data: &[u8], part: &[u8]) -> bool {
    split_once(data, part).is_some()
}

fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some((before, after)) = split_once(rest, from) {
        out.extend_from_slice(before);
        out.extend_from_slice(to);
        rest = after;
    }
    out.extend_from_slice(rest);
    out
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
