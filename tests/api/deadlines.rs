//! Deadlines, with the database's write lock held by the test so that a write blocks for as long
//! as the test says: the caller's deadline and the server's own request timeout, on both faces.

use std::time::Duration;

use prost::Message;
use serde_json::json;
use tonic::Code;

use crate::helpers::{
    Backend, TestApp, WriteLock, answer, assert_error, assert_never_written, authed,
    grpc_web::{grpc_web_call, grpc_web_status},
    tag_request,
};

/// After the lock is gone: 20 sequential writes succeed (the pool was not left exhausted or stuck
/// in the abandoned transaction), and none of the `abandoned` writes happened.
async fn assert_recovered(app: &TestApp, abandoned: &[&str]) {
    let mut client = app.client.clone();
    for i in 0..20 {
        let id = format!("after-{i}");
        let req = tag_request(&[&id], &[("n", &i.to_string())]);
        if let Err(status) = client.tag_resources(authed(&app.token, req)).await {
            panic!("write {i} after the lock was released failed: {status:?}");
        }
    }
    for i in 0..20 {
        let id = format!("after-{i}");
        let tags = app.resource_tags("CLUSTER", &id).await.expect("listed");
        assert_eq!(tags, [("n".to_owned(), i.to_string())], "{id}");
    }
    for id in abandoned {
        assert_never_written(app, id).await;
    }
}

async fn a_write_blocked_past_the_callers_deadline_is_deadline_exceeded_and_leaves_nothing_behind(
    b: Backend,
) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["before"], &[("env", "dev")]).await;
    let lock = WriteLock::take(&app).await;

    // A tonic caller: its own channel also enforces the deadline it sends.
    let mut late = authed(&app.token, tag_request(&["late-grpc"], &[("late", "grpc")]));
    late.set_timeout(Duration::from_millis(300));
    let tonic_caller = app
        .client
        .clone()
        .tag_resources(late)
        .await
        .expect_err("the write cannot finish while the lock is held");

    // The server's own answer to a `grpc-timeout`, read from a caller without a timer of its own
    // (gRPC-Web over HTTP/1.1).
    let (headers, frames) = grpc_web_call(
        &app,
        "TagResources",
        &tag_request(&["late-web"], &[("late", "web")]).encode_to_vec(),
        &[("grpc-timeout", "300m")],
    )
    .await;
    assert_eq!(
        grpc_web_status(&headers, &frames).as_deref(),
        Some("4"),
        "DEADLINE_EXCEEDED from the server: {headers:?} {frames:?}"
    );

    let rest = answer(
        app.rest()
            .put("/tags")
            .bearer_auth(&app.token)
            .header("grpc-timeout", "300m")
            .json(&json!({
                "resource_type": "CLUSTER",
                "resource_ids": ["late-rest"],
                "tags": [{"key": "late", "value": "rest"}],
            })),
    )
    .await;
    assert_error(&rest, 504, "GatewayTimeout", "deadline");

    // On SQLite (WAL), reads do not need the write lock: the service still answers them meanwhile.
    // (PostgreSQL's ACCESS EXCLUSIVE lock blocks reads of the table too.)
    if b == Backend::Sqlite {
        assert_eq!(
            app.resource_tags("CLUSTER", "before").await.expect("read"),
            [("env".to_owned(), "dev".to_owned())]
        );
    }

    lock.release().await;
    assert_recovered(&app, &["late-grpc", "late-web", "late-rest"]).await;

    // Checked last so that a failure here does not hide the checks above.
    assert_eq!(
        tonic_caller.code(),
        Code::DeadlineExceeded,
        "a tonic caller with a 300 ms deadline: {tonic_caller:?}"
    );
}

async fn the_servers_request_timeout_bounds_a_call_that_sets_no_deadline(b: Backend) {
    // Long enough that the writes after the lock is released finish in time on a loaded machine.
    let app = TestApp::spawn_with(b, &["--request-timeout-ms", "1500"]).await;
    let lock = WriteLock::take(&app).await;

    let status = app
        .client
        .clone()
        .tag_resources(authed(
            &app.token,
            tag_request(&["late-grpc"], &[("late", "grpc")]),
        ))
        .await
        .expect_err("the write cannot finish while the lock is held");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

    let rest = answer(
        app.rest()
            .put("/tags")
            .bearer_auth(&app.token)
            .json(&json!({
                "resource_type": "CLUSTER",
                "resource_ids": ["late-rest"],
                "tags": [{"key": "late", "value": "rest"}],
            })),
    )
    .await;
    assert_error(&rest, 504, "GatewayTimeout", "deadline");

    lock.release().await;
    assert_recovered(&app, &["late-grpc", "late-rest"]).await;
}

both_backends!(
    a_write_blocked_past_the_callers_deadline_is_deadline_exceeded_and_leaves_nothing_behind,
    the_servers_request_timeout_bounds_a_call_that_sets_no_deadline,
);
