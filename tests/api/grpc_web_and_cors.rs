//! gRPC-Web over HTTP/1.1, and CORS for the configured origins only.

use prost::Message;
use reqwest::{StatusCode, header::HeaderMap};

use crate::helpers::{Backend, TestApp, grpc_web::grpc_web_call, pb, rest::header, tag};

async fn grpc_web_over_http1_answers_a_data_frame_and_a_trailer_frame(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["web"], &[("env", "dev"), ("team", "a")])
        .await;

    let message = pb::ListResourceTagsRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "web".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let (headers, frames) = grpc_web_call(&app, "ListResourceTags", &message, &[]).await;
    let content_type = header(&headers, "content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/grpc-web"),
        "{content_type}"
    );
    assert_eq!(frames.len(), 2, "one data frame and one trailer frame");

    let (flag, data) = &frames[0];
    assert_eq!(*flag, 0, "an uncompressed data frame");
    let answer = pb::ListResourceTagsResponse::decode(data.as_slice()).expect("a response");
    assert_eq!(answer.tags, [tag("env", "dev"), tag("team", "a")]);

    let (flag, trailers) = &frames[1];
    assert_eq!(*flag, 0x80, "a trailer frame");
    let trailers = String::from_utf8(trailers.clone()).expect("trailers are text");
    assert!(
        trailers
            .split("\r\n")
            .any(|line| line.trim().eq_ignore_ascii_case("grpc-status:0")),
        "{trailers:?}"
    );
}

const ORIGIN: &str = "https://app.example";

async fn preflight(app: &TestApp, origin: &str) -> HeaderMap {
    let res = app
        .rest()
        .request(reqwest::Method::OPTIONS, "/tags")
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "x-auth-token,content-type",
        )
        .send()
        .await
        .expect("answered");
    res.headers().clone()
}

async fn cors_allows_only_the_configured_origins_and_exposes_the_request_id(b: Backend) {
    let default = TestApp::spawn(b).await;
    let off = preflight(&default, ORIGIN).await;
    assert_eq!(header(&off, "access-control-allow-origin"), None, "{off:?}");

    let app = TestApp::spawn_with(b, &["--cors-allowed-origins", ORIGIN]).await;
    let allowed = preflight(&app, ORIGIN).await;
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some(ORIGIN),
        "{allowed:?}"
    );
    let methods = header(&allowed, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("PUT"), "{methods}");

    let simple = app
        .rest()
        .get("/tags")
        .header("origin", ORIGIN)
        .bearer_auth(&app.token)
        .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)])
        .send()
        .await
        .expect("answered");
    assert_eq!(simple.status(), StatusCode::OK);
    let headers = simple.headers();
    assert_eq!(header(headers, "access-control-allow-origin"), Some(ORIGIN));
    let exposed = header(headers, "access-control-expose-headers").unwrap_or_default();
    assert!(
        exposed
            .split(',')
            .any(|h| h.trim().eq_ignore_ascii_case("x-request-id")),
        "{exposed}"
    );

    let stranger = preflight(&app, "https://evil.example").await;
    assert_eq!(
        header(&stranger, "access-control-allow-origin"),
        None,
        "{stranger:?}"
    );
    let stranger_get = app
        .rest()
        .get("/tags")
        .header("origin", "https://evil.example")
        .bearer_auth(&app.token)
        .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)])
        .send()
        .await
        .expect("answered");
    assert_eq!(
        header(stranger_get.headers(), "access-control-allow-origin"),
        None
    );
}

both_backends!(
    grpc_web_over_http1_answers_a_data_frame_and_a_trailer_frame,
    cors_allows_only_the_configured_origins_and_exposes_the_request_id,
);
