//! Request ids, and what unknown paths and methods answer.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::{Backend, TestApp, answer, assert_error, row};

async fn a_callers_request_id_is_echoed_in_the_header_and_the_body(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let mine = "trace-0f3c-41aa";

    let ok = answer(
        app.rest()
            .get("/tags")
            .bearer_auth(&app.token)
            .header("x-request-id", mine)
            .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
    )
    .await;
    assert_eq!(rows(&ok), [row("c1", "env", "dev")]);
    assert_eq!(ok.request_id, mine);
    assert_eq!(ok.body["request_id"], mine);

    let failed = answer(
        app.rest()
            .get("/tags")
            .bearer_auth(&app.token)
            .header("x-request-id", mine)
            .query(&[("resource_ids", r#"["c1"]"#)]),
    )
    .await;
    assert_error(&failed, 400, "InvalidParameter", "resource_type");
    assert_eq!(failed.request_id, mine);

    let unauthenticated = answer(
        app.rest()
            .get("/tags")
            .header("x-request-id", mine)
            .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
    )
    .await;
    assert_error(&unauthenticated, 401, "Unauthorized", "token");
    assert_eq!(unauthenticated.request_id, mine);

    let written = answer(
        app.rest()
            .put("/tags")
            .bearer_auth(&app.token)
            .header("x-request-id", mine)
            .json(&json!({"resource_type": "CLUSTER", "resource_ids": ["c2"], "tags": [{"key": "env", "value": "dev"}]})),
    )
    .await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);
    assert_eq!(written.request_id, mine);
    assert_eq!(written.body["RequestId"], mine);

    // An id too long to echo is replaced by a fresh one, which the body then carries.
    let long = "x".repeat(129);
    let replaced = answer(
        app.rest()
            .get("/tags")
            .bearer_auth(&app.token)
            .header("x-request-id", &long)
            .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_ne!(replaced.request_id, long);
    assert!(!replaced.request_id.is_empty());
    assert_eq!(replaced.body["request_id"], replaced.request_id.as_str());
}

async fn unknown_paths_answer_grpc_callers_unimplemented_and_others_a_json_404(b: Backend) {
    let app = TestApp::spawn(b).await;

    let grpc = answer(
        app.rest()
            .post("/tagging.v1.NoSuchService/Call")
            .header("content-type", "application/grpc")
            .body(vec![0u8, 0, 0, 0, 0]),
    )
    .await;
    assert_eq!(grpc.status, StatusCode::OK);
    assert_eq!(grpc.grpc_status.as_deref(), Some("12"));

    let plain = answer(app.rest().get("/no/such/route")).await;
    assert_error(&plain, 404, "NotFound", "/no/such/route");
    assert_eq!(plain.grpc_status, None);
}

async fn a_known_path_asked_with_another_method_answers_a_json_405(b: Backend) {
    let app = TestApp::spawn(b).await;
    let wrong = answer(app.rest().post("/tags").header("x-auth-token", &app.token)).await;
    assert_error(&wrong, 405, "MethodNotAllowed", "POST /tags");
}

both_backends!(
    a_callers_request_id_is_echoed_in_the_header_and_the_body,
    unknown_paths_answer_grpc_callers_unimplemented_and_others_a_json_404,
    a_known_path_asked_with_another_method_answers_a_json_405,
);
