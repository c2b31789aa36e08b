//! Tag keys, values and resource ids: lengths in characters, control characters, duplicates and
//! reserved prefixes.

use super::*;
use crate::helpers::{Backend, PROJECT, TestApp, assert_invalid, authed, ids, owned, pb, tag};

async fn tag_keys_must_be_one_to_128_characters_without_surrounding_space(b: Backend) {
    let app = TestApp::spawn(b).await;
    let too_long = "k".repeat(129);
    for bad in ["", "   ", " env", "env ", "\tenv", too_long.as_str()] {
        let err = refused_tag(&app, tag_request(&["c1"], &[(bad, "v")])).await;
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
    let err = refused_tag(&app, tag_request(&["c2"], &[(&one_more, "v")])).await;
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
        let err = refused_tag(&app, tag_request(&["c2"], &[("k", &too_long)])).await;
        assert_invalid(&err, "tags[0].value");
    }
    assert_not_found(&app, "CLUSTER", "c2").await;
}

async fn control_characters_are_refused_in_keys_values_and_resource_ids(b: Backend) {
    let app = TestApp::spawn(b).await;
    for bad in ["a\u{0}b", "a\nb", "a\u{7f}b", "a\u{1b}b"] {
        let err = refused_tag(&app, tag_request(&["c1"], &[(bad, "v")])).await;
        assert_invalid(&err, "tags[0].key");
        let err = refused_tag(&app, tag_request(&["c1"], &[("k", bad)])).await;
        assert_invalid(&err, "tags[0].value");
        let err = refused_tag(&app, tag_request(&[bad], &[("k", "v")])).await;
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

async fn duplicate_keys_and_resource_ids_are_named_by_index(b: Backend) {
    let app = TestApp::spawn(b).await;
    let err = refused_tag(&app, tag_request(&["c1"], &[("env", "a"), ("env", "b")])).await;
    assert_invalid(&err, "tags[1].key");
    let err = refused_tag(&app, tag_request(&["c1", "c1"], &[("env", "a")])).await;
    assert_invalid(&err, "resource_ids[1]");
    let err = refused_tag(&app, tag_request(&["c1", "c2", "c1"], &[("env", "a")])).await;
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

async fn reserved_prefixes_are_written_only_with_a_system_token(b: Backend) {
    let app = TestApp::spawn(b).await;
    let system = app.token_for(PROJECT, false, true).await;
    for key in ["acs:x", "aliyunfoo", "_sys_x"] {
        let err = refused_tag(&app, tag_request(&["c1"], &[(key, "v")])).await;
        assert_invalid(&err, "tags[0].key");
        assert!(err.message().contains("reserved"), "{}", err.message());
    }
    assert_not_found(&app, "CLUSTER", "c1").await;

    let req = tag_request(
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

both_backends!(
    tag_keys_must_be_one_to_128_characters_without_surrounding_space,
    key_length_counts_characters_not_bytes,
    tag_values_may_be_empty_or_up_to_255_characters,
    control_characters_are_refused_in_keys_values_and_resource_ids,
    duplicate_keys_and_resource_ids_are_named_by_index,
    reserved_prefixes_are_written_only_with_a_system_token,
);
