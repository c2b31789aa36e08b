//! TagResources, UntagResources, ListResourceTags and ListTagResources semantics.

use tonic::Code;

use crate::helpers::{Backend, TestApp, authed, ids, pb, tag};

fn pairs(rows: &[pb::TagResource]) -> Vec<(&str, &str, &str)> {
    rows.iter()
        .map(|r| {
            (
                r.resource_id.as_str(),
                r.tag_key.as_str(),
                r.tag_value.as_str(),
            )
        })
        .collect()
}

async fn list(app: &TestApp, resource_ids: &[&str], tags: &[(&str, &str)]) -> Vec<pb::TagResource> {
    let req = pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(resource_ids),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        ..Default::default()
    };
    app.client
        .clone()
        .list_tag_resources(authed(&app.token, req))
        .await
        .expect("list")
        .into_inner()
        .tag_resources
}

async fn tagged_resources_list_every_visible_tag_in_the_acks_shape(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1", "c2"], &[("env", "dev"), ("dep", "IT")])
        .await;
    app.tag("CLUSTER", &["c3"], &[("env", "prod")]).await;

    let rows = list(&app, &["c1", "c2"], &[("env", "dev"), ("dep", "IT")]).await;
    assert_eq!(
        pairs(&rows),
        [
            ("c1", "dep", "IT"),
            ("c1", "env", "dev"),
            ("c2", "dep", "IT"),
            ("c2", "env", "dev")
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.resource_type == "ALIYUN::CS::CLUSTER")
    );
}

async fn a_filter_with_an_empty_value_matches_the_key_with_any_value(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    app.tag("CLUSTER", &["c2"], &[("env", "prod"), ("team", "a")])
        .await;
    app.tag("CLUSTER", &["c3"], &[("team", "a")]).await;

    let rows = list(&app, &[], &[("env", "")]).await;
    assert_eq!(
        pairs(&rows),
        [
            ("c1", "env", "dev"),
            ("c2", "env", "prod"),
            ("c2", "team", "a")
        ]
    );
}

async fn several_filter_tags_must_all_match_and_ids_intersect(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1", "c2", "c3"], &[("env", "dev")])
        .await;
    app.tag("CLUSTER", &["c2", "c3"], &[("team", "a")]).await;

    let both = list(&app, &[], &[("env", "dev"), ("team", "a")]).await;
    assert_eq!(
        pairs(&both).iter().map(|p| p.0).collect::<Vec<_>>(),
        ["c2", "c2", "c3", "c3"]
    );
    let intersected = list(&app, &["c1", "c3"], &[("team", "a")]).await;
    assert_eq!(
        pairs(&intersected),
        [("c3", "env", "dev"), ("c3", "team", "a")]
    );
    assert!(list(&app, &["c1"], &[("env", "prod")]).await.is_empty());
}

async fn tagging_overwrites_the_value_of_an_existing_key(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("smn_topic", &["t1"], &[("env", "dev"), ("a", "1")])
        .await;
    app.tag("smn_topic", &["t1"], &[("env", "prod")]).await;
    let tags = app.resource_tags("smn_topic", "t1").await.unwrap();
    assert_eq!(
        tags,
        [("a".into(), "1".into()), ("env".into(), "prod".into())]
    );
}

async fn unknown_resources_are_not_found_and_untagged_ones_are_empty(b: Backend) {
    let app = TestApp::spawn(b).await;
    let missing = app.resource_tags("smn_topic", "nope").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let put = pb::PutResourceRequest {
        resource_type: "smn_topic".into(),
        resource_id: "t1".into(),
        ..Default::default()
    };
    app.client
        .clone()
        .put_resource(authed(&app.token, put))
        .await
        .unwrap();
    assert!(
        app.resource_tags("smn_topic", "t1")
            .await
            .unwrap()
            .is_empty()
    );

    app.tag("smn_topic", &["t2"], &[("k", "v")]).await;
    let untag = pb::UntagResourcesRequest {
        resource_type: "smn_topic".into(),
        resource_ids: ids(&["t2"]),
        all: true,
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, untag))
        .await
        .unwrap();
    assert!(
        app.resource_tags("smn_topic", "t2")
            .await
            .unwrap()
            .is_empty(),
        "the resource stays registered"
    );
}

async fn untagging_removes_named_keys_and_ignores_absent_ones(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag(
        "smn_sms",
        &["s1", "s2"],
        &[("a", "1"), ("b", "2"), ("c", "3")],
    )
    .await;
    let untag = pb::UntagResourcesRequest {
        resource_type: "smn_sms".into(),
        resource_ids: ids(&["s1", "s2", "never-tagged"]),
        tag_keys: ids(&["a", "c", "absent"]),
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, untag))
        .await
        .expect("absent keys are not an error");
    for id in ["s1", "s2"] {
        assert_eq!(
            app.resource_tags("smn_sms", id).await.unwrap(),
            [("b".into(), "2".into())]
        );
    }
}

/// Tags `c=1, d=1` on `resource_ids`: refused as over the tag limit, naming `offender`.
async fn refused_over_the_limit(app: &TestApp, resource_ids: &[&str], offender: &str) {
    let req = pb::TagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(resource_ids),
        tags: vec![tag("c", "1"), tag("d", "1")],
        ..Default::default()
    };
    let err = app
        .client
        .clone()
        .tag_resources(authed(&app.token, req))
        .await
        .unwrap_err();
    crate::helpers::assert_invalid(&err, "tags");
    assert!(err.message().contains(offender), "{}", err.message());
}

async fn a_batch_over_the_per_resource_limit_changes_nothing(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-tags-per-resource", "3"]).await;
    app.tag("CLUSTER", &["c1"], &[("a", "1"), ("b", "1")]).await;
    app.tag("CLUSTER", &["c2"], &[("x", "1")]).await;
    refused_over_the_limit(&app, &["c2", "c1", "c3"], "c1").await;
    // All or nothing: neither c2 nor the new c3 changed.
    assert_eq!(
        app.resource_tags("CLUSTER", "c2").await.unwrap(),
        [("x".into(), "1".into())]
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c3").await.unwrap_err().code(),
        Code::NotFound
    );
}

/// New resources carry the write's tags alone; more of them than the limit still refuse it.
async fn new_resources_over_the_per_resource_limit_are_refused(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-tags-per-resource", "1"]).await;
    app.tag("CLUSTER", &["c1"], &[("a", "1")]).await;
    refused_over_the_limit(&app, &["n2", "n1"], "n1").await;
    for id in ["n1", "n2"] {
        assert_eq!(
            app.resource_tags("CLUSTER", id).await.unwrap_err().code(),
            Code::NotFound
        );
    }
}

/// The first write of a scope registers it; refused, it leaves no scope behind for the next
/// write to use (the process keeps only scope keys read from committed rows).
async fn a_scope_registered_by_a_refused_write_is_registered_again(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-tags-per-resource", "1"]).await;
    refused_over_the_limit(&app, &["n1"], "n1").await;
    app.tag("CLUSTER", &["n1"], &[("a", "1")]).await;
    app.tag("CLUSTER", &["n2"], &[("a", "1")]).await;
    let rows = list(&app, &[], &[("a", "1")]).await;
    let listed: Vec<&str> = rows.iter().map(|r| r.resource_id.as_str()).collect();
    assert_eq!(listed, ["n1", "n2"]);
}

async fn values_round_trip_byte_exact(b: Backend) {
    let app = TestApp::spawn(b).await;
    let tricky = [
        ("quote'\"", "'; DROP TABLE tags; --"),
        ("percent%_", "100%_match"),
        ("中文键", "值 with spaces and ✓ emoji 🎉"),
        ("back\\slash", ""),
    ];
    app.tag("CLUSTER", &["weird id 'x'"], &tricky).await;
    let mut expected: Vec<(String, String)> = tricky
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    expected.sort();
    assert_eq!(
        app.resource_tags("CLUSTER", "weird id 'x'").await.unwrap(),
        expected
    );
    // `%` and `_` are data, never patterns.
    let rows = list(&app, &[], &[("percent%_", "100%_match")]).await;
    assert_eq!(rows.len(), 4);
    assert!(list(&app, &[], &[("percent%_", "100%")]).await.is_empty());
}

both_backends!(
    tagged_resources_list_every_visible_tag_in_the_acks_shape,
    a_filter_with_an_empty_value_matches_the_key_with_any_value,
    several_filter_tags_must_all_match_and_ids_intersect,
    tagging_overwrites_the_value_of_an_existing_key,
    unknown_resources_are_not_found_and_untagged_ones_are_empty,
    untagging_removes_named_keys_and_ignores_absent_ones,
    a_batch_over_the_per_resource_limit_changes_nothing,
    new_resources_over_the_per_resource_limit_are_refused,
    a_scope_registered_by_a_refused_write_is_registered_again,
    values_round_trip_byte_exact,
);
