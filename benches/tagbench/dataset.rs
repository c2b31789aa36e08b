//! The seeded dataset. Resources come in batches of 50 (the most one `TagResources` call takes),
//! and every resource of a batch carries the batch's tags, so each call is one maximal batch.

use tagging_service::proto::pb;

pub const PROJECT: &str = "bench";
pub const RESOURCE_TYPE: &str = "CLUSTER";
pub const BATCH: u64 = 50;

const ENVS: [&str; 4] = ["prod", "dev", "test", "stage"];
const TIERS: [&str; 2] = ["web", "db"];

pub fn resource_id(i: u64) -> String {
    format!("r-{i:08}")
}

/// `env` (1 in 4 batches is `prod`), `tier` (1 in 2 is `web`, independent of `env`), then
/// `k02`… with values that vary by batch.
pub fn batch_tags(batch: u64, per_resource: u64) -> Vec<pb::Tag> {
    let idx = |n: u64, len: usize| usize::try_from(n % len as u64).expect("small");
    let mut tags = vec![
        pb::Tag {
            key: "env".into(),
            value: ENVS[idx(batch, ENVS.len())].into(),
        },
        pb::Tag {
            key: "tier".into(),
            value: TIERS[idx(batch / 4, TIERS.len())].into(),
        },
    ];
    for j in 2..per_resource {
        tags.push(pb::Tag {
            key: format!("k{j:02}"),
            value: format!("v{}", (batch * 7 + j) % 97),
        });
    }
    tags.truncate(usize::try_from(per_resource).expect("small"));
    tags
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
