//! Smaller rules of the hardening work: a private SQLite file, one `X-Project-Id`, an exact `Allow`
//! on every 405, and gRPC-Web for every gRPC service on the port.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{
    Backend, InProcessServer, ROUTES, TaggingServiceClient, TestApp, authed,
    grpc_web::{grpc_web_call_at, grpc_web_status},
    pb,
    rest::header,
    tag,
};

#[tokio::test]
async fn the_sqlite_database_and_its_wal_and_shm_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let db = app
        .database_url
        .strip_prefix("sqlite:")
        .expect("a SQLite URL")
        .to_owned();
    for file in [db.clone(), format!("{db}-wal"), format!("{db}-shm")] {
        let mode = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} has mode {:o}", mode & 0o777);
    }
}

/// Sends `method path` as p1 with `X-Project-Id: p1` twice; answers status and body.
async fn with_two_project_ids(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .rest()
        .request(method, path)
        .header("x-auth-token", &app.token)
        .header("x-project-id", "p1")
        .header("x-project-id", "p1");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let res = request.send().await.expect("answered");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn two_x_project_id_headers_are_refused_naming_the_header_and_write_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ack_write = serde_json::json!({
        "resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": [{"key": "env", "value": "dev"}]
    });
    let smn_write =
        serde_json::json!({"action": "create", "tags": [{"key": "env", "value": "dev"}]});
    let cases = [
        (
            Method::GET,
            "/tags?resource_type=CLUSTER&resource_ids=%5B%22c1%22%5D",
            None,
            "InvalidParameter",
        ),
        (Method::PUT, "/tags", Some(ack_write), "InvalidParameter"),
        (Method::GET, "/v2/p1/CLUSTER/c1/tags", None, "SMN.00010400"),
        (
            Method::POST,
            "/v2/p1/CLUSTER/c1/tags/action",
            Some(smn_write),
            "SMN.00010400",
        ),
    ];
    for (method, path, body, code) in cases {
        let (status, answer) = with_two_project_ids(&app, method.clone(), path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {answer}");
        assert_eq!(answer["code"], code, "{method} {path}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("X-Project-Id: "),
            "{method} {path}: {message}"
        );
    }
    let tags = app.resource_tags("CLUSTER", "c1").await;
    assert!(tags.is_err(), "nothing was written: {tags:?}");
}

/// `path` with each `{name}` filled in.
fn concrete(path: &str) -> String {
    path.replace("{project_id}", "p1")
        .replace("{resource_type}", "CLUSTER")
        .replace("{resource_id}", "c1")
        .replace("{key}", "env")
}

async fn every_route_answers_405_with_an_allow_header_of_exactly_its_methods(b: Backend) {
    let app = TestApp::spawn(b).await;
    let paths: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
    for path in paths {
        let mut served: BTreeSet<String> = ROUTES
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.method.to_owned())
            .collect();
        if path.ends_with("/tags/action") {
            // `action` is also a key: DELETE of this path removes that tag.
            served.insert("DELETE".into());
        }
        if served.contains("GET") {
            served.insert("HEAD".into());
        }
        let res = app
            .rest()
            .request(Method::PATCH, concrete(path))
            .header("x-auth-token", &app.token)
            .send()
            .await
            .expect("answered");
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "PATCH {path}");
        let allow: BTreeSet<String> = header(res.headers(), "allow")
            .unwrap_or_else(|| panic!("PATCH {path}: no Allow header"))
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        assert_eq!(allow, served, "Allow of {path}");
    }
}

async fn grpc_web_reaches_health_and_reflection_as_well_as_the_api(b: Backend) {
    let app = TestApp::spawn(b).await;
    let health = "/grpc.health.v1.Health/Check";
    let (headers, frames) = grpc_web_call_at(&app, health, &[], &[]).await;
    let content_type = header(&headers, "content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/grpc-web"),
        "{health}: {content_type}"
    );
    assert_eq!(
        grpc_web_status(&headers, &frames).as_deref(),
        Some("0"),
        "{health}"
    );
    assert!(
        frames.iter().any(|(flag, _)| flag & 0x80 != 0),
        "{health}: a trailer frame"
    );
    // HealthCheckResponse { status: SERVING (1) }
    assert_eq!(frames[0], (0, vec![0x08, 0x01]), "{health}: SERVING");

    // ServerReflectionRequest { list_services: "" } (field 7).
    let reflection = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    let (headers, frames) = grpc_web_call_at(&app, reflection, &[0x3a, 0x00], &[]).await;
    assert_eq!(
        grpc_web_status(&headers, &frames).as_deref(),
        Some("0"),
        "{reflection}"
    );
    let listed = String::from_utf8_lossy(&frames[0].1).into_owned();
    assert!(
        listed.contains("tagging.v1.TaggingService"),
        "{reflection}: {listed:?}"
    );
}

/// Page 1 of a query, as `token`, from the server at `addr`: its rows and its `next_token`.
async fn tag_rows_page(
    addr: std::net::SocketAddr,
    token: &str,
    next_token: &str,
) -> (Vec<String>, String) {
    let mut client = TaggingServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let req = pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags: vec![tag("env", "dev")],
        page_size: 2,
        next_token: next_token.into(),
        ..Default::default()
    };
    let page = client
        .list_tag_resources(authed(token, req))
        .await
        .expect("a page")
        .into_inner();
    let rows = page
        .tag_resources
        .into_iter()
        .map(|r| format!("{}/{}", r.resource_id, r.tag_key))
        .collect();
    (rows, page.next_token)
}

async fn page_tokens_are_opaque_differ_each_time_and_open_on_every_process_of_the_database(
    b: Backend,
) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1", "c2", "c3", "c4"], &[("env", "dev")])
        .await;
    let (first, token_a) = tag_rows_page(app.addr, &app.token, "").await;
    let (again, token_b) = tag_rows_page(app.addr, &app.token, "").await;
    assert_eq!(first, again);
    assert_ne!(
        token_a, token_b,
        "two tokens of one position are not comparable"
    );

    let mut other = InProcessServer::start(&app.database_url, &[]).await;
    let (from_here, _) = tag_rows_page(app.addr, &app.token, &token_a).await;
    let (from_there, _) = tag_rows_page(other.addr, &app.token, &token_b).await;
    assert_eq!(
        from_here, from_there,
        "a token of one process opens on another"
    );
    assert_eq!(from_here, ["c3/env", "c4/env"]);
    other.stop().await;
}

/// The `SETTINGS_MAX_CONCURRENT_STREAMS` an HTTP/2 connection to the server is told.
async fn max_concurrent_streams_of(app: &TestApp) -> Option<u32> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    // The client preface, then an empty SETTINGS frame.
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .expect("preface");
    let mut header = [0u8; 9];
    conn.read_exact(&mut header).await.expect("a frame header");
    assert_eq!(header[3], 4, "the server's first frame is SETTINGS");
    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0u8; len];
    conn.read_exact(&mut payload).await.expect("the settings");
    payload.chunks_exact(6).find_map(|setting| {
        let id = u16::from_be_bytes([setting[0], setting[1]]);
        (id == 3).then(|| u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]))
    })
}

async fn http2_connections_are_told_the_max_concurrent_streams(b: Backend) {
    let default = TestApp::spawn(b).await;
    assert_eq!(max_concurrent_streams_of(&default).await, Some(100));
    let set = TestApp::spawn_with(b, &["--max-concurrent-streams", "7"]).await;
    assert_eq!(max_concurrent_streams_of(&set).await, Some(7));
}

both_backends!(
    http2_connections_are_told_the_max_concurrent_streams,
    page_tokens_are_opaque_differ_each_time_and_open_on_every_process_of_the_database,
    two_x_project_id_headers_are_refused_naming_the_header_and_write_nothing,
    every_route_answers_405_with_an_allow_header_of_exactly_its_methods,
    grpc_web_reaches_health_and_reflection_as_well_as_the_api,
);
