//! The filters of ListResources and CountResources: what they match, duplicates, bounds and
//! combinations.

use tonic::Status;

use super::*;
use crate::helpers::{Backend, TestApp, assert_invalid, authed, pb};

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

both_backends!(
    resource_filters_match_only_the_resource_name,
    resource_filters_refuse_duplicate_keys_and_values,
    resource_filters_take_at_most_20_entries_and_20_values,
    without_any_tag_cannot_be_combined_with_tag_filters,
);
