//! The OpenMetrics endpoint: calls counted by transport, method and code, latencies, and the
//! database pool.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp, answer, assert_invalid, authed, tag_request};

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
            app.rest()
                .get("/tags")
                .bearer_auth(&app.token)
                .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
        )
        .await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    }

    let res = app.rest().get("/metrics").send().await.expect("answered");
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

both_backends!(metrics_count_calls_by_transport_method_and_code,);
