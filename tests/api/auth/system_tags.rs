//! System tags: visible only to system tokens, and outside the per-resource limit.

use super::*;
use crate::helpers::{Backend, PROJECT, TestApp, assert_invalid, authed, ids, owned, pb};

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

both_backends!(
    system_tags_are_visible_only_to_system_tokens,
    system_tags_do_not_count_toward_the_per_resource_limit,
);
