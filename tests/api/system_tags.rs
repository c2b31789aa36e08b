//! System tags belong to the system: a caller that is not the system cannot delete a resource
//! that carries them, and the reserved prefixes match in any case.

use tonic::Code;

use crate::helpers::{Backend, PROJECT, TestApp, assert_invalid, authed, ids, pb, tag};

fn tag_request(id: &str, tags: &[(&str, &str)]) -> pb::TagResourcesRequest {
    pb::TagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&[id]),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        ..Default::default()
    }
}

async fn tags_seen_by(
    app: &TestApp,
    token: &str,
    id: &str,
) -> Result<Vec<(String, String)>, tonic::Status> {
    let req = pb::ListResourceTagsRequest {
        resource_type: "CLUSTER".into(),
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

async fn delete(app: &TestApp, token: &str, id: &str) -> Result<(), tonic::Status> {
    let req = pb::DeleteResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: id.into(),
        ..Default::default()
    };
    app.client
        .clone()
        .delete_resource(authed(token, req))
        .await
        .map(drop)
}

async fn only_the_system_deletes_a_resource_that_carries_system_tags(b: Backend) {
    let app = TestApp::spawn(b).await;
    let system = app.token_for(PROJECT, false, true).await;
    let tagged = tag_request("c1", &[("acs:owner", "ops"), ("env", "dev")]);
    app.client
        .clone()
        .tag_resources(authed(&system, tagged))
        .await
        .expect("system tags");
    app.tag("CLUSTER", &["c2"], &[("env", "dev")]).await;

    let refused = delete(&app, &app.token, "c1")
        .await
        .expect_err("system tags on c1");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains("system tags"),
        "{}",
        refused.message()
    );
    let rest = app
        .rest()
        .delete("/v2/p1/CLUSTER/c1")
        .header("x-auth-token", &app.token)
        .send()
        .await
        .expect("answered");
    assert_eq!(rest.status(), 403);
    let body: serde_json::Value = rest.json().await.expect("JSON");
    assert_eq!(body["code"], "SMN.00010403", "{body}");
    let kept = vec![
        ("acs:owner".to_owned(), "ops".to_owned()),
        ("env".to_owned(), "dev".to_owned()),
    ];
    assert_eq!(
        tags_seen_by(&app, &system, "c1").await.expect("c1 is kept"),
        kept
    );

    delete(&app, &app.token, "c2")
        .await
        .expect("no system tag on c2");
    assert_eq!(
        tags_seen_by(&app, &system, "c2").await.unwrap_err().code(),
        Code::NotFound
    );
    delete(&app, &system, "c1")
        .await
        .expect("the system deletes its own");
    assert_eq!(
        tags_seen_by(&app, &system, "c1").await.unwrap_err().code(),
        Code::NotFound
    );
    let gone = delete(&app, &app.token, "c1")
        .await
        .expect_err("already deleted");
    assert_eq!(gone.code(), Code::NotFound);
}

async fn reserved_prefixes_match_in_any_case(b: Backend) {
    let app = TestApp::spawn(b).await;
    let system = app.token_for(PROJECT, false, true).await;
    for key in ["ACS:evil", "Aliyun-x", "_SYS_x"] {
        let refused = app
            .client
            .clone()
            .tag_resources(authed(&app.token, tag_request("c1", &[(key, "v")])))
            .await
            .expect_err(key);
        assert_invalid(&refused, "tags[0].key");
    }
    let upper = tag_request("c1", &[("ACS:Owner", "ops"), ("env", "dev")]);
    app.client
        .clone()
        .tag_resources(authed(&system, upper))
        .await
        .expect("a system token writes it");
    let seen = tags_seen_by(&app, &app.token, "c1").await.expect("c1");
    assert_eq!(
        seen,
        [("env".to_owned(), "dev".to_owned())],
        "hidden from a normal token"
    );
    let keys = pb::ListProjectTagsRequest {
        resource_type: "CLUSTER".into(),
        ..Default::default()
    };
    let project = app
        .client
        .clone()
        .list_project_tags(authed(&app.token, keys))
        .await
        .expect("keys");
    let names: Vec<String> = project
        .into_inner()
        .tags
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(names, ["env"]);

    let all = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1"]),
        all: true,
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, all))
        .await
        .expect("untag all");
    let kept = tags_seen_by(&app, &system, "c1").await.expect("c1");
    assert_eq!(
        kept,
        [("ACS:Owner".to_owned(), "ops".to_owned())],
        "only the system's tag is left"
    );
}

both_backends!(
    only_the_system_deletes_a_resource_that_carries_system_tags,
    reserved_prefixes_match_in_any_case,
);
