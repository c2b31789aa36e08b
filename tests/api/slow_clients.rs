//! Slow and idle clients are cut off: a body that trickles in is answered 408 once
//! `--body-timeout-ms` has passed and its connection closed, one announced over `--max-body-bytes`
//! 413 before it is sent; a connection with no call in flight
//! (one that sent only HTTP/2's preface, or a kept-alive HTTP/1 one after its answer) is closed
//! after `--idle-timeout-ms`; a call that runs longer than the idle timeout keeps its connection.
//! The tests wait for the server to act, each bounded by a limit far above the timeouts, and
//! assert what it did, not how fast.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::timeout,
};

use crate::helpers::{Backend, TaggingServiceClient, TestApp, WriteLock, authed, pb};

/// Far more than any timeout below: a server that never acts fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(20);

/// Reads until the server closes the connection; answers what it wrote.
async fn until_closed(conn: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    timeout(PATIENCE, conn.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

async fn a_trickling_body_is_answered_408_and_its_connection_closed(b: Backend) {
    let app = TestApp::spawn_with(b, &["--body-timeout-ms", "300"]).await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "PUT /tags HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{{",
        app.token
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    // One byte every 50 ms: the body would take 14 hours.
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if conn.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = timeout(Duration::from_secs(2), trickle).await;
    let answer = until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("RequestTimeout"),
        "the ACK form's code: {answer}"
    );
    assert!(answer.contains("300 ms"), "the limit is named: {answer}");
}

/// A body announced larger than `--max-body-bytes` is refused from its headers: none of it is sent.
async fn an_announced_body_over_the_limit_is_refused_before_it_is_sent(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "PUT /tags HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n",
        app.token
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let answer = until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("RequestEntityTooLarge"), "{answer}");
    assert!(
        answer.contains("1048576 bytes"),
        "the limit is named: {answer}"
    );
}

async fn a_body_in_time_is_served(b: Backend) {
    let app = TestApp::spawn_with(b, &["--body-timeout-ms", "300"]).await;
    let body = r#"{"resource_type":"CLUSTER","resource_ids":["c1"],"tags":[{"key":"env","value":"prod"}]}"#;
    let request = format!(
        "PUT /tags HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        app.token,
        body.len()
    );
    let mut conn = TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(request.as_bytes()).await.unwrap();
    let answer = until_closed(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

async fn a_connection_without_calls_is_closed_when_idle(b: Backend) {
    let app = TestApp::spawn_with(b, &["--idle-timeout-ms", "1000"]).await;
    // HTTP/2's preface and an empty SETTINGS frame, then nothing.
    let mut h2 = TcpStream::connect(app.addr).await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    until_closed(&mut h2).await;
    // A kept-alive HTTP/1 connection, after its answer.
    let mut h1 = TcpStream::connect(app.addr).await.unwrap();
    h1.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut h1).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

async fn a_call_longer_than_the_idle_timeout_keeps_its_connection(b: Backend) {
    let app = TestApp::spawn_with(b, &["--idle-timeout-ms", "1000"]).await;
    // A connection of its own, opened now: the test app's was opened more than an idle time ago.
    let mut client = TaggingServiceClient::connect(format!("http://{}", app.addr))
        .await
        .unwrap();
    let lock = WriteLock::take(&app).await;
    let token = app.token.clone();
    let call = tokio::spawn(async move {
        let req = pb::TagResourcesRequest {
            resource_type: "CLUSTER".into(),
            resource_ids: vec!["c1".into()],
            tags: vec![pb::Tag {
                key: "env".into(),
                value: "prod".into(),
            }],
            ..Default::default()
        };
        client.tag_resources(authed(&token, req)).await
    });
    // The write waits on the lock for twice the idle timeout.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    lock.release().await;
    let answer = timeout(PATIENCE, call)
        .await
        .expect("the call ends")
        .unwrap();
    answer.expect("the call in flight was answered on its connection");
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "prod".to_owned())]
    );
}

both_backends!(
    a_trickling_body_is_answered_408_and_its_connection_closed,
    an_announced_body_over_the_limit_is_refused_before_it_is_sent,
    a_body_in_time_is_served,
    a_connection_without_calls_is_closed_when_idle,
    a_call_longer_than_the_idle_timeout_keeps_its_connection
);
