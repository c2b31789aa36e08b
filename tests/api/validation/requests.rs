//! The shape of each request: resource types, required and bounded lists, page sizes, lengths of
//! ids and names, and the project a call without authentication must name.

use tonic::{Request, Status};

use super::*;
use crate::helpers::{Backend, TestApp, assert_invalid, authed, ids, owned, pb, tag};

async fn list_project_tags(
    app: &TestApp,
    req: pb::ListProjectTagsRequest,
) -> Result<pb::ListProjectTagsResponse, Status> {
    app.client
        .clone()
        .list_project_tags(authed(&app.token, req))
        .await
        .map(tonic::Response::into_inner)
}

async fn unknown_or_missing_resource_types_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    for bad in ["nope", "", "cluster ", "ALIYUN::CS::"] {
        let mut req = tag_request(&["c1"], &[("k", "v")]);
        req.resource_type = bad.into();
        assert_invalid(&refused_tag(&app, req).await, "resource_type");

        let req = pb::ListTagResourcesRequest {
            resource_type: bad.into(),
            resource_ids: ids(&["c1"]),
            ..Default::default()
        };
        assert_invalid(
            &list_tag_resources(&app, req).await.unwrap_err(),
            "resource_type",
        );

        let req = pb::ListResourcesRequest {
            resource_type: bad.into(),
            ..Default::default()
        };
        assert_invalid(
            &list_resources(&app, req).await.unwrap_err(),
            "resource_type",
        );

        let req = pb::PutResourceRequest {
            resource_type: bad.into(),
            resource_id: "c1".into(),
            ..Default::default()
        };
        assert_invalid(&put_resource(&app, req).await.unwrap_err(), "resource_type");

        let err = app.resource_tags(bad, "c1").await.unwrap_err();
        assert_invalid(&err, "resource_type");
    }
    // ListProjectTags reads an empty type as "every type", but an unknown one is refused.
    let req = pb::ListProjectTagsRequest {
        resource_type: "nope".into(),
        ..Default::default()
    };
    assert_invalid(
        &list_project_tags(&app, req).await.unwrap_err(),
        "resource_type",
    );
    // The qualified name is accepted as well as the short one.
    let mut req = tag_request(&["c1"], &[("k", "v")]);
    req.resource_type = "ALIYUN::CS::CLUSTER".into();
    tag_with(&app, &app.token, req).await.unwrap();
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("k", "v")])
    );
}

async fn list_tag_resources_needs_resource_ids_or_tags(b: Backend) {
    let app = TestApp::spawn(b).await;
    let req = pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        ..Default::default()
    };
    assert_invalid(
        &list_tag_resources(&app, req).await.unwrap_err(),
        "resource_ids",
    );
}

async fn list_tag_resources_takes_at_most_20_filter_tags_and_50_ids(b: Backend) {
    let app = TestApp::spawn(b).await;
    let keys: Vec<String> = (0..21).map(|i| format!("k{i:02}")).collect();
    let filter_tags = |n: usize| keys[..n].iter().map(|k| tag(k, "")).collect::<Vec<_>>();
    let many_ids: Vec<String> = (0..51).map(|i| format!("c{i:02}")).collect();
    let by_tags = |n: usize| pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags: filter_tags(n),
        ..Default::default()
    };
    let by_ids = |n: usize| pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: many_ids[..n].to_vec(),
        ..Default::default()
    };

    assert_invalid(
        &list_tag_resources(&app, by_tags(21)).await.unwrap_err(),
        "tags",
    );
    assert_invalid(
        &list_tag_resources(&app, by_ids(51)).await.unwrap_err(),
        "resource_ids",
    );
    list_tag_resources(&app, by_tags(20))
        .await
        .expect("20 filter tags are allowed");
    list_tag_resources(&app, by_ids(50))
        .await
        .expect("50 resource ids are allowed");
}

async fn tag_resources_takes_1_to_50_resources_and_1_to_20_tags(b: Backend) {
    let app = TestApp::spawn(b).await;
    let many_ids: Vec<String> = (0..51).map(|i| format!("c{i:02}")).collect();
    let id_refs: Vec<&str> = many_ids.iter().map(String::as_str).collect();
    let keys: Vec<String> = (0..21).map(|i| format!("k{i:02}")).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();

    let err = refused_tag(&app, tag_request(&id_refs, &[("k", "v")])).await;
    assert_invalid(&err, "resource_ids");
    let err = refused_tag(&app, tag_request(&["c00"], &pairs)).await;
    assert_invalid(&err, "tags");
    let err = refused_tag(&app, tag_request(&["c00"], &[])).await;
    assert_invalid(&err, "tags");
    let err = refused_tag(&app, tag_request(&[], &[("k", "v")])).await;
    assert_invalid(&err, "resource_ids");
    assert_not_found(&app, "CLUSTER", "c00").await;

    app.tag("CLUSTER", &id_refs[..50], &pairs[..20]).await;
    let expected: Vec<(String, String)> = owned(&pairs[..20]);
    assert_eq!(app.resource_tags("CLUSTER", "c49").await.unwrap(), expected);
    assert_not_found(&app, "CLUSTER", "c50").await;
}

async fn untag_resources_needs_resource_ids_and_tag_keys_or_all(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let req = |resource_ids: &[&str], tag_keys: &[&str], all: bool| pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(resource_ids),
        tag_keys: ids(tag_keys),
        all,
        ..Default::default()
    };
    assert_invalid(
        &untag(&app, req(&["c1"], &[], false)).await.unwrap_err(),
        "tag_keys",
    );
    assert_invalid(
        &untag(&app, req(&[], &["env"], false)).await.unwrap_err(),
        "resource_ids",
    );
    let keys: Vec<String> = (0..21).map(|i| format!("k{i:02}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    assert_invalid(
        &untag(&app, req(&["c1"], &key_refs, false))
            .await
            .unwrap_err(),
        "tag_keys",
    );
    assert_invalid(
        &untag(&app, req(&["c1"], &[" env"], false))
            .await
            .unwrap_err(),
        "tag_keys[0]",
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("env", "dev")])
    );

    untag(&app, req(&["c1"], &key_refs[..20], false))
        .await
        .expect("20 keys are allowed");
    untag(&app, req(&["c1"], &[], true))
        .await
        .expect("`all` without keys is allowed");
    assert!(app.resource_tags("CLUSTER", "c1").await.unwrap().is_empty());
}

async fn page_size_must_be_between_0_and_1000(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    for (size, ok) in [
        (1001, false),
        (-1, false),
        (i32::MIN, false),
        (i32::MAX, false),
        (1000, true),
        (0, true),
        (1, true),
    ] {
        let tag_rows = list_tag_resources(
            &app,
            pb::ListTagResourcesRequest {
                resource_type: "CLUSTER".into(),
                resource_ids: ids(&["c1"]),
                page_size: size,
                ..Default::default()
            },
        )
        .await;
        let resources = list_resources(
            &app,
            pb::ListResourcesRequest {
                resource_type: "CLUSTER".into(),
                page_size: size,
                ..Default::default()
            },
        )
        .await;
        let keys = list_project_tags(
            &app,
            pb::ListProjectTagsRequest {
                page_size: size,
                ..Default::default()
            },
        )
        .await;
        if ok {
            assert_eq!(tag_rows.expect("tag rows").tag_resources.len(), 1, "{size}");
            assert_eq!(resources.expect("resources").resources.len(), 1, "{size}");
            assert_eq!(keys.expect("project tags").tags.len(), 1, "{size}");
        } else {
            assert_invalid(&tag_rows.unwrap_err(), "page_size");
            assert_invalid(&resources.unwrap_err(), "page_size");
            assert_invalid(&keys.unwrap_err(), "page_size");
        }
    }
}

async fn resource_ids_and_names_are_at_most_256_characters(b: Backend) {
    let app = TestApp::spawn(b).await;
    let err = put_resource(&app, put_req("t1", &"n".repeat(257)))
        .await
        .unwrap_err();
    assert_invalid(&err, "name");
    let err = put_resource(&app, put_req(&"i".repeat(257), ""))
        .await
        .unwrap_err();
    assert_invalid(&err, "resource_id");
    let err = put_resource(&app, put_req("t1", " padded"))
        .await
        .unwrap_err();
    assert_invalid(&err, "name");
    let err = put_resource(&app, put_req("", "")).await.unwrap_err();
    assert_invalid(&err, "resource_id");
    assert_not_found(&app, "smn_topic", "t1").await;

    let longest_name = "名".repeat(256);
    let longest_id = "i".repeat(256);
    let put = put_resource(&app, put_req(&longest_id, &longest_name))
        .await
        .expect("256 characters are allowed");
    assert_eq!(
        (put.resource_id.as_str(), put.name.as_str()),
        (longest_id.as_str(), longest_name.as_str())
    );
    let err = refused_tag(&app, tag_request(&[&"i".repeat(257)], &[("k", "v")])).await;
    assert_invalid(&err, "resource_ids[0]");
}

async fn resource_id_type_must_be_a_known_value(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("smn_topic", &["t1"], &[("k", "v")]).await;
    let req = |kind: i32| pb::ListResourceTagsRequest {
        resource_type: "smn_topic".into(),
        resource_id: "t1".into(),
        resource_id_type: kind,
        ..Default::default()
    };
    for bad in [7, 3, -1] {
        let err = app
            .client
            .clone()
            .list_resource_tags(authed(&app.token, req(bad)))
            .await
            .unwrap_err();
        assert_invalid(&err, "resource_id_type");
    }
    for good in [0, 1] {
        let tags = app
            .client
            .clone()
            .list_resource_tags(authed(&app.token, req(good)))
            .await
            .expect("a known id type")
            .into_inner()
            .tags;
        assert_eq!(tags, vec![tag("k", "v")]);
    }
    // By name, an empty name is refused as the resource_id.
    let by_name = pb::ListResourceTagsRequest {
        resource_type: "smn_topic".into(),
        resource_id: String::new(),
        resource_id_type: pb::ResourceIdType::Name as i32,
        ..Default::default()
    };
    let err = app
        .client
        .clone()
        .list_resource_tags(authed(&app.token, by_name))
        .await
        .unwrap_err();
    assert_invalid(&err, "resource_id");
}

async fn without_authentication_project_id_is_required_and_well_formed(b: Backend) {
    let app = TestApp::spawn_with(b, &["--insecure-no-auth"]).await;
    let too_long = "p".repeat(65);
    for bad in ["", "a b", "p/1", "p1 ", "ü", too_long.as_str()] {
        let mut req = tag_request(&["c1"], &[("k", "v")]);
        req.project_id = bad.into();
        let err = app
            .client
            .clone()
            .tag_resources(Request::new(req))
            .await
            .unwrap_err();
        assert_invalid(&err, "project_id");

        let req = pb::ListResourceTagsRequest {
            project_id: bad.into(),
            resource_type: "CLUSTER".into(),
            resource_id: "c1".into(),
            ..Default::default()
        };
        let err = app
            .client
            .clone()
            .list_resource_tags(Request::new(req))
            .await
            .unwrap_err();
        assert_invalid(&err, "project_id");
    }

    let good = "Proj-1_x.y";
    let longest = "p".repeat(64);
    for project in [good, longest.as_str()] {
        let mut req = tag_request(&["c1"], &[("k", "v")]);
        req.project_id = project.into();
        app.client
            .clone()
            .tag_resources(Request::new(req))
            .await
            .expect("a well-formed project id");
        let req = pb::ListResourceTagsRequest {
            project_id: project.into(),
            resource_type: "CLUSTER".into(),
            resource_id: "c1".into(),
            ..Default::default()
        };
        let tags = app
            .client
            .clone()
            .list_resource_tags(Request::new(req))
            .await
            .expect("the resource was registered")
            .into_inner()
            .tags;
        assert_eq!(tags, vec![tag("k", "v")]);
    }
}

both_backends!(
    unknown_or_missing_resource_types_are_refused,
    list_tag_resources_needs_resource_ids_or_tags,
    list_tag_resources_takes_at_most_20_filter_tags_and_50_ids,
    tag_resources_takes_1_to_50_resources_and_1_to_20_tags,
    untag_resources_needs_resource_ids_and_tag_keys_or_all,
    page_size_must_be_between_0_and_1000,
    resource_ids_and_names_are_at_most_256_characters,
    resource_id_type_must_be_a_known_value,
    without_authentication_project_id_is_required_and_well_formed,
);
