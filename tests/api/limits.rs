//! The configurable size limits, each at its edge on both faces: the limit passes, one more is
//! refused naming the field and the rule (or 414 for the query string), and a refusal writes
//! nothing. The defaults of ids and page sizes are checked in `validation`, `rest_ack` and
//! `rest_smn`; message and body sizes in `message_limits`, the concurrency limit in
//! `shedding_and_shutdown`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic::Code;

use crate::helpers::{
    Answer, Backend, TestApp, answer, assert_error, assert_invalid, authed, ids, pb, tag,
};

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn tag_req(resource_ids: Vec<String>, tags: Vec<pb::Tag>) -> pb::TagResourcesRequest {
    pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: "CLUSTER".into(),
        resource_ids,
        tags,
        expected_revision: None,
    }
}

async fn exists(app: &TestApp, id: &str) -> bool {
    match app.resource_tags("CLUSTER", id).await {
        Ok(_) => true,
        Err(status) if status.code() == Code::NotFound => false,
        Err(status) => panic!("{id}: {status:?}"),
    }
}

/// `method path?query`, the query sent exactly as given.
async fn rest(app: &TestApp, method: Method, path_and_query: &str, body: Option<Value>) -> Answer {
    let mut req = app
        .rest()
        .request(method, path_and_query)
        .bearer_auth(&app.token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    answer(req).await
}

fn ids_param(ids: &[String]) -> String {
    let json = serde_json::to_string(ids).expect("JSON");
    url::form_urlencoded::byte_serialize(json.as_bytes()).collect()
}

async fn resource_ids_per_call_is_the_configured_limit_on_both_faces(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-resource-ids", "3"]).await;
    let mut c = app.client.clone();
    let rule = "at most 3 resource ids per request, got 4";

    // gRPC: three pass, four are refused and write nothing.
    c.tag_resources(authed(
        &app.token,
        tag_req(names("ok-", 3), vec![tag("k", "v")]),
    ))
    .await
    .expect("three ids are within the limit");
    let err = c
        .tag_resources(authed(
            &app.token,
            tag_req(names("over-", 4), vec![tag("k", "v")]),
        ))
        .await
        .expect_err("four ids are one too many");
    assert_invalid(&err, "resource_ids");
    assert!(err.message().contains(rule), "{}", err.message());
    assert!(
        !exists(&app, "over-0").await,
        "a refused call writes nothing"
    );
    let list = |n: usize| pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: names("ok-", n),
        ..Default::default()
    };
    let rows = c
        .list_tag_resources(authed(&app.token, list(3)))
        .await
        .expect("listing three ids")
        .into_inner();
    assert_eq!(rows.tag_resources.len(), 3);
    let err = c
        .list_tag_resources(authed(&app.token, list(4)))
        .await
        .unwrap_err();
    assert_invalid(&err, "resource_ids");
    let untag = |n: usize| pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: names("ok-", n),
        all: true,
        ..Default::default()
    };
    let err = c
        .untag_resources(authed(&app.token, untag(4)))
        .await
        .unwrap_err();
    assert_invalid(&err, "resource_ids");
    assert_eq!(
        app.resource_tags("CLUSTER", "ok-0").await.unwrap(),
        [("k".to_owned(), "v".to_owned())],
        "a refused untag removes nothing"
    );

    // REST: the same edge on ACK's three routes.
    let body = |ids: Vec<String>| json!({"resource_type": "CLUSTER", "resource_ids": ids, "tags": [{"key": "r", "value": "1"}]});
    let put = rest(&app, Method::PUT, "/tags", Some(body(names("rest-", 3)))).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let put = rest(
        &app,
        Method::PUT,
        "/tags",
        Some(body(names("rest-over-", 4))),
    )
    .await;
    assert_error(&put, 400, "InvalidParameter", rule);
    assert!(
        put.body["message"]
            .as_str()
            .unwrap()
            .contains("resource_ids")
    );
    assert!(!exists(&app, "rest-over-0").await);
    let get = |n: usize| {
        format!(
            "/tags?resource_type=CLUSTER&resource_ids={}",
            ids_param(&names("rest-", n))
        )
    };
    let listed = rest(&app, Method::GET, &get(3), None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(
        listed.body["tag_resources"]["tag_resource"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_error(
        &rest(&app, Method::GET, &get(4), None).await,
        400,
        "InvalidParameter",
        rule,
    );
    let delete = format!("{}&all=true", get(4));
    assert_error(
        &rest(&app, Method::DELETE, &delete, None).await,
        400,
        "InvalidParameter",
        rule,
    );
    assert!(exists(&app, "rest-0").await);
}

async fn the_largest_page_is_the_configured_one_and_lowers_the_default(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-page-size", "5"]).await;
    let mut c = app.client.clone();
    // Seven resources, each with its own key: more than one page of anything.
    for i in 0..7 {
        let (id, key) = (format!("c{i}"), format!("k{i}"));
        app.tag("CLUSTER", &[id.as_str()], &[(key.as_str(), "v")])
            .await;
    }
    let rule = "must be between 0 (the default, 5) and 5";

    let rows = |page_size| pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags: vec![],
        resource_ids: names("c", 7),
        page_size,
        ..Default::default()
    };
    let resources = |page_size| pb::ListResourcesRequest {
        resource_type: "CLUSTER".into(),
        page_size,
        ..Default::default()
    };
    let keys = |page_size| pb::ListProjectTagsRequest {
        page_size,
        ..Default::default()
    };
    for size in [0, 5] {
        let page = c
            .list_tag_resources(authed(&app.token, rows(size)))
            .await
            .expect("within the limit")
            .into_inner();
        assert_eq!(page.tag_resources.len(), 5, "page_size {size}");
        assert!(!page.next_token.is_empty());
        let page = c
            .list_resources(authed(&app.token, resources(size)))
            .await
            .expect("within the limit")
            .into_inner();
        assert_eq!(page.resources.len(), 5, "page_size {size}");
        let page = c
            .list_project_tags(authed(&app.token, keys(size)))
            .await
            .expect("within the limit")
            .into_inner();
        assert_eq!(page.tags.len(), 5, "page_size {size}");
    }
    let errors = [
        c.list_tag_resources(authed(&app.token, rows(6)))
            .await
            .unwrap_err(),
        c.list_resources(authed(&app.token, resources(6)))
            .await
            .unwrap_err(),
        c.list_project_tags(authed(&app.token, keys(6)))
            .await
            .unwrap_err(),
    ];
    for err in errors {
        assert_invalid(&err, "page_size");
        assert!(err.message().contains(rule), "{}", err.message());
    }

    // ACK's page_size.
    let ack = |size: &str| {
        format!(
            "/tags?resource_type=CLUSTER&resource_ids={}&page_size={size}",
            ids_param(&names("c", 7))
        )
    };
    let page = rest(&app, Method::GET, &ack("5"), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.body["tag_resources"]["tag_resource"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_error(
        &rest(&app, Method::GET, &ack("6"), None).await,
        400,
        "InvalidParameter",
        rule,
    );

    // SMN's limit: at most the largest page, which is also its default; the project's tags still
    // come whole, gathered page by page.
    let filter = |limit: Option<&str>| {
        let mut body = json!({"action": "filter"});
        if let Some(limit) = limit {
            body["limit"] = json!(limit);
        }
        body
    };
    let instances = "/v2/p1/CLUSTER/resource_instances/action";
    for limit in [None, Some("5")] {
        let page = rest(&app, Method::POST, instances, Some(filter(limit))).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_eq!(
            page.body["resources"].as_array().unwrap().len(),
            5,
            "{limit:?}"
        );
        assert_eq!(page.body["total_count"], 7);
    }
    let over = rest(&app, Method::POST, instances, Some(filter(Some("6")))).await;
    assert_error(
        &over,
        400,
        "SMN.00010400",
        "limit: must be an integer from 1 to 5",
    );
    let all = rest(&app, Method::GET, "/v2/p1/CLUSTER/tags", None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(
        all.body["tags"].as_array().unwrap().len(),
        7,
        "{}",
        all.body
    );
}

/// `path` with a query string of exactly `len` bytes: a real ACK query padded with a parameter
/// the service ignores.
fn query_of_len(path: &str, query: &str, len: usize) -> String {
    let pad = len
        .checked_sub(query.len() + "&pad=".len())
        .expect("room for the padding");
    let full = format!("{query}&pad={}", "x".repeat(pad));
    assert_eq!(full.len(), len);
    format!("{path}?{full}")
}

#[track_caller]
fn assert_too_long(a: &Answer, code: &str, max: usize, got: usize) {
    assert_error(a, 414, code, "query string");
    let message = a.body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("at most {max} bytes"))
            && message.contains(&format!("got {got}")),
        "{message}"
    );
}

async fn query_strings_over_max_query_bytes_are_414_in_each_forms_shape(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-query-bytes", "1024"]).await;
    app.tag("CLUSTER", &["q1"], &[("env", "dev")]).await;
    let ids = ids_param(&ids(&["q1"]));
    let list = format!("resource_type=CLUSTER&resource_ids={ids}");

    let at = rest(&app, Method::GET, &query_of_len("/tags", &list, 1024), None).await;
    assert_eq!(at.status, StatusCode::OK, "{}", at.body);
    assert_eq!(
        at.body["tag_resources"]["tag_resource"][0]["resource_id"],
        "q1"
    );
    let over = rest(&app, Method::GET, &query_of_len("/tags", &list, 1025), None).await;
    assert_too_long(&over, "URITooLong", 1024, 1025);

    let untag = format!("{list}&all=true");
    let over = rest(
        &app,
        Method::DELETE,
        &query_of_len("/tags", &untag, 1025),
        None,
    )
    .await;
    assert_too_long(&over, "URITooLong", 1024, 1025);
    assert_eq!(
        app.resource_tags("CLUSTER", "q1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())],
        "a refused untag removes nothing"
    );
    let at = rest(
        &app,
        Method::DELETE,
        &query_of_len("/tags", &untag, 1024),
        None,
    )
    .await;
    assert_eq!(at.status, StatusCode::OK, "{}", at.body);
    assert!(app.resource_tags("CLUSTER", "q1").await.unwrap().is_empty());

    // SMN reads no query, but its routes are bounded alike and answer in SMN's shape.
    let smn = "/v2/p1/CLUSTER/q1/tags";
    let at = rest(&app, Method::GET, &query_of_len(smn, "a=b", 1024), None).await;
    assert_eq!(at.status, StatusCode::OK, "{}", at.body);
    let over = rest(&app, Method::GET, &query_of_len(smn, "a=b", 1025), None).await;
    assert_too_long(&over, "SMN.00010414", 1024, 1025);

    // Far beyond any configurable bound, HTTP/1 itself refuses the request target: still a 414,
    // never a 500.
    let huge = query_of_len("/tags", &list, 70_000);
    let mut conn = TcpStream::connect(app.addr).await.expect("connect");
    let request = format!(
        "GET {huge} HTTP/1.1\r\nHost: h\r\nX-Auth-Token: {}\r\nConnection: close\r\n\r\n",
        app.token
    );
    conn.write_all(request.as_bytes()).await.expect("write");
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).await.expect("read");
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 414"), "{reply}");
}

async fn the_default_query_bound_is_8_kib(b: Backend) {
    let app = TestApp::spawn(b).await;
    let list = format!(
        "resource_type=CLUSTER&resource_ids={}",
        ids_param(&ids(&["none"]))
    );
    let at = rest(&app, Method::GET, &query_of_len("/tags", &list, 8192), None).await;
    assert_eq!(at.status, StatusCode::OK, "{}", at.body);
    let over = rest(&app, Method::GET, &query_of_len("/tags", &list, 8193), None).await;
    assert_too_long(&over, "URITooLong", 8192, 8193);
}

both_backends!(
    resource_ids_per_call_is_the_configured_limit_on_both_faces,
    the_largest_page_is_the_configured_one_and_lowers_the_default,
    query_strings_over_max_query_bytes_are_414_in_each_forms_shape,
    the_default_query_bound_is_8_kib,
);
