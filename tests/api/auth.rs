//! Authentication and tenancy: tokens (made by the real CLI too), project scoping, read-only
//! tokens, system tags, and the `--insecure-no-auth` mode.

use std::process::{Command, Output};

use tagging_service::proto::pb;
use tonic::{Code, Request, Status};

use crate::{
    helpers::{Backend, PROJECT, TestApp, assert_invalid, authed, ids, tag},
    rest_ack::{answer, http},
};

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
    };
    out.push((
        "UntagResources",
        c.untag_resources(request(creds, untag)).await.map(drop),
    ));
    let delete = pb::DeleteResourceRequest {
        project_id: p(),
        resource_type: ty(),
        resource_id: "auth-c1".into(),
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
    let tags = app
        .client
        .clone()
        .list_resource_tags(authed(token, req))
        .await?
        .into_inner()
        .tags;
    Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
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

/// A random token of the right shape that was never issued.
fn unknown_token() -> String {
    let hex = |n: usize| -> String {
        let mut s = String::new();
        while s.len() < n {
            s.push_str(&uuid::Uuid::new_v4().simple().to_string());
        }
        s.truncate(n);
        s
    };
    format!("tgs_{}_{}", hex(16), hex(64))
}

/// Runs the real binary with `args` and `--database-url` of `app`.
async fn cli(app: &TestApp, args: &[&str]) -> Output {
    let mut argv: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    argv.push("--database-url".into());
    argv.push(app.database_url.clone());
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_tagging-service"))
            .args(&argv)
            .env_remove("TAGGING_DATABASE_URL")
            .output()
            .expect("the tagging-service binary runs")
    })
    .await
    .expect("blocking task")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// `token create` through the CLI; asserts it prints the token alone, on one line.
async fn cli_create_token(app: &TestApp, project: &str, extra: &[&str]) -> String {
    let mut args = vec!["token", "create", "--project", project];
    args.extend_from_slice(extra);
    let out = cli(app, &args).await;
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert_eq!(
        text.lines().count(),
        1,
        "stdout is exactly one line: {text:?}"
    );
    assert!(text.ends_with('\n'), "{text:?}");
    let token = text.trim_end_matches('\n').to_owned();
    let (id, secret) = token
        .strip_prefix("tgs_")
        .and_then(|rest| rest.split_once('_'))
        .unwrap_or_else(|| panic!("not a token: {token:?}"));
    assert_eq!(id.len(), 16, "{token}");
    assert_eq!(secret.len(), 64, "{token}");
    assert!(
        id.chars()
            .chain(secret.chars())
            .all(|c| c.is_ascii_hexdigit()),
        "{token}"
    );
    token
}

fn token_id(token: &str) -> &str {
    &token[4..20]
}

fn token_secret(token: &str) -> &str {
    &token[21..]
}

async fn every_rpc_requires_credentials(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_all(
        &call_all_rpcs(&app, &Creds::None, "").await,
        Code::Unauthenticated,
        "no token",
    );
    assert_all(
        &call_all_rpcs(&app, &Creds::None, PROJECT).await,
        Code::Unauthenticated,
        "no token, project named",
    );
    // Nothing was written by the refused calls.
    assert_eq!(
        app.resource_tags("CLUSTER", "auth-c1")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    // The same calls with a valid token succeed: the refusals above were about the credentials.
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::Bearer(app.token.clone()), "").await,
        "valid token",
    );
}

async fn malformed_unknown_and_tampered_tokens_are_unauthenticated(b: Backend) {
    let app = TestApp::spawn(b).await;
    let valid = app.token.clone();
    let mut tampered = valid.clone();
    let last = if tampered.ends_with('0') { '1' } else { '0' };
    tampered.pop();
    tampered.push(last);
    let cases = [
        ("garbage", Creds::Bearer("not-a-token".into())),
        ("empty bearer", Creds::Authorization("Bearer ".into())),
        (
            "truncated",
            Creds::Bearer(valid[..valid.len() - 1].to_owned()),
        ),
        ("too long", Creds::Bearer(format!("{valid}0"))),
        (
            "wrong prefix",
            Creds::Bearer(valid.replacen("tgs_", "tgx_", 1)),
        ),
        ("unknown id", Creds::Bearer(unknown_token())),
        ("known id, wrong secret", Creds::Bearer(tampered)),
        (
            "unknown via x-auth-token",
            Creds::XAuthToken(unknown_token()),
        ),
        (
            "unsupported scheme",
            Creds::Authorization(format!("Basic {valid}")),
        ),
    ];
    for (what, creds) in &cases {
        assert_all(
            &call_all_rpcs(&app, creds, "").await,
            Code::Unauthenticated,
            what,
        );
    }
    assert_eq!(
        app.resource_tags("CLUSTER", "auth-c1")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

async fn bearer_and_x_auth_token_metadata_both_authenticate(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::Bearer(app.token.clone()), "").await,
        "bearer",
    );
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::XAuthToken(app.token.clone()), "").await,
        "x-auth-token",
    );
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::XAuthToken(app.token.clone()), PROJECT).await,
        "x-auth-token, project named",
    );

    // What one form writes, the other reads.
    let write = pb::TagResourcesRequest {
        resource_type: "smn_topic".into(),
        resource_ids: ids(&["t1"]),
        tags: vec![tag("via", "x-auth-token")],
        ..Default::default()
    };
    app.client
        .clone()
        .tag_resources(request(&Creds::XAuthToken(app.token.clone()), write))
        .await
        .unwrap();
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("via", "x-auth-token")])
    );
}

async fn a_token_made_by_the_cli_works_until_revoked_and_is_never_listed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = cli_create_token(&app, PROJECT, &[]).await;

    // The running server accepts it at once, for reads and writes.
    tag_as(&app, &token, "CLUSTER", &["c1"], &[("made-by", "cli")])
        .await
        .expect("cli token writes");
    assert_eq!(
        tags_seen_by(&app, &token, "CLUSTER", "c1").await.unwrap(),
        owned(&[("made-by", "cli")])
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("made-by", "cli")]),
        "same project"
    );

    // A second token, revoked by its id rather than by itself.
    let other = cli_create_token(&app, "p2", &["--read-only"]).await;
    assert_ne!(token_id(&other), token_id(&token));
    assert!(
        project_tags_as(&app, &other, "").await.is_ok(),
        "the p2 token works"
    );

    let listed = cli(&app, &["token", "list"]).await;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let list = stdout(&listed);
    for t in [&token, &other, &app.token] {
        assert!(
            list.contains(token_id(t)),
            "token list shows every id: {list}"
        );
        assert!(
            !list.contains(token_secret(t)),
            "token list must never print a secret: {list}"
        );
    }
    assert!(!String::from_utf8_lossy(&listed.stderr).contains(token_secret(&token)));

    let revoked = cli(&app, &["token", "revoke", &token]).await;
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert_all(
        &call_all_rpcs(&app, &Creds::Bearer(token.clone()), "").await,
        Code::Unauthenticated,
        "revoked",
    );
    assert_all(
        &call_all_rpcs(&app, &Creds::XAuthToken(token.clone()), "").await,
        Code::Unauthenticated,
        "revoked x-auth",
    );

    let by_id = cli(&app, &["token", "revoke", token_id(&other)]).await;
    assert!(
        by_id.status.success(),
        "{}",
        String::from_utf8_lossy(&by_id.stderr)
    );
    let err = project_tags_as(&app, &other, "").await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // Revoking twice, or an unknown token, fails; the other tokens are untouched.
    let again = cli(&app, &["token", "revoke", &token]).await;
    assert!(
        !again.status.success(),
        "revoking a revoked token must fail"
    );
    let unknown = cli(&app, &["token", "revoke", &unknown_token()]).await;
    assert!(
        !unknown.status.success(),
        "revoking an unknown token must fail"
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("made-by", "cli")])
    );

    let listed = stdout(&cli(&app, &["token", "list"]).await);
    let line = |t: &str| {
        listed
            .lines()
            .find(|l| l.contains(token_id(t)))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    assert!(line(&token).contains("revoked"), "{listed}");
    assert!(line(&other).contains("revoked"), "{listed}");
    assert!(line(&app.token).contains("live"), "{listed}");
    assert!(
        !listed.contains(token_secret(&token)) && !listed.contains(token_secret(&app.token)),
        "{listed}"
    );
}

async fn a_read_only_cli_token_cannot_write(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = cli_create_token(&app, PROJECT, &["--read-only"]).await;
    let err = tag_as(&app, &token, "CLUSTER", &["c1"], &[("k", "v")])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(project_tags_as(&app, &token, "").await.unwrap().is_empty());
}

async fn a_token_cannot_act_on_another_project(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p2 = app.token_for("p2", false, false).await;
    // p2's own data, written with p2's token.
    tag_as(
        &app,
        &p2,
        "CLUSTER",
        &["shared-id", "p2-only"],
        &[("secret", "p2-value")],
    )
    .await
    .unwrap();
    let put = pb::PutResourceRequest {
        resource_type: "smn_topic".into(),
        resource_id: "p2-topic".into(),
        name: "p2-name".into(),
        ..Default::default()
    };
    app.client
        .clone()
        .put_resource(authed(&p2, put))
        .await
        .unwrap();

    // Naming p2 with p1's token: every RPC is refused, and nothing of p2 changed.
    assert_all(
        &call_all_rpcs(&app, &Creds::Bearer(app.token.clone()), "p2").await,
        Code::PermissionDenied,
        "p1 token on p2",
    );
    assert_all(
        &call_all_rpcs(&app, &Creds::XAuthToken(app.token.clone()), "p2").await,
        Code::PermissionDenied,
        "p1 x-auth on p2",
    );
    assert_eq!(
        tags_seen_by(&app, &p2, "CLUSTER", "shared-id")
            .await
            .unwrap(),
        owned(&[("secret", "p2-value")])
    );
    assert_eq!(
        tags_seen_by(&app, &p2, "CLUSTER", "auth-c1")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // With an empty project_id, p1's token sees only p1: none of p2's data appears.
    for id in ["shared-id", "p2-only"] {
        assert_eq!(
            app.resource_tags("CLUSTER", id).await.unwrap_err().code(),
            Code::NotFound,
            "{id}"
        );
    }
    let by_name = pb::ListResourceTagsRequest {
        resource_type: "smn_topic".into(),
        resource_id: "p2-name".into(),
        resource_id_type: pb::ResourceIdType::Name as i32,
        ..Default::default()
    };
    let err = app
        .client
        .clone()
        .list_resource_tags(authed(&app.token, by_name))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(
        tag_rows_as(&app, &app.token, &["shared-id", "p2-only"], &[])
            .await
            .is_empty()
    );
    assert!(
        tag_rows_as(&app, &app.token, &[], &[("secret", "")])
            .await
            .is_empty()
    );
    assert!(list_resources_as(&app, &app.token, false).await.is_empty());
    let count = pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        ..Default::default()
    };
    let n = app
        .client
        .clone()
        .count_resources(authed(&app.token, count))
        .await
        .unwrap()
        .into_inner()
        .total_count;
    assert_eq!(n, 0);
    assert!(
        project_tags_as(&app, &app.token, "")
            .await
            .unwrap()
            .is_empty()
    );

    // p1 writing the same id makes a resource of its own, and p1's deletes and untags never reach p2's.
    app.tag("CLUSTER", &["shared-id"], &[("mine", "p1")]).await;
    let untag = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["shared-id", "p2-only"]),
        all: true,
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, untag))
        .await
        .unwrap();
    let delete = pb::DeleteResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "p2-only".into(),
        ..Default::default()
    };
    let err = app
        .client
        .clone()
        .delete_resource(authed(&app.token, delete))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    for id in ["shared-id", "p2-only"] {
        assert_eq!(
            tags_seen_by(&app, &p2, "CLUSTER", id).await.unwrap(),
            owned(&[("secret", "p2-value")]),
            "{id}"
        );
    }
    assert_eq!(
        project_tags_as(&app, &p2, "p2").await.unwrap(),
        [("secret".to_owned(), vec!["p2-value".to_owned()])]
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "shared-id").await.unwrap(),
        Vec::<(String, String)>::new()
    );
}

async fn a_read_only_token_reads_but_every_write_is_denied(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ro = app.token_for(PROJECT, true, false).await;
    let put = pb::PutResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "c1".into(),
        name: "first".into(),
        ..Default::default()
    };
    app.client
        .clone()
        .put_resource(authed(&app.token, put))
        .await
        .unwrap();
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;

    // Reads work and see the data.
    assert_eq!(
        tags_seen_by(&app, &ro, "CLUSTER", "c1").await.unwrap(),
        owned(&[("env", "dev")])
    );
    assert_eq!(
        tag_rows_as(&app, &ro, &["c1"], &[]).await,
        rows(&[("c1", "env", "dev")])
    );
    let listed = list_resources_as(&app, &ro, false).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].resource_id.as_str(), listed[0].name.as_str()),
        ("c1", "first")
    );
    assert_eq!(
        project_tags_as(&app, &ro, "").await.unwrap(),
        [("env".to_owned(), vec!["dev".to_owned()])]
    );
    assert_eq!(
        project_tags_as(&app, &ro, PROJECT).await.unwrap().len(),
        1,
        "naming its own project is fine"
    );
    let count = pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        ..Default::default()
    };
    assert_eq!(
        app.client
            .clone()
            .count_resources(authed(&ro, count))
            .await
            .unwrap()
            .into_inner()
            .total_count,
        1
    );

    // Every write is denied.
    let mut c = app.client.clone();
    let denied = |r: Result<(), Status>, rpc: &str| {
        let err = r.expect_err(rpc);
        assert_eq!(err.code(), Code::PermissionDenied, "{rpc}: {err:?}");
    };
    let tag_req = pb::TagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1", "c2"]),
        tags: vec![tag("env", "prod"), tag("new", "x")],
        ..Default::default()
    };
    denied(
        c.tag_resources(authed(&ro, tag_req)).await.map(drop),
        "TagResources",
    );
    let untag = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1"]),
        all: true,
        ..Default::default()
    };
    denied(
        c.untag_resources(authed(&ro, untag)).await.map(drop),
        "UntagResources all",
    );
    let untag_keys = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1"]),
        tag_keys: ids(&["env"]),
        ..Default::default()
    };
    denied(
        c.untag_resources(authed(&ro, untag_keys)).await.map(drop),
        "UntagResources keys",
    );
    let rename = pb::PutResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "c1".into(),
        name: "renamed".into(),
        ..Default::default()
    };
    denied(
        c.put_resource(authed(&ro, rename)).await.map(drop),
        "PutResource rename",
    );
    let register = pb::PutResourceRequest {
        project_id: PROJECT.into(),
        resource_type: "CLUSTER".into(),
        resource_id: "c3".into(),
        ..Default::default()
    };
    denied(
        c.put_resource(authed(&ro, register)).await.map(drop),
        "PutResource new",
    );
    let delete = pb::DeleteResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "c1".into(),
        ..Default::default()
    };
    denied(
        c.delete_resource(authed(&ro, delete)).await.map(drop),
        "DeleteResource",
    );

    // Nothing changed.
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("env", "dev")])
    );
    for id in ["c2", "c3"] {
        assert_eq!(
            app.resource_tags("CLUSTER", id).await.unwrap_err().code(),
            Code::NotFound,
            "{id}"
        );
    }
    let after = list_resources_as(&app, &app.token, false).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].name, "first");
}

async fn system_tags_are_visible_only_to_system_tokens(b: Backend) {
    let app = TestApp::spawn(b).await;
    let sys = app.token_for(PROJECT, false, true).await;
    let user = app.token.clone();
    tag_as(
        &app,
        &sys,
        "CLUSTER",
        &["c1"],
        &[("acs:rm:rgId", "rg-1"), ("env", "dev")],
    )
    .await
    .expect("system writes");
    tag_as(&app, &sys, "CLUSTER", &["c2"], &[("acs:rm:rgId", "rg-2")])
        .await
        .expect("system writes");

    // ListResourceTags
    assert_eq!(
        tags_seen_by(&app, &user, "CLUSTER", "c1").await.unwrap(),
        owned(&[("env", "dev")])
    );
    assert_eq!(
        tags_seen_by(&app, &user, "CLUSTER", "c2").await.unwrap(),
        owned(&[])
    );
    assert_eq!(
        tags_seen_by(&app, &sys, "CLUSTER", "c1").await.unwrap(),
        owned(&[("acs:rm:rgId", "rg-1"), ("env", "dev")])
    );

    // ListTagResources, by ids and by tags
    assert_eq!(
        tag_rows_as(&app, &user, &["c1", "c2"], &[]).await,
        rows(&[("c1", "env", "dev")])
    );
    assert_eq!(
        tag_rows_as(&app, &user, &[], &[("env", "dev")]).await,
        rows(&[("c1", "env", "dev")])
    );
    assert_eq!(
        tag_rows_as(&app, &sys, &["c1", "c2"], &[]).await,
        rows(&[
            ("c1", "acs:rm:rgId", "rg-1"),
            ("c1", "env", "dev"),
            ("c2", "acs:rm:rgId", "rg-2")
        ])
    );
    assert_eq!(
        tag_rows_as(&app, &sys, &[], &[("acs:rm:rgId", "")]).await,
        rows(&[
            ("c1", "acs:rm:rgId", "rg-1"),
            ("c1", "env", "dev"),
            ("c2", "acs:rm:rgId", "rg-2")
        ])
    );

    // ListResources: the tags of each resource, and "untagged" means without visible tags.
    let shown = |list: Vec<pb::Resource>| -> Vec<(String, Vec<String>)> {
        list.into_iter()
            .map(|r| (r.resource_id, r.tags.into_iter().map(|t| t.key).collect()))
            .collect()
    };
    assert_eq!(
        shown(list_resources_as(&app, &user, false).await),
        [
            ("c1".to_owned(), vec!["env".to_owned()]),
            ("c2".to_owned(), vec![])
        ]
    );
    assert_eq!(
        shown(list_resources_as(&app, &sys, false).await),
        [
            (
                "c1".to_owned(),
                vec!["acs:rm:rgId".to_owned(), "env".to_owned()]
            ),
            ("c2".to_owned(), vec!["acs:rm:rgId".to_owned()])
        ]
    );
    assert_eq!(
        shown(list_resources_as(&app, &user, true).await),
        [("c2".to_owned(), vec![])]
    );
    assert!(list_resources_as(&app, &sys, true).await.is_empty());

    // ListProjectTags
    assert_eq!(
        project_tags_as(&app, &user, "").await.unwrap(),
        [("env".to_owned(), vec!["dev".to_owned()])]
    );
    assert_eq!(
        project_tags_as(&app, &sys, "").await.unwrap(),
        [
            (
                "acs:rm:rgId".to_owned(),
                vec!["rg-1".to_owned(), "rg-2".to_owned()]
            ),
            ("env".to_owned(), vec!["dev".to_owned()])
        ]
    );

    // A normal token can neither write, remove nor filter on a system key.
    let err = tag_as(&app, &user, "CLUSTER", &["c1"], &[("acs:rm:rgId", "mine")])
        .await
        .unwrap_err();
    assert_invalid(&err, "tags[0].key");
    let untag_key = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1"]),
        tag_keys: ids(&["acs:rm:rgId"]),
        ..Default::default()
    };
    let err = app
        .client
        .clone()
        .untag_resources(authed(&user, untag_key))
        .await
        .unwrap_err();
    assert_invalid(&err, "tag_keys[0]");
    let probe = pb::ListResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags: vec![pb::TagFilter {
            key: "acs:rm:rgId".into(),
            values: vec![],
        }],
        ..Default::default()
    };
    let err = app
        .client
        .clone()
        .list_resources(authed(&user, probe))
        .await
        .unwrap_err();
    assert_invalid(&err, "tags[0].key");

    // `all` removes only what the caller sees.
    let untag_all = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1", "c2"]),
        all: true,
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&user, untag_all))
        .await
        .unwrap();
    assert_eq!(
        tags_seen_by(&app, &user, "CLUSTER", "c1").await.unwrap(),
        owned(&[])
    );
    assert_eq!(
        tags_seen_by(&app, &sys, "CLUSTER", "c1").await.unwrap(),
        owned(&[("acs:rm:rgId", "rg-1")])
    );
    assert_eq!(
        tags_seen_by(&app, &sys, "CLUSTER", "c2").await.unwrap(),
        owned(&[("acs:rm:rgId", "rg-2")])
    );

    // A system token's `all` removes system tags too.
    let untag_all = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c2"]),
        all: true,
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&sys, untag_all))
        .await
        .unwrap();
    assert_eq!(
        tags_seen_by(&app, &sys, "CLUSTER", "c2").await.unwrap(),
        owned(&[])
    );
}

async fn system_tags_do_not_count_toward_the_per_resource_limit(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-tags-per-resource", "2"]).await;
    let sys = app.token_for(PROJECT, false, true).await;
    let user = app.token.clone();
    tag_as(
        &app,
        &sys,
        "CLUSTER",
        &["c1"],
        &[("acs:rm:rgId", "rg"), ("acs:x", "1"), ("aliyun-y", "1")],
    )
    .await
    .expect("three system tags on a limit of two");
    tag_as(&app, &user, "CLUSTER", &["c1"], &[("a", "1"), ("b", "2")])
        .await
        .expect("two counted tags fit");
    let err = tag_as(&app, &user, "CLUSTER", &["c1"], &[("c", "3")])
        .await
        .unwrap_err();
    assert_invalid(&err, "tags");
    // Another system tag still fits; a counted one from a system token does not.
    tag_as(&app, &sys, "CLUSTER", &["c1"], &[("acs:z", "1")])
        .await
        .expect("system tags are exempt");
    let err = tag_as(
        &app,
        &sys,
        "CLUSTER",
        &["c1"],
        &[("acs:w", "1"), ("d", "4")],
    )
    .await
    .unwrap_err();
    assert_invalid(&err, "tags");
    // Overwriting a counted key does not add one.
    tag_as(&app, &user, "CLUSTER", &["c1"], &[("a", "changed")])
        .await
        .expect("overwrite fits");
    assert_eq!(
        tags_seen_by(&app, &sys, "CLUSTER", "c1").await.unwrap(),
        owned(&[
            ("a", "changed"),
            ("acs:rm:rgId", "rg"),
            ("acs:x", "1"),
            ("acs:z", "1"),
            ("aliyun-y", "1"),
            ("b", "2")
        ])
    );
}

async fn without_auth_calls_need_no_token_but_must_name_a_project(b: Backend) {
    let app = TestApp::spawn_with(b, &["--insecure-no-auth"]).await;
    let mut c = app.client.clone();
    let write = pb::TagResourcesRequest {
        project_id: "p9".into(),
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1"]),
        tags: vec![tag("env", "dev")],
    };
    c.tag_resources(Request::new(write))
        .await
        .expect("no token needed");
    let read = |project: &str| pb::ListResourceTagsRequest {
        project_id: project.into(),
        resource_type: "CLUSTER".into(),
        resource_id: "c1".into(),
        ..Default::default()
    };
    let tags = c
        .list_resource_tags(Request::new(read("p9")))
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(tags, [tag("env", "dev")]);
    // Projects stay apart.
    assert_eq!(
        c.list_resource_tags(Request::new(read("p8")))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // Without a project: every RPC is refused with INVALID_ARGUMENT naming project_id.
    for (rpc, result) in call_all_rpcs(&app, &Creds::None, "").await {
        let err = result.expect_err(rpc);
        assert_invalid(&err, "project_id");
    }
    // All nine work when they name a project.
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::None, "p7").await,
        "no auth, project named",
    );
    // The refused TagResources wrote nothing anywhere.
    let count = |project: &str| pb::CountResourcesRequest {
        project_id: project.into(),
        resource_type: "CLUSTER".into(),
        ..Default::default()
    };
    assert_eq!(
        c.count_resources(Request::new(count("p9")))
            .await
            .unwrap()
            .into_inner()
            .total_count,
        1
    );
    assert_eq!(
        c.count_resources(Request::new(count(PROJECT)))
            .await
            .unwrap()
            .into_inner()
            .total_count,
        0
    );
}

/// The reads a remembered token can make, each a statement of its own shape, some finding rows and
/// some finding none (which the store tells apart from a revoked token by asking again).
const READS: [&str; 10] = [
    "ListResourceTags",
    "ListResourceTags of no resource",
    "ListTagResources by id",
    "ListTagResources matching nothing",
    "ListProjectTags",
    "ListResources",
    "CountResources",
    "CountResources matching nothing",
    "ACK GET /tags",
    "SMN GET /v2/{project}/smn_topic/{id}/tags",
];

/// Makes read `which` with `token`: `Ok(rows found)` or the refusal, as the gRPC code or the
/// REST status and error code.
async fn read_as(app: &TestApp, token: &str, which: &str) -> Result<usize, String> {
    let mut c = app.client.clone();
    let ty = || "CLUSTER".to_owned();
    let nothing = || {
        vec![pb::TagFilter {
            key: "env".into(),
            values: ids(&["none"]),
        }]
    };
    let grpc = |status: Status| format!("{:?}", status.code());
    match which {
        "ListResourceTags" | "ListResourceTags of no resource" => {
            let id = if which == "ListResourceTags" {
                "c1"
            } else {
                "c-none"
            };
            let req = pb::ListResourceTagsRequest {
                resource_type: ty(),
                resource_id: id.into(),
                ..Default::default()
            };
            match c.list_resource_tags(authed(token, req)).await {
                Ok(a) => Ok(a.into_inner().tags.len()),
                Err(s) if s.code() == Code::NotFound => Ok(0),
                Err(s) => Err(grpc(s)),
            }
        }
        "ListTagResources by id" | "ListTagResources matching nothing" => {
            let mut req = pb::ListTagResourcesRequest {
                resource_type: ty(),
                ..Default::default()
            };
            if which.ends_with("by id") {
                req.resource_ids = ids(&["c1"]);
            } else {
                req.tags = vec![tag("env", "none")];
            }
            c.list_tag_resources(authed(token, req))
                .await
                .map(|a| a.into_inner().tag_resources.len())
                .map_err(grpc)
        }
        "ListProjectTags" => c
            .list_project_tags(authed(token, pb::ListProjectTagsRequest::default()))
            .await
            .map(|a| a.into_inner().tags.len())
            .map_err(grpc),
        "ListResources" => {
            let req = pb::ListResourcesRequest {
                resource_type: ty(),
                ..Default::default()
            };
            c.list_resources(authed(token, req))
                .await
                .map(|a| a.into_inner().resources.len())
                .map_err(grpc)
        }
        "CountResources" | "CountResources matching nothing" => {
            let mut req = pb::CountResourcesRequest {
                resource_type: ty(),
                ..Default::default()
            };
            if which.ends_with("nothing") {
                req.tags = nothing();
            }
            c.count_resources(authed(token, req))
                .await
                .map(|a| usize::try_from(a.into_inner().total_count).expect("a count"))
                .map_err(grpc)
        }
        "ACK GET /tags" => {
            let a = answer(
                http()
                    .get(format!("http://{}/tags", app.addr))
                    .bearer_auth(token)
                    .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
            )
            .await;
            match a.status.as_u16() {
                200 => Ok(a.body["tag_resources"]["tag_resource"]
                    .as_array()
                    .map_or(0, Vec::len)),
                status => Err(format!("{status} {}", a.body["code"])),
            }
        }
        _ => {
            let a = answer(
                http()
                    .get(format!(
                        "http://{}/v2/{PROJECT}/smn_topic/t1/tags",
                        app.addr
                    ))
                    .header("x-auth-token", token),
            )
            .await;
            match a.status.as_u16() {
                200 => Ok(a.body["tags"].as_array().map_or(0, Vec::len)),
                status => Err(format!("{status} {}", a.body["code"])),
            }
        }
    }
}

/// A server remembers a token after its first call and lets later reads confirm it inside their
/// own statement. A token revoked by another process (the CLI) must still be refused on its very
/// next read, whichever statement that read runs and whether or not it finds rows.
async fn a_remembered_token_is_refused_on_its_next_read_after_revocation(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    app.tag("smn_topic", &["t1"], &[("env", "dev")]).await;

    let mut tokens = Vec::new();
    for which in READS {
        let token = app.token_for(PROJECT, false, false).await;
        // Twice: the first call reads the token from the database, the second is remembered.
        for _ in 0..2 {
            let found = read_as(&app, &token, which).await;
            let expect_rows = !which.contains("nothing") && !which.contains("no resource");
            assert!(
                matches!(found, Ok(n) if (n > 0) == expect_rows),
                "{which} before revocation: {found:?}"
            );
        }
        tokens.push(token);
    }
    // A remembered id with another secret is not the token.
    let (kept, last) = tokens[0].split_at(tokens[0].len() - 1);
    let forged = format!("{kept}{}", if last == "0" { "1" } else { "0" });
    assert_eq!(
        read_as(&app, &forged, READS[0]).await,
        Err("Unauthenticated".to_owned())
    );

    for token in &tokens {
        let out = cli(&app, &["token", "revoke", token]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (which, token) in READS.iter().zip(&tokens) {
        let refused = read_as(&app, token, which).await;
        let expected = match *which {
            "ACK GET /tags" => "401 \"Unauthorized\"",
            w if w.starts_with("SMN") => "403 \"SMN.00010401\"",
            _ => "Unauthenticated",
        };
        assert_eq!(
            refused,
            Err(expected.to_owned()),
            "{which} after revocation"
        );
        // Forgotten once refused: refused again, now by the database lookup.
        assert_eq!(
            read_as(&app, token, which).await,
            Err(expected.to_owned()),
            "{which} again"
        );
    }
    // The server's own token, remembered just the same, still reads.
    assert!(matches!(read_as(&app, &app.token, READS[0]).await, Ok(1)));
}

both_backends!(
    a_remembered_token_is_refused_on_its_next_read_after_revocation,
    every_rpc_requires_credentials,
    malformed_unknown_and_tampered_tokens_are_unauthenticated,
    bearer_and_x_auth_token_metadata_both_authenticate,
    a_token_made_by_the_cli_works_until_revoked_and_is_never_listed,
    a_read_only_cli_token_cannot_write,
    a_token_cannot_act_on_another_project,
    a_read_only_token_reads_but_every_write_is_denied,
    system_tags_are_visible_only_to_system_tokens,
    system_tags_do_not_count_toward_the_per_resource_limit,
    without_auth_calls_need_no_token_but_must_name_a_project,
);
