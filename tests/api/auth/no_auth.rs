//! `--insecure-no-auth`: calls need no token but must name a project.

use tonic::{Code, Request};

use super::*;
use crate::helpers::{Backend, PROJECT, TestApp, assert_invalid, ids, pb, tag};

async fn without_auth_calls_need_no_token_but_must_name_a_project(b: Backend) {
    let app = TestApp::spawn_with(b, &["--insecure-no-auth"]).await;
    let mut c = app.client.clone();
    let write = pb::TagResourcesRequest {
        project_id: "p9".into(),
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1"]),
        tags: vec![tag("env", "dev")],
        expected_revision: None,
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

both_backends!(without_auth_calls_need_no_token_but_must_name_a_project,);
