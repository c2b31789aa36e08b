//! Distributed tracing, against the real binary and a real OTLP receiver (`receiver.rs`): a call
//! with a `traceparent` yields a server span of that trace under that parent, with the
//! conventions' attributes, and its statements' spans beneath it (both backends), on gRPC (exported
//! over gRPC) and on both REST forms (exported over HTTP/protobuf); its log lines carry the span's
//! ids; gRPC-Web and a watch's event stream continue the caller's trace too; `always_off` exports
//! nothing; a collector that is down fails no call and its spans are
//! counted as dropped.

mod receiver;

use std::{net::SocketAddr, process::Command, time::Duration};

use tonic::{Request, transport::Channel};

use crate::helpers::{
    Backend, TestDb,
    binary::{Server, log_lines_of, start_server, token_and_json_serve},
    grpc_web::frame,
    pb, tag_request,
};
use receiver::{Received, Span, attribute};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const SECRET_VALUE: &str = "tag-value-never-in-a-span";

fn traceparent(trace: &str, parent: &str) -> String {
    format!("00-{trace}-{parent}-01")
}

/// The binary on a fresh PostgreSQL database, exporting to `endpoint` with `extra` variables;
/// answers the server and a token of `p1`.
async fn traced_server(endpoint: &str, extra: &[(&str, &str)]) -> (Server, String, TestDb) {
    traced_server_on(Backend::Postgres, endpoint, extra).await
}

async fn traced_server_on(
    backend: Backend,
    endpoint: &str,
    extra: &[(&str, &str)],
) -> (Server, String, TestDb) {
    let (db, url) = TestDb::create(backend).await;
    let (token, mut serve) = token_and_json_serve(&url);
    serve
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        // Export soon after a call, not after the default five seconds.
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .envs(extra.iter().copied());
    (start_server(serve), token, db)
}

async fn client(addr: SocketAddr) -> pb::tagging_service_client::TaggingServiceClient<Channel> {
    pb::tagging_service_client::TaggingServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("client")
}

fn with_headers<T>(message: T, headers: &[(&'static str, String)]) -> Request<T> {
    let mut request = Request::new(message);
    for (name, value) in headers {
        request
            .metadata_mut()
            .insert(*name, value.parse().expect("ascii"));
    }
    request
}

/// No attribute of any span holds a value the caller sent as data, or its token.
fn assert_no_tenant_data(received: &Received, token: &str) {
    for (_, span) in received.spans() {
        for kv in &span.attributes {
            let value = attribute(&span.attributes, &kv.key).unwrap_or_default();
            assert!(
                !value.contains(SECRET_VALUE) && !value.contains(token),
                "span {} attribute {} holds caller data: {value}",
                span.name,
                kv.key
            );
        }
    }
}

/// The client spans beneath `server`.
async fn statements_of(received: &Received, server: &Span) -> Vec<Span> {
    received
        .wait_for("of a statement", |s| {
            s.parent_span_id() == server.span_id() && s.kind == 3
        })
        .await;
    received
        .spans()
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| s.parent_span_id() == server.span_id())
        .collect()
}

#[tokio::test]
async fn a_grpc_call_continues_the_callers_trace_with_its_statements_beneath() {
    let (addr, received) = receiver::grpc().await;
    let (server, token, _db) = traced_server(
        &format!("http://{addr}"),
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", "tags-under-test"),
        ],
    )
    .await;
    let mut client = client(server.addr).await;
    let auth = ("authorization", format!("Bearer {token}"));
    client
        .tag_resources(with_headers(
            tag_request(&["c-1"], &[("env", SECRET_VALUE)]),
            std::slice::from_ref(&auth),
        ))
        .await
        .expect("a write");
    let read = pb::ListResourceTagsRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "c-1".into(),
        ..Default::default()
    };
    client
        .list_resource_tags(with_headers(
            read.clone(),
            &[
                auth.clone(),
                ("traceparent", traceparent(TRACE, PARENT)),
                ("x-request-id", "traced-read-1".into()),
            ],
        ))
        .await
        .expect("a read");

    let span = received
        .wait_for("of the read", |s| s.trace_id() == TRACE && s.kind == 2)
        .await;
    assert_eq!(span.name, "tagging.v1.TaggingService/ListResourceTags");
    assert_eq!(
        span.parent_span_id(),
        PARENT,
        "a child of the caller's span"
    );
    for (key, want) in [
        ("rpc.system", "grpc"),
        ("rpc.service", "tagging.v1.TaggingService"),
        ("rpc.method", "ListResourceTags"),
        ("rpc.grpc.status_code", "0"),
        ("tagging.request_id", "traced-read-1"),
        ("tagging.project", "p1"),
    ] {
        assert_eq!(span.attribute(key).as_deref(), Some(want), "{key}");
    }
    let statements = statements_of(&received, &span).await;
    assert!(
        statements
            .iter()
            .all(|s| s.trace_id() == TRACE && s.kind == 3)
    );
    let select = statements
        .iter()
        .find(|s| s.attribute("db.operation.name").as_deref() == Some("SELECT"))
        .unwrap_or_else(|| panic!("no SELECT among {statements:?}"));
    assert_eq!(
        select.attribute("db.system.name").as_deref(),
        Some("postgresql")
    );
    assert!(select.name.starts_with("SELECT "), "{}", select.name);
    assert!(
        select.start_time_unix_nano >= span.start_time_unix_nano
            && select.end_time_unix_nano <= span.end_time_unix_nano,
        "the statement runs within its call"
    );
    let (resource, _) = received
        .spans()
        .into_iter()
        .find(|(_, s)| s.span_id == span.span_id)
        .expect("the span");
    assert_eq!(
        attribute(&resource, "service.name").as_deref(),
        Some("tags-under-test")
    );

    // The call's log line leads to its span.
    let lines = log_lines_of(&server, "traced-read-1", 1).await;
    assert_eq!(lines[0]["span"]["trace_id"], TRACE, "{}", lines[0]);
    assert_eq!(lines[0]["span"]["span_id"], span.span_id(), "{}", lines[0]);

    // A refused call: its code and the kind of error, not the server's fault.
    let refused = client
        .tag_resources(with_headers(
            tag_request(&[], &[("env", "x")]),
            &[
                auth.clone(),
                ("traceparent", traceparent(&TRACE.replace('4', "5"), PARENT)),
            ],
        ))
        .await
        .expect_err("no resource ids");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let failed = received
        .wait_for("of the refused call", |s| {
            s.trace_id() == TRACE.replace('4', "5") && s.kind == 2
        })
        .await;
    assert_eq!(
        failed.attribute("rpc.grpc.status_code").as_deref(),
        Some("3")
    );
    assert_eq!(
        failed.attribute("error.type").as_deref(),
        Some("invalid_argument")
    );
    assert_eq!(
        failed.status.map_or(0, |s| s.code),
        0,
        "a caller's error is no span error"
    );

    // Without a trace context, a call starts a trace of its own.
    client
        .list_resource_tags(with_headers(
            read,
            &[auth, ("x-request-id", "untraced".into())],
        ))
        .await
        .expect("a read");
    let root = received
        .wait_for("of the untraced read", |s| {
            s.attribute("tagging.request_id").as_deref() == Some("untraced")
        })
        .await;
    assert!(root.parent_span_id.is_empty() && root.trace_id() != TRACE);
    assert_no_tenant_data(&received, &token);
}

#[tokio::test]
async fn rest_calls_of_both_forms_are_spans_of_their_routes_exported_over_http() {
    let (addr, received) = receiver::http().await;
    let (server, token, _db) = traced_server(
        &format!("http://{addr}"),
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
    )
    .await;
    let rest = server.rest();
    let created = rest
        .post("/v2/p1/CLUSTER/c-1/tags")
        .header("x-auth-token", &token)
        .json(&serde_json::json!({"tag": {"key": "env", "value": SECRET_VALUE}}))
        .send()
        .await
        .expect("answered");
    assert_eq!(created.status(), 204);
    let smn_trace = TRACE.replace('a', "b");
    let ack_trace = TRACE.replace('a', "c");
    for (trace, path) in [
        (&smn_trace, "/v2/p1/CLUSTER/c-1/tags".to_owned()),
        (
            &ack_trace,
            r#"/tags?resource_type=CLUSTER&resource_ids=["c-1"]"#.to_owned(),
        ),
    ] {
        let answer = rest
            .get(&path)
            .header("x-auth-token", &token)
            .header("traceparent", traceparent(trace, PARENT))
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status(), 200, "{path}");
    }
    for (trace, route) in [
        (
            &smn_trace,
            "/v2/{project_id}/{resource_type}/{resource_id}/tags",
        ),
        (&ack_trace, "/tags"),
    ] {
        let span = received
            .wait_for(route, |s| s.trace_id() == *trace && s.kind == 2)
            .await;
        assert_eq!(span.name, format!("GET {route}"));
        assert_eq!(span.parent_span_id(), PARENT);
        assert_eq!(
            span.attribute("http.request.method").as_deref(),
            Some("GET")
        );
        assert_eq!(span.attribute("http.route").as_deref(), Some(route));
        assert_eq!(
            span.attribute("http.response.status_code").as_deref(),
            Some("200")
        );
        assert_eq!(span.attribute("tagging.project").as_deref(), Some("p1"));
        assert!(!statements_of(&received, &span).await.is_empty());
    }
    // gRPC-Web, and a watch's event stream: their headers carry the context too.
    let web_trace = TRACE.replace('a', "d");
    let message = prost::Message::encode_to_vec(&pb::ListResourceTagsRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "c-1".into(),
        ..Default::default()
    });
    let web = rest
        .post("/tagging.v1.TaggingService/ListResourceTags")
        .header("content-type", "application/grpc-web+proto")
        .header("x-auth-token", &token)
        .header("traceparent", traceparent(&web_trace, PARENT))
        .body(frame(&message))
        .send()
        .await
        .expect("answered");
    assert_eq!(web.status(), 200);
    let span = received
        .wait_for("of the gRPC-Web call", |s| {
            s.trace_id() == web_trace && s.kind == 2
        })
        .await;
    assert_eq!(span.name, "tagging.v1.TaggingService/ListResourceTags");
    assert_eq!(span.parent_span_id(), PARENT);
    let watch_trace = TRACE.replace('a', "e");
    let watch = rest
        .get("/v2/p1/tag_changes/watch")
        .header("x-auth-token", &token)
        .header("traceparent", traceparent(&watch_trace, PARENT))
        .send()
        .await
        .expect("the stream opens");
    assert_eq!(watch.status(), 200);
    let span = received
        .wait_for("of the watch", |s| {
            s.trace_id() == watch_trace && s.kind == 2
        })
        .await;
    assert_eq!(span.name, "GET /v2/{project_id}/tag_changes/watch");
    assert_eq!(span.parent_span_id(), PARENT);
    drop(watch);
    assert_no_tenant_data(&received, &token);
}

#[tokio::test]
async fn sqlite_statements_have_spans_beneath_their_call_too() {
    let (addr, received) = receiver::grpc().await;
    let (server, token, _db) = traced_server_on(
        Backend::Sqlite,
        &format!("http://{addr}"),
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
    )
    .await;
    let mut client = client(server.addr).await;
    let auth = ("authorization", format!("Bearer {token}"));
    let write = with_headers(
        tag_request(&["c-1"], &[("env", SECRET_VALUE)]),
        &[auth, ("traceparent", traceparent(TRACE, PARENT))],
    );
    client.tag_resources(write).await.expect("a write");
    let span = received
        .wait_for("of the write", |s| s.trace_id() == TRACE && s.kind == 2)
        .await;
    let statements = statements_of(&received, &span).await;
    assert!(
        statements
            .iter()
            .all(|s| s.attribute("db.system.name").as_deref() == Some("sqlite")),
        "{statements:?}"
    );
    assert!(
        statements
            .iter()
            .any(|s| s.name == "INSERT tags" || s.name.starts_with("INSERT ")),
        "the write's inserts: {:?}",
        statements.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert_no_tenant_data(&received, &token);
}

/// Stops the server with SIGTERM, as an orchestrator does, and waits until it has exited.
async fn terminate(mut server: Server) {
    let pid = server.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    for _ in 0..200 {
        if server.child.try_wait().expect("wait").is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not stop");
}

#[tokio::test]
async fn a_sampler_of_always_off_exports_nothing() {
    let mut received = Vec::new();
    for sampler in ["always_off", "always_on"] {
        let (addr, spans) = receiver::grpc().await;
        let (server, token, db) = traced_server(
            &format!("http://{addr}"),
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_TRACES_SAMPLER", sampler),
            ],
        )
        .await;
        let mut client = client(server.addr).await;
        for n in 0..3 {
            let request = with_headers(
                tag_request(&["c-1"], &[("n", &n.to_string())]),
                &[
                    ("authorization", format!("Bearer {token}")),
                    ("traceparent", traceparent(TRACE, PARENT)),
                ],
            );
            client.tag_resources(request).await.expect("a write");
        }
        // Shutdown exports what is queued.
        terminate(server).await;
        received.push((sampler, spans.spans().len()));
        drop(db);
    }
    assert_eq!(received[0], ("always_off", 0), "{received:?}");
    assert!(
        received[1].1 >= 3,
        "the same calls sampled are exported: {received:?}"
    );
}

#[tokio::test]
async fn a_collector_that_is_down_fails_no_call_and_its_spans_are_counted_dropped() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let (server, token, _db) = traced_server(
        &format!("http://{closed}"),
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "200"),
        ],
    )
    .await;
    let mut client = client(server.addr).await;
    for n in 0..20 {
        let mut request = with_headers(
            tag_request(&["c-1"], &[("n", &n.to_string())]),
            &[("authorization", format!("Bearer {token}"))],
        );
        request.set_timeout(Duration::from_secs(10));
        client
            .tag_resources(request)
            .await
            .expect("every call succeeds");
    }
    let metrics = server.rest();
    for _ in 0..200 {
        let text = metrics
            .get("/metrics")
            .send()
            .await
            .expect("answered")
            .text()
            .await
            .expect("text");
        let dropped: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("tagging_trace_spans_dropped_total "))
            .map_or(0.0, |v| v.trim().parse().expect("a number"));
        if dropped >= 20.0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the spans of 20 calls were never counted as dropped");
}
