//! Authentication and tenancy: tokens (made by the real CLI too), project scoping, read-only
//! tokens, system tags, and the `--insecure-no-auth` mode.

use std::process::{Command, Output};

use tonic::{Code, Request, Status};

use crate::helpers::{TestApp, authed, binary::BINARY, ids, pb, tag};

mod no_auth;
mod revocation;
mod scoping;
mod system_tags;
mod tokens;

/// How a request presents its credentials.
#[derive(Clone)]
enum Creds {
    None,
    Bearer(String),
    XAuthToken(String),
    /// A raw `authorization` value.
    Authorization(String),
}

fn request<T>(creds: &Creds, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    let (name, value) = match creds {
        Creds::None => return r,
        Creds::Bearer(t) => ("authorization", format!("Bearer {t}")),
        Creds::XAuthToken(t) => ("x-auth-token", t.clone()),
        Creds::Authorization(v) => ("authorization", v.clone()),
    };
    r.metadata_mut()
        .insert(name, value.parse().expect("ascii metadata"));
    r
}

/// Calls all nine RPCs with `creds`, naming `project_id`, in an order in which every call succeeds
/// for a read-write caller of that project (so a refusal is about the caller, not the request).
async fn call_all_rpcs(
    app: &TestApp,
    creds: &Creds,
    project_id: &str,
) -> Vec<(&'static str, Result<(), Status>)> {
    let mut c = app.client.clone();
    let p = || project_id.to_owned();
    let ty = || "CLUSTER".to_owned();
    let mut out = Vec::new();

    let put = pb::PutResourceRequest {
        project_id: p(),
        resource_type: ty(),
        resource_id: "auth-c1".into(),
        name: "auth-name".into(),
        expected_revision: None,
    };
    out.push((
        "PutResource",
        c.put_resource(request(creds, put)).await.map(drop),
    ));
    let tag_req = pb::TagResourcesRequest {
        project_id: p(),
        resource_type: ty(),
        resource_ids: ids(&["auth-c1"]),
        tags: vec![tag("env", "dev")],
        expected_revision: None,
    };
    out.push((
        "TagResources",
        c.tag_resources(request(creds, tag_req)).await.map(drop),
    ));
    let list_tag_resources = pb::ListTagResourcesRequest {
        project_id: p(),
        resource_type: ty(),
        resource_ids: ids(&["auth-c1"]),
        ..Default::default()
    };
    out.push((
        "ListTagResources",
        c.list_tag_resources(request(creds, list_tag_resources))
            .await
            .map(drop),
    ));
    let list_resource_tags = pb::ListResourceTagsRequest {
        project_id: p(),
        resource_type: ty(),
        resource_id: "auth-c1".into(),
        ..Default::default()
    };
    out.push((
        "ListResourceTags",
        c.list_resource_tags(request(creds, list_resource_tags))
            .await
            .map(drop),
    ));
    let project_tags = pb::ListProjectTagsRequest {
        project_id: p(),
        ..Default::default()
    };
    out.push((
        "ListProjectTags",
        c.list_project_tags(request(creds, project_tags))
            .await
            .map(drop),
    ));
    let list = pb::ListResourcesRequest {
        project_id: p(),
        resource_type: ty(),
        ..Default::default()
    };
    out.push((
        "ListResources",
        c.list_resources(request(creds, list)).await.map(drop),
    ));
    let count = pb::CountResourcesRequest {
        project_id: p(),
        resource_type: ty(),
        ..Default::default()
    };
    out.push((
        "CountResources",
        c.count_resources(request(creds, count)).await.map(drop),
    ));
    let untag = pb::UntagResourcesRequest {
        project_id: p(),
        resource_type: ty(),
        resource_ids: ids(&["auth-c1"]),
        tag_keys: ids(&["env"]),
        all: false,
        expected_revision: None,
    };
    out.push((
        "UntagResources",
        c.untag_resources(request(creds, untag)).await.map(drop),
    ));
    let delete = pb::DeleteResourceRequest {
        project_id: p(),
        resource_type: ty(),
        resource_id: "auth-c1".into(),
        expected_revision: None,
    };
    out.push((
        "DeleteResource",
        c.delete_resource(request(creds, delete)).await.map(drop),
    ));
    assert_eq!(out.len(), 9, "every RPC of the service is called");
    out
}

fn assert_all(results: &[(&str, Result<(), Status>)], code: Code, what: &str) {
    for (rpc, result) in results {
        match result {
            Err(status) => assert_eq!(status.code(), code, "{what}: {rpc}: {status:?}"),
            Ok(()) => panic!("{what}: {rpc} succeeded, expected {code:?}"),
        }
    }
}

fn assert_all_ok(results: &[(&str, Result<(), Status>)], what: &str) {
    for (rpc, result) in results {
        assert!(result.is_ok(), "{what}: {rpc}: {result:?}");
    }
}

/// The tags of `id` as `token` sees them.
async fn tags_seen_by(
    app: &TestApp,
    token: &str,
    resource_type: &str,
    id: &str,
) -> Result<Vec<(String, String)>, Status> {
    let req = pb::ListResourceTagsRequest {
        resource_type: resource_type.into(),
        resource_id: id.into(),
        ..Default::default()
    };
    app.list_resource_tags_as(token, req).await
}

async fn tag_as(
    app: &TestApp,
    token: &str,
    resource_type: &str,
    resources: &[&str],
    tags: &[(&str, &str)],
) -> Result<(), Status> {
    let req = pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: resource_type.into(),
        resource_ids: ids(resources),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        expected_revision: None,
    };
    app.client
        .clone()
        .tag_resources(authed(token, req))
        .await
        .map(drop)
}

async fn list_resources_as(app: &TestApp, token: &str, without_any_tag: bool) -> Vec<pb::Resource> {
    let req = pb::ListResourcesRequest {
        resource_type: "CLUSTER".into(),
        without_any_tag,
        page_size: 1000,
        ..Default::default()
    };
    let resp = app
        .client
        .clone()
        .list_resources(authed(token, req))
        .await
        .expect("list_resources")
        .into_inner();
    assert!(resp.next_token.is_empty(), "one page holds the fixture");
    resp.resources
}

async fn project_tags_as(
    app: &TestApp,
    token: &str,
    project_id: &str,
) -> Result<Vec<(String, Vec<String>)>, Status> {
    let req = pb::ListProjectTagsRequest {
        project_id: project_id.into(),
        page_size: 1000,
        ..Default::default()
    };
    let resp = app
        .client
        .clone()
        .list_project_tags(authed(token, req))
        .await?
        .into_inner();
    assert!(resp.next_token.is_empty(), "one page holds the fixture");
    Ok(resp.tags.into_iter().map(|t| (t.key, t.values)).collect())
}

async fn tag_rows_as(
    app: &TestApp,
    token: &str,
    resource_ids: &[&str],
    tags: &[(&str, &str)],
) -> Vec<(String, String, String)> {
    let req = pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(resource_ids),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        page_size: 1000,
        ..Default::default()
    };
    let resp = app
        .client
        .clone()
        .list_tag_resources(authed(token, req))
        .await
        .expect("list_tag_resources")
        .into_inner();
    resp.tag_resources
        .into_iter()
        .map(|r| (r.resource_id, r.tag_key, r.tag_value))
        .collect()
}

fn rows(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

/// Runs the real binary with `args` and `--database-url` of `app`.
async fn cli(app: &TestApp, args: &[&str]) -> Output {
    let mut argv: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    argv.push("--database-url".into());
    argv.push(app.database_url.clone());
    tokio::task::spawn_blocking(move || {
        Command::new(BINARY)
            .args(&argv)
            .env_remove("TAGGING_DATABASE_URL")
            .output()
            .expect("the tagging-service binary runs")
    })
    .await
    .expect("blocking task")
}
