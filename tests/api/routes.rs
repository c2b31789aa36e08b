//! One source of truth for the REST routes: the `google.api.http` annotations of the served
//! descriptor set. The router's table and `openapi.json` must hold exactly those routes (plus the
//! document and the metrics), and every annotated route must answer on a real server.

use std::collections::BTreeSet;

use prost::Message;
use serde_json::Value;
use tagging_service::{
    proto::FILE_DESCRIPTOR_SET,
    rest::{OPENAPI, ROUTES},
    service::operations,
};

use crate::helpers::{Backend, TestApp};

// The descriptor messages, only as far as the routes need them, with the field numbers of
// google/protobuf/descriptor.proto and google/api/http.proto.
#[derive(Clone, PartialEq, Message)]
struct FileSet {
    #[prost(message, repeated, tag = "1")]
    file: Vec<File>,
}

#[derive(Clone, PartialEq, Message)]
struct File {
    #[prost(string, optional, tag = "2")]
    package: Option<String>,
    #[prost(message, repeated, tag = "6")]
    service: Vec<Service>,
}

#[derive(Clone, PartialEq, Message)]
struct Service {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    method: Vec<Method>,
}

#[derive(Clone, PartialEq, Message)]
struct Method {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, optional, tag = "4")]
    options: Option<MethodOptions>,
}

#[derive(Clone, PartialEq, Message)]
struct MethodOptions {
    /// `google.api.http`, an extension of `MethodOptions`.
    #[prost(message, optional, tag = "72295728")]
    http: Option<HttpRule>,
}

#[derive(Clone, PartialEq, Message)]
struct HttpRule {
    #[prost(string, optional, tag = "2")]
    get: Option<String>,
    #[prost(string, optional, tag = "3")]
    put: Option<String>,
    #[prost(string, optional, tag = "4")]
    post: Option<String>,
    #[prost(string, optional, tag = "5")]
    delete: Option<String>,
    #[prost(string, optional, tag = "6")]
    patch: Option<String>,
    #[prost(message, repeated, tag = "11")]
    additional_bindings: Vec<HttpRule>,
}

type Routes = BTreeSet<(String, String)>;

impl HttpRule {
    fn routes(&self, into: &mut Routes) {
        let verbs = [
            ("GET", &self.get),
            ("PUT", &self.put),
            ("POST", &self.post),
            ("DELETE", &self.delete),
            ("PATCH", &self.patch),
        ];
        for (verb, path) in verbs {
            if let Some(path) = path {
                into.insert((verb.to_owned(), path.clone()));
            }
        }
        for binding in &self.additional_bindings {
            binding.routes(into);
        }
    }
}

/// Every (method, path) the API's annotations declare, and the RPCs that declare none.
fn annotated() -> (Routes, Vec<String>) {
    let set = FileSet::decode(FILE_DESCRIPTOR_SET).expect("the descriptor set decodes");
    let service = set
        .file
        .iter()
        .filter(|f| f.package.as_deref() == Some("tagging.v1"))
        .flat_map(|f| &f.service)
        .find(|s| s.name.as_deref() == Some("TaggingService"))
        .expect("TaggingService is described");
    let mut routes = Routes::new();
    let mut bare = Vec::new();
    for method in &service.method {
        match method.options.as_ref().and_then(|o| o.http.as_ref()) {
            Some(rule) => rule.routes(&mut routes),
            None => bare.push(method.name.clone().unwrap_or_default()),
        }
    }
    (routes, bare)
}

/// The routes that serve no RPC.
const NOT_API: [&str; 2] = ["/openapi.json", "/metrics"];

fn api_only(routes: impl IntoIterator<Item = (String, String)>) -> Routes {
    routes
        .into_iter()
        .filter(|(_, path)| !NOT_API.contains(&path.as_str()))
        .collect()
}

#[test]
fn the_router_and_the_document_serve_exactly_the_annotated_routes() {
    let (annotated, bare) = annotated();
    assert!(bare.is_empty(), "RPCs without a route: {bare:?}");
    assert!(annotated.len() >= 9, "every RPC has a route: {annotated:?}");

    let served = api_only(
        ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned())),
    );
    assert_eq!(served, annotated, "the router's table");
    for r in ROUTES {
        assert_eq!(
            r.form.is_none(),
            NOT_API.contains(&r.path),
            "{} {}: an API route answers in a form's shape",
            r.method,
            r.path
        );
    }

    let doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
    let mut documented = Routes::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            // An operation listed at a concrete path of a template route (DeleteResourceTag of
            // the key `action`) names that route in `x-instance-of`.
            let route = op["x-instance-of"].as_str().unwrap_or(path);
            documented.insert((method.to_uppercase(), route.to_owned()));
        }
    }
    assert_eq!(api_only(documented), annotated, "openapi.json");
}

/// Every RPC is authenticated from its call's headers before its message is read: the gRPC face
/// finds each method's access level in the operation table.
#[test]
fn every_rpc_has_an_access_level_in_the_operation_table() {
    let set = FileSet::decode(FILE_DESCRIPTOR_SET).expect("the descriptor set decodes");
    let methods: Vec<String> = set
        .file
        .iter()
        .flat_map(|f| &f.service)
        .filter(|s| s.name.as_deref() == Some("TaggingService"))
        .flat_map(|s| &s.method)
        .filter_map(|m| m.name.clone())
        .collect();
    assert!(methods.len() >= 9, "{methods:?}");
    for method in methods {
        assert!(operations::access_of(&method).is_some(), "{method}");
    }
}

/// `path` with each `{name}` filled in.
fn concrete(path: &str) -> String {
    path.replace("{project_id}", "p1")
        .replace("{resource_type}", "CLUSTER")
        .replace("{resource_id}", "c1")
        .replace("{key}", "env")
}

/// Whether `res` is Server-Sent Events (the watch route), whose body must not be read whole.
pub(crate) fn is_event_stream(res: &reqwest::Response) -> bool {
    res.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"))
}

async fn every_annotated_route_answers_through_its_handler(b: Backend) {
    let app = TestApp::spawn(b).await;
    let http = reqwest::Client::new();
    let (annotated, _) = annotated();
    for (method, path) in &annotated {
        let url = format!("http://{}{}", app.addr, concrete(path));
        let res = http
            .request(method.parse().expect("a method"), &url)
            .header("x-auth-token", &app.token)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("answered");
        let status = res.status().as_u16();
        if is_event_stream(&res) {
            // The watch route's answer never ends: its handler began the stream, which is all
            // this test asks; dropping the answer closes it.
            assert_eq!(status, 200, "{method} {path}");
            continue;
        }
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let code = body["code"].as_str().unwrap_or_default();
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !matches!(code, "NotFound" | "MethodNotAllowed"),
            "{method} {path} fell through to the router's fallback: {status} {body}"
        );
    }
}

both_backends!(every_annotated_route_answers_through_its_handler);
