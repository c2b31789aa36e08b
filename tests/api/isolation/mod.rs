//! The isolation matrix: project B's resources, names, keys, values and page tokens, aimed at by a
//! token of project A through every RPC and every REST route. Each call must be refused or answer
//! nothing of B, and no answer may carry a byte of B's data (body, message, headers, trailers,
//! error details). Writes aimed at B leave B's rows byte-identical. The tables are checked against
//! the service descriptor and `ROUTES`, so a new RPC or route without rows fails here.

use std::collections::BTreeSet;

use prost::Message;
use reqwest::Method;
use serde_json::Value;
use tonic::{Code, Status, metadata::MetadataMap};

use crate::helpers::{Backend, TestApp, authed, http, pb, report, served_routes, service_methods};

mod fixture;
mod matrix;

use self::{
    fixture::{
        PageTokensOfB, b_data, b_tag_rows_query, filter, fixture, markers, name_match, rows_of,
    },
    matrix::{matrix, read_only_matrix},
};

const A: &str = "aaa-project";
const B: &str = "bbb-secret-project";
const B_CLUSTERS: [&str; 3] = ["bbb-secret-c1", "bbb-secret-c2", "bbb-secret-c3"];
const B_CLUSTER_NAME: &str = "bbb-secret-cname";
const B_TOPIC: &str = "bbb-secret-topic";
const B_TOPIC_NAME: &str = "bbb-secret-tname";
const B_KEY: &str = "bbb-secret-k-env";
const B_VALUE: &str = "bbb-secret-v-prod";
const B_KEY2: &str = "bbb-secret-k-team";
const B_VALUE2: &str = "bbb-secret-v-payments";
const B_TOPIC_VALUE: &str = "bbb-secret-v-topic";
const B_SYSTEM_KEY: &str = "_sys_bbb-secret-k-sys";
const B_SYSTEM_VALUE: &str = "bbb-secret-v-sys";
/// A's own data, so "empty" answers are empty because of scoping, not for want of rows.
const A_CLUSTER: &str = "aaa-c1";

/// RPCs that change nothing; every other RPC is a write a read-only token must be refused.
const READ_RPCS: &[&str] = &[
    "ListTagResources",
    "ListResourceTags",
    "ListProjectTags",
    "ListResources",
    "CountResources",
    "ListTagChanges",
    "WatchTagChanges",
];
/// Routes that change nothing although their method is not GET.
const READ_POSTS: &[&str] = &[
    "/v2/{project_id}/{resource_type}/resource_instances/action",
    "/v2/{project_id}/{resource_type}/resource_instances/count",
];

/// What a call must answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// PERMISSION_DENIED / 403.
    Denied,
    /// INVALID_ARGUMENT / 400 naming `next_token`: B's page token is no token of A's query.
    ForeignPageToken,
    /// 400 naming `X-Project-Id`: the header and the SMN path disagree.
    ProjectMismatch,
    /// NOT_FOUND / 404: in A's project there is no such id or name.
    NotFound,
    /// Success with nothing in it: empty lists, empty tokens, zero counts.
    Empty,
    /// A write's success: an answer that holds a revision and its consistency token and nothing
    /// else (A's own, since every project counts its own revisions).
    Written,
    /// Success counting exactly A's own resources.
    Count(i64),
    /// Success answering A's own data (or, for a write, acting on A's own rows).
    Own,
    /// A document that needs no token and holds no tenant data.
    Public,
}

enum Rpc {
    ListTagResources(pb::ListTagResourcesRequest),
    ListResourceTags(pb::ListResourceTagsRequest),
    TagResources(pb::TagResourcesRequest),
    UntagResources(pb::UntagResourcesRequest),
    PutResource(pb::PutResourceRequest),
    DeleteResource(pb::DeleteResourceRequest),
    ListProjectTags(pb::ListProjectTagsRequest),
    ListResources(pb::ListResourcesRequest),
    CountResources(pb::CountResourcesRequest),
    ListTagChanges(pb::ListTagChangesRequest),
    WatchTagChanges(pb::WatchTagChangesRequest),
}

/// One REST request, with the route template it exercises.
struct Rest {
    method: Method,
    route: &'static str,
    path: String,
    query: Vec<(&'static str, String)>,
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
}

enum Call {
    Grpc(Rpc),
    Rest(Rest),
}

struct Row {
    what: String,
    call: Call,
    expect: Expect,
}

/// What came back: the outcome and every byte of the answer.
struct Reply {
    /// The HTTP status (gRPC: 200 for OK, else the code's number stands in `code`).
    status: u16,
    code: Option<Code>,
    message: String,
    /// The decoded success message (gRPC) or body (REST).
    payload: Vec<u8>,
    /// Everything the caller received, for the leak scan.
    everything: Vec<u8>,
}

impl Rpc {
    fn name(&self) -> &'static str {
        match self {
            Rpc::ListTagResources(_) => "ListTagResources",
            Rpc::ListResourceTags(_) => "ListResourceTags",
            Rpc::TagResources(_) => "TagResources",
            Rpc::UntagResources(_) => "UntagResources",
            Rpc::PutResource(_) => "PutResource",
            Rpc::DeleteResource(_) => "DeleteResource",
            Rpc::ListProjectTags(_) => "ListProjectTags",
            Rpc::ListResources(_) => "ListResources",
            Rpc::CountResources(_) => "CountResources",
            Rpc::ListTagChanges(_) => "ListTagChanges",
            Rpc::WatchTagChanges(_) => "WatchTagChanges",
        }
    }

    fn encoded(&self) -> Vec<u8> {
        match self {
            Rpc::ListTagResources(r) => r.encode_to_vec(),
            Rpc::ListResourceTags(r) => r.encode_to_vec(),
            Rpc::TagResources(r) => r.encode_to_vec(),
            Rpc::UntagResources(r) => r.encode_to_vec(),
            Rpc::PutResource(r) => r.encode_to_vec(),
            Rpc::DeleteResource(r) => r.encode_to_vec(),
            Rpc::ListProjectTags(r) => r.encode_to_vec(),
            Rpc::ListResources(r) => r.encode_to_vec(),
            Rpc::CountResources(r) => r.encode_to_vec(),
            Rpc::ListTagChanges(r) => r.encode_to_vec(),
            Rpc::WatchTagChanges(r) => r.encode_to_vec(),
        }
    }

    async fn call(&self, app: &TestApp, token: &str) -> Reply {
        let mut c = app.client.clone();
        match self {
            Rpc::ListTagResources(r) => {
                grpc_reply(c.list_tag_resources(authed(token, r.clone())).await)
            }
            Rpc::ListResourceTags(r) => {
                grpc_reply(c.list_resource_tags(authed(token, r.clone())).await)
            }
            Rpc::TagResources(r) => grpc_reply(c.tag_resources(authed(token, r.clone())).await),
            Rpc::UntagResources(r) => grpc_reply(c.untag_resources(authed(token, r.clone())).await),
            Rpc::PutResource(r) => grpc_reply(c.put_resource(authed(token, r.clone())).await),
            Rpc::DeleteResource(r) => grpc_reply(c.delete_resource(authed(token, r.clone())).await),
            Rpc::ListProjectTags(r) => {
                grpc_reply(c.list_project_tags(authed(token, r.clone())).await)
            }
            Rpc::ListResources(r) => grpc_reply(c.list_resources(authed(token, r.clone())).await),
            Rpc::CountResources(r) => grpc_reply(c.count_resources(authed(token, r.clone())).await),
            Rpc::ListTagChanges(r) => {
                grpc_reply(c.list_tag_changes(authed(token, r.clone())).await)
            }
            Rpc::WatchTagChanges(r) => {
                first_message(c.watch_tag_changes(authed(token, r.clone())).await).await
            }
        }
    }
}

/// A watch's reply: its headers and first message (the stream itself never ends).
async fn first_message(
    result: Result<tonic::Response<tonic::Streaming<pb::WatchTagChangesResponse>>, Status>,
) -> Reply {
    let response = match result {
        Ok(response) => response,
        Err(status) => return grpc_reply::<pb::WatchTagChangesResponse>(Err(status)),
    };
    let metadata = response.metadata().clone();
    let mut stream = response.into_inner();
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), stream.message())
        .await
        .expect("a watch's first message arrives");
    match first {
        Ok(Some(message)) => grpc_reply(Ok(tonic::Response::from_parts(
            metadata,
            message,
            Default::default(),
        ))),
        Ok(None) => panic!("a watch ended without a message"),
        Err(status) => grpc_reply::<pb::WatchTagChangesResponse>(Err(status)),
    }
}

/// Headers and trailers as text; binary (`-bin`) values stay base64, as on the wire.
fn metadata_bytes(metadata: &MetadataMap) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in metadata.clone().into_headers().iter() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

fn grpc_reply<T: Message>(result: Result<tonic::Response<T>, Status>) -> Reply {
    match result {
        Ok(response) => {
            let mut everything = metadata_bytes(response.metadata());
            let payload = response.into_inner().encode_to_vec();
            everything.extend_from_slice(&payload);
            Reply {
                status: 200,
                code: Some(Code::Ok),
                message: String::new(),
                payload,
                everything,
            }
        }
        Err(status) => {
            let mut everything = metadata_bytes(status.metadata());
            everything.extend_from_slice(status.message().as_bytes());
            // The details decoded too (they travel base64-encoded in a trailer).
            everything.extend_from_slice(status.details());
            Reply {
                status: 0,
                code: Some(status.code()),
                message: status.message().to_owned(),
                payload: Vec::new(),
                everything,
            }
        }
    }
}

impl Rest {
    fn new(method: Method, route: &'static str, path: String) -> Self {
        Self {
            method,
            route,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn url(&self, app: &TestApp) -> String {
        let mut url = format!("http://{}{}", app.addr, self.path);
        if !self.query.is_empty() {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &self.query {
                q.append_pair(k, v);
            }
            url = format!("{url}?{}", q.finish());
        }
        url
    }

    /// Every byte the request carries but the token, as sent.
    fn sent(&self, app: &TestApp) -> Vec<u8> {
        let mut out = format!("{} {}\n", self.method, self.url(app)).into_bytes();
        for (k, v) in &self.headers {
            out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
        }
        if let Some(body) = &self.body {
            out.extend_from_slice(body.to_string().as_bytes());
        }
        out
    }

    async fn call(&self, app: &TestApp, token: &str) -> Reply {
        // The two token headers in turn: SMN clients send X-Auth-Token, ACK's send Bearer.
        let mut req = http().request(self.method.clone(), self.url(app));
        req = if self.path.starts_with("/v2/") {
            req.header("x-auth-token", token)
        } else {
            req.bearer_auth(token)
        };
        for (k, v) in &self.headers {
            req = req.header(*k, v);
        }
        if let Some(body) = &self.body {
            req = req.json(body);
        }
        let res = req.send().await.expect("the request is answered");
        let status = res.status().as_u16();
        let mut everything = format!("{status}\n").into_bytes();
        for (name, value) in res.headers() {
            everything.extend_from_slice(name.as_str().as_bytes());
            everything.extend_from_slice(b": ");
            everything.extend_from_slice(value.as_bytes());
            everything.push(b'\n');
        }
        let payload = res.bytes().await.expect("the body is read").to_vec();
        everything.extend_from_slice(&payload);
        let message = serde_json::from_slice::<Value>(&payload)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Reply {
            status,
            code: None,
            message,
            payload,
            everything,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A success body that shows nothing: every list empty, every number 0, every string empty but
/// the request id.
fn json_is_empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Object(o) => o
            .iter()
            .all(|(k, v)| k == "request_id" || k == "RequestId" || json_is_empty(v)),
        Value::Bool(true) => false,
    }
}

/// Asserts the reply is what the row expects; returns a description of any mismatch.
fn check(row: &Row, reply: &Reply) -> Result<(), String> {
    let grpc = reply.code.is_some();
    let ok = if grpc {
        reply.code == Some(Code::Ok)
    } else {
        (200..300).contains(&reply.status)
    };
    let json = || serde_json::from_slice::<Value>(&reply.payload).unwrap_or(Value::Null);
    let fine = match row.expect {
        Expect::Denied if grpc => reply.code == Some(Code::PermissionDenied),
        Expect::Denied => reply.status == 403,
        Expect::ForeignPageToken if grpc => {
            reply.code == Some(Code::InvalidArgument) && reply.message.contains("next_token")
        }
        // The change log's REST form calls its page token `marker`.
        Expect::ForeignPageToken => {
            reply.status == 400
                && (reply.message.contains("next_token") || reply.message.contains("marker"))
        }
        Expect::ProjectMismatch => {
            !grpc && reply.status == 400 && reply.message.contains("X-Project-Id")
        }
        Expect::NotFound if grpc => reply.code == Some(Code::NotFound),
        Expect::NotFound => reply.status == 404,
        // An empty protobuf message encodes to no bytes at all.
        Expect::Empty if grpc => ok && reply.payload.is_empty(),
        Expect::Empty => ok && json_is_empty(&json()),
        Expect::Count(n) if grpc => {
            ok && reply.payload == pb::CountResourcesResponse { total_count: n }.encode_to_vec()
        }
        Expect::Count(n) => ok && json()["total_count"] == n,
        Expect::Written if grpc => {
            // The answer holds the revision and token of A's own project, where A's write went,
            // and nothing else. (UntagResourcesResponse has the same fields and numbers.)
            let revision = pb::TagResourcesResponse::decode(reply.payload.as_slice())
                .map(|r| r.revision)
                .unwrap_or(-1);
            let written = pb::TagResourcesResponse {
                revision,
                consistency_token: format!("{A}@{revision}"),
            };
            ok && reply.payload == written.encode_to_vec()
        }
        Expect::Written => ok && json_is_empty(&json()),
        Expect::Own => ok,
        Expect::Public => !grpc && reply.status == 200,
    };
    if fine {
        Ok(())
    } else {
        Err(format!(
            "expected {:?}, got status {} / {:?}: {}",
            row.expect,
            reply.status,
            reply.code,
            String::from_utf8_lossy(&reply.payload)
        ))
    }
}

/// Runs `rows` in order with `token`; returns every failure (wrong answer or a leaked marker).
async fn run(app: &TestApp, token: &str, rows: &[Row], markers: &[String]) -> Vec<String> {
    let mut failures = Vec::new();
    for row in rows {
        let (reply, sent) = match &row.call {
            Call::Grpc(rpc) => (rpc.call(app, token).await, rpc.encoded()),
            Call::Rest(rest) => (rest.call(app, token).await, rest.sent(app)),
        };
        if let Err(e) = check(row, &reply) {
            failures.push(format!("{}: {e}", row.what));
        }
        // A marker the request itself carried may be echoed (an id named in a refusal); any other
        // is B's data reaching A.
        for m in markers {
            if !contains(&sent, m.as_bytes()) && contains(&reply.everything, m.as_bytes()) {
                failures.push(format!(
                    "{}: the answer leaks `{m}`: {}",
                    row.what,
                    String::from_utf8_lossy(&reply.everything)
                ));
            }
        }
    }
    failures
}

fn rpcs_of(rows: &[Row]) -> BTreeSet<String> {
    rows.iter()
        .filter_map(|r| match &r.call {
            Call::Grpc(rpc) => Some(rpc.name().to_owned()),
            Call::Rest(_) => None,
        })
        .collect()
}

fn routes_of(rows: &[Row]) -> BTreeSet<(String, String)> {
    rows.iter()
        .filter_map(|r| match &r.call {
            Call::Rest(rest) => Some((rest.method.to_string(), rest.route.to_owned())),
            Call::Grpc(_) => None,
        })
        .collect()
}

async fn a_token_of_project_a_reaches_nothing_of_project_b_through_any_rpc_or_route(b: Backend) {
    let app = TestApp::spawn(b).await;
    let b_token = app.token_for(B, false, false).await;
    let b_system = app.token_for(B, false, true).await;
    let a_token = app.token_for(A, false, false).await;
    let tokens = fixture(&app, &b_token, &b_system, &a_token).await;
    let rows = matrix(&tokens);
    assert_eq!(rpcs_of(&rows), service_methods(), "a row for every RPC");
    assert_eq!(routes_of(&rows), served_routes(), "a row for every route");

    let before = rows_of(&app, B).await;
    assert_eq!(before.len(), 8, "B's fixture as stored: {before:#?}");
    let stored = before.join("\n");
    for m in b_data() {
        assert!(stored.contains(m), "`{m}` is in B's rows");
    }

    let mut failures = run(&app, &a_token, &rows, &markers(&tokens)).await;
    let after = rows_of(&app, B).await;
    if after != before {
        failures.push(format!("B's rows changed from {before:#?} to {after:#?}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    report(&format!(
        "isolation ({b:?}): {} calls of project A at project B (every RPC and route): each answered as its row expects, 0 bytes of B in any answer, B's {} rows unchanged",
        rows.len(),
        before.len()
    ));

    // B still reads its data, and its token pages on: nothing A did disturbed it.
    let next = app
        .client
        .clone()
        .list_tag_resources(authed(&b_token, b_tag_rows_query(tokens.tag_rows.clone())))
        .await
        .expect("B's own token still opens B's next page")
        .into_inner();
    assert_eq!(next.tag_resources.len(), 1);
}

async fn a_read_only_token_is_refused_every_write_rpc_and_route_and_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let b_token = app.token_for(B, false, false).await;
    let b_system = app.token_for(B, false, true).await;
    let a_token = app.token_for(A, false, false).await;
    let tokens = fixture(&app, &b_token, &b_system, &a_token).await;
    let read_only = app.token_for(B, true, false).await;
    let rows = read_only_matrix();
    let writes: BTreeSet<String> = service_methods()
        .into_iter()
        .filter(|m| !READ_RPCS.contains(&m.as_str()))
        .collect();
    assert_eq!(
        rpcs_of(&rows),
        writes,
        "a read-only row for every writing RPC"
    );
    let write_routes: BTreeSet<(String, String)> = served_routes()
        .into_iter()
        .filter(|(m, p)| m != "GET" && !READ_POSTS.contains(&p.as_str()))
        .collect();
    assert_eq!(
        routes_of(&rows),
        write_routes,
        "a read-only row for every writing route"
    );

    let before = rows_of(&app, B).await;
    let mut failures = run(&app, &read_only, &rows, &markers(&tokens)).await;
    let after = rows_of(&app, B).await;
    if after != before {
        failures.push(format!("B's rows changed from {before:#?} to {after:#?}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    report(&format!(
        "isolation ({b:?}): {} writes with a read-only token, all refused, nothing changed",
        rows.len()
    ));
}

both_backends!(
    a_token_of_project_a_reaches_nothing_of_project_b_through_any_rpc_or_route,
    a_read_only_token_is_refused_every_write_rpc_and_route_and_changes_nothing,
);
