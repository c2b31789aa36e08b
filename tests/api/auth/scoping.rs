//! A token acts on its own project only, and a read-only token only reads.

use tonic::{Code, Status};

use super::*;
use crate::helpers::{Backend, PROJECT, TestApp, authed, ids, owned, pb, tag};

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

both_backends!(
    a_token_cannot_act_on_another_project,
    a_read_only_token_reads_but_every_write_is_denied,
);
