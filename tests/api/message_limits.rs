//! Message and body limits (`--max-message-bytes`, `--max-body-bytes`) at and one byte past the
//! bound, and gzip-compressed gRPC both ways.

use prost::Message;
use reqwest::StatusCode;
use serde_json::json;
use tonic::{Code, codec::CompressionEncoding, transport::Channel};

use crate::helpers::{
    Backend, TaggingServiceClient, TestApp, answer, assert_error, assert_never_written, authed, pb,
    tag, tag_request,
};

async fn grpc_calls_may_be_gzip_compressed_both_ways(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["z1"], &[("env", "dev")]).await;
    let channel = Channel::from_shared(format!("http://{}", app.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut client = TaggingServiceClient::new(channel)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let req = pb::ListResourceTagsRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "z1".into(),
        ..Default::default()
    };
    let answer = client
        .list_resource_tags(authed(&app.token, req))
        .await
        .expect("a gzip-compressed call is served");
    assert_eq!(
        answer
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip"),
        "the answer is compressed too"
    );
    assert_eq!(answer.into_inner().tags, [tag("env", "dev")]);
}

/// A valid TagResources request of `resource_id` whose encoding is exactly `size` bytes.
fn request_of_size(resource_id: &str, size: usize) -> pb::TagResourcesRequest {
    let mut req = tag_request(&[resource_id], &[]);
    req.tags = (0..10)
        .map(|i| tag(&format!("k{i}"), &"v".repeat(190)))
        .collect();
    // Every value stays between 128 and 255 characters, so no length prefix changes its width
    // and one correction of the last value lands on `size` exactly.
    let now = req.encoded_len();
    let last = &mut req.tags.last_mut().expect("ten tags").value;
    let want = (last.len() + size)
        .checked_sub(now)
        .expect("size reachable");
    assert!((128..=255).contains(&want), "value of {want} characters");
    *last = "v".repeat(want);
    assert_eq!(req.encoded_len(), size);
    req
}

async fn grpc_messages_above_max_message_bytes_are_resource_exhausted_and_write_nothing(
    b: Backend,
) {
    let app = TestApp::spawn_with(b, &["--max-message-bytes", "2048"]).await;
    let mut client = app.client.clone();

    let over = client
        .tag_resources(authed(&app.token, request_of_size("over", 2049)))
        .await
        .expect_err("a request of 2049 bytes is above the limit");
    assert_eq!(over.code(), Code::ResourceExhausted, "{over:?}");
    assert!(over.message().contains("2048"), "{}", over.message());
    assert_never_written(&app, "over").await;

    let at_limit = request_of_size("at-limit", 2048);
    let expected: Vec<(String, String)> = at_limit
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    client
        .tag_resources(authed(&app.token, at_limit))
        .await
        .expect("a request of exactly 2048 bytes is within the limit");
    let mut written = app
        .resource_tags("CLUSTER", "at-limit")
        .await
        .expect("read");
    written.sort();
    assert_eq!(written, expected);
}

async fn grpc_answers_above_max_message_bytes_are_refused_and_at_it_are_sent(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-message-bytes", "2048"]).await;
    let mut c = app.client.clone();
    // Ten tags of 200-character values, written in two requests each well under the limit; the
    // last value is sized so that the answer of ListResourceTags is exactly 2048 bytes.
    let tags = |last: usize| -> Vec<pb::Tag> {
        (0..10)
            .map(|i| {
                tag(
                    &format!("k{i}"),
                    &"v".repeat(if i == 9 { last } else { 200 }),
                )
            })
            .collect()
    };
    // "at" is written by the project's first two writes: it answers revision 2.
    let answer_len = |last| {
        pb::ListResourceTagsResponse {
            tags: tags(last),
            revision: 2,
        }
        .encoded_len()
    };
    let last = 200 + 2048 - answer_len(200);
    assert_eq!(answer_len(last), 2048);
    let read = |id: &str| pb::ListResourceTagsRequest {
        resource_type: "CLUSTER".into(),
        resource_id: id.into(),
        ..Default::default()
    };
    for (id, last) in [("at", last), ("over", last + 1)] {
        let all = tags(last);
        for half in all.chunks(5) {
            let mut req = tag_request(&[id], &[]);
            req.tags = half.to_vec();
            c.tag_resources(authed(&app.token, req))
                .await
                .expect("each half is a small request");
        }
    }
    let at = c
        .list_resource_tags(authed(&app.token, read("at")))
        .await
        .expect("an answer of exactly 2048 bytes is sent")
        .into_inner();
    assert_eq!(at.encoded_len(), 2048);
    let over = c
        .list_resource_tags(authed(&app.token, read("over")))
        .await
        .expect_err("an answer of 2049 bytes is not sent");
    assert_eq!(over.code(), Code::OutOfRange, "{over:?}");
}

/// A valid `PUT /tags` body of `resource_id` that is exactly `size` bytes long.
fn json_body_of_size(resource_id: &str, size: usize) -> String {
    let body = |values: &[usize]| {
        let tags: Vec<serde_json::Value> = values
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"key": format!("k{i}"), "value": "v".repeat(*n)}))
            .collect();
        json!({"resource_type": "CLUSTER", "resource_ids": [resource_id], "tags": tags}).to_string()
    };
    // Whole tags of 200-character values, then one shorter value to land exactly on `size`.
    let mut values = Vec::new();
    while body(&[values.as_slice(), &[200, 0]].concat()).len() <= size {
        values.push(200);
    }
    let short = size - body(&[values.as_slice(), &[0]].concat()).len();
    values.push(short);
    let text = body(&values);
    assert_eq!(text.len(), size);
    text
}

async fn rest_bodies_pass_at_max_body_bytes_and_are_refused_one_byte_beyond(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-body-bytes", "1024"]).await;
    let put = |body: String| {
        answer(
            app.rest()
                .put("/tags")
                .bearer_auth(&app.token)
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let over = put(json_body_of_size("over", 1025)).await;
    assert_error(&over, 413, "RequestEntityTooLarge", "1024 bytes");
    assert_never_written(&app, "over").await;
    let body = json_body_of_size("at-limit", 1024);
    let sent: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let at = put(body).await;
    assert_eq!(at.status, StatusCode::OK, "{}", at.body);
    let written = app
        .resource_tags("CLUSTER", "at-limit")
        .await
        .expect("read");
    assert_eq!(
        written.len(),
        sent["tags"].as_array().expect("tags").len(),
        "every tag of the body was written"
    );
}

/// `--max-request-bytes` bounds what a call sends (checked as it is decompressed), not what it is
/// answered, which `--max-message-bytes` bounds.
async fn grpc_requests_above_max_request_bytes_are_resource_exhausted_and_answers_may_be_larger(
    b: Backend,
) {
    let app = TestApp::spawn_with(b, &["--max-request-bytes", "2048"]).await;
    let mut client = app.client.clone();
    let over = client
        .tag_resources(authed(&app.token, request_of_size("over", 2049)))
        .await
        .expect_err("a request of 2049 bytes is above the limit");
    assert_eq!(over.code(), Code::ResourceExhausted, "{over:?}");
    assert!(over.message().contains("2048"), "{}", over.message());
    assert_never_written(&app, "over").await;
    client
        .tag_resources(authed(&app.token, request_of_size("at-limit", 2048)))
        .await
        .expect("a request of exactly 2048 bytes is within the limit");
    let more = tag_request(&["at-limit"], &[("k10", &"w".repeat(250))]);
    client
        .tag_resources(authed(&app.token, more))
        .await
        .expect("a small request");
    let answer = client
        .list_resource_tags(authed(
            &app.token,
            pb::ListResourceTagsRequest {
                resource_type: "CLUSTER".into(),
                resource_id: "at-limit".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("an answer above the request limit is sent")
        .into_inner();
    assert!(answer.encoded_len() > 2048, "{}", answer.encoded_len());
}

both_backends!(
    grpc_requests_above_max_request_bytes_are_resource_exhausted_and_answers_may_be_larger,
    grpc_calls_may_be_gzip_compressed_both_ways,
    grpc_messages_above_max_message_bytes_are_resource_exhausted_and_write_nothing,
    grpc_answers_above_max_message_bytes_are_refused_and_at_it_are_sent,
    rest_bodies_pass_at_max_body_bytes_and_are_refused_one_byte_beyond,
);
