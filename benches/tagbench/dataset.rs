//! The seeded dataset, in three passes of `TagResources` calls of 50 resources (the most one call
//! takes), every resource of a call getting the call's tags:
//! 1. bulk: consecutive resources, which registers them (so internal ids follow resource ids in
//!    runs of 50) with `k02`… (values varying by call);
//! 2. filter tags: `env` and `tier`, each call naming resources spread over the whole id range,
//!    so the resources a filter matches are spread evenly too. Had they come in runs of 50, the
//!    first page of a filter would find its ten resources side by side and any other page would
//!    first skip runs that do not match, and page 1000 would be compared with a page that is
//!    cheap by accident of the data;
//! 3. rare: `rare=yes` on 1 resource in `rare_every` (at least one), spread too, so a filter can
//!    match almost nothing of a project that holds millions of tags (issue 17).

use tagging_service::proto::pb;

pub const PROJECT: &str = "bench";
pub const RESOURCE_TYPE: &str = "CLUSTER";
pub const BATCH: u64 = 50;

const ENVS: [&str; 4] = ["prod", "dev", "test", "stage"];
const TIERS: [&str; 2] = ["web", "db"];
/// `env` and `tier`, set by the second pass.
pub const FILTER_TAGS: u64 = 2;
/// The third pass's tag.
pub const RARE: (&str, &str) = ("rare", "yes");

pub fn resource_id(i: u64) -> String {
    format!("r-{i:08}")
}

/// The first pass's call `call`: resources `50·call`… and the tags `k02`… up to `per_resource`.
pub fn bulk_call(call: u64, resources: u64, per_resource: u64) -> (Vec<String>, Vec<pb::Tag>) {
    let first = call * BATCH;
    let ids = (first..(first + BATCH).min(resources))
        .map(resource_id)
        .collect();
    let tags = (FILTER_TAGS..per_resource)
        .map(|j| pb::Tag {
            key: format!("k{j:02}"),
            value: format!("v{}", (call * 7 + j) % 97),
        })
        .collect();
    (ids, tags)
}

/// The second pass's call `call` of `calls`: resources `call`, `call + calls`, … with `env` (`prod`
/// for 1 call in 4) and `tier` (`web` for 1 in 2, independent of `env`). With `calls` a multiple of
/// 8, as it is for round sizes, resource `i` matches both exactly when `i % 8 == 0`.
pub fn filter_call(call: u64, calls: u64, resources: u64) -> (Vec<String>, Vec<pb::Tag>) {
    let idx = |n: u64, len: usize| usize::try_from(n % len as u64).expect("small");
    let ids = (call..resources)
        .step_by(usize::try_from(calls).expect("small"))
        .map(resource_id)
        .collect();
    let tags = vec![
        pb::Tag {
            key: "env".into(),
            value: ENVS[idx(call, ENVS.len())].into(),
        },
        pb::Tag {
            key: "tier".into(),
            value: TIERS[idx(call / 4, TIERS.len())].into(),
        },
    ];
    (ids, tags)
}

/// The resources the third pass tags: `i % every == 12345 % min(every, resources)`, so every
/// dataset has at least one, and a million resources have ten at 1 in 100 000.
pub fn rare_ids(resources: u64, every: u64) -> Vec<String> {
    let first = 12345 % every.min(resources).max(1);
    (first..resources)
        .step_by(usize::try_from(every).expect("small"))
        .map(resource_id)
        .collect()
}

/// The third pass's call `call`: the next 50 of `ids`, with `rare=yes`.
pub fn rare_call(call: u64, ids: &[String]) -> (Vec<String>, Vec<pb::Tag>) {
    let first = usize::try_from(call * BATCH).expect("small");
    let batch = usize::try_from(BATCH).expect("small");
    let tag = pb::Tag {
        key: RARE.0.into(),
        value: RARE.1.into(),
    };
    (
        ids[first..(first + batch).min(ids.len())].to_vec(),
        vec![tag],
    )
}

/// The 1-tag filter (a quarter of the resources) and the 2-tag filter (an eighth).
pub fn filter(tags: usize) -> Vec<pb::Tag> {
    let all = [("env", "prod"), ("tier", "web")];
    all[..tags]
        .iter()
        .map(|(k, v)| pb::Tag {
            key: (*k).into(),
            value: (*v).into(),
        })
        .collect()
}

/// The resources `ListTagResources` by ids names: ten resources, one page of 100 rows at ten tags
/// per resource.
pub fn some_ids() -> Vec<String> {
    (0..10).map(|i| resource_id(i * 37 + 5)).collect()
}

/// The resource `ListResourceTags` reads.
pub fn one_id() -> String {
    resource_id(42)
}
