//! Requests written byte for byte, as the ACK seed prints them: raw JSON in the query string, which
//! HTTP client libraries would percent-encode for us.

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Backend, TestApp};

/// Sends `requests` on one connection and answers everything the server wrote back.
async fn exchange(app: &TestApp, requests: &str) -> String {
    let mut conn = TcpStream::connect(app.addr).await.expect("connect");
    conn.write_all(requests.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.expect("read");
    String::from_utf8(answer).expect("utf-8 answer")
}

async fn the_seeds_sample_request_works_with_raw_json_in_the_query(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["xxx", "yyy"], &[("env", "dev"), ("dep", "IT")])
        .await;
    app.tag("CLUSTER", &["zzz"], &[("env", "dev")]).await;
    let request = format!(
        "GET /tags?resource_ids=[\"xxx\",\"yyy\"]&resource_type=CLUSTER&tags=[{{\"key\":\"env\",\"value\":\"dev\"}},{{\"key\":\"dep\",\"value\":\"IT\"}}] HTTP/1.1\r\n\
         Host: {}\r\nX-Auth-Token: {}\r\nConnection: close\r\n\r\n",
        app.addr, app.token
    );
    let answer = exchange(&app, &request).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).expect("a body");
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    let rows = json["tag_resources"]["tag_resource"]
        .as_array()
        .expect("rows");
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["xxx", "xxx", "yyy", "yyy"]);
}

async fn raw_queries_work_on_a_kept_alive_connection_after_a_body(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = r#"{"resource_type":"CLUSTER","resource_ids":["c1"],"tags":[{"key":"q","value":"\"quoted\""}]}"#;
    let requests = format!(
        "PUT /tags HTTP/1.1\r\nHost: h\r\nX-Auth-Token: {token}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n{body}\
         GET /tags?resource_type=CLUSTER&resource_ids=[\"c1\"] HTTP/1.1\r\nHost: h\r\nX-Auth-Token: {token}\r\nConnection: close\r\n\r\n",
        token = app.token,
        len = body.len(),
    );
    let answer = exchange(&app, &requests).await;
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 2, "{answer}");
    // The body's quotes reached the store unchanged, and the second request was understood.
    assert!(
        answer.contains(r#""tag_key":"q","tag_value":"\"quoted\"""#),
        "{answer}"
    );
}

both_backends!(
    the_seeds_sample_request_works_with_raw_json_in_the_query,
    raw_queries_work_on_a_kept_alive_connection_after_a_body,
);
