//! The counts of keys and values that ListProjectTags, CountResources and the filters' plans read
//! are kept by the writes' own transactions: after concurrent writers have tagged, retagged,
//! untagged and deleted overlapping resources, what ListProjectTags and CountResources answer is
//! what the resources themselves carry, and the count tables hold exactly the tags' own totals
//! (no stale row, none at zero), and no tag outlives its resource. On PostgreSQL the writers' transactions really overlap; on
//! SQLite they queue on the one writer, and the same must hold.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Connection, PgConnection, SqliteConnection};
use tagging_service::proto::pb::{self, tagging_service_client::TaggingServiceClient};
use tonic::transport::Channel;

use crate::helpers::{Backend, TestApp, authed};

const RESOURCES: u64 = 12;
const WRITERS: u64 = 8;
const OPS: u64 = 40;

/// A small deterministic generator, one per writer, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn rid(i: u64) -> String {
    format!("r{i:02}")
}

/// One writer's calls: each a random write to one to three of the shared resources.
async fn writer(client: TaggingServiceClient<Channel>, token: String, seed: u64) {
    let mut rng = Lcg(seed);
    for _ in 0..OPS {
        let ids: Vec<String> = (0..1 + rng.below(3))
            .map(|_| rid(rng.below(RESOURCES)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let outcome = match rng.below(6) {
            0..=2 => {
                let keys: BTreeSet<u64> = (0..1 + rng.below(2)).map(|_| rng.below(4)).collect();
                let req = pb::TagResourcesRequest {
                    resource_type: "CLUSTER".into(),
                    resource_ids: ids,
                    tags: keys
                        .into_iter()
                        .map(|k| pb::Tag {
                            key: format!("k{k}"),
                            value: format!("v{}", rng.below(3)),
                        })
                        .collect(),
                    ..Default::default()
                };
                client
                    .clone()
                    .tag_resources(authed(&token, req))
                    .await
                    .map(|_| ())
            }
            3 => {
                let req = pb::UntagResourcesRequest {
                    resource_type: "CLUSTER".into(),
                    resource_ids: ids,
                    tag_keys: vec![format!("k{}", rng.below(4))],
                    ..Default::default()
                };
                client
                    .clone()
                    .untag_resources(authed(&token, req))
                    .await
                    .map(|_| ())
            }
            4 => {
                let req = pb::UntagResourcesRequest {
                    resource_type: "CLUSTER".into(),
                    resource_ids: ids,
                    all: true,
                    ..Default::default()
                };
                client
                    .clone()
                    .untag_resources(authed(&token, req))
                    .await
                    .map(|_| ())
            }
            _ => {
                let req = pb::DeleteResourceRequest {
                    resource_type: "CLUSTER".into(),
                    resource_id: ids[0].clone(),
                    ..Default::default()
                };
                match client.clone().delete_resource(authed(&token, req)).await {
                    Err(s) if s.code() == tonic::Code::NotFound => Ok(()),
                    other => other.map(|_| ()),
                }
            }
        };
        outcome.expect("every write succeeds");
    }
}

/// Every resource's tags, read one resource at a time.
async fn truth(app: &TestApp) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for i in 0..RESOURCES {
        if let Ok(tags) = app.resource_tags("CLUSTER", &rid(i)).await
            && !tags.is_empty()
        {
            out.insert(rid(i), tags.into_iter().collect());
        }
    }
    out
}

async fn project_tags(app: &TestApp) -> BTreeMap<String, BTreeSet<String>> {
    let req = pb::ListProjectTagsRequest {
        resource_type: "CLUSTER".into(),
        page_size: 1000,
        ..Default::default()
    };
    let page = app
        .client
        .clone()
        .list_project_tags(authed(&app.token, req))
        .await
        .expect("list_project_tags")
        .into_inner();
    page.tags
        .into_iter()
        .map(|t| (t.key, t.values.into_iter().collect()))
        .collect()
}

async fn count(app: &TestApp, key: &str, values: &[String]) -> i64 {
    let req = pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags: vec![pb::TagFilter {
            key: key.into(),
            values: values.to_vec(),
        }],
        ..Default::default()
    };
    app.client
        .clone()
        .count_resources(authed(&app.token, req))
        .await
        .expect("count_resources")
        .into_inner()
        .total_count
}

/// (count table rows, the same totals grouped from the tags), each as sorted text lines.
async fn count_tables(app: &TestApp, b: Backend) -> [(Vec<String>, Vec<String>); 2] {
    const KEYS: [&str; 2] = [
        "SELECT scope_pk || ' ' || key || ' ' || resources FROM tag_keys ORDER BY 1",
        "SELECT scope_pk || ' ' || key || ' ' || count(*) FROM tags GROUP BY scope_pk, key ORDER BY 1",
    ];
    const VALUES: [&str; 2] = [
        "SELECT scope_pk || ' ' || key || '=' || value || ' ' || resources FROM tag_values ORDER BY 1",
        "SELECT scope_pk || ' ' || key || '=' || value || ' ' || count(*) FROM tags GROUP BY scope_pk, key, value ORDER BY 1",
    ];
    let mut out: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for [kept, grouped] in [KEYS, VALUES] {
        out.push((lines(app, b, kept).await, lines(app, b, grouped).await));
    }
    let values = out.pop().unwrap();
    [out.pop().unwrap(), values]
}

/// The text each row of `q` answers, on the test's own connection.
async fn lines(app: &TestApp, b: Backend, q: &str) -> Vec<String> {
    match b {
        Backend::Postgres => {
            let mut c = PgConnection::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar(q).fetch_all(&mut c).await.unwrap()
        }
        Backend::Sqlite => {
            let mut c = SqliteConnection::connect(&app.database_url).await.unwrap();
            sqlx::query_scalar(q).fetch_all(&mut c).await.unwrap()
        }
    }
}

/// Tags whose resource is gone (none may be, as no foreign key deletes them): resource and key.
const ORPHAN_TAGS: &str = "SELECT t.resource_pk || ' ' || t.key FROM tags t WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.pk = t.resource_pk)";

async fn counts_follow_concurrent_writes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(app.client.clone(), app.token.clone(), 17 + w)))
        .collect();
    for w in writers {
        w.await.expect("writer");
    }

    let truth = truth(&app).await;
    let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for tags in truth.values() {
        for (k, v) in tags {
            want.entry(k.clone()).or_default().insert(v.clone());
        }
    }
    assert_eq!(project_tags(&app).await, want, "ListProjectTags");
    for (key, values) in &want {
        let carrying = truth.values().filter(|t| t.contains_key(key)).count();
        assert_eq!(count(&app, key, &[]).await, carrying as i64, "key {key}");
        for value in values {
            let carrying = truth.values().filter(|t| t.get(key) == Some(value)).count();
            let n = count(&app, key, std::slice::from_ref(value)).await;
            assert_eq!(n, carrying as i64, "{key}={value}");
        }
    }
    assert!(!want.is_empty(), "the writers left some tags");
    for (kept, grouped) in count_tables(&app, b).await {
        assert_eq!(kept, grouped, "the count tables hold the tags' own totals");
    }
    let orphans = lines(&app, b, ORPHAN_TAGS).await;
    assert!(
        orphans.is_empty(),
        "tags outlived their resource: {orphans:?}"
    );
}

both_backends!(counts_follow_concurrent_writes);
