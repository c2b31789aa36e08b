//! The service's bounds and operational surface over real connections: deadlines (with the
//! database's write lock held by the test, so a write blocks for as long as the test says), message
//! and body limits, gRPC-Web, CORS, metrics, request ids on gRPC, health following the database,
//! and the binary refusing bad configuration at start.

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use prost::Message;
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection, SqliteConnection};
use tagging_service::proto::pb::{self, tagging_service_client::TaggingServiceClient};
use tonic::{Code, Status, codec::CompressionEncoding, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{
    helpers::{Backend, TestApp, assert_invalid, authed, ids, tag},
    rest_ack::{answer, assert_error, http},
};

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

fn tag_request(resources: &[&str], tags: &[(&str, &str)]) -> pb::TagResourcesRequest {
    pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: "CLUSTER".into(),
        resource_ids: ids(resources),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
    }
}

fn tags_url(app: &TestApp) -> String {
    format!("http://{}/tags", app.addr)
}

/// Asserts that `id` was never registered: its tags are NOT_FOUND.
async fn assert_never_written(app: &TestApp, id: &str) {
    match app.resource_tags("CLUSTER", id).await {
        Err(status) => assert_eq!(status.code(), Code::NotFound, "{id}: {status:?}"),
        Ok(tags) => panic!("`{id}` should not exist, but carries {tags:?}"),
    }
}

/// The database's write lock, held by the test's own connection until released: while it is held,
/// every write of the service blocks (on PostgreSQL, every write that needs what `holding` locks).
pub(crate) enum WriteLock {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl WriteLock {
    async fn take(app: &TestApp) -> Self {
        Self::holding(app, "LOCK TABLE resources IN ACCESS EXCLUSIVE MODE").await
    }

    /// SQLite's write lock, or on PostgreSQL the lock `postgres_lock` takes in an open transaction.
    pub(crate) async fn holding(app: &TestApp, postgres_lock: &str) -> Self {
        if app.database_url.starts_with("sqlite:") {
            let mut conn = SqliteConnection::connect(&app.database_url)
                .await
                .expect("the test's own SQLite connection");
            conn.execute("BEGIN IMMEDIATE")
                .await
                .expect("the test takes SQLite's write lock");
            Self::Sqlite(conn)
        } else {
            let mut conn = PgConnection::connect(&app.database_url)
                .await
                .expect("the test's own PostgreSQL connection");
            conn.execute("BEGIN").await.expect("BEGIN");
            conn.execute(postgres_lock)
                .await
                .unwrap_or_else(|e| panic!("the test takes its lock ({postgres_lock}): {e}"));
            Self::Postgres(conn)
        }
    }

    pub(crate) async fn release(self) {
        match self {
            Self::Sqlite(mut conn) => {
                conn.execute("ROLLBACK").await.expect("ROLLBACK");
                conn.close().await.expect("close");
            }
            Self::Postgres(mut conn) => {
                conn.execute("ROLLBACK").await.expect("ROLLBACK");
                conn.close().await.expect("close");
            }
        }
    }
}

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

// ---------------------------------------------------------------------------------------------
// 1. Deadlines
// ---------------------------------------------------------------------------------------------

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
        http()
            .put(tags_url(&app))
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
        http()
            .put(tags_url(&app))
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
    let rest = http()
        .get(tags_url(&app))
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
        http()
            .get(tags_url(&app))
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

// ---------------------------------------------------------------------------------------------
// 2. Limits
// ---------------------------------------------------------------------------------------------

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

async fn grpc_messages_above_max_message_bytes_are_out_of_range_and_write_nothing(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-message-bytes", "2048"]).await;
    let mut client = app.client.clone();

    let over = client
        .tag_resources(authed(&app.token, request_of_size("over", 2049)))
        .await
        .expect_err("a request of 2049 bytes is above the limit");
    assert_eq!(over.code(), Code::OutOfRange, "{over:?}");
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
    let answer_len = |last| pb::ListResourceTagsResponse { tags: tags(last) }.encoded_len();
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
            http()
                .put(format!("http://{}/tags", app.addr))
                .bearer_auth(&app.token)
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let over = put(json_body_of_size("over", 1025)).await;
    assert_error(&over, 400, "InvalidParameter", "body");
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

// ---------------------------------------------------------------------------------------------
// 3. gRPC-Web
// ---------------------------------------------------------------------------------------------

/// Splits a gRPC(-Web) body into its (flag, payload) frames.
fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
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

/// Calls `method` of the tagging service over gRPC-Web (HTTP/1.1) with `message`, as the project's
/// token; answers the response headers and the body's frames.
pub(crate) async fn grpc_web_call(
    app: &TestApp,
    method: &str,
    message: &[u8],
    extra: &[(&str, &str)],
) -> (HeaderMap, Vec<(u8, Vec<u8>)>) {
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(message);
    let mut req = http()
        .post(format!(
            "http://{}/tagging.v1.TaggingService/{method}",
            app.addr
        ))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("x-auth-token", &app.token);
    for (name, value) in extra {
        req = req.header(*name, *value);
    }
    let res = req.body(frame).send().await.expect("answered");
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    let body = res.bytes().await.expect("body");
    (headers, frames(&body))
}

/// The `grpc-status` of a gRPC-Web answer: from its trailer frame, else (trailers-only) its headers.
pub(crate) fn grpc_web_status(headers: &HeaderMap, frames: &[(u8, Vec<u8>)]) -> Option<String> {
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

// ---------------------------------------------------------------------------------------------
// 4. CORS
// ---------------------------------------------------------------------------------------------

const ORIGIN: &str = "https://app.example";

async fn preflight(app: &TestApp, origin: &str) -> HeaderMap {
    let res = http()
        .request(reqwest::Method::OPTIONS, tags_url(app))
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

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("visible ASCII"))
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

    let simple = http()
        .get(tags_url(&app))
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
    let stranger_get = http()
        .get(tags_url(&app))
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

// ---------------------------------------------------------------------------------------------
// 5. Metrics
// ---------------------------------------------------------------------------------------------

/// The value of the sample whose series (name and labels, as emitted) is exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().expect("a number"))
    })
}

async fn metrics_count_calls_by_transport_method_and_code(b: Backend) {
    let app = TestApp::spawn(b).await;
    for id in ["m1", "m2", "m3"] {
        app.tag("CLUSTER", &[id], &[("env", "dev")]).await;
    }
    let invalid = app
        .client
        .clone()
        .tag_resources(authed(&app.token, tag_request(&[], &[("env", "dev")])))
        .await
        .expect_err("no resource ids");
    assert_invalid(&invalid, "resource_ids");
    for _ in 0..2 {
        let listed = answer(
            http()
                .get(tags_url(&app))
                .bearer_auth(&app.token)
                .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
        )
        .await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    }

    let res = http()
        .get(format!("http://{}/metrics", app.addr))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = res.text().await.expect("text");
    assert!(text.ends_with("# EOF\n"), "{text}");

    let expect = |series: &str, value: f64| {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    };
    expect(
        r#"tagging_requests_total{transport="grpc",method="TagResources",code="Ok"}"#,
        3.0,
    );
    expect(
        r#"tagging_requests_total{transport="grpc",method="TagResources",code="InvalidArgument"}"#,
        1.0,
    );
    expect(
        r#"tagging_requests_total{transport="rest",method="GET /tags",code="200"}"#,
        2.0,
    );
    expect(r#"tagging_errors_total{kind="invalid_argument"}"#, 1.0);
    expect(
        r#"tagging_request_duration_seconds_count{transport="grpc",method="TagResources"}"#,
        4.0,
    );
    expect(
        r#"tagging_request_duration_seconds_bucket{le="+Inf",transport="grpc",method="TagResources"}"#,
        4.0,
    );
    let buckets = text
        .lines()
        .filter(|l| {
            l.starts_with("tagging_request_duration_seconds_bucket{")
                && l.contains(r#"transport="grpc",method="TagResources""#)
        })
        .count();
    assert!(buckets > 1, "latency buckets of TagResources in\n{text}");
    let idle = sample(&text, r#"tagging_db_connections{state="idle"}"#)
        .unwrap_or_else(|| panic!("idle connections in\n{text}"));
    assert!(idle >= 0.0, "{idle}");
    assert!(
        sample(&text, r#"tagging_db_connections{state="in_use"}"#).is_some(),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Request ids on gRPC
// ---------------------------------------------------------------------------------------------

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

both_backends!(
    grpc_calls_may_be_gzip_compressed_both_ways,
    calls_beyond_max_concurrent_calls_are_shed_on_both_faces_and_the_admitted_one_completes,
    a_write_blocked_past_the_callers_deadline_is_deadline_exceeded_and_leaves_nothing_behind,
    the_servers_request_timeout_bounds_a_call_that_sets_no_deadline,
    grpc_messages_above_max_message_bytes_are_out_of_range_and_write_nothing,
    grpc_answers_above_max_message_bytes_are_refused_and_at_it_are_sent,
    rest_bodies_pass_at_max_body_bytes_and_are_refused_one_byte_beyond,
    grpc_web_over_http1_answers_a_data_frame_and_a_trailer_frame,
    cors_allows_only_the_configured_origins_and_exposes_the_request_id,
    metrics_count_calls_by_transport_method_and_code,
    grpc_answers_carry_the_callers_request_id_or_a_fresh_uuid,
);

// ---------------------------------------------------------------------------------------------
// 7. Health follows the database (PostgreSQL only: only a server can refuse connections)
// ---------------------------------------------------------------------------------------------

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn set_allow_connections(name: &str, allow: bool) {
    let mut admin = PgConnection::connect(&admin_url())
        .await
        .expect("admin connection");
    admin
        .execute(format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allow}"#).as_str())
        .await
        .expect("ALTER DATABASE");
    if !allow {
        admin
            .execute(
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
                .as_str(),
            )
            .await
            .expect("terminate the database's sessions");
    }
    admin.close().await.expect("close");
}

/// Lets the database accept connections again however the test ends, so it can be dropped.
struct AllowConnectionsAgain(String);

impl Drop for AllowConnectionsAgain {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
                    let _ = conn
                        .execute(
                            format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS true"#).as_str(),
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

async fn health_of(health: &mut HealthClient<Channel>, service: &str) -> Result<i32, Status> {
    let mut req = tonic::Request::new(HealthCheckRequest {
        service: service.into(),
    });
    req.set_timeout(Duration::from_secs(5));
    Ok(health.check(req).await?.into_inner().status)
}

/// Polls both health services until they report `want`; a bounded wait for a state.
async fn wait_for_health(health: &mut HealthClient<Channel>, want: ServingStatus) {
    let give_up = Instant::now() + Duration::from_secs(15);
    loop {
        let overall = health_of(health, "").await;
        let service = health_of(health, "tagging.v1.TaggingService").await;
        if matches!((&overall, &service), (Ok(a), Ok(b)) if *a == want as i32 && *b == want as i32)
        {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "health never became {want:?}: overall {overall:?}, service {service:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn postgres_health_goes_not_serving_while_the_database_refuses_connections_and_back() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let name = url::Url::parse(&app.database_url)
        .expect("a URL")
        .path()
        .trim_start_matches('/')
        .to_owned();
    assert!(name.starts_with("tagging_test_"), "{name}");
    let channel = Channel::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .connect()
        .await
        .expect("connects");
    let mut health = HealthClient::new(channel);
    wait_for_health(&mut health, ServingStatus::Serving).await;

    let _restore = AllowConnectionsAgain(name.clone());
    set_allow_connections(&name, false).await;
    wait_for_health(&mut health, ServingStatus::NotServing).await;

    let mut write = authed(&app.token, tag_request(&["outage"], &[("env", "dev")]));
    write.set_timeout(Duration::from_secs(10));
    let refused = app
        .client
        .clone()
        .tag_resources(write)
        .await
        .expect_err("no write while the database refuses connections");

    set_allow_connections(&name, true).await;
    wait_for_health(&mut health, ServingStatus::Serving).await;
    app.tag("CLUSTER", &["back"], &[("env", "dev")]).await;
    assert_eq!(
        app.resource_tags("CLUSTER", "back").await.expect("read"),
        [("env".to_owned(), "dev".to_owned())]
    );
    assert_never_written(&app, "outage").await;

    // Checked last so that a failure here does not hide the recovery checked above.
    assert_eq!(
        refused.code(),
        Code::Unavailable,
        "a write while the database refuses connections: {refused:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. The binary: bad configuration fails at start; the config file and the environment
// ---------------------------------------------------------------------------------------------

const BINARY: &str = env!("CARGO_BIN_EXE_tagging-service");

/// The binary with a clean environment of its own: no `TAGGING_…` variable of the test's.
pub(crate) fn binary() -> Command {
    let mut cmd = Command::new(BINARY);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TAGGING_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Reads a pipe to its end on a thread of its own, so the child never blocks on a full pipe.
fn drain(pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(pipe).read_to_string(&mut text);
        text
    })
}

/// Runs `cmd` to its exit, killing it after 10 s (which fails the test); answers the exit status,
/// standard output and standard error.
pub(crate) fn run_bounded(mut cmd: Command) -> (ExitStatus, String, String) {
    let mut child = cmd.spawn().expect("the binary starts");
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let give_up = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > give_up {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after 10 s; stderr so far:\n{}",
                err.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    (
        status,
        out.join().expect("stdout read"),
        err.join().expect("stderr read"),
    )
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("tagging.db").display())
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("written");
    path.display().to_string()
}

#[test]
fn the_binary_on_sqlite_exits_non_zero_at_start_naming_each_bad_option() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite_url(dir.path());
    let unknown = write_file(dir.path(), "unknown.toml", "unknown_key = 1\n");
    let not_toml = write_file(dir.path(), "broken.toml", "this is = = not toml [\n");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--max-tags-per-resource".into(),
                "0".into(),
            ],
            "--max-tags-per-resource",
        ),
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--resource-types".into(),
                "a,a".into(),
            ],
            "--resource-types",
        ),
        (
            vec!["--database-url".into(), "ftp://x".into()],
            "--database-url",
        ),
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--cors-allowed-origins".into(),
                "bad\nvalue".into(),
            ],
            "--cors-allowed-origins",
        ),
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--config".into(),
                unknown,
            ],
            "unknown_key",
        ),
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--config".into(),
                not_toml,
            ],
            "--config",
        ),
    ];
    for (extra, names) in cases {
        let mut cmd = binary();
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(&extra);
        let (status, _, stderr) = run_bounded(cmd);
        assert!(
            !status.success(),
            "{extra:?} should fail: {status:?}\n{stderr}"
        );
        assert!(
            stderr.contains(names),
            "{extra:?}: stderr should name `{names}`:\n{stderr}"
        );
        assert!(
            !stderr.contains("tagging-service ready"),
            "{extra:?} should fail before serving:\n{stderr}"
        );
    }
}

/// A running server process, killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: std::net::SocketAddr,
    /// Every log line after the ready line, as it arrives.
    pub(crate) log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` with JSON logs and waits (at most 15 s) for its `tagging-service ready` line.
pub(crate) fn start_server(mut cmd: Command) -> Server {
    let mut child = cmd.spawn().expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let _ = drain(child.stdout.take().expect("stdout"));
    let (lines, got) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let give_up = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let left = give_up.saturating_duration_since(Instant::now());
        match got.recv_timeout(left) {
            Ok(line) => {
                if let Ok(log) = serde_json::from_str::<serde_json::Value>(&line)
                    && log["fields"]["message"] == "tagging-service ready"
                {
                    let addr = log["fields"]["address"]
                        .as_str()
                        .unwrap_or_else(|| panic!("no address in {line}"))
                        .parse()
                        .expect("a socket address");
                    // Keep reading the log, so the server never blocks on a full pipe.
                    let log = Arc::new(Mutex::new(Vec::new()));
                    let kept = log.clone();
                    thread::spawn(move || {
                        while let Ok(line) = got.recv() {
                            kept.lock().expect("log lock").push(line);
                        }
                    });
                    return Server { child, addr, log };
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server never became ready:\n{}", seen.join("\n"));
            }
        }
    }
}

/// Tags `r1` with two tags, then a third: answers the third call's outcome.
async fn third_tag(server: &Server, token: &str) -> Result<(), Status> {
    let mut client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client connects");
    client
        .tag_resources(authed(
            token,
            tag_request(&["r1"], &[("a", "1"), ("b", "2")]),
        ))
        .await
        .expect("two tags are within either limit");
    client
        .tag_resources(authed(token, tag_request(&["r1"], &[("c", "3")])))
        .await
        .map(drop)
}

#[tokio::test]
async fn the_binary_on_sqlite_takes_the_config_file_unless_the_environment_overrides_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_file(dir.path(), "tagging.toml", "max_tags_per_resource = 2\n");

    // (database, TAGGING_MAX_TAGS_PER_RESOURCE, the global `--log-format` before `serve`, whether
    // a third tag is accepted). Both spellings of the global option must leave the file in force.
    let cases = [
        ("env.db", Some("3"), false, true),
        ("file-after.db", None, false, false),
        ("file-before.db", None, true, false),
    ];
    for (db_name, env, global_first, third_accepted) in cases {
        let db = format!("sqlite:{}", dir.path().join(db_name).display());
        let mut create = binary();
        create.args(["token", "create", "--project", "p1", "--database-url", &db]);
        let (status, stdout, stderr) = run_bounded(create);
        assert!(status.success(), "token create: {stderr}");
        let token = stdout.trim().to_owned();
        assert!(!token.is_empty(), "a token on stdout");

        let mut serve = binary();
        let serve_args = [
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &db,
            "--config",
            &config,
        ];
        if global_first {
            serve
                .args(["--log-format", "json", "serve"])
                .args(serve_args);
        } else {
            serve
                .arg("serve")
                .args(serve_args)
                .args(["--log-format", "json"]);
        }
        if let Some(max) = env {
            serve.env("TAGGING_MAX_TAGS_PER_RESOURCE", max);
        }
        let server = start_server(serve);
        let third = third_tag(&server, &token).await;
        if third_accepted {
            third.unwrap_or_else(|s| {
                panic!("{db_name}: the environment's limit of 3 applies: {s:?}")
            });
        } else {
            let Err(refused) = third else {
                panic!(
                    "{db_name}: the config file's limit of 2 applies, yet a third tag was accepted"
                );
            };
            assert_invalid(&refused, "tags");
        }
        drop(server);
    }
}

/// The JSON log lines whose span carries `request_id`, polled until `want` of them arrived (the
/// server writes a call's line just after answering it).
pub(crate) async fn log_lines_of(
    server: &Server,
    request_id: &str,
    want: usize,
) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let lines: Vec<serde_json::Value> = server
            .log
            .lock()
            .expect("log lock")
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["span"]["request_id"] == request_id)
            .collect();
        if lines.len() >= want {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no log line for request {request_id}");
}

/// A token of `p1` made by the binary on `db`, and the binary's `serve` on `db` with JSON logs.
fn token_and_json_serve(db: &str) -> (String, Command) {
    let mut create = binary();
    create.args(["token", "create", "--project", "p1", "--database-url", db]);
    let (status, stdout, stderr) = run_bounded(create);
    assert!(status.success(), "token create: {stderr}");
    let mut serve = binary();
    serve.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        db,
        "--log-format",
        "json",
    ]);
    (stdout.trim().to_owned(), serve)
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
    let rest = http()
        .get(format!("http://{}/v2/p1/CLUSTER/r1/tags", server.addr))
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

#[tokio::test]
async fn the_binary_on_sqlite_answers_a_call_in_flight_at_sigterm_before_it_exits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("drain.db").display());
    let (token, serve) = token_and_json_serve(&db);
    let mut server = start_server(serve);

    // The test holds SQLite's write lock, so the write below waits (the busy timeout is 5 s).
    let mut lock = SqliteConnection::connect(&db).await.expect("connect");
    lock.execute("BEGIN IMMEDIATE")
        .await
        .expect("take the write lock");
    let mut client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client connects");
    let in_flight = tokio::spawn({
        let token = token.clone();
        async move {
            let req = tag_request(&["drained"], &[("k", "v")]);
            client.tag_resources(authed(&token, req)).await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!in_flight.is_finished(), "the write waits for the lock");

    let pid = server.child.id().to_string();
    let signalled = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(signalled.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.execute("ROLLBACK")
        .await
        .expect("release the write lock");

    in_flight
        .await
        .expect("task")
        .expect("the call in flight at SIGTERM was answered");
    let mut exited = None;
    for _ in 0..100 {
        exited = server.child.try_wait().expect("wait");
        if exited.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        exited.is_some_and(|s| s.success()),
        "the server exits cleanly: {exited:?}"
    );
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT t.value FROM tags t JOIN resources r ON r.pk = t.resource_pk WHERE r.resource_id = 'drained'",
    )
    .fetch_optional(&mut lock)
    .await
    .expect("read");
    assert_eq!(
        stored.as_deref(),
        Some("v"),
        "the acknowledged write is stored"
    );
}
