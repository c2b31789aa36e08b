//! Bytes that are not UTF-8, in URLs, JSON and protobuf strings, are refused and never replaced.

use prost::bytes::{Buf, BufMut};
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
    transport::Channel,
};

use super::*;
use crate::helpers::{Backend, TestApp, answer, assert_invalid, authed};

async fn bytes_that_are_not_utf8_are_refused_never_replaced(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c\u{FFFD}"], &[("k\u{FFFD}", "v")])
        .await;
    // Percent-encoded 0xFF decodes to no text: refused, not read as U+FFFD (which would find c�).
    let url = "/tags?resource_type=CLUSTER&resource_ids=%5B%22c%FF%22%5D";
    let a = answer(app.rest().get(url).header("x-auth-token", &app.token)).await;
    refused(&a, 400, "InvalidParameter", "resource_ids");
    let url =
        "/tags?resource_type=CLUSTER&resource_ids=%5B%22c%EF%BF%BD%22%5D&tag_keys=%5B%22k%FF%22%5D";
    let a = answer(app.rest().delete(url).header("x-auth-token", &app.token)).await;
    refused(&a, 400, "InvalidParameter", "tag_keys");
    assert_eq!(
        app.resource_tags("CLUSTER", "c\u{FFFD}").await.unwrap(),
        [pair("k\u{FFFD}", "v")]
    );

    let body = b"{\"resource_type\":\"CLUSTER\",\"resource_ids\":[\"c\xff\"],\"tags\":[{\"key\":\"k\",\"value\":\"v\"}]}".to_vec();
    let a = answer(
        app.rest()
            .put("/tags")
            .header("x-auth-token", &app.token)
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    refused(&a, 400, "InvalidParameter", "body");
    let a = answer(
        app.rest()
            .get(v2("CLUSTER/c%FF/tags"))
            .header("x-auth-token", &app.token),
    )
    .await;
    refused(&a, 400, "SMN.00010400", "path");

    // Headers that are not visible ASCII are read, not skipped as if absent.
    let header =
        |bytes: &[u8]| reqwest::header::HeaderValue::from_bytes(bytes).expect("a header value");
    for project in [&b"p\xc3\xa9"[..], b"p\xff"] {
        let a = answer(
            app.rest()
                .get("/tags")
                .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)])
                .header("x-auth-token", &app.token)
                .header("x-project-id", header(project)),
        )
        .await;
        assert!(
            matches!(a.status.as_u16(), 400 | 403),
            "X-Project-Id {project:?}: {} {}",
            a.status,
            a.body
        );
        let a = answer(
            app.rest()
                .get(v2("CLUSTER/c1/tags"))
                .header("x-auth-token", &app.token)
                .header("x-project-id", header(project)),
        )
        .await;
        refused(&a, 400, "SMN.00010400", "X-Project-Id");
    }
    let a = answer(
        app.rest()
            .get(v2("CLUSTER/c1/tags"))
            .header("x-auth-token", &app.token)
            .header("x-smn-resourceid-type", header(b"n\xc3\xa4me")),
    )
    .await;
    refused(&a, 400, "SMN.00010400", "X-SMN-RESOURCEID-TYPE");
}

/// Sends and receives gRPC messages as the bytes they are, to send what no generated client would.
#[derive(Clone, Copy, Default)]
struct RawBytes;

impl Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        Self
    }

    fn decoder(&mut self) -> Self {
        Self
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

async fn raw_call(app: &TestApp, method: &'static str, message: &[u8]) -> Result<Vec<u8>, Status> {
    let channel = Channel::from_shared(format!("http://{}", app.addr))
        .expect("a URI")
        .connect()
        .await
        .expect("connects");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = PathAndQuery::from_static(method);
    grpc.unary(authed(&app.token, message.to_vec()), path, RawBytes)
        .await
        .map(tonic::Response::into_inner)
}

async fn grpc_strings_that_are_not_utf8_are_invalid_argument_naming_the_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c\u{FFFD}"], &[("k", "v")]).await;
    let list = "/tagging.v1.TaggingService/ListResourceTags";
    let write = "/tagging.v1.TaggingService/TagResources";
    // Protobuf by hand: field 2 `resource_type`, field 3 `resource_id` / `resource_ids`, field 4
    // `tags` holding a Tag of field 1 `key` and field 2 `value`.
    let cases: [(&str, &[u8], &str); 5] = [
        (list, b"\x12\x07CLUSTER\x1a\x02c\xff", "resource_id"),
        (
            write,
            b"\x12\x07CLUSTER\x1a\x02c2\x22\x06\x0a\x01k\x12\x01\xff",
            "tags.value",
        ),
        (
            write,
            b"\x12\x07CLUSTER\x1a\x02c2\x22\x06\x0a\x01\xc3\x12\x01v",
            "tags.key",
        ),
        (list, b"\x12\x07CLUST", "resource_type"),
        (list, b"\xff", "request"),
    ];
    for (method, message, field) in cases {
        let err = raw_call(&app, method, message).await.expect_err("refused");
        assert_invalid(&err, field);
    }
    // The same bytes, valid, are answered: the refusals above are about the bytes alone.
    let answer = raw_call(&app, list, b"\x12\x07CLUSTER\x1a\x04c\xef\xbf\xbd").await;
    assert_eq!(
        answer.expect("a valid request"),
        b"\x0a\x06\x0a\x01k\x12\x01v\x10\x01",
    );
    let err = app.resource_tags("CLUSTER", "c2").await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
}

both_backends!(
    bytes_that_are_not_utf8_are_refused_never_replaced,
    grpc_strings_that_are_not_utf8_are_invalid_argument_naming_the_field,
);
