//! Every way a filtered read can find its candidates (one (key, value) range, a key's set in the
//! filter postings or, without them, its range read whole, a small set read whole, a walk of the
//! project: see `src/store/plan.rs`) answers what a model of the data says, through ListResources
//! (every page), CountResources and ListTagResources (every page), for a caller that sees every
//! tag and for one that does not see system tags, with the postings and without. The data is
//! large enough (1,200 resources) that dense keys are past the size below which the store reads
//! a filter whole.

use std::collections::BTreeMap;

use tagging_service::proto::pb;
use tonic::transport::Channel;

use crate::helpers::{
    Backend, InProcessServer, TaggingServiceClient, TestApp, authed,
    bulk::{key_filter as kf, tag_in_calls, untag_in_calls},
};

const RESOURCES: usize = 1200;

fn id(i: usize) -> String {
    format!("r{i:05}")
}

/// The tags resource `i` carries.
fn tags_of(i: usize) -> BTreeMap<String, String> {
    if hidden_only(i) {
        return BTreeMap::from([("acs:only".to_owned(), "1".to_owned())]);
    }
    let mut t = BTreeMap::new();
    t.insert("k".into(), "v".into());
    t.insert(
        "env".into(),
        if i.is_multiple_of(4) { "prod" } else { "dev" }.into(),
    );
    if i.is_multiple_of(3) {
        t.insert("owner".into(), format!("o{}", i % 7));
    }
    if i == 333 || i == 1001 {
        t.insert("rare".into(), "yes".into());
    }
    if i % 100 == 7 {
        t.insert("acs:sys".into(), "1".into());
    }
    t
}

/// Resources 1190.. carry only a system tag: a caller that cannot see it sees them untagged.
fn hidden_only(i: usize) -> bool {
    i >= 1190
}

/// Registers the resources in order (so their internal order is theirs), then gives each its
/// tags, by calls for all resources that share a set, and removes the registering tag.
async fn seed(app: &TestApp, system: &str) {
    let all: Vec<String> = (0..RESOURCES).map(id).collect();
    tag_in_calls(&app.client, &app.token, &all, &[("seed", "x")]).await;
    let mut sets: BTreeMap<Vec<(String, String)>, Vec<String>> = BTreeMap::new();
    for i in 0..RESOURCES {
        sets.entry(tags_of(i).into_iter().collect())
            .or_default()
            .push(id(i));
    }
    for (set, ids) in sets {
        let (user, sys): (Vec<_>, Vec<_>) =
            set.into_iter().partition(|(k, _)| !k.starts_with("acs:"));
        for (token, tags) in [(app.token.as_str(), user), (system, sys)] {
            if !tags.is_empty() {
                let tags: Vec<(&str, &str)> =
                    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                tag_in_calls(&app.client, token, &ids, &tags).await;
            }
        }
    }
    untag_in_calls(&app.client, &app.token, &all, "seed").await;
}

fn matches_one(tags: &BTreeMap<String, String>, f: &pb::TagFilter) -> bool {
    tags.get(&f.key)
        .is_some_and(|v| f.values.is_empty() || f.values.contains(v))
}

fn matches(tags: &BTreeMap<String, String>, f: &pb::CountResourcesRequest) -> bool {
    f.tags.iter().all(|t| matches_one(tags, t))
        && (f.tags_any.is_empty() || f.tags_any.iter().any(|t| matches_one(tags, t)))
        && (f.not_tags.is_empty() || !f.not_tags.iter().all(|t| matches_one(tags, t)))
        && !f.not_tags_any.iter().any(|t| matches_one(tags, t))
}

fn filters() -> Vec<(&'static str, pb::CountResourcesRequest)> {
    let all = |tags: Vec<pb::TagFilter>| pb::CountResourcesRequest {
        tags,
        ..Default::default()
    };
    vec![
        ("pair", all(vec![kf("env", &["prod"])])),
        ("dense key", all(vec![kf("env", &[])])),
        ("dense values", all(vec![kf("env", &["prod", "dev"])])),
        ("few values", all(vec![kf("env", &["prod", "nosuch"])])),
        ("key of many values", all(vec![kf("owner", &[])])),
        (
            "dense and key",
            all(vec![kf("env", &["prod"]), kf("owner", &[])]),
        ),
        // A count reads a pair's range beside the driver's when it is not much larger: here
        // `k=v` beside `env=prod`, and with `owner=o1` driving, `env=prod` merged, `k=v` probed.
        (
            "dense pairs",
            all(vec![kf("env", &["prod"]), kf("k", &["v"])]),
        ),
        (
            "pairs merged and probed",
            all(vec![
                kf("env", &["prod"]),
                kf("k", &["v"]),
                kf("owner", &["o1"]),
            ]),
        ),
        (
            "rare and dense",
            all(vec![kf("env", &["dev"]), kf("rare", &["yes"])]),
        ),
        ("no match", all(vec![kf("env", &["nosuch"])])),
        ("hidden key", all(vec![kf("acs:sys", &[])])),
        ("hidden only", all(vec![kf("acs:only", &[])])),
        (
            "small any group",
            pb::CountResourcesRequest {
                tags_any: vec![kf("rare", &["yes"]), kf("env", &["nosuch"])],
                ..Default::default()
            },
        ),
        (
            "large any group",
            pb::CountResourcesRequest {
                tags_any: vec![kf("env", &["dev"]), kf("owner", &[])],
                ..Default::default()
            },
        ),
        (
            "dense without a key",
            pb::CountResourcesRequest {
                tags: vec![kf("env", &["dev"])],
                not_tags_any: vec![kf("owner", &[])],
                ..Default::default()
            },
        ),
        (
            "negations alone",
            pb::CountResourcesRequest {
                not_tags: vec![kf("env", &["prod"]), kf("owner", &[])],
                ..Default::default()
            },
        ),
    ]
}

type Client = TaggingServiceClient<Channel>;

async fn list_all(client: &Client, token: &str, f: &pb::CountResourcesRequest) -> Vec<String> {
    let (mut out, mut next_token) = (Vec::new(), String::new());
    loop {
        let req = pb::ListResourcesRequest {
            resource_type: "CLUSTER".into(),
            tags: f.tags.clone(),
            tags_any: f.tags_any.clone(),
            not_tags: f.not_tags.clone(),
            not_tags_any: f.not_tags_any.clone(),
            page_size: 37,
            next_token,
            ..Default::default()
        };
        let page = client
            .clone()
            .list_resources(authed(token, req))
            .await
            .expect("list_resources")
            .into_inner();
        out.extend(page.resources.into_iter().map(|r| r.resource_id));
        if page.next_token.is_empty() {
            return out;
        }
        next_token = page.next_token;
    }
}

async fn tag_rows_all(client: &Client, token: &str, tags: &[pb::TagFilter]) -> Vec<String> {
    let (mut out, mut next_token) = (Vec::new(), String::new());
    loop {
        let req = pb::ListTagResourcesRequest {
            resource_type: "CLUSTER".into(),
            tags: tags
                .iter()
                .map(|f| pb::Tag {
                    key: f.key.clone(),
                    value: f.values.first().cloned().unwrap_or_default(),
                })
                .collect(),
            page_size: 41,
            next_token,
            ..Default::default()
        };
        let page = client
            .clone()
            .list_tag_resources(authed(token, req))
            .await
            .expect("list_tag_resources")
            .into_inner();
        out.extend(
            page.tag_resources
                .into_iter()
                .map(|r| format!("{} {}={}", r.resource_id, r.tag_key, r.tag_value)),
        );
        if page.next_token.is_empty() {
            return out;
        }
        next_token = page.next_token;
    }
}

async fn every_driver_answers_what_the_model_says(b: Backend) {
    let app = TestApp::spawn(b).await;
    let system = app.token_for(crate::helpers::PROJECT, false, true).await;
    seed(&app, &system).await;
    check(&app.client, [&system, &app.token], "with the postings").await;
    let mut plain = InProcessServer::start(&app.database_url, &["--filter-postings-mb", "0"]).await;
    let client = TaggingServiceClient::connect(format!("http://{}", plain.addr))
        .await
        .expect("client connects");
    check(&client, [&system, &app.token], "without the postings").await;
    plain.stop().await;
}

/// Every filter through every read, for a caller that sees system tags and one that does not.
async fn check(client: &Client, [system, user]: [&String; 2], when: &str) {
    for (token, sees_system) in [(system, true), (user, false)] {
        let visible = |k: &str| sees_system || !k.starts_with("acs:");
        for (name, f) in filters() {
            // Only a system caller may name a system key in a filter.
            if !sees_system && name.starts_with("hidden") {
                continue;
            }
            let want: Vec<String> = (0..RESOURCES)
                .filter(|i| matches(&tags_of(*i), &f))
                .map(id)
                .collect();
            let got = list_all(client, token, &f).await;
            assert_eq!(
                got, want,
                "ListResources, {name}, system: {sees_system}, {when}"
            );
            let mut req = f.clone();
            req.resource_type = "CLUSTER".into();
            let count = client
                .clone()
                .count_resources(authed(token, req))
                .await
                .expect("count")
                .into_inner()
                .total_count;
            assert_eq!(count, want.len() as i64, "CountResources, {name}, {when}");
            // ListTagResources takes tags: a key and one value, or a key alone.
            let as_tags = f.tags.iter().all(|t| t.values.len() <= 1);
            if as_tags
                && f.tags_any.is_empty()
                && f.not_tags.is_empty()
                && f.not_tags_any.is_empty()
            {
                let want_rows: Vec<String> = (0..RESOURCES)
                    .filter(|i| matches(&tags_of(*i), &f))
                    .flat_map(|i| {
                        tags_of(i)
                            .into_iter()
                            .filter(|(k, _)| visible(k))
                            .map(move |(k, v)| format!("{} {k}={v}", id(i)))
                    })
                    .collect();
                let got = tag_rows_all(client, token, &f.tags).await;
                assert_eq!(
                    got, want_rows,
                    "ListTagResources, {name}, system: {sees_system}, {when}"
                );
            }
        }
    }
}

both_backends!(every_driver_answers_what_the_model_says);
