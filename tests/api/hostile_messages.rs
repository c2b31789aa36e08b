//! A hostile gRPC message costs the server little: 2 million empty repeated entries (4 MB, about
//! 4 KB once gzip-compressed) sent by 8 concurrent calls, with and without a token, leave the real
//! binary's peak memory within a few MB of idle, and every call gets a client-error code.

use std::time::Duration;

use tonic::{
    Code, codec::CompressionEncoding, codegen::http::uri::PathAndQuery, transport::Channel,
};
use tonic_prost::ProstCodec;

use crate::helpers::{
    Backend, TaggingServiceClient, TestApp, TestDb, authed, binary::start_server,
    binary::token_and_json_serve, pb,
};

/// What the process holds now and at most so far, in KiB, from `/proc`.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("{name} in {status}"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

const CALLS: usize = 8;
/// Over the peak at idle: a few MB, where decoding one such message took about 100 MB.
const HEADROOM_KIB: u64 = 16 * 1024;

async fn hostile_messages_with_or_without_a_token_are_refused_within_a_few_mb(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    let (token, serve) = token_and_json_serve(&url);
    let server = start_server(serve);
    let pid = server.child.id();
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let client = TaggingServiceClient::new(channel)
        .send_compressed(CompressionEncoding::Gzip)
        .max_encoding_message_size(8 << 20);
    // A warm-up call of each kind, so the peak below is the hostile calls' alone.
    for credentials in [None, Some(token.as_str())] {
        let small = pb::TagResourcesRequest {
            resource_type: "CLUSTER".into(),
            ..Default::default()
        };
        let req = match credentials {
            Some(t) => authed(t, small),
            None => tonic::Request::new(small),
        };
        let _ = client.clone().tag_resources(req).await;
    }
    let (idle, _) = memory_kib(pid);

    let hostile = pb::TagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: vec![String::new(); 2_000_000],
        ..Default::default()
    };
    let mut calls = Vec::new();
    for i in 0..CALLS * 2 {
        let (mut client, hostile, token) = (client.clone(), hostile.clone(), token.clone());
        calls.push(tokio::spawn(async move {
            let req = if i % 2 == 0 {
                tonic::Request::new(hostile)
            } else {
                authed(&token, hostile)
            };
            client.tag_resources(req).await
        }));
    }
    for call in calls {
        let refused = call
            .await
            .expect("the call task")
            .expect_err("a hostile message is refused");
        let client_error = [
            Code::Unauthenticated,
            Code::ResourceExhausted,
            Code::InvalidArgument,
        ];
        assert!(client_error.contains(&refused.code()), "{refused:?}");
    }
    let (_, peak) = memory_kib(pid);
    assert!(
        peak <= idle + HEADROOM_KIB,
        "peak RSS {peak} KiB against {idle} KiB at idle: {} KiB more",
        peak.saturating_sub(idle)
    );
}

/// A call without a token whose message never comes: refused from its headers alone. (Were the
/// message read first, no answer would come while the caller holds it back.)
async fn a_call_without_credentials_is_refused_before_its_message_arrives(b: Backend) {
    let app = TestApp::spawn(b).await;
    let channel = Channel::from_shared(format!("http://{}", app.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    for token in [None, Some("tgs_0000000000000000_not-a-token")] {
        grpc.ready().await.expect("ready");
        let mut request = tonic::Request::new(tokio_stream::pending::<pb::TagResourcesRequest>());
        if let Some(token) = token {
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().expect("ASCII"),
            );
        }
        let path = PathAndQuery::from_static("/tagging.v1.TaggingService/TagResources");
        let codec = ProstCodec::<pb::TagResourcesRequest, pb::TagResourcesResponse>::default();
        let answered = tokio::time::timeout(
            Duration::from_secs(20),
            grpc.client_streaming(request, path, codec),
        )
        .await
        .unwrap_or_else(|_| panic!("{token:?}: no answer while the message is held back"));
        let refused = answered.expect_err("no credentials");
        assert_eq!(
            refused.code(),
            Code::Unauthenticated,
            "{token:?}: {refused:?}"
        );
    }
}

both_backends!(
    hostile_messages_with_or_without_a_token_are_refused_within_a_few_mb,
    a_call_without_credentials_is_refused_before_its_message_arrives,
);
