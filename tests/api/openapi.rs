//! The OpenAPI document at `/openapi.json` matches what the server does: the same routes, and
//! example requests that get answers of the documented examples' shape.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{Backend, ROUTES, TestApp, authed, ids, pb, tag};

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

async fn every_served_route_is_documented_and_every_documented_route_is_served(b: Backend) {
    let app = TestApp::spawn(b).await;
    let doc = document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, served);

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
            };
            app.client
                .clone()
                .tag_resources(authed(&demo, req))
                .await
                .expect("seed");
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let example_of = |name: &str| {
            params
                .iter()
                .find(|p| p["name"] == name)
                .and_then(|p| p["example"].as_str())
                .map(str::to_owned)
        };
        let url = format!(
            "http://{}{}",
            app.addr,
            concrete(&path, |name| example_of(name).expect("path example"))
        );
        let query: Vec<(String, String)> = params
            .iter()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| {
                Some((
                    p["name"].as_str()?.to_owned(),
                    p["example"].as_str()?.to_owned(),
                ))
            })
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
        let text = res.text().await.expect("body");
        assert_eq!(status, expected_status, "{method} {path}: {text}");
        assert!(
            request_id.is_some(),
            "{method} {path} answers without X-Request-Id"
        );
        if let Some(example) = documented.pointer("/content/application~1json/example") {
            let actual: Value = serde_json::from_str(&text).expect("a JSON answer");
            assert_same_shape(&actual, example, &format!("{method} {path}"));
        }
        tried += 1;
    }
    assert_eq!(
        tried,
        ROUTES.len() - 1,
        "every documented operation but the document itself was tried"
    );
}

both_backends!(
    every_served_route_is_documented_and_every_documented_route_is_served,
    the_documents_examples_are_what_the_server_answers,
);
