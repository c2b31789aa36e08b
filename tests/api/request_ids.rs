//! Request ids on gRPC answers, and the one log line every call writes with its request id.

use tonic::Code;

use crate::helpers::{
    Backend, TaggingServiceClient, TestApp, authed,
    binary::{log_lines_of, start_server, token_and_json_serve},
    tag_request,
};

fn request_id_of(metadata: &tonic::metadata::MetadataMap) -> String {
    metadata
        .get("x-request-id")
        .expect("every answer carries x-request-id")
        .to_str()
        .expect("visible ASCII")
        .to_owned()
}

async fn grpc_answers_carry_the_callers_request_id_or_a_fresh_uuid(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut client = app.client.clone();
    let mine = "trace-7d1e-42";

    let mut ok = authed(&app.token, tag_request(&["r1"], &[("env", "dev")]));
    ok.metadata_mut()
        .insert("x-request-id", mine.parse().unwrap());
    let ok = client.tag_resources(ok).await.expect("tagged");
    assert_eq!(request_id_of(ok.metadata()), mine);

    let mut failed = authed(&app.token, tag_request(&[], &[("env", "dev")]));
    failed
        .metadata_mut()
        .insert("x-request-id", mine.parse().unwrap());
    let failed = client.tag_resources(failed).await.expect_err("invalid");
    assert_eq!(failed.code(), Code::InvalidArgument);
    assert_eq!(request_id_of(failed.metadata()), mine);

    let fresh = client
        .tag_resources(authed(&app.token, tag_request(&["r2"], &[("env", "dev")])))
        .await
        .expect("tagged");
    let fresh_id = request_id_of(fresh.metadata());
    let another = client
        .tag_resources(authed(&app.token, tag_request(&[], &[])))
        .await
        .expect_err("invalid");
    let another_id = request_id_of(another.metadata());
    for id in [&fresh_id, &another_id] {
        let parsed = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.hyphenated().to_string(), *id);
    }
    assert_ne!(fresh_id, another_id, "every call gets an id of its own");
}

#[tokio::test]
async fn every_call_logs_one_line_with_its_request_id_method_project_status_and_latency_and_never_the_token()
 {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("logs.db").display());
    let (token, serve) = token_and_json_serve(&db);
    let server = start_server(serve);

    let mut client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect");
    let mut call = authed(&token, tag_request(&["r1"], &[("env", "dev")]));
    call.metadata_mut()
        .insert("x-request-id", "grpc-call-1".parse().unwrap());
    client.tag_resources(call).await.expect("tag");
    let mut bad = authed(&token, tag_request(&["r1"], &[("acs:x", "1")]));
    bad.metadata_mut()
        .insert("x-request-id", "grpc-call-2".parse().unwrap());
    client
        .tag_resources(bad)
        .await
        .expect_err("a reserved prefix is refused");
    let rest = server
        .rest()
        .get("/v2/p1/CLUSTER/r1/tags")
        .header("x-auth-token", &token)
        .header("x-request-id", "rest-call-1")
        .send()
        .await
        .expect("REST call");
    assert_eq!(rest.status(), 200);

    let ok = log_lines_of(&server, "grpc-call-1", 1).await;
    assert_eq!(ok.len(), 1, "one line per call: {ok:?}");
    assert_eq!(ok[0]["span"]["method"], "TagResources");
    assert_eq!(ok[0]["span"]["project"], "p1");
    assert_eq!(ok[0]["fields"]["code"], "Ok");
    assert!(
        ok[0]["fields"]["latency_ms"]
            .as_f64()
            .is_some_and(|ms| ms >= 0.0),
        "{}",
        ok[0]
    );

    let refused = log_lines_of(&server, "grpc-call-2", 1).await;
    assert_eq!(refused[0]["fields"]["code"], "InvalidArgument");

    let rest = log_lines_of(&server, "rest-call-1", 1).await;
    assert_eq!(rest.len(), 1, "one line per request: {rest:?}");
    assert_eq!(rest[0]["span"]["method"], "GET");
    assert_eq!(rest[0]["span"]["path"], "/v2/p1/CLUSTER/r1/tags");
    assert_eq!(rest[0]["span"]["project"], "p1");
    assert_eq!(rest[0]["fields"]["status"], 200);
    assert!(rest[0]["fields"]["latency_ms"].is_f64(), "{}", rest[0]);

    let secret = token.rsplit('_').next().expect("the token's secret part");
    let log = server.log.lock().expect("log lock").join("\n");
    assert!(!log.contains(secret), "the token's secret is in the log");
}

both_backends!(grpc_answers_carry_the_callers_request_id_or_a_fresh_uuid,);
