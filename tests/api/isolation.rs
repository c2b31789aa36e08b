//! The isolation matrix: project B's resources, names, keys, values and page tokens, aimed at by a
//! token of project A through every RPC and every REST route. Each call must be refused or answer
//! nothing of B, and no answer may carry a byte of B's data (body, message, headers, trailers,
//! error details). Writes aimed at B leave B's rows byte-identical. The tables are checked against
//! the service descriptor and `ROUTES`, so a new RPC or route without rows fails here.

use std::collections::BTreeSet;

use prost::Message;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, SqliteConnection};
use tagging_service::{
    proto::{FILE_DESCRIPTOR_SET, pb},
    rest::ROUTES,
};
use tonic::{Code, Status, metadata::MetadataMap};

use crate::{
    helpers::{Backend, TestApp, authed, ids, report, tag},
    rest_ack::http,
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
        }
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
        Expect::ForeignPageToken => reply.status == 400 && reply.message.contains("next_token"),
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

/// B's ids, names, keys and values.
fn b_data() -> Vec<&'static str> {
    [
        B_CLUSTER_NAME,
        B_TOPIC,
        B_TOPIC_NAME,
        B_KEY,
        B_VALUE,
        B_KEY2,
        B_VALUE2,
        B_TOPIC_VALUE,
        B_SYSTEM_KEY,
        B_SYSTEM_VALUE,
    ]
    .into_iter()
    .chain(B_CLUSTERS)
    .collect()
}

/// Everything of B an answer must not show: its project, its data, its page tokens.
fn markers(b_tokens: &PageTokensOfB) -> Vec<String> {
    let mut m: Vec<String> = b_data().into_iter().map(str::to_owned).collect();
    m.push(B.to_owned());
    m.extend([
        b_tokens.tag_rows.clone(),
        b_tokens.project_tags.clone(),
        b_tokens.resources.clone(),
    ]);
    m
}

struct PageTokensOfB {
    tag_rows: String,
    project_tags: String,
    resources: String,
}

/// B's resources and tags as stored, row by row, including internal ids: any change shows.
async fn rows_of(app: &TestApp, project: &str) -> Vec<String> {
    const SQL: &str = concat!(
        "SELECT CAST(r.pk AS TEXT) || '|' || r.resource_type || '|' || r.resource_id || '|' ",
        "|| COALESCE(r.name, '<no name>') || '|' || COALESCE(t.key, '<no tag>') || '=' ",
        "|| COALESCE(t.value, '') FROM resources r LEFT JOIN tags t ON t.resource_pk = r.pk ",
        "WHERE r.project_id = $1 ORDER BY r.pk, t.key"
    );
    if app.database_url.starts_with("sqlite:") {
        let mut conn = SqliteConnection::connect(&app.database_url)
            .await
            .expect("the test's own SQLite connection");
        sqlx::query_scalar(SQL)
            .bind(project)
            .fetch_all(&mut conn)
            .await
            .expect("B's rows")
    } else {
        let mut conn = PgConnection::connect(&app.database_url)
            .await
            .expect("the test's own PostgreSQL connection");
        sqlx::query_scalar(SQL)
            .bind(project)
            .fetch_all(&mut conn)
            .await
            .expect("B's rows")
    }
}

/// B's data (with a system tag, a named cluster and a named topic) and A's one cluster.
async fn fixture(app: &TestApp, b: &str, b_system: &str, a: &str) -> PageTokensOfB {
    let mut c = app.client.clone();
    let tag_b = |token: &str, ty: &str, ids_: &[&str], tags: Vec<pb::Tag>| {
        authed(
            token,
            pb::TagResourcesRequest {
                project_id: String::new(),
                resource_type: ty.into(),
                resource_ids: ids(ids_),
                tags,
            },
        )
    };
    c.tag_resources(tag_b(
        b,
        "CLUSTER",
        &B_CLUSTERS,
        vec![tag(B_KEY, B_VALUE), tag(B_KEY2, B_VALUE2)],
    ))
    .await
    .expect("B tags its clusters");
    c.tag_resources(tag_b(
        b_system,
        "CLUSTER",
        &B_CLUSTERS[..1],
        vec![tag(B_SYSTEM_KEY, B_SYSTEM_VALUE)],
    ))
    .await
    .expect("B's system token tags a cluster");
    c.tag_resources(tag_b(
        b,
        "smn_topic",
        &[B_TOPIC],
        vec![tag(B_KEY, B_TOPIC_VALUE)],
    ))
    .await
    .expect("B tags its topic");
    for (ty, id, name) in [
        ("CLUSTER", B_CLUSTERS[0], B_CLUSTER_NAME),
        ("smn_topic", B_TOPIC, B_TOPIC_NAME),
    ] {
        let put = pb::PutResourceRequest {
            project_id: B.into(),
            resource_type: ty.into(),
            resource_id: id.into(),
            name: name.into(),
        };
        c.put_resource(authed(b, put)).await.expect("B names it");
    }
    c.tag_resources(tag_b(
        a,
        "CLUSTER",
        &[A_CLUSTER],
        vec![tag("aaa-k", "aaa-v")],
    ))
    .await
    .expect("A tags its cluster");

    // B's own page tokens, of the very queries A repeats below.
    let tag_rows = c
        .list_tag_resources(authed(b, b_tag_rows_query(String::new())))
        .await
        .expect("B lists its tag rows")
        .into_inner()
        .next_token;
    let project_tags = c
        .list_project_tags(authed(
            b,
            pb::ListProjectTagsRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("B lists its keys")
        .into_inner()
        .next_token;
    let resources = c
        .list_resources(authed(
            b,
            pb::ListResourcesRequest {
                resource_type: "CLUSTER".into(),
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("B lists its resources")
        .into_inner()
        .next_token;
    let tokens = PageTokensOfB {
        tag_rows,
        project_tags,
        resources,
    };
    for t in [&tokens.tag_rows, &tokens.project_tags, &tokens.resources] {
        assert!(!t.is_empty(), "B's first pages have a next page");
    }
    tokens
}

/// B's ACK query of its three clusters, one row per page.
fn b_tag_rows_query(next_token: String) -> pb::ListTagResourcesRequest {
    pb::ListTagResourcesRequest {
        project_id: String::new(),
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&B_CLUSTERS),
        tags: Vec::new(),
        page_size: 1,
        next_token,
    }
}

fn filter(key: &str) -> Vec<pb::TagFilter> {
    vec![pb::TagFilter {
        key: key.into(),
        values: Vec::new(),
    }]
}

fn name_match(name: &str) -> Vec<pb::Match> {
    vec![pb::Match {
        key: "resource_name".into(),
        value: name.into(),
    }]
}

fn grpc(what: &str, expect: Expect, rpc: Rpc) -> Row {
    Row {
        what: format!("{} {what}", rpc.name()),
        call: Call::Grpc(rpc),
        expect,
    }
}

fn rest(what: &str, expect: Expect, rest: Rest) -> Row {
    Row {
        what: format!("{} {} {what}", rest.method, rest.route),
        call: Call::Rest(rest),
        expect,
    }
}

const ACK: &str = "/tags";
const SMN_TAGS: &str = "/v2/{project_id}/{resource_type}/{resource_id}/tags";
const SMN_ACTION: &str = "/v2/{project_id}/{resource_type}/{resource_id}/tags/action";
const SMN_KEY: &str = "/v2/{project_id}/{resource_type}/{resource_id}/tags/{key}";
const SMN_PROJECT_TAGS: &str = "/v2/{project_id}/{resource_type}/tags";
const SMN_INSTANCES: &str = "/v2/{project_id}/{resource_type}/resource_instances/action";
const SMN_COUNT: &str = "/v2/{project_id}/{resource_type}/resource_instances/count";
const SMN_RESOURCE: &str = "/v2/{project_id}/{resource_type}/{resource_id}";

/// `rest` with its path's `{key}` filled in.
fn with_key(mut rest: Rest, key: &str) -> Rest {
    rest.path = rest.path.replace("{key}", key);
    rest
}

fn ids_json(list: &[&str]) -> String {
    serde_json::to_string(list).expect("JSON")
}

/// Every RPC and route, with A's token aimed at B, in an order where reads come before A's own
/// writes (which register B's ids in A's project) could change what A reads.
fn matrix(t: &PageTokensOfB) -> Vec<Row> {
    use Expect::*;
    let c1 = B_CLUSTERS[0];
    let ltr = |project: &str, ids_: &[&str], tags: Vec<pb::Tag>, token: &str| {
        Rpc::ListTagResources(pb::ListTagResourcesRequest {
            project_id: project.into(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(ids_),
            tags,
            page_size: 1,
            next_token: token.into(),
        })
    };
    let lrt = |project: &str, ty: &str, id: &str, by_name: bool| {
        Rpc::ListResourceTags(pb::ListResourceTagsRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            resource_id: id.into(),
            resource_id_type: (if by_name {
                pb::ResourceIdType::Name
            } else {
                pb::ResourceIdType::Id
            }) as i32,
        })
    };
    let lpt = |project: &str, ty: &str, token: &str| {
        Rpc::ListProjectTags(pb::ListProjectTagsRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            page_size: 1,
            next_token: token.into(),
        })
    };
    let lr = |project: &str, ty: &str, f: pb::ListResourcesRequest| {
        Rpc::ListResources(pb::ListResourcesRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            ..f
        })
    };
    let cr = |project: &str, ty: &str, f: pb::CountResourcesRequest| {
        Rpc::CountResources(pb::CountResourcesRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            ..f
        })
    };
    let tagr = |project: &str, ids_: &[&str]| {
        Rpc::TagResources(pb::TagResourcesRequest {
            project_id: project.into(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(ids_),
            tags: vec![tag(B_KEY, "aaa-overwrite")],
        })
    };
    let untag = |project: &str, keys: &[&str]| {
        Rpc::UntagResources(pb::UntagResourcesRequest {
            project_id: project.into(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&B_CLUSTERS),
            tag_keys: ids(keys),
            all: keys.is_empty(),
        })
    };
    let put = |project: &str, ty: &str, id: &str, name: &str| {
        Rpc::PutResource(pb::PutResourceRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            resource_id: id.into(),
            name: name.into(),
        })
    };
    let delete = |project: &str, ty: &str, id: &str| {
        Rpc::DeleteResource(pb::DeleteResourceRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            resource_id: id.into(),
        })
    };
    let v2 = |method: Method, route: &'static str, project: &str, ty: &str, id: &str| {
        let path = route
            .replace("{project_id}", project)
            .replace("{resource_type}", ty)
            .replace("{resource_id}", id);
        Rest::new(method, route, path)
    };
    let instances = |project: &str, ty: &str, body: Value| {
        v2(Method::POST, SMN_INSTANCES, project, ty, "").body(body)
    };

    vec![
        // Reads over gRPC.
        grpc("naming B", Denied, ltr(B, &B_CLUSTERS, vec![], "")),
        grpc("naming B with B's token", Denied, ltr(B, &B_CLUSTERS, vec![], &t.tag_rows)),
        grpc("B's ids", Empty, ltr("", &B_CLUSTERS, vec![], "")),
        grpc("B's tag", Empty, ltr("", &[], vec![tag(B_KEY, B_VALUE)], "")),
        grpc("B's key, any value", Empty, ltr("", &[], vec![tag(B_KEY, "")], "")),
        grpc("B's page token", ForeignPageToken, ltr("", &B_CLUSTERS, vec![], &t.tag_rows)),
        grpc("naming B", Denied, lrt(B, "CLUSTER", c1, false)),
        grpc("naming B by name", Denied, lrt(B, "smn_topic", B_TOPIC_NAME, true)),
        grpc("B's id", NotFound, lrt("", "CLUSTER", c1, false)),
        grpc("B's topic id", NotFound, lrt("", "smn_topic", B_TOPIC, false)),
        grpc("B's name", NotFound, lrt("", "CLUSTER", B_CLUSTER_NAME, true)),
        grpc("B's topic name", NotFound, lrt("", "smn_topic", B_TOPIC_NAME, true)),
        grpc("naming B", Denied, lpt(B, "", "")),
        grpc("naming B, one type", Denied, lpt(B, "smn_topic", "")),
        grpc("naming B with B's token", Denied, lpt(B, "", &t.project_tags)),
        grpc("B's page token", ForeignPageToken, lpt("", "", &t.project_tags)),
        grpc("A's own", Own, lpt("", "", "")),
        grpc("naming B", Denied, lr(B, "CLUSTER", Default::default())),
        grpc("naming B, by B's name", Denied, lr(B, "smn_topic", pb::ListResourcesRequest {
            matches: name_match(B_TOPIC_NAME),
            ..Default::default()
        })),
        grpc("B's key", Empty, lr("", "CLUSTER", pb::ListResourcesRequest {
            tags: filter(B_KEY),
            ..Default::default()
        })),
        grpc("B's keys, any", Empty, lr("", "CLUSTER", pb::ListResourcesRequest {
            tags_any: [filter(B_KEY), filter(B_KEY2)].concat(),
            ..Default::default()
        })),
        grpc("B's name", Empty, lr("", "CLUSTER", pb::ListResourcesRequest {
            matches: name_match(B_CLUSTER_NAME),
            ..Default::default()
        })),
        grpc("B's topic name", Empty, lr("", "smn_topic", pb::ListResourcesRequest {
            matches: name_match(B_TOPIC_NAME),
            ..Default::default()
        })),
        grpc("not B's key", Own, lr("", "CLUSTER", pb::ListResourcesRequest {
            not_tags_any: filter(B_KEY),
            ..Default::default()
        })),
        grpc("B's page token", ForeignPageToken, lr("", "CLUSTER", pb::ListResourcesRequest {
            page_size: 1,
            next_token: t.resources.clone(),
            ..Default::default()
        })),
        grpc("naming B", Denied, cr(B, "CLUSTER", Default::default())),
        grpc("B's key", Empty, cr("", "CLUSTER", pb::CountResourcesRequest {
            tags: filter(B_KEY),
            ..Default::default()
        })),
        grpc("B's name", Empty, cr("", "smn_topic", pb::CountResourcesRequest {
            matches: name_match(B_TOPIC_NAME),
            ..Default::default()
        })),
        grpc("untagged, not B's", Empty, cr("", "smn_topic", pb::CountResourcesRequest {
            without_any_tag: true,
            ..Default::default()
        })),
        grpc("A's own", Count(1), cr("", "CLUSTER", Default::default())),
        // Reads over REST.
        rest("B's ids", Empty, Rest::new(Method::GET, ACK, ACK.into())
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))),
        rest("X-Project-Id B", Denied, Rest::new(Method::GET, ACK, ACK.into())
            .header("x-project-id", B)
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))),
        rest("B's tag", Empty, Rest::new(Method::GET, ACK, ACK.into())
            .query("resource_type", "CLUSTER")
            .query("tags", json!([{"key": B_KEY, "value": B_VALUE}]).to_string())),
        rest("B's page token", ForeignPageToken, Rest::new(Method::GET, ACK, ACK.into())
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))
            .query("page_size", "1")
            .query("next_token", t.tag_rows.clone())),
        rest("path B", Denied, v2(Method::GET, SMN_TAGS, B, "CLUSTER", c1)),
        rest("path B by name", Denied, v2(Method::GET, SMN_TAGS, B, "smn_topic", B_TOPIC_NAME)
            .header("x-smn-resourceid-type", "name")),
        rest("path and X-Project-Id B", Denied, v2(Method::GET, SMN_TAGS, B, "CLUSTER", c1)
            .header("x-project-id", B)),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::GET, SMN_TAGS, A, "CLUSTER", c1)
            .header("x-project-id", B)),
        rest("path B, X-Project-Id A", ProjectMismatch, v2(Method::GET, SMN_TAGS, B, "CLUSTER", c1)
            .header("x-project-id", A)),
        rest("B's id", NotFound, v2(Method::GET, SMN_TAGS, A, "CLUSTER", c1)),
        rest("B's name", NotFound, v2(Method::GET, SMN_TAGS, A, "smn_topic", B_TOPIC_NAME)
            .header("x-smn-resourceid-type", "name")),
        rest("path B", Denied, v2(Method::GET, SMN_PROJECT_TAGS, B, "CLUSTER", "")),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::GET, SMN_PROJECT_TAGS, A, "CLUSTER", "")
            .header("x-project-id", B)),
        rest("A's own", Own, v2(Method::GET, SMN_PROJECT_TAGS, A, "CLUSTER", "")),
        rest("A's own topics", Empty, v2(Method::GET, SMN_PROJECT_TAGS, A, "smn_topic", "")),
        rest("path B filter", Denied, instances(B, "CLUSTER", json!({"action": "filter"}))),
        rest("path B count", Denied, instances(B, "CLUSTER", json!({"action": "count"}))),
        rest("path B by name", Denied, instances(B, "smn_topic", json!({
            "action": "filter", "matches": [{"key": "resource_name", "value": B_TOPIC_NAME}]
        }))),
        rest("X-Project-Id B", ProjectMismatch, instances(A, "CLUSTER", json!({"action": "count"}))
            .header("x-project-id", B)),
        rest("B's key", Empty, instances(A, "CLUSTER", json!({
            "action": "filter", "tags": [{"key": B_KEY, "values": [B_VALUE]}], "limit": "10", "offset": "0"
        }))),
        rest("B's name", Empty, instances(A, "smn_topic", json!({
            "action": "filter", "matches": [{"key": "resource_name", "value": B_TOPIC_NAME}]
        }))),
        rest("count B's name", Empty, instances(A, "smn_topic", json!({
            "action": "count", "matches": [{"key": "resource_name", "value": B_TOPIC_NAME}]
        }))),
        rest("count B's key", Empty, instances(A, "CLUSTER", json!({
            "action": "count", "tags": [{"key": B_KEY, "values": []}]
        }))),
        rest("A's own", Count(1), instances(A, "CLUSTER", json!({"action": "count"}))),
        rest("path B", Denied, v2(Method::POST, SMN_COUNT, B, "CLUSTER", "").body(json!({}))),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::POST, SMN_COUNT, A, "CLUSTER", "")
            .header("x-project-id", B)
            .body(json!({}))),
        rest("B's key", Empty, v2(Method::POST, SMN_COUNT, A, "CLUSTER", "")
            .body(json!({"tags": [{"key": B_KEY, "values": []}]}))),
        rest("A's own", Count(1), v2(Method::POST, SMN_COUNT, A, "CLUSTER", "").body(json!({}))),
        rest("A's own, skipping past them", Own, instances(A, "CLUSTER", json!({
            "action": "filter", "offset": "1"
        }))
        .header("x-project-id", A)),
        rest("", Public, Rest::new(Method::GET, "/openapi.json", "/openapi.json".into())),
        // Writes aimed at B: refused.
        grpc("naming B", Denied, tagr(B, &B_CLUSTERS)),
        grpc("naming B, all", Denied, untag(B, &[])),
        grpc("naming B, B's keys", Denied, untag(B, &[B_KEY, B_KEY2])),
        grpc("naming B, rename", Denied, put(B, "CLUSTER", c1, "aaa-rename")),
        grpc("naming B, unname", Denied, put(B, "smn_topic", B_TOPIC, "")),
        grpc("naming B", Denied, delete(B, "CLUSTER", c1)),
        grpc("naming B, topic", Denied, delete(B, "smn_topic", B_TOPIC)),
        rest("X-Project-Id B", Denied, Rest::new(Method::PUT, ACK, ACK.into())
            .header("x-project-id", B)
            .body(json!({"resource_type": "CLUSTER", "resource_ids": B_CLUSTERS, "tags": [{"key": B_KEY, "value": "x"}]}))),
        rest("X-Project-Id B, all", Denied, Rest::new(Method::DELETE, ACK, ACK.into())
            .header("x-project-id", B)
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))
            .query("all", "true")),
        rest("path B create", Denied, v2(Method::POST, SMN_ACTION, B, "CLUSTER", c1)
            .body(json!({"action": "create", "tags": [{"key": B_KEY, "value": "x"}]}))),
        rest("path B delete", Denied, v2(Method::POST, SMN_ACTION, B, "CLUSTER", c1)
            .body(json!({"action": "delete", "tags": [{"key": B_KEY}]}))),
        rest("path B", Denied, v2(Method::POST, SMN_TAGS, B, "CLUSTER", c1)
            .body(json!({"tag": {"key": B_KEY, "value": "x"}}))),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::POST, SMN_TAGS, A, "CLUSTER", c1)
            .header("x-project-id", B)
            .body(json!({"tag": {"key": B_KEY, "value": "x"}}))),
        rest("path B", Denied, with_key(v2(Method::DELETE, SMN_KEY, B, "CLUSTER", c1), B_KEY)),
        rest("path B, key `action`", Denied, with_key(v2(Method::DELETE, SMN_KEY, B, "CLUSTER", c1), "action")),
        rest("X-Project-Id B", ProjectMismatch, with_key(v2(Method::DELETE, SMN_KEY, A, "CLUSTER", c1), B_KEY)
            .header("x-project-id", B)),
        rest("X-Project-Id B delete", ProjectMismatch, v2(Method::POST, SMN_ACTION, A, "CLUSTER", c1)
            .header("x-project-id", B)
            .body(json!({"action": "delete", "tags": [{"key": B_KEY}]}))),
        // Writes to B's ids in A's own project: they act on A's rows only.
        grpc("B's ids, all", Empty, untag("", &[])),
        grpc("B's ids, B's keys", Empty, untag("", &[B_KEY, B_KEY2])),
        grpc("B's id", NotFound, delete("", "CLUSTER", c1)),
        rest("B's id", NotFound, v2(Method::DELETE, SMN_RESOURCE, A, "CLUSTER", c1)),
        grpc("B's topic", NotFound, delete("", "smn_topic", B_TOPIC)),
        rest("B's ids, all", Empty, Rest::new(Method::DELETE, ACK, ACK.into())
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))
            .query("all", "true")),
        rest("B's id, B's key", Empty, v2(Method::POST, SMN_ACTION, A, "CLUSTER", c1)
            .body(json!({"action": "delete", "tags": [{"key": B_KEY}]}))),
        rest("B's id, B's key", Empty, with_key(v2(Method::DELETE, SMN_KEY, A, "CLUSTER", c1), B_KEY)),
        grpc("B's ids", Empty, tagr("", &B_CLUSTERS)),
        grpc("B's id and name", Own, put("", "smn_topic", B_TOPIC, B_TOPIC_NAME)),
        rest("path B", Denied, v2(Method::PUT, SMN_RESOURCE, B, "smn_topic", B_TOPIC)
            .body(json!({"name": "aaa-renamed"}))),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::PUT, SMN_RESOURCE, A, "smn_topic", B_TOPIC)
            .header("x-project-id", B)
            .body(json!({"name": "aaa-renamed"}))),
        rest("B's id and name", Own, v2(Method::PUT, SMN_RESOURCE, A, "smn_topic", B_TOPIC)
            .body(json!({"name": B_TOPIC_NAME}))),
        rest("path B", Denied, v2(Method::DELETE, SMN_RESOURCE, B, "CLUSTER", c1)),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::DELETE, SMN_RESOURCE, A, "CLUSTER", c1)
            .header("x-project-id", B)),
        rest("B's ids", Empty, Rest::new(Method::PUT, ACK, ACK.into())
            .body(json!({"resource_type": "CLUSTER", "resource_ids": B_CLUSTERS, "tags": [{"key": B_KEY2, "value": "aaa"}]}))),
        rest("B's id", Empty, v2(Method::POST, SMN_ACTION, A, "CLUSTER", c1)
            .body(json!({"action": "create", "tags": [{"key": "aaa-k2", "value": "aaa"}]}))),
        rest("B's id", Empty, v2(Method::POST, SMN_TAGS, A, "CLUSTER", B_CLUSTERS[1])
            .body(json!({"tag": {"key": "aaa-k3", "value": "aaa"}}))),
        // Last, so every call above is in it.
        rest("", Public, Rest::new(Method::GET, "/metrics", "/metrics".into())),
    ]
}

/// Every write, with B's own read-only token on B's own data.
fn read_only_matrix() -> Vec<Row> {
    use Expect::Denied;
    let c1 = B_CLUSTERS[0];
    let v2 = |method: Method, route: &'static str, ty: &str, id: &str| {
        let path = route
            .replace("{project_id}", B)
            .replace("{resource_type}", ty)
            .replace("{resource_id}", id);
        Rest::new(method, route, path)
    };
    vec![
        grpc("", Denied, Rpc::TagResources(pb::TagResourcesRequest {
            project_id: String::new(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&[c1, "bbb-new"]),
            tags: vec![tag(B_KEY, "changed")],
        })),
        grpc("all", Denied, Rpc::UntagResources(pb::UntagResourcesRequest {
            project_id: B.into(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&B_CLUSTERS),
            tag_keys: Vec::new(),
            all: true,
        })),
        grpc("keys", Denied, Rpc::UntagResources(pb::UntagResourcesRequest {
            project_id: String::new(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&B_CLUSTERS),
            tag_keys: ids(&[B_KEY]),
            all: false,
        })),
        grpc("rename", Denied, Rpc::PutResource(pb::PutResourceRequest {
            project_id: String::new(),
            resource_type: "smn_topic".into(),
            resource_id: B_TOPIC.into(),
            name: "renamed".into(),
        })),
        grpc("new", Denied, Rpc::PutResource(pb::PutResourceRequest {
            project_id: B.into(),
            resource_type: "CLUSTER".into(),
            resource_id: "bbb-new".into(),
            name: String::new(),
        })),
        grpc("", Denied, Rpc::DeleteResource(pb::DeleteResourceRequest {
            project_id: String::new(),
            resource_type: "CLUSTER".into(),
            resource_id: c1.into(),
        })),
        rest("", Denied, Rest::new(Method::PUT, ACK, ACK.into())
            .body(json!({"resource_type": "CLUSTER", "resource_ids": [c1], "tags": [{"key": B_KEY, "value": "x"}]}))),
        rest("", Denied, Rest::new(Method::DELETE, ACK, ACK.into())
            .header("x-project-id", B)
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))
            .query("tag_keys", ids_json(&[B_KEY]))),
        rest("create", Denied, v2(Method::POST, SMN_ACTION, "CLUSTER", c1)
            .body(json!({"action": "create", "tags": [{"key": "new", "value": "x"}]}))),
        rest("delete", Denied, v2(Method::POST, SMN_ACTION, "CLUSTER", c1)
            .body(json!({"action": "delete", "tags": [{"key": B_KEY}]}))),
        rest("", Denied, v2(Method::POST, SMN_TAGS, "CLUSTER", c1)
            .body(json!({"tag": {"key": "new", "value": "x"}}))),
        rest("", Denied, with_key(v2(Method::DELETE, SMN_KEY, "CLUSTER", c1), B_KEY)),
        rest("rename", Denied, v2(Method::PUT, SMN_RESOURCE, "smn_topic", B_TOPIC)
            .body(json!({"name": "renamed"}))),
        rest("", Denied, v2(Method::DELETE, SMN_RESOURCE, "CLUSTER", c1)),
    ]
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

/// The methods of `tagging.v1.TaggingService`, as the served descriptor set declares them.
fn service_methods() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set");
    let service = set
        .file
        .iter()
        .filter(|f| f.package() == "tagging.v1")
        .flat_map(|f| f.service.iter())
        .find(|s| s.name() == "TaggingService")
        .expect("TaggingService is described");
    service.method.iter().map(|m| m.name().to_owned()).collect()
}

fn served_routes() -> BTreeSet<(String, String)> {
    ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
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
