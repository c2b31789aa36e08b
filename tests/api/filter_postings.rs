//! The filter postings (`src/store/postings`): counts, SMN's `total_count` and pages of filters
//! with a negation over large answers come from per-term sets of resources kept in each process's
//! memory and brought to every read's snapshot by replaying the change log. Checked against a
//! model of the data after writes through the reading process and through another process on the
//! same database (which the reading process is never told of), against a process with the
//! postings off, and under concurrent writers: a count never misses an acknowledged write and
//! never goes back. `/metrics` shows the sets were used (built, then advanced, then current), so
//! none of this passes by the database answering alone.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use serde_json::{Value, json};
use tonic::transport::Channel;

use crate::helpers::{
    Backend, InProcessServer, TaggingServiceClient, TestApp, authed,
    bulk::{key_filter as kf, tag_in_calls, untag_in_calls, walk_resources},
    pb,
};

/// Past the 5,000 candidates from which the store answers counts from the postings: `env=prod`
/// matches 6,000 and `tier=web` 7,000.
const RESOURCES: usize = 8_000;

type Model = BTreeMap<String, BTreeMap<String, String>>;

fn id(i: usize) -> String {
    format!("r{i:05}")
}

fn seeded_tags(i: usize) -> BTreeMap<String, String> {
    let mut t = BTreeMap::new();
    let env = if !i.is_multiple_of(4) { "prod" } else { "dev" };
    t.insert("env".to_owned(), env.to_owned());
    if i % 8 != 3 {
        t.insert("tier".to_owned(), "web".to_owned());
    }
    if i.is_multiple_of(3) {
        t.insert("team".to_owned(), format!("t{}", i % 5));
    }
    t
}

/// The filters checked: dense pairs, negations with and without a positive part, an any-group.
fn filters() -> Vec<pb::CountResourcesRequest> {
    let f = |tags, tags_any, not_tags, not_tags_any| pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags,
        tags_any,
        not_tags,
        not_tags_any,
        ..Default::default()
    };
    vec![
        f(
            vec![kf("env", &["prod"]), kf("tier", &["web"])],
            vec![],
            vec![],
            vec![],
        ),
        f(
            vec![kf("env", &["prod"])],
            vec![],
            vec![],
            vec![kf("tier", &["web"])],
        ),
        f(
            vec![],
            vec![],
            vec![kf("env", &["prod"]), kf("tier", &["web"])],
            vec![],
        ),
        f(vec![], vec![], vec![], vec![kf("team", &[])]),
        f(
            vec![kf("env", &[])],
            vec![kf("env", &["prod"]), kf("tier", &["web"])],
            vec![],
            vec![],
        ),
        f(
            vec![kf("env", &["prod", "dev"])],
            vec![],
            vec![kf("team", &[])],
            vec![],
        ),
    ]
}

fn has(tags: &BTreeMap<String, String>, f: &pb::TagFilter) -> bool {
    tags.get(&f.key)
        .is_some_and(|v| f.values.is_empty() || f.values.contains(v))
}

/// The resources the model says `q` matches.
fn expected(model: &Model, q: &pb::CountResourcesRequest) -> BTreeSet<String> {
    model
        .iter()
        .filter(|(_, t)| {
            q.tags.iter().all(|f| has(t, f))
                && (q.tags_any.is_empty() || q.tags_any.iter().any(|f| has(t, f)))
                && (q.not_tags.is_empty() || !q.not_tags.iter().all(|f| has(t, f)))
                && !q.not_tags_any.iter().any(|f| has(t, f))
        })
        .map(|(id, _)| id.clone())
        .collect()
}

async fn client_of(server: &InProcessServer) -> TaggingServiceClient<Channel> {
    TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client connects")
}

/// Registers the resources in order, then gives each its tags, one call per 50 resources that
/// share a set of tags.
async fn seed(app: &TestApp) -> Model {
    let mut model = Model::new();
    let mut groups: BTreeMap<Vec<(String, String)>, Vec<String>> = BTreeMap::new();
    for i in 0..RESOURCES {
        let tags = seeded_tags(i);
        groups
            .entry(tags.clone().into_iter().collect())
            .or_default()
            .push(id(i));
        model.insert(id(i), tags);
    }
    let all: Vec<String> = (0..RESOURCES).map(id).collect();
    tag_in_calls(&app.client, &app.token, &all, &[("seed", "x")]).await;
    for (tags, ids) in groups {
        let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        tag_in_calls(&app.client, &app.token, &ids, &tags).await;
    }
    untag_in_calls(&app.client, &app.token, &all, "seed").await;
    model
}

/// Every resource of a ListResources walk of `q`'s filter, in pages of 1,000.
async fn listed(
    client: &TaggingServiceClient<Channel>,
    token: &str,
    q: &pb::CountResourcesRequest,
) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for r in walk_resources(client, token, q, 1000).await {
        assert!(
            ids.insert(r.resource_id.clone()),
            "{} listed twice",
            r.resource_id
        );
    }
    ids
}

async fn count(
    client: &TaggingServiceClient<Channel>,
    token: &str,
    q: &pb::CountResourcesRequest,
) -> i64 {
    client
        .clone()
        .count_resources(authed(token, q.clone()))
        .await
        .expect("count")
        .into_inner()
        .total_count
}

/// Every filter's count, and the walk of every filter with a negation, against the model.
async fn check(client: &TaggingServiceClient<Channel>, token: &str, model: &Model, when: &str) {
    for q in filters() {
        let want = expected(model, &q);
        assert!(
            want.len() > 100,
            "{when}: the model matches too little for {q:?}"
        );
        assert_eq!(
            count(client, token, &q).await,
            want.len() as i64,
            "{when}: count of {q:?}"
        );
        if !q.not_tags.is_empty() || !q.not_tags_any.is_empty() {
            assert_eq!(
                listed(client, token, &q).await,
                want,
                "{when}: list of {q:?}"
            );
        }
    }
}

/// SMN's filter: the page at `offset` and the total, from one snapshot.
async fn smn_filter(addr: std::net::SocketAddr, token: &str, body: Value) -> (usize, i64) {
    let res = reqwest::Client::new()
        .post(format!(
            "http://{addr}/v2/p1/CLUSTER/resource_instances/action"
        ))
        .header("x-auth-token", token)
        .json(&body)
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.expect("json");
    let listed = page["resources"].as_array().expect("resources").len();
    (listed, page["total_count"].as_i64().expect("a total"))
}

/// `tagging_filter_postings_sets_total{found="…"}` of the server at `addr`.
async fn sets_found(addr: std::net::SocketAddr, found: &str) -> f64 {
    let series = format!("tagging_filter_postings_sets_total{{found=\"{found}\"}}");
    metric(addr, &series).await
}

/// The value of `series` (name and labels) in the `/metrics` of the server at `addr`; 0 when
/// absent.
async fn metric(addr: std::net::SocketAddr, series: &str) -> f64 {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|l| {
            l.strip_prefix(&prefix)
                .map(|v| v.trim().parse().expect("a number"))
        })
        .unwrap_or(0.0)
}

async fn postings_answer_as_the_model_says_after_writes_through_any_process(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut model = seed(&app).await;
    check(&app.client, &app.token, &model, "seeded").await;
    let built = sets_found(app.addr, "built").await;
    assert!(built >= 4.0, "the sets were read from the tags: {built}");
    let bytes = metric(app.addr, "tagging_filter_postings_bytes").await;
    assert!(bytes > 0.0, "the kept sets' memory is reported: {bytes}");
    check(&app.client, &app.token, &model, "read again").await;
    assert!(sets_found(app.addr, "current").await >= 4.0);

    // Writes through this process: values changed, a key removed.
    let moved: Vec<String> = (0..400).map(|i| id(i * 7 + 1)).collect();
    tag_in_calls(&app.client, &app.token, &moved, &[("env", "dev")]).await;
    for i in &moved {
        model.get_mut(i).unwrap().insert("env".into(), "dev".into());
    }
    // …and through another process on the same database, which this one is never told of:
    // tiers removed, resources deleted, new ones registered with tags.
    let other = InProcessServer::start(&app.database_url, &[]).await;
    let oc = client_of(&other).await;
    let untiered: Vec<String> = (0..300).map(|i| id(i * 11 + 2)).collect();
    untag_in_calls(&oc, &app.token, &untiered, "tier").await;
    for i in &untiered {
        model.get_mut(i).unwrap().remove("tier");
    }
    for i in (0..40).map(|i| id(i * 97 + 5)) {
        let req = pb::DeleteResourceRequest {
            resource_type: "CLUSTER".into(),
            resource_id: i.clone(),
            ..Default::default()
        };
        oc.clone()
            .delete_resource(authed(&app.token, req))
            .await
            .expect("delete");
        model.remove(&i);
    }
    let fresh: Vec<String> = (0..120).map(|i| format!("n{i:04}")).collect();
    tag_in_calls(
        &oc,
        &app.token,
        &fresh,
        &[("env", "prod"), ("tier", "web"), ("team", "new")],
    )
    .await;
    for i in &fresh {
        model.insert(
            i.clone(),
            seeded_tags(1)
                .into_iter()
                .chain([("team".to_owned(), "new".to_owned())])
                .collect(),
        );
    }

    let advanced = sets_found(app.addr, "advanced").await;
    check(
        &app.client,
        &app.token,
        &model,
        "after writes, on the first process",
    )
    .await;
    assert!(
        sets_found(app.addr, "advanced").await > advanced,
        "the first process replayed the log rather than reading the sets again"
    );
    check(
        &oc,
        &app.token,
        &model,
        "after writes, on the second process",
    )
    .await;
    let mut plain = InProcessServer::start(&app.database_url, &["--filter-postings-mb", "0"]).await;
    check(
        &client_of(&plain).await,
        &app.token,
        &model,
        "with the postings off",
    )
    .await;
    assert_eq!(
        sets_found(plain.addr, "built").await,
        0.0,
        "postings off reads no set"
    );
    plain.stop().await;

    // SMN's page and total come from one set: the page at the total's last 3 has 3.
    let body = |offset: i64| {
        json!({"action": "filter", "limit": "1000", "offset": offset.to_string(),
               "tags": [{"key": "env", "values": ["prod"]}, {"key": "tier", "values": ["web"]}]})
    };
    let want = expected(&model, &filters()[0]).len() as i64;
    assert_eq!(
        smn_filter(app.addr, &app.token, body(0)).await,
        (1000, want)
    );
    assert_eq!(
        smn_filter(app.addr, &app.token, body(want - 3)).await,
        (3, want)
    );
}

async fn counts_never_miss_an_acknowledged_write_nor_go_back(b: Backend) {
    let app = TestApp::spawn(b).await;
    seed(&app).await;
    let other = InProcessServer::start(&app.database_url, &[]).await;
    let writer_client = client_of(&other).await;
    // Resources leave `not_tags late=yes` as writers through the other process mark them.
    let not_late = pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags: vec![kf("env", &["prod"])],
        not_tags: vec![kf("late", &["yes"])],
        ..Default::default()
    };
    let prod = (0..RESOURCES).filter(|i| i % 4 != 0).count() as i64;
    assert_eq!(count(&app.client, &app.token, &not_late).await, prod);
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let issued = Arc::new(AtomicUsize::new(0));
    const WRITERS: usize = 4;
    const CALLS: usize = 25;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (client, token) = (writer_client.clone(), app.token.clone());
            let (acknowledged, issued) = (acknowledged.clone(), issued.clone());
            tokio::spawn(async move {
                for call in 0..CALLS {
                    // Ten prod resources per call, each marked once.
                    let ids: Vec<String> = (0..10)
                        .map(|k| id(((w * CALLS + call) * 10 + k) * 4 + 1))
                        .collect();
                    issued.fetch_add(ids.len(), Ordering::SeqCst);
                    tag_in_calls(&client, &token, &ids, &[("late", "yes")]).await;
                    acknowledged.fetch_add(ids.len(), Ordering::SeqCst);
                }
            })
        })
        .collect();
    let mut last = prod;
    let mut reads = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        let before = acknowledged.load(Ordering::SeqCst) as i64;
        let n = count(&app.client, &app.token, &not_late).await;
        let after = issued.load(Ordering::SeqCst) as i64;
        assert!(
            n <= prod - before,
            "read {reads}: {n} counts a resource marked before the read"
        );
        assert!(
            n >= prod - after,
            "read {reads}: {n} misses a mark not yet made"
        );
        assert!(
            n <= last,
            "read {reads}: {n} after {last}: the count went back"
        );
        last = n;
        reads += 1;
    }
    for w in writers {
        w.await.expect("writer");
    }
    let marked = (WRITERS * CALLS * 10) as i64;
    assert_eq!(
        count(&app.client, &app.token, &not_late).await,
        prod - marked
    );
    assert!(reads > 3, "the reads ran beside the writes ({reads})");
    assert!(
        sets_found(app.addr, "advanced").await > 0.0,
        "the sets were replayed"
    );
}

both_backends!(
    postings_answer_as_the_model_says_after_writes_through_any_process,
    counts_never_miss_an_acknowledged_write_nor_go_back,
);
