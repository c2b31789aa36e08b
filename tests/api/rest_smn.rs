//! Huawei SMN's REST form (seed 004) over real HTTP on the gRPC port: a resource's tags, batch
//! create and delete, the project's tags, and the resource-instance filter and count.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Answer, Backend, TestApp, answer, assert_error, authed, ids, keys, owned, pb, tag,
};

/// The path of `/v2/{path}`.
fn v2(path: &str) -> String {
    format!("/v2/{path}")
}

/// `GET /v2/{path}` with SMN's `X-Auth-Token`.
async fn get(app: &TestApp, token: &str, path: &str) -> Answer {
    answer(app.rest().get(v2(path)).header("x-auth-token", token)).await
}

/// `POST /v2/{path}` of a JSON body with SMN's `X-Auth-Token`.
async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> Answer {
    answer(
        app.rest()
            .post(v2(path))
            .header("x-auth-token", token)
            .json(body),
    )
    .await
}

/// `POST /v2/p1/smn_topic/resource_instances/action` as p1's read-write token.
async fn instances(app: &TestApp, body: &Value) -> Answer {
    post(
        app,
        &app.token,
        "p1/smn_topic/resource_instances/action",
        body,
    )
    .await
}

/// The tags of a successful `{"tags":[{key,value}]}` answer, each checked for its exact keys.
#[track_caller]
fn tags_of(a: &Answer) -> Vec<(String, String)> {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(keys(&a.body), ["tags"], "{}", a.body);
    pairs(&a.body["tags"])
}

fn pairs(tags: &Value) -> Vec<(String, String)> {
    tags.as_array()
        .expect("tags is an array")
        .iter()
        .map(|t| {
            assert_eq!(keys(t), ["key", "value"], "{t}");
            let text = |k: &str| t[k].as_str().expect("a string").to_owned();
            (text("key"), text("value"))
        })
        .collect()
}

/// The resource ids and total of a successful filter answer, every part checked for its keys.
#[track_caller]
fn filtered(a: &Answer) -> (Vec<String>, i64) {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(keys(&a.body), ["resources", "total_count"], "{}", a.body);
    let ids = a.body["resources"]
        .as_array()
        .expect("resources is an array")
        .iter()
        .map(|r| {
            assert_eq!(
                keys(r),
                ["resource_detail", "resource_id", "resource_name", "tags"],
                "{r}"
            );
            assert_eq!(r["resource_detail"], json!({}), "{r}");
            assert!(r["resource_name"].is_string(), "{r}");
            pairs(&r["tags"]);
            r["resource_id"].as_str().expect("a string").to_owned()
        })
        .collect();
    (ids, a.body["total_count"].as_i64().expect("a number"))
}

async fn put_resource(app: &TestApp, token: &str, id: &str, name: &str) {
    let req = pb::PutResourceRequest {
        resource_type: "smn_topic".into(),
        resource_id: id.into(),
        name: name.into(),
        ..Default::default()
    };
    app.client
        .clone()
        .put_resource(authed(token, req))
        .await
        .expect("put_resource");
}

async fn a_resources_tags_are_listed_by_key_in_smns_exact_shape(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag(
        "smn_topic",
        &["t1"],
        &[("zeta", "1"), ("alpha", "2"), ("env", "dev")],
    )
    .await;
    app.tag("smn_topic", &["t2"], &[("other", "x")]).await;
    app.tag("smn_sms", &["t1"], &[("sms", "y")]).await;

    let a = get(&app, &app.token, "p1/smn_topic/t1/tags").await;
    assert_eq!(
        tags_of(&a),
        owned(&[("alpha", "2"), ("env", "dev"), ("zeta", "1")])
    );
}

async fn an_untagged_registered_resource_has_no_tags_and_an_unknown_one_is_404(b: Backend) {
    let app = TestApp::spawn(b).await;
    put_resource(&app, &app.token, "t1", "").await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;

    let empty = get(&app, &app.token, "p1/smn_topic/t1/tags").await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert_eq!(empty.body, json!({"tags": []}));

    let unknown = get(&app, &app.token, "p1/smn_topic/t9/tags").await;
    assert_error(&unknown, 404, "SMN.00010404", "t9");
    let other_type = get(&app, &app.token, "p1/smn_topic/c1/tags").await;
    assert_error(&other_type, 404, "SMN.00010404", "c1");
}

async fn the_name_header_finds_a_resource_by_the_name_it_was_registered_with(b: Backend) {
    let app = TestApp::spawn(b).await;
    put_resource(&app, &app.token, "t1", "orders").await;
    app.tag("smn_topic", &["t1"], &[("env", "dev")]).await;
    let by = |path: &'static str, kind: &'static str| {
        app.rest()
            .get(v2(path))
            .header("x-auth-token", &app.token)
            .header("x-smn-resourceid-type", kind)
    };

    let named = answer(by("p1/smn_topic/orders/tags", "name")).await;
    assert_eq!(tags_of(&named), owned(&[("env", "dev")]));
    let by_id = answer(by("p1/smn_topic/t1/tags", "id")).await;
    assert_eq!(tags_of(&by_id), owned(&[("env", "dev")]));
    let name_as_id = get(&app, &app.token, "p1/smn_topic/orders/tags").await;
    assert_error(&name_as_id, 404, "SMN.00010404", "orders");
    let id_as_name = answer(by("p1/smn_topic/t1/tags", "name")).await;
    assert_error(&id_as_name, 404, "SMN.00010404", "t1");

    let ghost = answer(by("p1/smn_topic/ghost/tags", "name")).await;
    assert_error(&ghost, 404, "SMN.00010404", "ghost");
    let bogus = answer(by("p1/smn_topic/orders/tags", "bogus")).await;
    assert_error(&bogus, 400, "SMN.00010400", "X-SMN-RESOURCEID-TYPE");
}

async fn batch_create_and_delete_answer_204_and_change_the_tags(b: Backend) {
    let app = TestApp::spawn(b).await;
    let action = "p1/smn_topic/t1/tags/action";

    let created = post(
        &app,
        &app.token,
        action,
        &json!({"action": "create", "tags": [{"key": "env", "value": "dev"}, {"key": "team", "value": "a"}, {"key": "k", "value": "v"}]}),
    )
    .await;
    assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);
    assert_eq!(created.body, Value::Null);
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("env", "dev"), ("k", "v"), ("team", "a")])
    );

    let deleted = post(
        &app,
        &app.token,
        action,
        &json!({"action": "delete", "tags": [{"key": "k", "value": ""}]}),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(deleted.body, Value::Null);
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("env", "dev"), ("team", "a")])
    );

    // A delete names keys only: the value it carries does not have to match.
    let by_key = post(
        &app,
        &app.token,
        action,
        &json!({"action": "delete", "tags": [{"key": "env", "value": "not-dev"}]}),
    )
    .await;
    assert_eq!(by_key.status, StatusCode::NO_CONTENT, "{}", by_key.body);
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("team", "a")])
    );

    let absent = post(
        &app,
        &app.token,
        action,
        &json!({"action": "delete", "tags": [{"key": "absent", "value": ""}, {"key": "gone"}]}),
    )
    .await;
    assert_eq!(absent.status, StatusCode::NO_CONTENT, "{}", absent.body);
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("team", "a")])
    );
}

/// CreateResourceTag and DeleteResourceTag, the single-tag routes the SMN SDK calls; a key named
/// `action` or holding an encoded `/` is still one key.
async fn single_tag_create_and_delete_answer_204_and_change_one_tag(b: Backend) {
    let app = TestApp::spawn(b).await;
    let tags = "p1/smn_topic/t1/tags";
    for (key, value) in [("env", "dev"), ("action", "x"), ("a b/é", "y")] {
        let created = post(
            &app,
            &app.token,
            tags,
            &json!({"tag": {"key": key, "value": value}}),
        )
        .await;
        assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);
        assert_eq!(created.body, Value::Null);
    }
    let replaced = post(
        &app,
        &app.token,
        tags,
        &json!({"tag": {"key": "env", "value": "prod"}}),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::NO_CONTENT, "{}", replaced.body);
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("a b/é", "y"), ("action", "x"), ("env", "prod")])
    );

    let delete = |key: &str| {
        answer(
            app.rest()
                .delete(v2(&format!("{tags}/{key}")))
                .header("x-auth-token", &app.token),
        )
    };
    for (encoded, left) in [
        ("action", vec![("a b/é", "y"), ("env", "prod")]),
        ("a%20b%2F%C3%A9", vec![("env", "prod")]),
        ("absent", vec![("env", "prod")]),
    ] {
        let deleted = delete(encoded).await;
        assert_eq!(
            deleted.status,
            StatusCode::NO_CONTENT,
            "{encoded}: {}",
            deleted.body
        );
        assert_eq!(
            app.resource_tags("smn_topic", "t1").await.unwrap(),
            owned(&left)
        );
    }

    let no_tag = post(
        &app,
        &app.token,
        tags,
        &json!({"key": "env", "value": "dev"}),
    )
    .await;
    assert_error(&no_tag, 400, "SMN.00010400", "body");
    let blank_key = post(
        &app,
        &app.token,
        tags,
        &json!({"tag": {"key": "", "value": "v"}}),
    )
    .await;
    assert_error(&blank_key, 400, "SMN.00010400", "key");
    let read_only = app.token_for("p1", true, false).await;
    let refused = answer(
        app.rest()
            .delete(v2(&format!("{tags}/env")))
            .header("x-auth-token", &read_only),
    )
    .await;
    assert_error(&refused, 403, "SMN.00010403", "read");
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("env", "prod")])
    );
}

async fn batch_bodies_with_unknown_actions_or_duplicate_keys_are_400_and_change_nothing(
    b: Backend,
) {
    let app = TestApp::spawn(b).await;
    app.tag("smn_topic", &["t1"], &[("env", "dev")]).await;
    let action = "p1/smn_topic/t1/tags/action";
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    let cases = [
        (
            json!({"action": "other", "tags": [{"key": "env", "value": "x"}]}),
            "action",
        ),
        (json!({"tags": [{"key": "env", "value": "x"}]}), "action"),
        (
            json!({"action": "create", "tags": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]}),
            "tags[1].key",
        ),
        (json!({"action": "create", "tags": many}), "tags"),
        (json!({"action": "create", "tags": []}), "tags"),
        (json!({"action": "delete", "tags": []}), "tags"),
        (json!({"action": "create", "tags": "env=x"}), "body"),
    ];
    for (body, field) in cases {
        let a = post(&app, &app.token, action, &body).await;
        assert_error(&a, 400, "SMN.00010400", field);
    }
    let not_json = answer(
        app.rest()
            .post(v2(action))
            .header("x-auth-token", &app.token)
            .body("action=create"),
    )
    .await;
    assert_error(&not_json, 400, "SMN.00010400", "body");

    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("env", "dev")])
    );
}

async fn project_tags_list_every_key_with_its_values_for_that_type_only(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("smn_topic", &["t1"], &[("env", "dev"), ("team", "a")])
        .await;
    app.tag("smn_topic", &["t2"], &[("env", "prod")]).await;
    app.tag("smn_topic", &["t3"], &[("env", "dev")]).await;
    app.tag("smn_sms", &["s1"], &[("env", "staging"), ("other", "x")])
        .await;
    app.tag("CLUSTER", &["c1"], &[("owner", "ops")]).await;

    let topics = get(&app, &app.token, "p1/smn_topic/tags").await;
    assert_eq!(topics.status, StatusCode::OK, "{}", topics.body);
    assert_eq!(
        topics.body,
        json!({"tags": [
            {"key": "env", "values": ["dev", "prod"]},
            {"key": "team", "values": ["a"]}
        ]})
    );
    let sms = get(&app, &app.token, "p1/smn_sms/tags").await;
    assert_eq!(
        sms.body,
        json!({"tags": [
            {"key": "env", "values": ["staging"]},
            {"key": "other", "values": ["x"]}
        ]})
    );
    let none = get(&app, &app.token, "p1/smn_application/tags").await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.body);
    assert_eq!(none.body, json!({"tags": []}));
}

/// r1 (named "first") to r5 carry env=dev, r6 env=prod, r7 team=a.
async fn seven_topics(app: &TestApp) {
    put_resource(app, &app.token, "r1", "first").await;
    app.tag(
        "smn_topic",
        &["r1", "r2", "r3", "r4", "r5"],
        &[("env", "dev")],
    )
    .await;
    app.tag("smn_topic", &["r2"], &[("team", "b")]).await;
    app.tag("smn_topic", &["r6"], &[("env", "prod")]).await;
    app.tag("smn_topic", &["r7"], &[("team", "a")]).await;
}

async fn count_answers_only_the_total_of_the_matching_resources(b: Backend) {
    let app = TestApp::spawn(b).await;
    seven_topics(&app).await;
    app.tag("smn_sms", &["s1"], &[("env", "dev")]).await;

    let cases = [
        (
            json!({"action": "count", "tags": [{"key": "env", "values": ["dev"]}]}),
            5,
        ),
        (
            json!({"action": "count", "tags": [{"key": "env", "values": ["dev", "prod"]}]}),
            6,
        ),
        (json!({"action": "count"}), 7),
        (
            json!({"action": "count", "tags": [{"key": "env", "values": ["dev"]}], "limit": "1", "offset": "3"}),
            5,
        ),
    ];
    for (body, total) in cases {
        let a = instances(&app, &body).await;
        assert_eq!(a.status, StatusCode::OK, "{body}: {}", a.body);
        assert_eq!(a.body, json!({"total_count": total}), "{body}");
    }
}

async fn filter_answers_smns_shape_and_offset_walks_the_matches(b: Backend) {
    let app = TestApp::spawn(b).await;
    seven_topics(&app).await;
    let page = |limit: Value, offset: Value| json!({"action": "filter", "tags": [{"key": "env", "values": ["dev"]}], "limit": limit, "offset": offset});

    let first = instances(&app, &page(json!("2"), json!("0"))).await;
    assert_eq!(filtered(&first), (ids(&["r1", "r2"]), 5));
    assert_eq!(
        first.body["resources"],
        json!([
            {"resource_id": "r1", "resource_name": "first", "resource_detail": {},
             "tags": [{"key": "env", "value": "dev"}]},
            {"resource_id": "r2", "resource_name": "", "resource_detail": {},
             "tags": [{"key": "env", "value": "dev"}, {"key": "team", "value": "b"}]}
        ])
    );

    let walks = [
        ("2", vec!["r3", "r4"]),
        ("4", vec!["r5"]),
        ("5", vec![]),
        ("10", vec![]),
    ];
    for (offset, expected) in walks {
        let a = instances(&app, &page(json!("2"), json!(offset))).await;
        assert_eq!(filtered(&a), (ids(&expected), 5), "offset {offset}");
    }

    let numbers = instances(&app, &page(json!(2), json!(2))).await;
    assert_eq!(filtered(&numbers), (ids(&["r3", "r4"]), 5));
    // An absent offset is 0 (`null` is refused: tests/api/openapi.rs).
    let mut widest = page(json!("1000"), Value::Null);
    widest.as_object_mut().expect("an object").remove("offset");
    let widest = instances(&app, &widest).await;
    assert_eq!(filtered(&widest), (ids(&["r1", "r2", "r3", "r4", "r5"]), 5));
    let defaults = instances(
        &app,
        &json!({"action": "filter", "tags": [{"key": "env", "values": ["dev"]}]}),
    )
    .await;
    assert_eq!(
        filtered(&defaults),
        (ids(&["r1", "r2", "r3", "r4", "r5"]), 5)
    );
}

async fn filter_limits_and_offsets_outside_their_range_are_400(b: Backend) {
    let app = TestApp::spawn(b).await;
    seven_topics(&app).await;
    let cases = [
        (json!({"limit": "0"}), "limit"),
        (json!({"limit": "1001"}), "limit"),
        (json!({"limit": "abc"}), "limit"),
        (json!({"limit": -1}), "limit"),
        (json!({"limit": 2.5}), "limit"),
        (json!({"limit": true}), "limit"),
        (json!({"limit": "2", "offset": "-1"}), "offset"),
        (json!({"limit": "2", "offset": -1}), "offset"),
        (json!({"limit": "2", "offset": "one"}), "offset"),
    ];
    for (mut body, field) in cases {
        body["action"] = json!("filter");
        let a = instances(&app, &body).await;
        assert_error(&a, 400, "SMN.00010400", field);
    }
}

async fn tags_any_not_tags_and_matches_narrow_the_filter(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (id, name) in [("r1", "n1"), ("r2", "orders"), ("r3", "n3"), ("r4", "n4")] {
        put_resource(&app, &app.token, id, name).await;
    }
    app.tag("smn_topic", &["r1"], &[("env", "dev")]).await;
    app.tag("smn_topic", &["r2"], &[("env", "prod")]).await;
    app.tag("smn_topic", &["r3"], &[("team", "a")]).await;
    app.tag("smn_topic", &["r4"], &[("env", "dev"), ("team", "a")])
        .await;

    let cases = [
        (
            json!({"tags_any": [{"key": "env", "values": ["prod"]}, {"key": "team", "values": []}]}),
            vec!["r2", "r3", "r4"],
        ),
        (
            json!({"not_tags": [{"key": "env", "values": ["dev"]}]}),
            vec!["r2", "r3"],
        ),
        (
            json!({"matches": [{"key": "resource_name", "value": "orders"}]}),
            vec!["r2"],
        ),
        (
            json!({"tags": [{"key": "team", "values": []}], "not_tags": [{"key": "env", "values": []}]}),
            vec!["r3"],
        ),
        (
            json!({"tags_any": [{"key": "env", "values": ["dev", "prod"]}], "matches": [{"key": "resource_name", "value": "n4"}]}),
            vec!["r4"],
        ),
    ];
    for (mut body, expected) in cases {
        body["action"] = json!("filter");
        let listed = instances(&app, &body).await;
        let total = i64::try_from(expected.len()).unwrap();
        assert_eq!(filtered(&listed), (ids(&expected), total), "{body}");
        body["action"] = json!("count");
        let counted = instances(&app, &body).await;
        assert_eq!(counted.body, json!({"total_count": total}), "{body}");
    }

    let named = instances(
        &app,
        &json!({"action": "filter", "matches": [{"key": "resource_name", "value": "orders"}]}),
    )
    .await;
    assert_eq!(named.body["resources"][0]["resource_name"], "orders");

    let bad_match = instances(
        &app,
        &json!({"action": "filter", "matches": [{"key": "resource_id", "value": "r1"}]}),
    )
    .await;
    assert_error(&bad_match, 400, "SMN.00010400", "matches[0].key");
}

async fn instance_actions_that_are_missing_or_unknown_are_400(b: Backend) {
    let app = TestApp::spawn(b).await;
    seven_topics(&app).await;
    for body in [
        json!({}),
        json!({"action": "delete"}),
        json!({"action": ""}),
    ] {
        let a = instances(&app, &body).await;
        assert_error(&a, 400, "SMN.00010400", "action");
    }
    let not_json = answer(
        app.rest()
            .post(v2("p1/smn_topic/resource_instances/action"))
            .header("x-auth-token", &app.token)
            .body("{\"action\": \"count\""),
    )
    .await;
    assert_error(&not_json, 400, "SMN.00010400", "body");
}

/// One request to each SMN route of `project` and `resource_type`: (path, body); a `Null` body
/// means a GET, any other a POST of it.
fn every_route(project: &str, resource_type: &str) -> [(String, Value); 4] {
    let p = format!("{project}/{resource_type}");
    [
        (format!("{p}/t1/tags"), Value::Null),
        (
            format!("{p}/t1/tags/action"),
            json!({"action": "create", "tags": [{"key": "env", "value": "x"}]}),
        ),
        (format!("{p}/tags"), Value::Null),
        (
            format!("{p}/resource_instances/action"),
            json!({"action": "filter"}),
        ),
    ]
}

/// Sends one request of [`every_route`] with the given headers.
async fn send(app: &TestApp, path: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
    let mut req = if body.is_null() {
        app.rest().get(v2(path))
    } else {
        app.rest().post(v2(path)).json(body)
    };
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    answer(req).await
}

async fn smn_routes_without_a_valid_token_are_403_smn_00010401(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("smn_topic", &["t1"], &[("env", "dev")]).await;
    let unknown = format!("tgs_{}_{}", "0".repeat(16), "a".repeat(64));
    let bearer = format!("Bearer {}", app.token);
    for (path, body) in every_route("p1", "smn_topic") {
        let none = send(&app, &path, &body, &[]).await;
        assert_error(&none, 403, "SMN.00010401", "token");
        let garbage = send(&app, &path, &body, &[("x-auth-token", "nope")]).await;
        assert_error(&garbage, 403, "SMN.00010401", "token");
        let forged = send(&app, &path, &body, &[("x-auth-token", &unknown)]).await;
        assert_error(&forged, 403, "SMN.00010401", "token");
        // The same request with a valid token is not refused: the token was the only fault.
        let valid = send(&app, &path, &body, &[("authorization", &bearer)]).await;
        assert!(valid.status.is_success(), "{path}: {}", valid.body);
    }
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("env", "x")])
    );
}

async fn a_token_on_another_projects_path_or_a_read_only_write_is_403_smn_00010403(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("smn_topic", &["t1"], &[("env", "dev")]).await;
    for (path, body) in every_route("p2", "smn_topic") {
        let a = send(&app, &path, &body, &[("x-auth-token", &app.token)]).await;
        assert_error(&a, 403, "SMN.00010403", "p2");
    }
    let reader = app.token_for("p1", true, false).await;
    let write = post(
        &app,
        &reader,
        "p1/smn_topic/t1/tags/action",
        &json!({"action": "delete", "tags": [{"key": "env"}]}),
    )
    .await;
    assert_error(&write, 403, "SMN.00010403", "read-only");
    let read = get(&app, &reader, "p1/smn_topic/t1/tags").await;
    assert_eq!(tags_of(&read), owned(&[("env", "dev")]));
}

async fn an_x_project_id_other_than_the_paths_is_400(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("smn_topic", &["t1"], &[("env", "dev")]).await;
    for (path, body) in every_route("p1", "smn_topic") {
        let other = send(
            &app,
            &path,
            &body,
            &[("x-auth-token", &app.token), ("x-project-id", "p2")],
        )
        .await;
        assert_error(&other, 400, "SMN.00010400", "X-Project-Id");
        let same = send(
            &app,
            &path,
            &body,
            &[("x-auth-token", &app.token), ("x-project-id", "p1")],
        )
        .await;
        assert!(same.status.is_success(), "{path}: {}", same.body);
    }
}

async fn an_unknown_resource_type_is_400_smn_00010400(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (path, body) in every_route("p1", "smn_queue") {
        let a = send(&app, &path, &body, &[("x-auth-token", &app.token)]).await;
        assert_error(&a, 400, "SMN.00010400", "resource_type");
    }
}

async fn nothing_of_another_project_is_visible_through_smn_routes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p2 = app.token_for("p2", false, false).await;
    put_resource(&app, &p2, "secret", "hidden").await;
    let created = post(
        &app,
        &p2,
        "p2/smn_topic/secret/tags/action",
        &json!({"action": "create", "tags": [{"key": "env", "value": "dev"}, {"key": "p2only", "value": "x"}]}),
    )
    .await;
    assert_eq!(created.status, StatusCode::NO_CONTENT, "{}", created.body);
    let req = pb::TagResourcesRequest {
        resource_type: "smn_topic".into(),
        resource_ids: ids(&["t1"]),
        tags: vec![tag("env", "p2-value"), tag("p2only", "y")],
        ..Default::default()
    };
    app.client
        .clone()
        .tag_resources(authed(&p2, req))
        .await
        .expect("p2 tags t1");
    app.tag("smn_topic", &["t1"], &[("env", "dev")]).await;

    // p2 sees its own data, so the checks below could fail.
    let own = get(&app, &p2, "p2/smn_topic/secret/tags").await;
    assert_eq!(tags_of(&own), owned(&[("env", "dev"), ("p2only", "x")]));

    let p1 = &app.token;
    let secret = get(&app, p1, "p1/smn_topic/secret/tags").await;
    assert_error(&secret, 404, "SMN.00010404", "secret");
    let by_name = answer(
        app.rest()
            .get(v2("p1/smn_topic/hidden/tags"))
            .header("x-auth-token", p1)
            .header("x-smn-resourceid-type", "name"),
    )
    .await;
    assert_error(&by_name, 404, "SMN.00010404", "hidden");
    let shared_id = get(&app, p1, "p1/smn_topic/t1/tags").await;
    assert_eq!(tags_of(&shared_id), owned(&[("env", "dev")]));

    let project = get(&app, p1, "p1/smn_topic/tags").await;
    assert_eq!(
        project.body,
        json!({"tags": [{"key": "env", "values": ["dev"]}]})
    );
    let all = instances(&app, &json!({"action": "filter"})).await;
    assert_eq!(filtered(&all), (ids(&["t1"]), 1));
    assert_eq!(
        all.body["resources"][0]["tags"],
        json!([{"key": "env", "value": "dev"}])
    );
    let leaked = instances(
        &app,
        &json!({"action": "filter", "tags": [{"key": "p2only", "values": []}]}),
    )
    .await;
    assert_eq!(filtered(&leaked), (vec![], 0));
    let named = instances(
        &app,
        &json!({"action": "count", "matches": [{"key": "resource_name", "value": "hidden"}]}),
    )
    .await;
    assert_eq!(named.body, json!({"total_count": 0}));

    // p1 deleting "its" secret touches nothing of p2's.
    let delete = post(
        &app,
        p1,
        "p1/smn_topic/secret/tags/action",
        &json!({"action": "delete", "tags": [{"key": "env"}, {"key": "p2only"}]}),
    )
    .await;
    assert!(
        matches!(delete.status.as_u16(), 204 | 404),
        "{}",
        delete.body
    );
    let still = get(&app, &p2, "p2/smn_topic/secret/tags").await;
    assert_eq!(tags_of(&still), owned(&[("env", "dev"), ("p2only", "x")]));
}

both_backends!(
    a_resources_tags_are_listed_by_key_in_smns_exact_shape,
    an_untagged_registered_resource_has_no_tags_and_an_unknown_one_is_404,
    the_name_header_finds_a_resource_by_the_name_it_was_registered_with,
    batch_create_and_delete_answer_204_and_change_the_tags,
    single_tag_create_and_delete_answer_204_and_change_one_tag,
    batch_bodies_with_unknown_actions_or_duplicate_keys_are_400_and_change_nothing,
    project_tags_list_every_key_with_its_values_for_that_type_only,
    count_answers_only_the_total_of_the_matching_resources,
    filter_answers_smns_shape_and_offset_walks_the_matches,
    filter_limits_and_offsets_outside_their_range_are_400,
    tags_any_not_tags_and_matches_narrow_the_filter,
    instance_actions_that_are_missing_or_unknown_are_400,
    smn_routes_without_a_valid_token_are_403_smn_00010401,
    a_token_on_another_projects_path_or_a_read_only_write_is_403_smn_00010403,
    an_x_project_id_other_than_the_paths_is_400,
    an_unknown_resource_type_is_400_smn_00010400,
    nothing_of_another_project_is_visible_through_smn_routes,
);
