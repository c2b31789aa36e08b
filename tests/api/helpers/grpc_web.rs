//! gRPC-Web over HTTP/1.1, called by hand: the frames of a body and the status of an answer.

use reqwest::{StatusCode, header::HeaderMap};

use super::{TestApp, rest::header};

/// Splits a gRPC(-Web) body into its (flag, payload) frames.
pub fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !body.is_empty() {
        assert!(body.len() >= 5, "a truncated frame header: {body:?}");
        let flag = body[0];
        let len = u32::from_be_bytes(body[1..5].try_into().expect("four bytes")) as usize;
        assert!(
            body.len() >= 5 + len,
            "a truncated frame: {len} bytes announced"
        );
        out.push((flag, body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    out
}

/// `message` as one uncompressed gRPC(-Web) data frame.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(message);
    frame
}

/// Calls `method` of the tagging service over gRPC-Web (HTTP/1.1) with `message`, as the project's
/// token; answers the response headers and the body's frames.
pub async fn grpc_web_call(
    app: &TestApp,
    method: &str,
    message: &[u8],
    extra: &[(&str, &str)],
) -> (HeaderMap, Vec<(u8, Vec<u8>)>) {
    let path = format!("/tagging.v1.TaggingService/{method}");
    grpc_web_call_at(app, &path, message, extra).await
}

/// Calls the gRPC method at `path` (`/package.Service/Method`) over gRPC-Web, as
/// [`grpc_web_call`] does.
pub async fn grpc_web_call_at(
    app: &TestApp,
    path: &str,
    message: &[u8],
    extra: &[(&str, &str)],
) -> (HeaderMap, Vec<(u8, Vec<u8>)>) {
    let mut req = app
        .rest()
        .post(path)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("x-auth-token", &app.token);
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    let res = req.body(frame(message)).send().await.expect("answered");
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    let body = res.bytes().await.expect("body");
    (headers, frames(&body))
}

/// The `grpc-status` of a gRPC-Web answer: from its trailer frame, else (trailers-only) its headers.
pub fn grpc_web_status(headers: &HeaderMap, frames: &[(u8, Vec<u8>)]) -> Option<String> {
    let from_trailers = frames
        .iter()
        .filter(|(flag, _)| flag & 0x80 != 0)
        .flat_map(|(_, text)| {
            String::from_utf8_lossy(text)
                .split("\r\n")
                .filter_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.trim()
                        .eq_ignore_ascii_case("grpc-status")
                        .then(|| value.trim().to_owned())
                })
                .collect::<Vec<_>>()
        })
        .next();
    from_trailers.or_else(|| header(headers, "grpc-status").map(str::to_owned))
}
