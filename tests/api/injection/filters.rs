//! Wildcards, quotes and reserved prefixes in filters, names and removals match only themselves.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::{Backend, TestApp, answer, authed, ids, pb, tag};

async fn grpc_resources(app: &TestApp, req: pb::ListResourcesRequest) -> Vec<String> {
    let found = app
        .client
        .clone()
        .list_resources(authed(&app.token, req))
        .await
        .unwrap_or_else(|e| panic!("gRPC ListResources: {e:?}"))
        .into_inner()
        .resources;
    sorted(found.into_iter().map(|r| r.resource_id).collect())
}

async fn wildcards_and_quotes_in_filters_names_and_removals_match_only_themselves(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (rtype, key) = ("smn_topic", "k");
    // Values a LIKE or GLOB pattern among them would also match.
    let values = [
        "%", "_", "x", "ab", "a_b", "a%b", "aXb", "[a]", "a", "*", "?", "'", "''",
    ];
    for (i, value) in values.iter().enumerate() {
        let put = pb::PutResourceRequest {
            resource_type: rtype.into(),
            resource_id: format!("r{i}"),
            name: (*value).into(),
            ..Default::default()
        };
        app.client
            .clone()
            .put_resource(authed(&app.token, put))
            .await
            .expect("PutResource");
        app.tag(rtype, &[&format!("r{i}")], &[(key, value)]).await;
    }
    let id_of = |value: &str| {
        format!(
            "r{}",
            values.iter().position(|v| *v == value).expect("a value")
        )
    };

    for value in values {
        let only = [id_of(value)];
        for face in FACES {
            assert_eq!(
                ids_with_tag(&app, face, rtype, key, value).await,
                only,
                "{face:?} value {value:?}"
            );
        }
        // By name: the SMN header, gRPC's name addressing and `matches`.
        let url = v2(&format!("{rtype}/{}/tags", segment(value)));
        let a = answer(
            app.rest()
                .get(url)
                .header("x-auth-token", &app.token)
                .header("x-smn-resourceid-type", "name"),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "name {value:?}: {}", a.body);
        assert_eq!(
            smn_pairs(&a.body["tags"]),
            [pair(key, value)],
            "name {value:?}"
        );
        let req = pb::ListResourceTagsRequest {
            resource_type: rtype.into(),
            resource_id: value.into(),
            resource_id_type: pb::ResourceIdType::Name.into(),
            ..Default::default()
        };
        let tags = app
            .client
            .clone()
            .list_resource_tags(authed(&app.token, req))
            .await
            .expect("by name")
            .into_inner()
            .tags;
        assert_eq!(tags, [tag(key, value)], "gRPC name {value:?}");
        let matches =
            json!({"action": "filter", "matches": [{"key": "resource_name", "value": value}]});
        assert_eq!(
            smn_filter(&app, rtype, &matches).await,
            only,
            "SMN matches {value:?}"
        );
        let req = pb::ListResourcesRequest {
            resource_type: rtype.into(),
            matches: vec![pb::Match {
                key: "resource_name".into(),
                value: value.into(),
            }],
            ..Default::default()
        };
        assert_eq!(
            grpc_resources(&app, req).await,
            only,
            "gRPC matches {value:?}"
        );
        // Excluding the one value leaves every other resource.
        let not = json!({"action": "count", "not_tags": [{"key": key, "values": [value]}]});
        let a = smn_instances(&app, rtype, &not).await;
        assert_eq!(
            a.body["total_count"],
            values.len() - 1,
            "not_tags {value:?}: {}",
            a.body
        );
    }
    // A wildcard key matches no other key, with any value.
    for face in FACES {
        assert!(
            ids_with_tag(&app, face, rtype, "%", "").await.is_empty(),
            "{face:?} key %"
        );
        assert!(
            ids_with_tag(&app, face, rtype, "_", "").await.is_empty(),
            "{face:?} key _"
        );
    }

    // Removing the key `%` or `_` removes only that key.
    let hostile_keys = ["%", "_", "k%", "_k", "'; DROP TABLE tags; --", "k"];
    let all: Vec<(&str, &str)> = hostile_keys.iter().map(|k| (*k, "v")).collect();
    app.tag("CLUSTER", &["c1"], &all).await;
    let remaining = |gone: &[&str]| {
        sorted(
            hostile_keys
                .iter()
                .filter(|k| !gone.contains(k))
                .map(|k| pair(k, "v"))
                .collect::<Vec<_>>(),
        )
    };
    let a = answer(
        app.rest()
            .delete("/tags")
            .header("x-auth-token", &app.token)
            .query(&[
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("tag_keys", r#"["%"]"#),
            ]),
    )
    .await;
    ok(&a);
    assert_eq!(
        sorted(app.resource_tags("CLUSTER", "c1").await.unwrap()),
        remaining(&["%"])
    );
    let a = answer(
        app.rest()
            .post(v2("CLUSTER/c1/tags/action"))
            .header("x-auth-token", &app.token)
            .json(&json!({"action": "delete", "tags": [{"key": "_"}]})),
    )
    .await;
    ok(&a);
    assert_eq!(
        sorted(app.resource_tags("CLUSTER", "c1").await.unwrap()),
        remaining(&["%", "_"])
    );
    for (i, key) in ["k%", "_k"].into_iter().enumerate() {
        let url = v2(&format!("CLUSTER/c1/tags/{}", segment(key)));
        ok(&answer(app.rest().delete(url).header("x-auth-token", &app.token)).await);
        let gone = &["%", "_", "k%", "_k"][..3 + i];
        assert_eq!(
            sorted(app.resource_tags("CLUSTER", "c1").await.unwrap()),
            remaining(gone)
        );
    }
    let req = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1"]),
        tag_keys: ids(&["'; DROP TABLE tags; --"]),
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, req))
        .await
        .expect("UntagResources");
    assert_eq!(
        sorted(app.resource_tags("CLUSTER", "c1").await.unwrap()),
        remaining(&["%", "_", "k%", "_k", "'; DROP TABLE tags; --"])
    );
}

async fn reserved_prefixes_are_literal_prefixes_not_patterns(b: Backend) {
    let app = TestApp::spawn(b).await;
    // `_sys_` read as a LIKE pattern would hide `xsysy…`. (Case does not matter: `ACS:` is as
    // reserved as `acs:`, see system_tags.rs.)
    let visible = ["xsysy-looks-reserved", "_sysX", "acs", "aliyu"];
    let tags: Vec<(&str, &str)> = visible.iter().map(|k| (*k, "v")).collect();
    app.tag("CLUSTER", &["c1"], &tags).await;
    let expected = sorted(visible.iter().map(|k| pair(k, "v")).collect::<Vec<_>>());
    for face in FACES {
        assert_eq!(
            sorted(tags_via(&app, face, "CLUSTER", "c1").await),
            expected,
            "{face:?}"
        );
    }
}

both_backends!(
    wildcards_and_quotes_in_filters_names_and_removals_match_only_themselves,
    reserved_prefixes_are_literal_prefixes_not_patterns,
);
