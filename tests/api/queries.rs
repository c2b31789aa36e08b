//! ListResources / CountResources (SMN resource-instance filters) and ListProjectTags, over a small
//! fixture with known tags.

use std::collections::HashSet;

use crate::helpers::{
    Backend, TestApp, authed,
    bulk::{key_filter as kf, walk_resources},
    ids, pb, tag,
};

/// The fixture, CLUSTER resources of project p1, registered in this order:
///
/// | id | name    | tags                        |
/// |----|---------|-----------------------------|
/// | r1 | alpha   | env=prod, team=a            |
/// | r2 | beta    | env=dev, team=b             |
/// | r3 | gamma   | env=test, team=a, tier=gold |
/// | r4 | delta   | team=b                      |
/// | r5 | epsilon | tier=silver                 |
/// | r6 | (none)  | (none)                      |
///
/// Plus, to be left out: smn_topic t1 "alpha" (env=prod) and t2 (env=staging, Owner=ops), and in
/// project p2 a CLUSTER x1 "alpha" (env=prod, team=a, p2key=z).
async fn fixture(b: Backend) -> TestApp {
    let app = TestApp::spawn(b).await;
    let put = |ty: &str, id: &str, name: &str| pb::PutResourceRequest {
        project_id: String::new(),
        resource_type: ty.into(),
        resource_id: id.into(),
        name: name.into(),
        expected_revision: None,
    };
    for (id, name) in [
        ("r1", "alpha"),
        ("r2", "beta"),
        ("r3", "gamma"),
        ("r4", "delta"),
        ("r5", "epsilon"),
        ("r6", ""),
    ] {
        app.client
            .clone()
            .put_resource(authed(&app.token, put("CLUSTER", id, name)))
            .await
            .expect("put");
    }
    app.tag("CLUSTER", &["r1"], &[("team", "a"), ("env", "prod")])
        .await;
    app.tag("CLUSTER", &["r2"], &[("env", "dev"), ("team", "b")])
        .await;
    // Written out of key order, one key at a time.
    app.tag("CLUSTER", &["r3"], &[("tier", "gold")]).await;
    app.tag("CLUSTER", &["r3"], &[("team", "a")]).await;
    app.tag("CLUSTER", &["r3"], &[("env", "test")]).await;
    app.tag("CLUSTER", &["r4"], &[("team", "b")]).await;
    app.tag("CLUSTER", &["r5"], &[("tier", "silver")]).await;

    app.client
        .clone()
        .put_resource(authed(&app.token, put("smn_topic", "t1", "alpha")))
        .await
        .expect("put");
    app.tag("smn_topic", &["t1"], &[("env", "prod")]).await;
    app.tag(
        "smn_topic",
        &["t2"],
        &[("env", "staging"), ("Owner", "ops")],
    )
    .await;

    let p2 = app.token_for("p2", false, false).await;
    app.client
        .clone()
        .put_resource(authed(&p2, put("CLUSTER", "x1", "alpha")))
        .await
        .expect("put p2");
    let p2_tags = pb::TagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["x1"]),
        tags: vec![tag("env", "prod"), tag("team", "a"), tag("p2key", "z")],
        ..Default::default()
    };
    app.client
        .clone()
        .tag_resources(authed(&p2, p2_tags))
        .await
        .expect("tag p2");
    app
}

fn name_is(name: &str) -> Vec<pb::Match> {
    vec![pb::Match {
        key: "resource_name".into(),
        value: name.into(),
    }]
}

/// The filter of `f` applied to ListResources, paged two at a time.
async fn list_all(app: &TestApp, f: &pb::CountResourcesRequest) -> Vec<pb::Resource> {
    let out = walk_resources(&app.client, &app.token, f, 2).await;
    assert!(out.len() <= 100, "paging does not end");
    // Revisions are the subject of revisions.rs; here only what matched, and how it looks.
    out.into_iter()
        .map(|r| pb::Resource { revision: 0, ..r })
        .collect()
}

/// The ids ListResources answers for the CLUSTER filter `f`; asserts CountResources agrees.
async fn select(app: &TestApp, mut f: pb::CountResourcesRequest) -> Vec<String> {
    if f.resource_type.is_empty() {
        f.resource_type = "CLUSTER".into();
    }
    let listed: Vec<String> = list_all(app, &f)
        .await
        .into_iter()
        .map(|r| r.resource_id)
        .collect();
    let distinct: HashSet<&String> = listed.iter().collect();
    assert_eq!(
        distinct.len(),
        listed.len(),
        "no resource twice: {listed:?}"
    );
    let count = app
        .client
        .clone()
        .count_resources(authed(&app.token, f.clone()))
        .await
        .expect("count")
        .into_inner();
    assert_eq!(
        count.total_count,
        listed.len() as i64,
        "CountResources agrees with ListResources for {f:?}"
    );
    listed
}

fn filter() -> pb::CountResourcesRequest {
    pb::CountResourcesRequest::default()
}

async fn tags_require_every_entry_and_any_of_its_values(b: Backend) {
    let app = fixture(b).await;
    assert_eq!(
        select(&app, filter()).await,
        ["r1", "r2", "r3", "r4", "r5", "r6"],
        "no filter: all"
    );
    let tags = |list: Vec<pb::TagFilter>| pb::CountResourcesRequest {
        tags: list,
        ..filter()
    };
    assert_eq!(select(&app, tags(vec![kf("env", &["prod"])])).await, ["r1"]);
    assert_eq!(
        select(&app, tags(vec![kf("env", &["prod", "dev"])])).await,
        ["r1", "r2"]
    );
    assert_eq!(
        select(&app, tags(vec![kf("env", &[])])).await,
        ["r1", "r2", "r3"],
        "empty values: any value"
    );
    assert_eq!(
        select(
            &app,
            tags(vec![kf("env", &["prod", "test"]), kf("team", &["a"])])
        )
        .await,
        ["r1", "r3"]
    );
    assert_eq!(
        select(&app, tags(vec![kf("team", &["b"]), kf("env", &[])])).await,
        ["r2"]
    );
    assert_eq!(
        select(&app, tags(vec![kf("team", &[]), kf("tier", &[])])).await,
        ["r3"]
    );
    assert!(
        select(&app, tags(vec![kf("env", &["prod"]), kf("team", &["b"])]))
            .await
            .is_empty()
    );
    assert!(
        select(&app, tags(vec![kf("env", &["staging"])]))
            .await
            .is_empty(),
        "another type's value"
    );
    assert!(
        select(&app, tags(vec![kf("p2key", &[])])).await.is_empty(),
        "another project's key"
    );
    assert!(
        select(&app, tags(vec![kf("env", &["pro"])]))
            .await
            .is_empty(),
        "values match exactly"
    );
}

async fn tags_any_matches_resources_with_at_least_one_entry(b: Backend) {
    let app = fixture(b).await;
    let any = |list: Vec<pb::TagFilter>| pb::CountResourcesRequest {
        tags_any: list,
        ..filter()
    };
    assert_eq!(
        select(&app, any(vec![kf("env", &["dev"]), kf("tier", &[])])).await,
        ["r2", "r3", "r5"]
    );
    assert_eq!(
        select(&app, any(vec![kf("env", &["prod"]), kf("team", &["b"])])).await,
        ["r1", "r2", "r4"]
    );
    assert_eq!(
        select(&app, any(vec![kf("env", &["prod", "test"])])).await,
        ["r1", "r3"]
    );
    assert_eq!(
        select(&app, any(vec![kf("tier", &["silver"]), kf("nope", &[])])).await,
        ["r5"]
    );
    assert!(
        select(&app, any(vec![kf("nope", &[]), kf("env", &["staging"])]))
            .await
            .is_empty()
    );
}

async fn not_tags_excludes_resources_that_match_every_entry(b: Backend) {
    let app = fixture(b).await;
    let not = |list: Vec<pb::TagFilter>| pb::CountResourcesRequest {
        not_tags: list,
        ..filter()
    };
    assert_eq!(
        select(&app, not(vec![kf("env", &["prod"])])).await,
        ["r2", "r3", "r4", "r5", "r6"]
    );
    assert_eq!(
        select(&app, not(vec![kf("env", &["prod", "dev"])])).await,
        ["r3", "r4", "r5", "r6"]
    );
    assert_eq!(
        select(&app, not(vec![kf("tier", &[])])).await,
        ["r1", "r2", "r4", "r6"]
    );
    // NOT (env=any AND team=a): only r1 and r3 carry both.
    assert_eq!(
        select(&app, not(vec![kf("env", &[]), kf("team", &["a"])])).await,
        ["r2", "r4", "r5", "r6"]
    );
    // NOT (team=b AND tier=any): nobody carries both.
    assert_eq!(
        select(&app, not(vec![kf("team", &["b"]), kf("tier", &[])])).await,
        ["r1", "r2", "r3", "r4", "r5", "r6"]
    );
}

async fn not_tags_any_excludes_resources_that_match_any_entry(b: Backend) {
    let app = fixture(b).await;
    let none = |list: Vec<pb::TagFilter>| pb::CountResourcesRequest {
        not_tags_any: list,
        ..filter()
    };
    assert_eq!(
        select(&app, none(vec![kf("env", &[]), kf("tier", &[])])).await,
        ["r4", "r6"]
    );
    assert_eq!(
        select(&app, none(vec![kf("team", &["a"])])).await,
        ["r2", "r4", "r5", "r6"]
    );
    assert_eq!(
        select(
            &app,
            none(vec![kf("team", &["a", "b"]), kf("tier", &["gold"])])
        )
        .await,
        ["r5", "r6"]
    );
    assert_eq!(
        select(&app, none(vec![kf("env", &["staging"])])).await,
        ["r1", "r2", "r3", "r4", "r5", "r6"]
    );
}

async fn matches_select_by_exact_resource_name(b: Backend) {
    let app = fixture(b).await;
    let named = |name: &str| pb::CountResourcesRequest {
        matches: name_is(name),
        ..filter()
    };
    assert_eq!(select(&app, named("gamma")).await, ["r3"]);
    assert_eq!(
        select(&app, named("alpha")).await,
        ["r1"],
        "not t1 (another type) nor x1 (another project)"
    );
    for miss in ["alph", "ALPHA", "a%", "%", "_lpha", "nope"] {
        assert!(select(&app, named(miss)).await.is_empty(), "{miss:?}");
    }
    let both = pb::CountResourcesRequest {
        matches: name_is("beta"),
        tags_any: vec![kf("env", &["dev"]), kf("tier", &[])],
        ..filter()
    };
    assert_eq!(select(&app, both).await, ["r2"]);
    let contradicting = pb::CountResourcesRequest {
        matches: name_is("alpha"),
        tags: vec![kf("env", &["dev"])],
        ..filter()
    };
    assert!(select(&app, contradicting).await.is_empty());
    let topics = pb::CountResourcesRequest {
        resource_type: "smn_topic".into(),
        matches: name_is("alpha"),
        ..filter()
    };
    assert_eq!(select(&app, topics).await, ["t1"]);
}

async fn without_any_tag_selects_only_untagged_resources(b: Backend) {
    let app = fixture(b).await;
    let untagged = || pb::CountResourcesRequest {
        without_any_tag: true,
        ..filter()
    };
    assert_eq!(select(&app, untagged()).await, ["r6"]);
    let untag = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["r5"]),
        all: true,
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, untag))
        .await
        .unwrap();
    assert_eq!(select(&app, untagged()).await, ["r5", "r6"]);
    let named = pb::CountResourcesRequest {
        without_any_tag: true,
        matches: name_is("epsilon"),
        ..filter()
    };
    assert_eq!(select(&app, named).await, ["r5"]);
    app.tag("CLUSTER", &["r6"], &[("k", "v")]).await;
    assert_eq!(select(&app, untagged()).await, ["r5"]);
}

async fn combined_operators_must_all_hold(b: Backend) {
    let app = fixture(b).await;
    // team=any AND NOT env=dev
    let f = pb::CountResourcesRequest {
        tags: vec![kf("team", &[])],
        not_tags_any: vec![kf("env", &["dev"])],
        ..filter()
    };
    assert_eq!(select(&app, f).await, ["r1", "r3", "r4"]);
    // (team=a OR tier=any) AND NOT tier=gold
    let f = pb::CountResourcesRequest {
        tags_any: vec![kf("team", &["a"]), kf("tier", &[])],
        not_tags: vec![kf("tier", &["gold"])],
        ..filter()
    };
    assert_eq!(select(&app, f).await, ["r1", "r5"]);
    // team in (a, b) AND (env=prod OR tier=gold) AND NOT env=test
    let f = pb::CountResourcesRequest {
        tags: vec![kf("team", &["a", "b"])],
        tags_any: vec![kf("env", &["prod"]), kf("tier", &["gold"])],
        not_tags_any: vec![kf("env", &["test"])],
        ..filter()
    };
    assert_eq!(select(&app, f).await, ["r1"]);
    // All four lists at once: env=any AND (team=a OR team=b) AND NOT (env=dev AND team=b) AND NOT tier=any
    let f = pb::CountResourcesRequest {
        tags: vec![kf("env", &[])],
        tags_any: vec![
            kf("team", &["a"]),
            kf("team2", &[]),
            kf("tier", &["silver"]),
        ],
        not_tags: vec![kf("env", &["dev"]), kf("team", &["b"])],
        not_tags_any: vec![kf("tier", &[])],
        ..filter()
    };
    assert_eq!(select(&app, f).await, ["r1"]);
    // NOT (team=b AND env=any) AND NOT (tier=silver): r2 is out by the first, r5 by the second.
    let f = pb::CountResourcesRequest {
        not_tags: vec![kf("team", &["b"]), kf("env", &[])],
        not_tags_any: vec![kf("tier", &["silver"])],
        ..filter()
    };
    assert_eq!(select(&app, f).await, ["r1", "r3", "r4", "r6"]);
}

async fn list_resources_shows_qualified_types_names_and_tags_ordered_by_key(b: Backend) {
    let app = fixture(b).await;
    let resource = |id: &str, name: &str, tags: &[(&str, &str)]| pb::Resource {
        resource_id: id.into(),
        resource_type: "ALIYUN::CS::CLUSTER".into(),
        name: name.into(),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        revision: 0,
    };
    let expected = vec![
        resource("r1", "alpha", &[("env", "prod"), ("team", "a")]),
        resource("r2", "beta", &[("env", "dev"), ("team", "b")]),
        resource(
            "r3",
            "gamma",
            &[("env", "test"), ("team", "a"), ("tier", "gold")],
        ),
        resource("r4", "delta", &[("team", "b")]),
        resource("r5", "epsilon", &[("tier", "silver")]),
        resource("r6", "", &[]),
    ];
    assert_eq!(
        list_all(
            &app,
            &pb::CountResourcesRequest {
                resource_type: "CLUSTER".into(),
                ..filter()
            }
        )
        .await,
        expected
    );
    // The qualified name is accepted as input too.
    let qualified = pb::CountResourcesRequest {
        resource_type: "ALIYUN::CS::CLUSTER".into(),
        ..filter()
    };
    assert_eq!(list_all(&app, &qualified).await, expected);
    let count = app
        .client
        .clone()
        .count_resources(authed(&app.token, qualified))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(count.total_count, 6);

    // A type without a qualified name is shown by its name; keys order by code point.
    let topics = list_all(
        &app,
        &pb::CountResourcesRequest {
            resource_type: "smn_topic".into(),
            ..filter()
        },
    )
    .await;
    assert_eq!(
        topics,
        [
            pb::Resource {
                resource_id: "t1".into(),
                resource_type: "smn_topic".into(),
                name: "alpha".into(),
                tags: vec![tag("env", "prod")],
                revision: 0,
            },
            pb::Resource {
                resource_id: "t2".into(),
                resource_type: "smn_topic".into(),
                name: String::new(),
                tags: vec![tag("Owner", "ops"), tag("env", "staging")],
                revision: 0,
            },
        ]
    );
    let sms = list_all(
        &app,
        &pb::CountResourcesRequest {
            resource_type: "smn_sms".into(),
            ..filter()
        },
    )
    .await;
    assert!(sms.is_empty());
}

async fn project_tags(app: &TestApp, resource_type: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut next_token = String::new();
    loop {
        let req = pb::ListProjectTagsRequest {
            resource_type: resource_type.into(),
            page_size: 1000,
            next_token,
            ..Default::default()
        };
        let page = app
            .client
            .clone()
            .list_project_tags(authed(&app.token, req))
            .await
            .expect("list_project_tags")
            .into_inner();
        out.extend(page.tags.into_iter().map(|t| (t.key, t.values)));
        if page.next_token.is_empty() {
            return out;
        }
        next_token = page.next_token;
    }
}

fn key_values(list: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    list.iter()
        .map(|(k, vs)| ((*k).to_owned(), ids(vs)))
        .collect()
}

async fn project_tags_list_distinct_keys_with_sorted_distinct_values(b: Backend) {
    let app = fixture(b).await;
    assert_eq!(
        project_tags(&app, "").await,
        key_values(&[
            ("Owner", &["ops"]),
            ("env", &["dev", "prod", "staging", "test"]),
            ("team", &["a", "b"]),
            ("tier", &["gold", "silver"]),
        ]),
        "every type of the project, keys and values ordered, values distinct"
    );
    let clusters = key_values(&[
        ("env", &["dev", "prod", "test"]),
        ("team", &["a", "b"]),
        ("tier", &["gold", "silver"]),
    ]);
    assert_eq!(project_tags(&app, "CLUSTER").await, clusters);
    assert_eq!(
        project_tags(&app, "ALIYUN::CS::CLUSTER").await,
        clusters,
        "qualified type name"
    );
    assert_eq!(
        project_tags(&app, "smn_topic").await,
        key_values(&[("Owner", &["ops"]), ("env", &["prod", "staging"])])
    );
    assert!(project_tags(&app, "smn_sms").await.is_empty());

    // Values that no resource carries any more disappear; keys with them.
    let untag = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["r2", "r5"]),
        tag_keys: ids(&["env", "tier"]),
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, untag))
        .await
        .unwrap();
    assert_eq!(
        project_tags(&app, "CLUSTER").await,
        key_values(&[
            ("env", &["prod", "test"]),
            ("team", &["a", "b"]),
            ("tier", &["gold"])
        ])
    );
    let untag = pb::UntagResourcesRequest {
        resource_type: "smn_topic".into(),
        resource_ids: ids(&["t2"]),
        tag_keys: ids(&["Owner"]),
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, untag))
        .await
        .unwrap();
    assert_eq!(
        project_tags(&app, "").await,
        key_values(&[
            ("env", &["prod", "staging", "test"]),
            ("team", &["a", "b"]),
            ("tier", &["gold"])
        ])
    );
}

async fn list_tag_resources_accepts_the_qualified_type_name(b: Backend) {
    let app = fixture(b).await;
    let rows =
        |ty: &str, resource_ids: &[&str], tags: &[(&str, &str)]| pb::ListTagResourcesRequest {
            resource_type: ty.into(),
            resource_ids: ids(resource_ids),
            tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
            ..Default::default()
        };
    let mut c = app.client.clone();
    for (resource_ids, tags) in [
        (&["r1", "r3"][..], &[][..]),
        (&[][..], &[("team", "a")][..]),
    ] {
        let by_name = c
            .list_tag_resources(authed(&app.token, rows("CLUSTER", resource_ids, tags)))
            .await
            .unwrap()
            .into_inner();
        let by_qualified = c
            .list_tag_resources(authed(
                &app.token,
                rows("ALIYUN::CS::CLUSTER", resource_ids, tags),
            ))
            .await
            .expect("the qualified name is accepted")
            .into_inner();
        assert_eq!(by_qualified, by_name);
        let got: Vec<(&str, &str, &str, &str)> = by_qualified
            .tag_resources
            .iter()
            .map(|r| {
                (
                    r.resource_id.as_str(),
                    r.resource_type.as_str(),
                    r.tag_key.as_str(),
                    r.tag_value.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("r1", "ALIYUN::CS::CLUSTER", "env", "prod"),
                ("r1", "ALIYUN::CS::CLUSTER", "team", "a"),
                ("r3", "ALIYUN::CS::CLUSTER", "env", "test"),
                ("r3", "ALIYUN::CS::CLUSTER", "team", "a"),
                ("r3", "ALIYUN::CS::CLUSTER", "tier", "gold"),
            ]
        );
    }
}

both_backends!(
    tags_require_every_entry_and_any_of_its_values,
    tags_any_matches_resources_with_at_least_one_entry,
    not_tags_excludes_resources_that_match_every_entry,
    not_tags_any_excludes_resources_that_match_any_entry,
    matches_select_by_exact_resource_name,
    without_any_tag_selects_only_untagged_resources,
    combined_operators_must_all_hold,
    list_resources_shows_qualified_types_names_and_tags_ordered_by_key,
    project_tags_list_distinct_keys_with_sorted_distinct_values,
    list_tag_resources_accepts_the_qualified_type_name,
);
