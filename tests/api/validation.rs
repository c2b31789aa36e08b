//! Request validation: every rule refuses bad input with INVALID_ARGUMENT whose message and
//! google.rpc.BadRequest details name the field at fault, and a refused request changes nothing.

use tagging_service::proto::pb;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

use crate::helpers::{Backend, PROJECT, TestApp, assert_invalid, authed, ids, tag};

fn tag_req(resource_ids: &[&str], tags: &[(&str, &str)]) -> pb::TagResourcesRequest {
    pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: "CLUSTER".into(),
        resource_ids: ids(resource_ids),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
    }
}

fn filter(key: &str, values: &[&str]) -> pb::TagFilter {
    pb::TagFilter {
        key: key.into(),
        values: ids(values),
    }
}

async fn tag_with(app: &TestApp, token: &str, req: pb::TagResourcesRequest) -> Result<(), Status> {
    app.client
        .clone()
        .tag_resources(authed(token, req))
        .await
        .map(|_| ())
}

/// TagResources with the app's token; answers the refusal.
async fn refused_tag(app: &TestApp, req: pb::TagResourcesRequest) -> Status {
    let shown = format!("{req:?}");
    match tag_with(app, &app.token, req).await {
        Ok(()) => panic!("should be refused: {shown}"),
        Err(e) => e,
    }
}

async fn untag(app: &TestApp, req: pb::UntagResourcesRequest) -> Result<(), Status> {
    app.client
        .clone()
        .untag_resources(authed(&app.token, req))
        .await
        .map(|_| ())
}

async fn list_tag_resources(
    app: &TestApp,
    req: pb::ListTagResourcesRequest,
) -> Result<pb::ListTagResourcesResponse, Status> {
    app.client
        .clone()
        .list_tag_resources(authed(&app.token, req))
        .await
        .map(tonic::Response::into_inner)
}

async fn list_resources(
    app: &TestApp,
    req: pb::ListResourcesRequest,
) -> Result<pb::ListResourcesResponse, Status> {
    app.client
        .clone()
        .list_resources(authed(&app.token, req))
        .await
        .map(tonic::Response::into_inner)
}

async fn count_resources(
    app: &TestApp,
    req: pb::CountResourcesRequest,
) -> Result<pb::CountResourcesResponse, Status> {
    app.client
        .clone()
        .count_resources(authed(&app.token, req))
        .await
        .map(tonic::Response::into_inner)
}

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

async fn put_resource(app: &TestApp, req: pb::PutResourceRequest) -> Result<pb::Resource, Status> {
    app.client
        .clone()
        .put_resource(authed(&app.token, req))
        .await
        .map(|r| r.into_inner().resource.expect("a resource"))
}

fn put_req(id: &str, name: &str) -> pb::PutResourceRequest {
    pb::PutResourceRequest {
        resource_type: "smn_topic".into(),
        resource_id: id.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn violated_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

async fn assert_not_found(app: &TestApp, resource_type: &str, id: &str) {
    let err = app
        .resource_tags(resource_type, id)
        .await
        .expect_err("the resource should not exist");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}

async fn tag_keys_must_be_one_to_128_characters_without_surrounding_space(b: Backend) {
    let app = TestApp::spawn(b).await;
    let too_long = "k".repeat(129);
    for bad in ["", "   ", " env", "env ", "\tenv", too_long.as_str()] {
        let err = refused_tag(&app, tag_req(&["c1"], &[(bad, "v")])).await;
        assert_invalid(&err, "tags[0].key");
    }
    assert_not_found(&app, "CLUSTER", "c1").await;

    let longest = "k".repeat(128);
    app.tag("CLUSTER", &["c1"], &[(&longest, "v")]).await;
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[(&longest, "v")])
    );
}

async fn key_length_counts_characters_not_bytes(b: Backend) {
    let app = TestApp::spawn(b).await;
    // 128 characters, 256 bytes.
    let accented = "é".repeat(128);
    app.tag("CLUSTER", &["c1"], &[(&accented, "v")]).await;
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[(&accented, "v")])
    );

    let one_more = "é".repeat(129);
    let err = refused_tag(&app, tag_req(&["c2"], &[(&one_more, "v")])).await;
    assert_invalid(&err, "tags[0].key");
    assert_not_found(&app, "CLUSTER", "c2").await;
}

async fn tag_values_may_be_empty_or_up_to_255_characters(b: Backend) {
    let app = TestApp::spawn(b).await;
    let longest = "中".repeat(255);
    app.tag("CLUSTER", &["c1"], &[("long", &longest), ("empty", "")])
        .await;
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("empty", ""), ("long", &longest)])
    );

    for too_long in ["v".repeat(256), "中".repeat(256)] {
        let err = refused_tag(&app, tag_req(&["c2"], &[("k", &too_long)])).await;
        assert_invalid(&err, "tags[0].value");
    }
    assert_not_found(&app, "CLUSTER", "c2").await;
}

async fn control_characters_are_refused_in_keys_values_and_resource_ids(b: Backend) {
    let app = TestApp::spawn(b).await;
    for bad in ["a\u{0}b", "a\nb", "a\u{7f}b", "a\u{1b}b"] {
        let err = refused_tag(&app, tag_req(&["c1"], &[(bad, "v")])).await;
        assert_invalid(&err, "tags[0].key");
        let err = refused_tag(&app, tag_req(&["c1"], &[("k", bad)])).await;
        assert_invalid(&err, "tags[0].value");
        let err = refused_tag(&app, tag_req(&[bad], &[("k", "v")])).await;
        assert_invalid(&err, "resource_ids[0]");

        let err = put_resource(&app, put_req(bad, "")).await.unwrap_err();
        assert_invalid(&err, "resource_id");
        let err = put_resource(&app, put_req("t1", bad)).await.unwrap_err();
        assert_invalid(&err, "name");
        let err = app.resource_tags("smn_topic", bad).await.unwrap_err();
        assert_invalid(&err, "resource_id");

        let untag_req = pb::UntagResourcesRequest {
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&["c1"]),
            tag_keys: ids(&[bad]),
            ..Default::default()
        };
        assert_invalid(&untag(&app, untag_req).await.unwrap_err(), "tag_keys[0]");
    }
    assert_not_found(&app, "CLUSTER", "c1").await;
    assert_not_found(&app, "smn_topic", "t1").await;
}

async fn unknown_or_missing_resource_types_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    for bad in ["nope", "", "cluster ", "ALIYUN::CS::"] {
        let mut req = tag_req(&["c1"], &[("k", "v")]);
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
    let mut req = tag_req(&["c1"], &[("k", "v")]);
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

    let err = refused_tag(&app, tag_req(&id_refs, &[("k", "v")])).await;
    assert_invalid(&err, "resource_ids");
    let err = refused_tag(&app, tag_req(&["c00"], &pairs)).await;
    assert_invalid(&err, "tags");
    let err = refused_tag(&app, tag_req(&["c00"], &[])).await;
    assert_invalid(&err, "tags");
    let err = refused_tag(&app, tag_req(&[], &[("k", "v")])).await;
    assert_invalid(&err, "resource_ids");
    assert_not_found(&app, "CLUSTER", "c00").await;

    app.tag("CLUSTER", &id_refs[..50], &pairs[..20]).await;
    let expected: Vec<(String, String)> = owned(&pairs[..20]);
    assert_eq!(app.resource_tags("CLUSTER", "c49").await.unwrap(), expected);
    assert_not_found(&app, "CLUSTER", "c50").await;
}

async fn duplicate_keys_and_resource_ids_are_named_by_index(b: Backend) {
    let app = TestApp::spawn(b).await;
    let err = refused_tag(&app, tag_req(&["c1"], &[("env", "a"), ("env", "b")])).await;
    assert_invalid(&err, "tags[1].key");
    let err = refused_tag(&app, tag_req(&["c1", "c1"], &[("env", "a")])).await;
    assert_invalid(&err, "resource_ids[1]");
    let err = refused_tag(&app, tag_req(&["c1", "c2", "c1"], &[("env", "a")])).await;
    assert_invalid(&err, "resource_ids[2]");
    assert_not_found(&app, "CLUSTER", "c1").await;

    let req = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1", "c1"]),
        all: true,
        ..Default::default()
    };
    assert_invalid(&untag(&app, req).await.unwrap_err(), "resource_ids[1]");
    let req = pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags: vec![tag("env", "a"), tag("env", "b")],
        ..Default::default()
    };
    assert_invalid(
        &list_tag_resources(&app, req).await.unwrap_err(),
        "tags[1].key",
    );
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

async fn reserved_prefixes_are_written_only_with_a_system_token(b: Backend) {
    let app = TestApp::spawn(b).await;
    let system = app.token_for(PROJECT, false, true).await;
    for key in ["acs:x", "aliyunfoo", "_sys_x"] {
        let err = refused_tag(&app, tag_req(&["c1"], &[(key, "v")])).await;
        assert_invalid(&err, "tags[0].key");
        assert!(err.message().contains("reserved"), "{}", err.message());
    }
    assert_not_found(&app, "CLUSTER", "c1").await;

    let req = tag_req(
        &["c1"],
        &[("acs:x", "1"), ("aliyunfoo", "2"), ("_sys_x", "3")],
    );
    tag_with(&app, &system, req)
        .await
        .expect("a system token writes reserved keys");
    let listed = pb::ListResourceTagsRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "c1".into(),
        ..Default::default()
    };
    let tags = app
        .client
        .clone()
        .list_resource_tags(authed(&system, listed))
        .await
        .unwrap()
        .into_inner()
        .tags;
    let tags: Vec<(String, String)> = tags.into_iter().map(|t| (t.key, t.value)).collect();
    assert_eq!(
        tags,
        owned(&[("_sys_x", "3"), ("acs:x", "1"), ("aliyunfoo", "2")])
    );

    // Nor may a normal token remove them by name.
    let req = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1"]),
        tag_keys: ids(&["env", "acs:x"]),
        ..Default::default()
    };
    assert_invalid(&untag(&app, req).await.unwrap_err(), "tag_keys[1]");
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

async fn resource_filters_match_only_the_resource_name(b: Backend) {
    let app = TestApp::spawn(b).await;
    let matches = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(k, v)| pb::Match {
                key: (*k).into(),
                value: (*v).into(),
            })
            .collect::<Vec<_>>()
    };
    for (list, field) in [
        (matches(&[("name", "x")]), "matches[0].key"),
        (matches(&[("resource_id", "x")]), "matches[0].key"),
        (
            matches(&[("resource_name", "x"), ("resource_name", "y")]),
            "matches[1].key",
        ),
        (matches(&[("resource_name", "")]), "matches[0].value"),
        (
            matches(&[("resource_name", &"n".repeat(257))]),
            "matches[0].value",
        ),
    ] {
        let req = pb::ListResourcesRequest {
            resource_type: "smn_topic".into(),
            matches: list.clone(),
            ..Default::default()
        };
        assert_invalid(&list_resources(&app, req).await.unwrap_err(), field);
        let req = pb::CountResourcesRequest {
            resource_type: "smn_topic".into(),
            matches: list,
            ..Default::default()
        };
        assert_invalid(&count_resources(&app, req).await.unwrap_err(), field);
    }
}

async fn resource_filters_refuse_duplicate_keys_and_values(b: Backend) {
    let app = TestApp::spawn(b).await;
    let dup_keys = vec![filter("env", &["dev"]), filter("env", &["prod"])];
    let dup_values = vec![filter("env", &["dev", "dev"])];
    for (list, suffix) in [(dup_keys, "[1].key"), (dup_values, "[0].values[1]")] {
        for field in ["tags", "tags_any", "not_tags", "not_tags_any"] {
            let mut req = pb::ListResourcesRequest {
                resource_type: "smn_topic".into(),
                ..Default::default()
            };
            match field {
                "tags" => req.tags = list.clone(),
                "tags_any" => req.tags_any = list.clone(),
                "not_tags" => req.not_tags = list.clone(),
                _ => req.not_tags_any = list.clone(),
            }
            let expected = format!("{field}{suffix}");
            let err = list_resources(&app, req.clone()).await.unwrap_err();
            assert_invalid(&err, &expected);
            let count = pb::CountResourcesRequest {
                resource_type: req.resource_type,
                tags: req.tags,
                tags_any: req.tags_any,
                not_tags: req.not_tags,
                not_tags_any: req.not_tags_any,
                ..Default::default()
            };
            assert_invalid(&count_resources(&app, count).await.unwrap_err(), &expected);
        }
    }
}

async fn resource_filters_take_at_most_20_entries_and_20_values(b: Backend) {
    let app = TestApp::spawn(b).await;
    let keys: Vec<String> = (0..21).map(|i| format!("k{i:02}")).collect();
    let entries: Vec<pb::TagFilter> = keys.iter().map(|k| filter(k, &[])).collect();
    let values: Vec<&str> = keys.iter().map(String::as_str).collect();

    let req = pb::ListResourcesRequest {
        resource_type: "smn_topic".into(),
        tags_any: entries.clone(),
        ..Default::default()
    };
    assert_invalid(&list_resources(&app, req).await.unwrap_err(), "tags_any");
    let req = pb::ListResourcesRequest {
        resource_type: "smn_topic".into(),
        tags: vec![filter("env", &values)],
        ..Default::default()
    };
    assert_invalid(
        &list_resources(&app, req).await.unwrap_err(),
        "tags[0].values",
    );

    let req = pb::ListResourcesRequest {
        resource_type: "smn_topic".into(),
        tags_any: entries[..20].to_vec(),
        not_tags: vec![filter("env", &values[..20])],
        ..Default::default()
    };
    list_resources(&app, req)
        .await
        .expect("20 entries of 20 values are allowed");
}

async fn without_any_tag_cannot_be_combined_with_tag_filters(b: Backend) {
    let app = TestApp::spawn(b).await;
    let env = vec![filter("env", &[])];
    for field in ["tags", "tags_any", "not_tags", "not_tags_any"] {
        let mut req = pb::ListResourcesRequest {
            resource_type: "smn_topic".into(),
            without_any_tag: true,
            ..Default::default()
        };
        match field {
            "tags" => req.tags = env.clone(),
            "tags_any" => req.tags_any = env.clone(),
            "not_tags" => req.not_tags = env.clone(),
            _ => req.not_tags_any = env.clone(),
        }
        let err = list_resources(&app, req).await.unwrap_err();
        assert_invalid(&err, "without_any_tag");
        assert!(err.message().contains(field), "{}", err.message());
    }
    let req = pb::CountResourcesRequest {
        resource_type: "smn_topic".into(),
        without_any_tag: true,
        tags: env.clone(),
        ..Default::default()
    };
    assert_invalid(
        &count_resources(&app, req).await.unwrap_err(),
        "without_any_tag",
    );
    // Alone, or with a name match, it is fine.
    let req = pb::ListResourcesRequest {
        resource_type: "smn_topic".into(),
        without_any_tag: true,
        matches: vec![pb::Match {
            key: "resource_name".into(),
            value: "n".into(),
        }],
        ..Default::default()
    };
    list_resources(&app, req)
        .await
        .expect("without_any_tag with a name match");
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
    let err = refused_tag(&app, tag_req(&[&"i".repeat(257)], &[("k", "v")])).await;
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
        let mut req = tag_req(&["c1"], &[("k", "v")]);
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
        let mut req = tag_req(&["c1"], &[("k", "v")]);
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

async fn every_violation_of_a_request_is_reported_together(b: Backend) {
    let app = TestApp::spawn(b).await;
    let req = pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: "nope".into(),
        resource_ids: ids(&["c1", "c1"]),
        tags: vec![tag("", "v"), tag("k", "a\u{0}")],
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
        tag_req(&["c1", "c2"], &[("env", "prod"), (" team", "a")]),
    )
    .await;
    assert_invalid(&err, "tags[1].key");
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("env", "dev")])
    );
    assert_not_found(&app, "CLUSTER", "c2").await;

    // One bad id spoils the batch too.
    let err = refused_tag(&app, tag_req(&["c1", "c2", ""], &[("env", "prod")])).await;
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
    tag_keys_must_be_one_to_128_characters_without_surrounding_space,
    key_length_counts_characters_not_bytes,
    tag_values_may_be_empty_or_up_to_255_characters,
    control_characters_are_refused_in_keys_values_and_resource_ids,
    unknown_or_missing_resource_types_are_refused,
    list_tag_resources_needs_resource_ids_or_tags,
    list_tag_resources_takes_at_most_20_filter_tags_and_50_ids,
    tag_resources_takes_1_to_50_resources_and_1_to_20_tags,
    duplicate_keys_and_resource_ids_are_named_by_index,
    untag_resources_needs_resource_ids_and_tag_keys_or_all,
    reserved_prefixes_are_written_only_with_a_system_token,
    page_size_must_be_between_0_and_1000,
    resource_filters_match_only_the_resource_name,
    resource_filters_refuse_duplicate_keys_and_values,
    resource_filters_take_at_most_20_entries_and_20_values,
    without_any_tag_cannot_be_combined_with_tag_filters,
    resource_ids_and_names_are_at_most_256_characters,
    resource_id_type_must_be_a_known_value,
    without_authentication_project_id_is_required_and_well_formed,
    every_violation_of_a_request_is_reported_together,
    a_refused_request_changes_nothing,
);
