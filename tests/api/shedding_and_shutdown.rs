//! Load shedding beyond `--max-concurrent-calls`, and a shutdown that stops waiting for a stuck
//! call after its grace period.

use std::time::Duration;

use tonic::Code;

use crate::helpers::{Backend, TestApp, WriteLock, answer, assert_error, authed, tag_request};

async fn calls_beyond_max_concurrent_calls_are_shed_on_both_faces_and_the_admitted_one_completes(
    b: Backend,
) {
    let app = TestApp::spawn_with(b, &["--max-concurrent-calls", "1"]).await;
    let lock = WriteLock::take(&app).await;
    // Start the write that will hold the only slot. It is in flight once it has not finished after
    // a moment: now it could only finish by being shed (if a probe held the slot), then it starts
    // again.
    let blocked = loop {
        let mut client = app.client.clone();
        let token = app.token.clone();
        let write = tokio::spawn(async move {
            let req = tag_request(&["admitted"], &[("k", "v")]);
            client.tag_resources(authed(&token, req)).await
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !write.is_finished() {
            break write;
        }
    };

    match app.resource_tags("CLUSTER", "anything").await {
        Err(status) if status.code() == Code::ResourceExhausted => {}
        other => panic!("a call beyond the limit was not shed: {other:?}"),
    }
    let rest = app
        .rest()
        .get("/tags")
        .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["x"]"#)])
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("REST call");
    assert_eq!(
        rest.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    let rest = answer(
        app.rest()
            .get("/tags")
            .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["x"]"#)])
            .bearer_auth(&app.token),
    )
    .await;
    assert_error(&rest, 429, "Throttling", "too many calls");

    lock.release().await;
    blocked
        .await
        .expect("task")
        .expect("the admitted write completes once the lock is gone");
    assert_eq!(
        app.resource_tags("CLUSTER", "admitted")
            .await
            .expect("listed"),
        [("k".to_owned(), "v".to_owned())]
    );
}

#[tokio::test]
async fn postgres_shutdown_stops_waiting_for_a_stuck_call_after_the_grace_period() {
    // The call would wait on the lock for ten minutes; the grace period is one second.
    let mut app = TestApp::spawn_with(
        Backend::Postgres,
        &[
            "--request-timeout-ms",
            "600000",
            "--shutdown-grace-secs",
            "1",
        ],
    )
    .await;
    let lock = WriteLock::take(&app).await;
    let mut client = app.client.clone();
    let token = app.token.clone();
    let stuck = tokio::spawn(async move {
        let req = tag_request(&["stuck"], &[("k", "v")]);
        client.tag_resources(authed(&token, req)).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!stuck.is_finished(), "the write is blocked by the lock");
    // Without the bound this would wait for the stuck call, ten minutes.
    tokio::time::timeout(Duration::from_secs(60), app.stop())
        .await
        .expect("the server stopped after its grace period");
    lock.release().await;
}

both_backends!(
    calls_beyond_max_concurrent_calls_are_shed_on_both_faces_and_the_admitted_one_completes,
);
