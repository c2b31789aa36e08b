//! ACK's REST form (seed 000) over real HTTP on the gRPC port: `GET`, `PUT` and `DELETE /tags`,
//! their exact bodies, their errors, and their agreement with the gRPC face.

use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tagging_service::proto::pb;

use crate::helpers::{Backend, TestApp, authed, ids, tag};

/// A REST answer (shared with the SMN tests): status, the `X-Request-Id` header and the JSON body (`Null` when empty).
pub(crate) struct Answer {
    pub status: StatusCode,
    pub request_id: String,
    pub grpc_status: Option<String>,
    pub body: Value,
}

pub(crate) fn http() -> Client {
    Client::builder().no_proxy().build().expect("HTTP client")
}

fn tags_url(app: &TestApp) -> String {
    format!("http://{}/tags", app.addr)
}

pub(crate) async fn answer(req: RequestBuilder) -> Answer {
    let res = req.send().await.expect("the request is answered");
    let status = res.status();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().expect("visible ASCII header").to_owned())
    };
    let request_id = header("x-request-id").expect("every answer carries X-Request-Id");
    let grpc_status = header("grpc-status");
    let text = res.text().await.expect("the body is read");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
    };
    Answer {
        status,
        request_id,
        grpc_status,
        body,
    }
}

/// The sorted keys of a JSON object.
pub(crate) fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Asserts an error answer: `status`, exactly `{request_id, code, message}` (and, on the ACK form,
/// whose codes lack SMN's `SMN.` prefix, `requestId`, where ACK's SDK reads it), the request id of
/// the header, `code`, and a message that mentions `names`.
#[track_caller]
pub(crate) fn assert_error(a: &Answer, status: u16, code: &str, names: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    let expected: &[&str] = if code.starts_with("SMN.") {
        &["code", "message", "request_id"]
    } else {
        assert_eq!(a.body["requestId"], a.request_id.as_str(), "{}", a.body);
        &["code", "message", "requestId", "request_id"]
    };
    assert_eq!(keys(&a.body), expected, "{}", a.body);
    assert_eq!(a.body["code"], code, "{}", a.body);
    assert_eq!(a.body["request_id"], a.request_id.as_str(), "{}", a.body);
    let message = a.body["message"].as_str().expect("message is a string");
    assert!(
        message.contains(names),
        "message should name `{names}`: {message}"
    );
}

/// The rows of a successful list answer as (resource_id, tag_key, tag_value), after checking that
/// the body and every row have exactly the documented keys and the qualified type.
#[track_caller]
fn rows(a: &Answer) -> Vec<(String, String, String)> {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        keys(&a.body),
        ["next_token", "request_id", "tag_resources"],
        "{}",
        a.body
    );
    assert_eq!(keys(&a.body["tag_resources"]), ["tag_resource"]);
    let list = a.body["tag_resources"]["tag_resource"]
        .as_array()
        .expect("tag_resource is an array");
    list.iter()
        .map(|row| {
            assert_eq!(
                keys(row),
                ["resource_id", "resource_type", "tag_key", "tag_value"],
                "{row}"
            );
            assert_eq!(row["resource_type"], "ALIYUN::CS::CLUSTER", "{row}");
            let text = |k: &str| row[k].as_str().expect("a string").to_owned();
            (text("resource_id"), text("tag_key"), text("tag_value"))
        })
        .collect()
}

fn row(id: &str, key: &str, value: &str) -> (String, String, String) {
    (id.into(), key.into(), value.into())
}

fn next_token(a: &Answer) -> String {
    a.body["next_token"]
        .as_str()
        .expect("next_token is a string")
        .to_owned()
}

/// `GET /tags` of CLUSTER with the given query parameters, as the project's read-write token.
async fn list(app: &TestApp, query: &[(&str, &str)]) -> Answer {
    let mut params = vec![("resource_type", "CLUSTER")];
    params.extend_from_slice(query);
    answer(
        http()
            .get(tags_url(app))
            .bearer_auth(&app.token)
            .query(&params),
    )
    .await
}

async fn seeds_sample_request_lists_the_tagged_rows_in_acks_exact_shape(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["xxx", "yyy"], &[("env", "dev"), ("dep", "IT")])
        .await;
    app.tag("CLUSTER", &["zzz"], &[("env", "dev"), ("dep", "IT")])
        .await;
    app.tag("CLUSTER", &["www"], &[("env", "dev")]).await;

    let sample = answer(http().get(tags_url(&app)).bearer_auth(&app.token).query(&[
        ("resource_ids", r#"["xxx","yyy"]"#),
        ("resource_type", "CLUSTER"),
        (
            "tags",
            r#"[{"key":"env","value":"dev"},{"key":"dep","value":"IT"}]"#,
        ),
    ]))
    .await;
    assert_eq!(
        rows(&sample),
        [
            row("xxx", "dep", "IT"),
            row("xxx", "env", "dev"),
            row("yyy", "dep", "IT"),
            row("yyy", "env", "dev"),
        ]
    );
    assert_eq!(sample.body["next_token"], "");
    assert!(!sample.request_id.is_empty());
    assert_eq!(sample.body["request_id"], sample.request_id.as_str());

    // The seed's request as written: brackets and braces raw, only the quotes percent-encoded.
    let raw = format!(
        r#"http://{}/tags?resource_ids=["xxx","yyy"]&resource_type=CLUSTER&tags=[{{"key":"env","value":"dev"}},{{"key":"dep","value":"IT"}}]"#,
        app.addr
    );
    let as_written = answer(http().get(raw).bearer_auth(&app.token)).await;
    assert_eq!(rows(&as_written), rows(&sample));

    let again = list(&app, &[("tags", r#"[{"key":"dep","value":"IT"}]"#)]).await;
    assert_eq!(rows(&again).len(), 6, "{}", again.body);
    assert_ne!(
        again.request_id, sample.request_id,
        "every request gets an id of its own"
    );
    assert_eq!(again.body["request_id"], again.request_id.as_str());
}

async fn a_callers_request_id_is_echoed_in_the_header_and_the_body(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let mine = "trace-0f3c-41aa";

    let ok = answer(
        http()
            .get(tags_url(&app))
            .bearer_auth(&app.token)
            .header("x-request-id", mine)
            .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
    )
    .await;
    assert_eq!(rows(&ok), [row("c1", "env", "dev")]);
    assert_eq!(ok.request_id, mine);
    assert_eq!(ok.body["request_id"], mine);

    let failed = answer(
        http()
            .get(tags_url(&app))
            .bearer_auth(&app.token)
            .header("x-request-id", mine)
            .query(&[("resource_ids", r#"["c1"]"#)]),
    )
    .await;
    assert_error(&failed, 400, "InvalidParameter", "resource_type");
    assert_eq!(failed.request_id, mine);

    let unauthenticated = answer(
        http()
            .get(tags_url(&app))
            .header("x-request-id", mine)
            .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
    )
    .await;
    assert_error(&unauthenticated, 401, "Unauthorized", "token");
    assert_eq!(unauthenticated.request_id, mine);

    let written = answer(
        http()
            .put(tags_url(&app))
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
        http()
            .get(tags_url(&app))
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

async fn put_tags_with_the_documented_body_tags_resources_seen_through_grpc(b: Backend) {
    let app = TestApp::spawn(b).await;
    let put = answer(
        http()
            .put(tags_url(&app))
            .bearer_auth(&app.token)
            .json(&json!({
                "resource_type": "CLUSTER",
                "resource_ids": ["c1"],
                "tags": [{"key": "env", "value": "dev"}],
                "region_id": "cn-hangzhou"
            })),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(keys(&put.body), ["RequestId"]);
    assert_eq!(put.body["RequestId"], put.request_id.as_str());
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );

    // The qualified type is accepted too, and a second PUT overwrites the value.
    let again = answer(
        http()
            .put(tags_url(&app))
            .bearer_auth(&app.token)
            .json(&json!({
                "resource_type": "ALIYUN::CS::CLUSTER",
                "resource_ids": ["c1", "c2"],
                "tags": [{"key": "env", "value": "prod"}, {"key": "team", "value": "a"}]
            })),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [
            ("env".to_owned(), "prod".to_owned()),
            ("team".to_owned(), "a".to_owned())
        ]
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c2").await.unwrap(),
        [
            ("env".to_owned(), "prod".to_owned()),
            ("team".to_owned(), "a".to_owned())
        ]
    );
}

async fn delete_tags_removes_only_the_named_keys_of_the_named_resources(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1", "c2"], &[("env", "dev"), ("team", "a")])
        .await;

    let deleted = answer(
        http()
            .delete(tags_url(&app))
            .bearer_auth(&app.token)
            .query(&[
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("tag_keys", r#"["env"]"#),
            ]),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(keys(&deleted.body), ["RequestId"]);
    assert_eq!(deleted.body["RequestId"], deleted.request_id.as_str());
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("team".to_owned(), "a".to_owned())]
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c2").await.unwrap(),
        [
            ("env".to_owned(), "dev".to_owned()),
            ("team".to_owned(), "a".to_owned())
        ]
    );
}

/// `DELETE /tags` of one CLUSTER with `all` and no `tag_keys`.
async fn delete_all(app: &TestApp, id: &str, all: &str) -> Answer {
    let ids = format!(r#"["{id}"]"#);
    answer(
        http()
            .delete(tags_url(app))
            .bearer_auth(&app.token)
            .query(&[
                ("resource_type", "CLUSTER"),
                ("resource_ids", ids.as_str()),
                ("all", all),
            ]),
    )
    .await
}

async fn delete_with_all_removes_every_tag_in_either_spelling_and_refuses_other_values(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag(
        "CLUSTER",
        &["c1", "c2", "c3"],
        &[("env", "dev"), ("team", "a")],
    )
    .await;
    for (id, spelling) in [("c1", "True"), ("c2", "true")] {
        let a = delete_all(&app, id, spelling).await;
        assert_eq!(a.status, StatusCode::OK, "all={spelling}: {}", a.body);
        assert_eq!(keys(&a.body), ["RequestId"]);
        let left = list(&app, &[("resource_ids", &format!(r#"["{id}"]"#))]).await;
        assert_eq!(rows(&left), [], "all={spelling} left tags on {id}");
    }

    let maybe = delete_all(&app, "c3", "maybe").await;
    assert_error(&maybe, 400, "InvalidParameter", "all");
    let unsure = delete_all(&app, "c3", "False").await;
    assert_error(&unsure, 400, "InvalidParameter", "tag_keys");
    assert_eq!(
        app.resource_tags("CLUSTER", "c3").await.unwrap().len(),
        2,
        "refused deletes removed tags"
    );
}

async fn each_malformed_list_request_is_invalid_parameter_naming_its_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let tags21 = serde_json::to_string(
        &(0..21)
            .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let ids51 =
        serde_json::to_string(&(0..51).map(|i| format!("c{i}")).collect::<Vec<_>>()).unwrap();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("resource_ids", r#"["c1"]"#)], "resource_type"),
        (
            vec![("resource_type", "VPC"), ("resource_ids", r#"["c1"]"#)],
            "resource_type",
        ),
        (vec![("resource_type", "CLUSTER")], "resource_ids"),
        (
            vec![("resource_type", "CLUSTER"), ("resource_ids", r#"["c1""#)],
            "resource_ids",
        ),
        (
            vec![("resource_type", "CLUSTER"), ("resource_ids", "c1")],
            "resource_ids",
        ),
        // The seed's own example, with its typo.
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("tags", r#"[{"key":"env","value","dev"}]"#),
            ],
            "tags",
        ),
        (
            vec![("resource_type", "CLUSTER"), ("tags", tags21.as_str())],
            "tags",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_ids", ids51.as_str()),
            ],
            "resource_ids",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
            ],
            "resource_type",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("resource_ids", r#"["c2"]"#),
            ],
            "resource_ids",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("page_size", "two"),
            ],
            "page_size",
        ),
        (
            vec![
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("page_size", "1001"),
            ],
            "page_size",
        ),
    ];
    for (query, field) in cases {
        let a = answer(
            http()
                .get(tags_url(&app))
                .bearer_auth(&app.token)
                .query(&query),
        )
        .await;
        assert_error(&a, 400, "InvalidParameter", field);
    }
}

async fn malformed_writes_are_invalid_parameter_and_change_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let many_tags: Vec<Value> = (0..21)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    let many_ids: Vec<String> = (0..51).map(|i| format!("c{i}")).collect();

    let not_json = answer(
        http()
            .put(tags_url(&app))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body("resource_type=CLUSTER&resource_ids=c1"),
    )
    .await;
    assert_error(&not_json, 400, "InvalidParameter", "body");

    let bodies = [
        (
            json!({"resource_ids": ["c1"], "tags": [{"key": "env", "value": "x"}]}),
            "resource_type",
        ),
        (
            json!({"resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": many_tags}),
            "tags",
        ),
        (
            json!({"resource_type": "CLUSTER", "resource_ids": many_ids, "tags": [{"key": "env", "value": "x"}]}),
            "resource_ids",
        ),
        (
            json!({"resource_type": "CLUSTER", "resource_ids": "c1", "tags": [{"key": "env", "value": "x"}]}),
            "body",
        ),
    ];
    for (body, field) in bodies {
        let a = answer(
            http()
                .put(tags_url(&app))
                .bearer_auth(&app.token)
                .json(&body),
        )
        .await;
        assert_error(&a, 400, "InvalidParameter", field);
    }

    let twice = answer(
        http()
            .delete(tags_url(&app))
            .bearer_auth(&app.token)
            .query(&[
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("tag_keys", r#"["env"]"#),
                ("tag_keys", r#"["team"]"#),
            ]),
    )
    .await;
    assert_error(&twice, 400, "InvalidParameter", "tag_keys");
    let bad_keys = answer(
        http()
            .delete(tags_url(&app))
            .bearer_auth(&app.token)
            .query(&[
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("tag_keys", "env"),
            ]),
    )
    .await;
    assert_error(&bad_keys, 400, "InvalidParameter", "tag_keys");

    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );
}

async fn requests_without_a_valid_token_are_401_unauthorized(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let unknown = format!("tgs_{}_{}", "0".repeat(16), "a".repeat(64));
    let query = [("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)];
    let body = json!({"resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": [{"key": "env", "value": "x"}]});
    let delete_query = [
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c1"]"#),
        ("all", "true"),
    ];

    for token in [None, Some("nope"), Some(unknown.as_str())] {
        let with = |req: RequestBuilder| match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let get = answer(with(http().get(tags_url(&app)).query(&query))).await;
        assert_error(&get, 401, "Unauthorized", "token");
        let put = answer(with(http().put(tags_url(&app)).json(&body))).await;
        assert_error(&put, 401, "Unauthorized", "token");
        let delete = answer(with(http().delete(tags_url(&app)).query(&delete_query))).await;
        assert_error(&delete, 401, "Unauthorized", "token");
    }
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );
}

async fn read_only_tokens_may_list_but_not_put_or_delete(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let reader = app.token_for("p1", true, false).await;

    let get = answer(
        http()
            .get(tags_url(&app))
            .bearer_auth(&reader)
            .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
    )
    .await;
    assert_eq!(rows(&get), [row("c1", "env", "dev")]);

    let put = answer(http().put(tags_url(&app)).bearer_auth(&reader).json(&json!({
        "resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": [{"key": "env", "value": "prod"}]
    })))
    .await;
    assert_error(&put, 403, "Forbidden", "read-only");
    let delete = answer(http().delete(tags_url(&app)).bearer_auth(&reader).query(&[
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c1"]"#),
        ("tag_keys", r#"["env"]"#),
    ]))
    .await;
    assert_error(&delete, 403, "Forbidden", "read-only");
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );
}

async fn x_project_id_must_name_the_tokens_own_project(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let query = [("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)];

    let own = answer(
        http()
            .get(tags_url(&app))
            .bearer_auth(&app.token)
            .header("x-project-id", "p1")
            .query(&query),
    )
    .await;
    assert_eq!(rows(&own), [row("c1", "env", "dev")]);

    let other = answer(
        http()
            .get(tags_url(&app))
            .bearer_auth(&app.token)
            .header("x-project-id", "p2")
            .query(&query),
    )
    .await;
    assert_error(&other, 403, "Forbidden", "p2");
    let put = answer(
        http()
            .put(tags_url(&app))
            .bearer_auth(&app.token)
            .header("x-project-id", "p2")
            .json(&json!({"resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": [{"key": "env", "value": "x"}]})),
    )
    .await;
    assert_error(&put, 403, "Forbidden", "p2");
    let delete = answer(
        http()
            .delete(tags_url(&app))
            .bearer_auth(&app.token)
            .header("x-project-id", "p2")
            .query(&[
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("all", "true"),
            ]),
    )
    .await;
    assert_error(&delete, 403, "Forbidden", "p2");

    // Nothing was written to p2 either.
    let p2 = app.token_for("p2", false, false).await;
    let in_p2 = answer(http().get(tags_url(&app)).bearer_auth(&p2).query(&query)).await;
    assert_eq!(rows(&in_p2), []);
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );
}

async fn bearer_authorization_and_x_auth_token_both_authenticate(b: Backend) {
    let app = TestApp::spawn(b).await;
    let put = answer(
        http()
            .put(tags_url(&app))
            .header("x-auth-token", &app.token)
            .json(&json!({"resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": [{"key": "env", "value": "dev"}]})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);

    let query = [("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)];
    let bearer = answer(
        http()
            .get(tags_url(&app))
            .header("authorization", format!("Bearer {}", app.token))
            .query(&query),
    )
    .await;
    assert_eq!(rows(&bearer), [row("c1", "env", "dev")]);
    let auth_token = answer(
        http()
            .get(tags_url(&app))
            .header("x-auth-token", &app.token)
            .query(&query),
    )
    .await;
    assert_eq!(rows(&auth_token), [row("c1", "env", "dev")]);
}

async fn page_size_and_next_token_walk_every_row_exactly_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag(
        "CLUSTER",
        &["c1", "c2", "c3"],
        &[("env", "dev"), ("team", "a")],
    )
    .await;
    app.tag("CLUSTER", &["c4"], &[("team", "a")]).await;
    let filter = r#"[{"key":"env","value":"dev"}]"#;

    let everything = rows(&list(&app, &[("tags", filter)]).await);
    assert_eq!(everything.len(), 6);

    let mut walked = Vec::new();
    let mut pages = 0;
    let mut token = String::new();
    loop {
        let page = list(
            &app,
            &[("tags", filter), ("page_size", "2"), ("next_token", &token)],
        )
        .await;
        let got = rows(&page);
        assert!(got.len() <= 2, "page of {} rows", got.len());
        walked.extend(got);
        pages += 1;
        token = next_token(&page);
        if token.is_empty() {
            break;
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(walked, everything);
    assert_eq!(pages, 3);

    let first = list(&app, &[("tags", filter), ("page_size", "2")]).await;
    let token = next_token(&first);
    assert!(!token.is_empty());
    let mut tampered: Vec<char> = token.chars().collect();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let refused = list(
        &app,
        &[
            ("tags", filter),
            ("page_size", "2"),
            ("next_token", &tampered),
        ],
    )
    .await;
    assert_error(&refused, 400, "InvalidParameter", "next_token");

    let other_query = list(
        &app,
        &[
            ("tags", r#"[{"key":"team","value":"a"}]"#),
            ("page_size", "2"),
            ("next_token", &token),
        ],
    )
    .await;
    assert_error(&other_query, 400, "InvalidParameter", "next_token");
}

/// A ListTagResources query of CLUSTER: resource ids and tag pairs.
type Query<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

async fn rest_and_grpc_answer_the_same_query_with_the_same_rows(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1", "c2"], &[("env", "dev"), ("team", "a")])
        .await;
    app.tag("CLUSTER", &["c3"], &[("env", "prod"), ("team", "a")])
        .await;
    app.tag("CLUSTER", &["c4"], &[("owner", "ops")]).await;
    app.tag("smn_topic", &["c1"], &[("env", "dev")]).await;

    let queries: [Query; 4] = [
        (&["c1", "c3"], &[]),
        (&[], &[("env", "")]),
        (&["c2", "c3", "c4"], &[("team", "a")]),
        (&[], &[("env", "dev"), ("team", "a")]),
    ];
    for (resource_ids, tags) in queries {
        let req = pb::ListTagResourcesRequest {
            resource_type: "CLUSTER".into(),
            resource_ids: ids(resource_ids),
            tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
            ..Default::default()
        };
        let grpc: Vec<_> = app
            .client
            .clone()
            .list_tag_resources(authed(&app.token, req))
            .await
            .expect("gRPC list")
            .into_inner()
            .tag_resources
            .into_iter()
            .map(|r| {
                assert_eq!(r.resource_type, "ALIYUN::CS::CLUSTER");
                (r.resource_id, r.tag_key, r.tag_value)
            })
            .collect();
        assert!(!grpc.is_empty(), "query {resource_ids:?} {tags:?} matches");

        let ids_json = serde_json::to_string(resource_ids).unwrap();
        let tags_json = serde_json::to_string(
            &tags
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let rest = list(&app, &[("resource_ids", &ids_json), ("tags", &tags_json)]).await;
        assert_eq!(rows(&rest), grpc, "query {resource_ids:?} {tags:?}");
    }
}

async fn unknown_paths_answer_grpc_callers_unimplemented_and_others_a_json_404(b: Backend) {
    let app = TestApp::spawn(b).await;

    let grpc = answer(
        http()
            .post(format!("http://{}/tagging.v1.NoSuchService/Call", app.addr))
            .header("content-type", "application/grpc")
            .body(vec![0u8, 0, 0, 0, 0]),
    )
    .await;
    assert_eq!(grpc.status, StatusCode::OK);
    assert_eq!(grpc.grpc_status.as_deref(), Some("12"));

    let plain = answer(http().get(format!("http://{}/no/such/route", app.addr))).await;
    assert_error(&plain, 404, "NotFound", "/no/such/route");
    assert_eq!(plain.grpc_status, None);
}

async fn a_known_path_asked_with_another_method_answers_a_json_405(b: Backend) {
    let app = TestApp::spawn(b).await;
    let wrong = answer(
        http()
            .post(format!("http://{}/tags", app.addr))
            .header("x-auth-token", &app.token),
    )
    .await;
    assert_error(&wrong, 405, "MethodNotAllowed", "POST /tags");
}

both_backends!(
    seeds_sample_request_lists_the_tagged_rows_in_acks_exact_shape,
    a_callers_request_id_is_echoed_in_the_header_and_the_body,
    put_tags_with_the_documented_body_tags_resources_seen_through_grpc,
    delete_tags_removes_only_the_named_keys_of_the_named_resources,
    delete_with_all_removes_every_tag_in_either_spelling_and_refuses_other_values,
    each_malformed_list_request_is_invalid_parameter_naming_its_field,
    malformed_writes_are_invalid_parameter_and_change_nothing,
    requests_without_a_valid_token_are_401_unauthorized,
    read_only_tokens_may_list_but_not_put_or_delete,
    x_project_id_must_name_the_tokens_own_project,
    bearer_authorization_and_x_auth_token_both_authenticate,
    page_size_and_next_token_walk_every_row_exactly_once,
    rest_and_grpc_answer_the_same_query_with_the_same_rows,
    unknown_paths_answer_grpc_callers_unimplemented_and_others_a_json_404,
    a_known_path_asked_with_another_method_answers_a_json_405,
);
