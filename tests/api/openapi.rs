//! The OpenAPI document at `/openapi.json` matches what the server does: the same routes, example
//! requests that get answers of the documented examples' shape, the server's own limits in its
//! schemas, and a 400 naming the field for what its schemas forbid.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tagging_service::{
    domain::{self, Catalog, Limits},
    rest::OPENAPI,
};

use crate::{
    helpers::{Backend, ROUTES, TestApp, answer, assert_error, authed, ids, pb, tag},
    routes::is_event_stream,
};

async fn document(app: &TestApp) -> Value {
    let res = reqwest::get(format!("http://{}/openapi.json", app.addr))
        .await
        .expect("GET /openapi.json");
    assert_eq!(res.status(), 200);
    res.json().await.expect("the document is JSON")
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

/// `path` with every `{name}` replaced by `fill(name)`.
fn concrete(path: &str, fill: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("closing brace") + start;
        out.push_str(&rest[..start]);
        out.push_str(&fill(&rest[start + 1..end]));
        rest = &rest[end + 1..];
    }
    out + rest
}

/// DeleteResourceTag of the key `action` is served at the batch route's path; OpenAPI matches that
/// concrete path before the template `…/tags/{key}`, so the document lists it there too.
const ACTION_KEY_DELETE: (&str, &str) = (
    "DELETE",
    "/v2/{project_id}/{resource_type}/{resource_id}/tags/action",
);

/// The change log's routes.
const CHANGES: &str = "/v2/{project_id}/tag_changes";
const WATCH: &str = "/v2/{project_id}/tag_changes/watch";

/// The operations the document lists: every route, and the deletion of the key `action`.
fn documented_operations() -> usize {
    ROUTES.len() + 1
}

async fn every_served_route_is_documented_and_every_documented_route_is_served(b: Backend) {
    let app = TestApp::spawn(b).await;
    let doc = document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let mut served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    served.insert((ACTION_KEY_DELETE.0.into(), ACTION_KEY_DELETE.1.into()));
    assert_eq!(documented, served);
    assert_eq!(documented.len(), documented_operations());

    let http = reqwest::Client::new();
    for (method, path) in &served {
        let url = format!("http://{}{}", app.addr, concrete(path, |_| "x".into()));
        let res = http
            .request(method.parse().expect("method"), &url)
            .header("x-auth-token", &app.token)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        if is_event_stream(&res) {
            // A stream that began was routed to its handler; its body never ends.
            continue;
        }
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_ne!(status, 405, "{method} {path} is not routed for its method");
        assert!(
            !(status == 404 && body["code"] == "NotFound"),
            "{method} {path} fell through to the unknown-route handler"
        );
    }
}

/// The same keys at every level; arrays are compared by their first element.
fn assert_same_shape(actual: &Value, documented: &Value, at: &str) {
    match (actual, documented) {
        (Value::Object(a), Value::Object(d)) => {
            let ak: BTreeSet<&String> = a.keys().collect();
            let dk: BTreeSet<&String> = d.keys().collect();
            assert_eq!(ak, dk, "keys at {at}");
            for k in dk {
                assert_same_shape(&a[k], &d[k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(d)) => {
            assert_eq!(
                a.is_empty(),
                d.is_empty(),
                "emptiness of the array at {at}: {actual}"
            );
            if let (Some(a0), Some(d0)) = (a.first(), d.first()) {
                assert_same_shape(a0, d0, &format!("{at}[0]"));
            }
        }
        (a, d) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(d),
            "type at {at}: {a} vs {d}"
        ),
    }
}

async fn the_documents_examples_are_what_the_server_answers(b: Backend) {
    let app = TestApp::spawn(b).await;
    let doc = document(&app).await;
    let demo = app.token_for("demo", false, false).await;
    let http = reqwest::Client::new();
    let mut tried = 0;
    for (method, path, op) in operations(&doc) {
        if path == "/openapi.json" {
            continue;
        }
        // Each example starts from the same data, whatever the previous one changed.
        for (resource_type, resource) in [("CLUSTER", "c1"), ("CLUSTER", "c2"), ("smn_topic", "t1")]
        {
            let req = pb::TagResourcesRequest {
                project_id: "demo".into(),
                resource_type: resource_type.into(),
                resource_ids: ids(&[resource]),
                tags: vec![tag("env", "dev")],
                expected_revision: None,
            };
            app.client
                .clone()
                .tag_resources(authed(&demo, req))
                .await
                .expect("seed");
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        // A parameter with `content` has its value as its example, sent as JSON text.
        let text = |example: &Value| match example {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
        let example_of = |name: &str| {
            params
                .iter()
                .find(|p| p["name"] == name)
                .and_then(|p| text(&p["example"]))
        };
        let url = format!(
            "http://{}{}",
            app.addr,
            concrete(&path, |name| example_of(name).expect("path example"))
        );
        let query: Vec<(String, String)> = params
            .iter()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| Some((p["name"].as_str()?.to_owned(), text(&p["example"])?)))
            .collect();
        let mut request = http
            .request(method.parse().expect("method"), &url)
            .query(&query)
            .header("x-auth-token", &demo);
        if let Some(body) = op.pointer("/requestBody/content/application~1json/example") {
            request = request.json(body);
        }
        let res = request.send().await.expect("request");
        let (expected_status, documented) = op["responses"]
            .as_object()
            .expect("responses")
            .iter()
            .find(|(code, _)| code.starts_with('2'))
            .map(|(code, r)| (code.parse::<u16>().expect("status"), r.clone()))
            .expect("a success response");
        let status = res.status().as_u16();
        let request_id = res.headers().get("x-request-id").cloned();
        assert!(
            request_id.is_some(),
            "{method} {path} answers without X-Request-Id"
        );
        if let Some(example) = documented.pointer("/content/text~1event-stream/example") {
            assert_eq!(status, expected_status, "{method} {path}");
            assert!(
                is_event_stream(&res),
                "{method} {path}: {:?}",
                res.headers()
            );
            let actual = first_event_data(res).await;
            let example = example.as_str().expect("an event stream's example is text");
            let documented = event_data(example).expect("the example holds an event");
            assert_same_shape(&actual, &documented, &format!("{method} {path}"));
            tried += 1;
            continue;
        }
        let text = res.text().await.expect("body");
        assert_eq!(status, expected_status, "{method} {path}: {text}");
        if let Some(example) = documented.pointer("/content/application~1json/example") {
            let actual: Value = serde_json::from_str(&text).expect("a JSON answer");
            assert_same_shape(&actual, example, &format!("{method} {path}"));
        }
        tried += 1;
    }
    assert_eq!(
        tried,
        documented_operations() - 1,
        "every documented operation but the document itself was tried"
    );
}

/// The JSON `data` of the first event in `text`, Server-Sent Events.
fn event_data(text: &str) -> Option<Value> {
    let event = text.split("\n\n").next()?;
    let data = event.lines().find_map(|l| l.strip_prefix("data: "))?;
    Some(serde_json::from_str(data).expect("an event's data is JSON"))
}

/// Reads `res`, an endless event stream, until its first event is whole (bounded, as a stream
/// that sends nothing would otherwise hang the test), and answers that event's data.
async fn first_event_data(mut res: reqwest::Response) -> Value {
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), res.chunk())
            .await
            .expect("the first event within 10 s")
            .expect("the stream is read")
            .expect("the stream goes on");
        text.push_str(std::str::from_utf8(&chunk).expect("UTF-8 events"));
    }
    event_data(&text).unwrap_or_else(|| panic!("no data in the first event: {text}"))
}

/// The schema `name` of the document's components.
fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "no schema {name}");
    s
}

fn number(v: &Value, at: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{at} is not a number: {v}"))
}

/// The document's limits are the server's defaults, read from the code that enforces them, so
/// neither can change alone.
#[test]
fn the_documents_schemas_carry_the_servers_rules() {
    let doc: Value = serde_json::from_str(OPENAPI).expect("the document is JSON");
    let limits = Limits::default();

    let catalog = Catalog::default();
    let mut types: BTreeSet<&str> = catalog.names().collect();
    types.extend(catalog.names().map(|n| catalog.qualified(n)));
    let documented: BTreeSet<&str> = schema(&doc, "ResourceType")["enum"]
        .as_array()
        .expect("an enumeration of the resource types")
        .iter()
        .map(|t| t.as_str().expect("a name"))
        .collect();
    assert_eq!(
        documented, types,
        "the default catalog's names and qualified names"
    );

    let project = schema(&doc, "ProjectId");
    assert_eq!(
        number(&project["maxLength"], "ProjectId"),
        domain::MAX_PROJECT_ID_CHARS as u64
    );
    assert_eq!(project["pattern"], "^[A-Za-z0-9._-]{1,64}$");
    for (name, min, max) in [
        ("ResourceId", 1, domain::MAX_ID_CHARS),
        ("ResourceName", 1, domain::MAX_ID_CHARS),
        ("TagKey", 1, domain::MAX_KEY_CHARS),
        ("TagValue", 0, domain::MAX_VALUE_CHARS),
    ] {
        let s = schema(&doc, name);
        assert_eq!(s["type"], "string", "{name}");
        assert_eq!(s["minLength"].as_u64().unwrap_or(0), min as u64, "{name}");
        assert_eq!(number(&s["maxLength"], name), max as u64, "{name}");
        let pattern = s["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no pattern"));
        assert!(
            pattern.starts_with('^') && pattern.ends_with('$'),
            "{name}: {pattern}"
        );
        // Every one of them refuses control characters, as the server does.
        assert!(pattern.contains("\\u0000-"), "{name}: {pattern}");
    }

    let ack = &schema(&doc, "AckTagRequest")["properties"];
    let filter = &schema(&doc, "SmnInstancesRequest")["properties"];
    let ops = &doc["paths"];
    let param = |path: &str, method: &str, name: &str| -> Value {
        ops[path][method]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path} has no {name}"))
            .clone()
    };
    let json_param = |path: &str, method: &str, name: &str| -> Value {
        param(path, method, name)["content"]["application/json"]["schema"].clone()
    };
    let ids = limits.max_resource_ids as u64;
    let per_request = limits.max_tags_per_request as u64;
    let entries = limits.max_filter_entries as u64;
    let page = u64::from(limits.max_page_size);
    for (at, value, expected) in [
        (
            "PUT /tags resource_ids",
            &ack["resource_ids"]["maxItems"],
            ids,
        ),
        ("PUT /tags tags", &ack["tags"]["maxItems"], per_request),
        (
            "GET /tags resource_ids",
            &json_param("/tags", "get", "resource_ids")["maxItems"],
            ids,
        ),
        (
            "GET /tags tags",
            &json_param("/tags", "get", "tags")["maxItems"],
            per_request,
        ),
        (
            "DELETE /tags resource_ids",
            &json_param("/tags", "delete", "resource_ids")["maxItems"],
            ids,
        ),
        (
            "DELETE /tags tag_keys",
            &json_param("/tags", "delete", "tag_keys")["maxItems"],
            per_request,
        ),
        (
            "GET /tags page_size",
            &param("/tags", "get", "page_size")["schema"]["maximum"],
            page,
        ),
        (
            "SMN batch tags",
            &schema(&doc, "SmnBatchRequest")["properties"]["tags"]["maxItems"],
            per_request,
        ),
        ("SMN filter tags", &filter["tags"]["maxItems"], entries),
        (
            "SMN filter not_tags_any",
            &filter["not_tags_any"]["maxItems"],
            entries,
        ),
        (
            "SMN filter values",
            &schema(&doc, "TagFilter")["properties"]["values"]["maxItems"],
            entries,
        ),
        ("SMN limit", &filter["limit"]["oneOf"][1]["maximum"], page),
        (
            "GET tag_changes resource_ids",
            &json_param(CHANGES, "get", "resource_ids")["maxItems"],
            ids,
        ),
        (
            "GET tag_changes keys",
            &json_param(CHANGES, "get", "keys")["maxItems"],
            per_request,
        ),
        (
            "GET tag_changes limit",
            &param(CHANGES, "get", "limit")["schema"]["maximum"],
            page,
        ),
        (
            "watch resource_ids",
            &json_param(WATCH, "get", "resource_ids")["maxItems"],
            ids,
        ),
        (
            "watch keys",
            &json_param(WATCH, "get", "keys")["maxItems"],
            per_request,
        ),
    ] {
        assert_eq!(number(value, at), expected, "{at}");
    }
    assert!(
        !OPENAPI.contains("\"nullable\""),
        "no field the server reads may be null"
    );
}

/// What the document forbids and the server once took: each is now a 400 naming its field.
async fn what_the_document_forbids_is_refused_naming_the_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let instances = "/v2/p1/smn_topic/resource_instances/action";
    for (body, field) in [
        (json!({"action": "filter", "offset": null}), "offset"),
        (json!({"action": "filter", "limit": null}), "limit"),
        (json!({"action": "filter", "limit": "+5"}), "limit"),
        (
            json!({"action": "filter", "offset": 1_000_000_000}),
            "offset",
        ),
        (json!({"action": "count", "limit": "ten"}), "limit"),
        (json!({"action": "count", "offset": null}), "offset"),
    ] {
        let req = app
            .rest()
            .post(instances)
            .header("x-auth-token", &app.token);
        let a = answer(req.json(&body)).await;
        assert_error(&a, 400, "SMN.00010400", field);
    }

    let batch = "/v2/p1/smn_topic/t1/tags/action";
    let body = json!({"action": "delete", "tags": [{"key": "env", "value": "a\u{7}b"}]});
    let req = app.rest().post(batch).header("x-auth-token", &app.token);
    assert_error(
        &answer(req.json(&body)).await,
        400,
        "SMN.00010400",
        "tags[0].value",
    );

    let list = [
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c1"]"#),
        ("page_size", ""),
    ];
    let req = app
        .rest()
        .get("/tags")
        .query(&list)
        .header("x-auth-token", &app.token);
    assert_error(&answer(req).await, 400, "InvalidParameter", "page_size");
    let untag = [
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c1"]"#),
        ("all", ""),
    ];
    let req = app
        .rest()
        .delete("/tags")
        .query(&untag)
        .header("x-auth-token", &app.token);
    assert_error(&answer(req).await, 400, "InvalidParameter", "all");
}

both_backends!(
    every_served_route_is_documented_and_every_documented_route_is_served,
    the_documents_examples_are_what_the_server_answers,
    what_the_document_forbids_is_refused_naming_the_field,
);
