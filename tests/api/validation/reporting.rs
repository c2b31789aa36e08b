//! Every violation of a request is reported together, and a refused request changes nothing.

use tonic::Status;
use tonic_types::StatusExt;

use super::*;
use crate::helpers::{Backend, TestApp, assert_invalid, authed, ids, owned, pb, tag};

fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

async fn every_violation_of_a_request_is_reported_together(b: Backend) {
    let app = TestApp::spawn(b).await;
    let req = pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: "nope".into(),
        resource_ids: ids(&["c1", "c1"]),
        tags: vec![tag("", "v"), tag("k", "a\u{0}")],
        expected_revision: None,
    };
    let err = refused_tag(&app, req).await;
    for field in [
        "resource_type",
        "resource_ids[1]",
        "tags[0].key",
        "tags[1].value",
    ] {
        assert_invalid(&err, field);
    }
    assert_eq!(
        violated_fields(&err).len(),
        4,
        "{:?}",
        violated_fields(&err)
    );

    let req = pb::ListResourcesRequest {
        resource_type: String::new(),
        page_size: -5,
        without_any_tag: true,
        tags: vec![filter("env", &[])],
        matches: vec![pb::Match {
            key: "nope".into(),
            value: "x".into(),
        }],
        ..Default::default()
    };
    let err = list_resources(&app, req).await.unwrap_err();
    for field in [
        "resource_type",
        "page_size",
        "without_any_tag",
        "matches[0].key",
    ] {
        assert_invalid(&err, field);
    }
}

async fn a_refused_request_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;

    // One bad tag spoils the batch: the good tag is not written, c2 is not registered.
    let err = refused_tag(
        &app,
        tag_request(&["c1", "c2"], &[("env", "prod"), (" team", "a")]),
    )
    .await;
    assert_invalid(&err, "tags[1].key");
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("env", "dev")])
    );
    assert_not_found(&app, "CLUSTER", "c2").await;

    // One bad id spoils the batch too.
    let err = refused_tag(&app, tag_request(&["c1", "c2", ""], &[("env", "prod")])).await;
    assert_invalid(&err, "resource_ids[2]");
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("env", "dev")])
    );
    assert_not_found(&app, "CLUSTER", "c2").await;

    let req = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1", "c1"]),
        tag_keys: ids(&["env"]),
        ..Default::default()
    };
    assert_invalid(&untag(&app, req).await.unwrap_err(), "resource_ids[1]");
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("env", "dev")])
    );

    let req = pb::DeleteResourceRequest {
        resource_type: "nope".into(),
        resource_id: "c1".into(),
        ..Default::default()
    };
    let err = app
        .client
        .clone()
        .delete_resource(authed(&app.token, req))
        .await
        .unwrap_err();
    assert_invalid(&err, "resource_type");
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("env", "dev")])
    );

    put_resource(&app, put_req("t1", "first")).await.unwrap();
    let err = put_resource(&app, put_req("t1", &"n".repeat(257)))
        .await
        .unwrap_err();
    assert_invalid(&err, "name");
    let err = put_resource(&app, put_req("t2", "second\u{0}"))
        .await
        .unwrap_err();
    assert_invalid(&err, "name");
    assert_not_found(&app, "smn_topic", "t2").await;
    let by_name = pb::ListResourceTagsRequest {
        resource_type: "smn_topic".into(),
        resource_id: "first".into(),
        resource_id_type: pb::ResourceIdType::Name as i32,
        ..Default::default()
    };
    app.client
        .clone()
        .list_resource_tags(authed(&app.token, by_name))
        .await
        .expect("t1 keeps its name");
}

both_backends!(
    every_violation_of_a_request_is_reported_together,
    a_refused_request_changes_nothing,
);
