//! Revisions: each project counts its changes; a write that changes something takes the next
//! revision, one that changes nothing takes none; every resource carries the revision of its last
//! change; revisions appear in commit order under concurrent writers; conditional writes apply
//! only at the expected revision, on gRPC and on both REST forms.

use std::collections::HashMap;

use reqwest::header::HeaderMap;
use serde_json::json;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::helpers::{Backend, PROJECT, TestApp, authed, pb, rest::assert_error, tag_request};

async fn tag(
    app: &TestApp,
    ids: &[&str],
    tags: &[(&str, &str)],
    expected: Option<i64>,
) -> Result<i64, Status> {
    let mut req = tag_request(ids, tags);
    req.expected_revision = expected;
    Ok(app
        .client
        .clone()
        .tag_resources(authed(&app.token, req))
        .await?
        .into_inner()
        .revision)
}

async fn untag(app: &TestApp, id: &str, key: &str, expected: Option<i64>) -> Result<i64, Status> {
    let req = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: vec![id.into()],
        tag_keys: vec![key.into()],
        expected_revision: expected,
        ..Default::default()
    };
    Ok(app
        .client
        .clone()
        .untag_resources(authed(&app.token, req))
        .await?
        .into_inner()
        .revision)
}

async fn put(
    app: &TestApp,
    id: &str,
    name: &str,
    expected: Option<i64>,
) -> Result<(i64, i64), Status> {
    let req = pb::PutResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: id.into(),
        name: name.into(),
        expected_revision: expected,
        ..Default::default()
    };
    let answer = app
        .client
        .clone()
        .put_resource(authed(&app.token, req))
        .await?
        .into_inner();
    Ok((
        answer.revision,
        answer.resource.expect("the resource").revision,
    ))
}

async fn delete(app: &TestApp, id: &str, expected: Option<i64>) -> Result<i64, Status> {
    let req = pb::DeleteResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: id.into(),
        expected_revision: expected,
        ..Default::default()
    };
    Ok(app
        .client
        .clone()
        .delete_resource(authed(&app.token, req))
        .await?
        .into_inner()
        .revision)
}

/// A resource's revision and tags, as ListResourceTags answers them.
async fn read(app: &TestApp, id: &str) -> (i64, Vec<(String, String)>) {
    let req = pb::ListResourceTagsRequest {
        resource_type: "CLUSTER".into(),
        resource_id: id.into(),
        ..Default::default()
    };
    let answer = app
        .client
        .clone()
        .list_resource_tags(authed(&app.token, req))
        .await
        .expect("read")
        .into_inner();
    (
        answer.revision,
        answer.tags.into_iter().map(|t| (t.key, t.value)).collect(),
    )
}

/// Every resource of the project's clusters with its revision, from one ListResources page.
async fn revisions(app: &TestApp) -> HashMap<String, i64> {
    let req = pb::ListResourcesRequest {
        resource_type: "CLUSTER".into(),
        page_size: 1000,
        ..Default::default()
    };
    let page = app
        .client
        .clone()
        .list_resources(authed(&app.token, req))
        .await
        .expect("list")
        .into_inner();
    assert!(page.next_token.is_empty(), "one page holds the project");
    page.resources
        .into_iter()
        .map(|r| (r.resource_id, r.revision))
        .collect()
}

#[track_caller]
fn assert_mismatch(refused: Status, current: i64) {
    assert_eq!(refused.code(), Code::Aborted, "{refused:?}");
    assert!(
        refused.message().contains(&format!("revision {current}")),
        "{refused:?}"
    );
    let info = refused
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    assert_eq!(info.reason, "REVISION_MISMATCH");
    assert_eq!(
        info.metadata.get("current_revision"),
        Some(&current.to_string()),
        "{info:?}"
    );
}

async fn every_change_takes_the_next_revision_and_no_change_takes_none(b: Backend) {
    let app = TestApp::spawn(b).await;
    let env = |v: &str| vec![("env".to_owned(), v.to_owned())];
    assert_eq!(tag(&app, &["c-1"], &[("env", "a")], None).await.unwrap(), 1);
    assert_eq!(read(&app, "c-1").await, (1, env("a")));
    assert_eq!(
        tag(&app, &["c-1"], &[("env", "a")], None).await.unwrap(),
        1,
        "the same tag again changes nothing"
    );
    assert_eq!(tag(&app, &["c-2"], &[("env", "b")], None).await.unwrap(), 2);
    // One write, two resources, one of them changed: the changed one carries the revision.
    assert_eq!(
        tag(&app, &["c-1", "c-2"], &[("env", "b")], None)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        revisions(&app).await,
        HashMap::from([("c-1".into(), 3), ("c-2".into(), 2)])
    );
    assert_eq!(
        untag(&app, "c-1", "absent", None).await.unwrap(),
        3,
        "removing nothing"
    );
    assert_eq!(untag(&app, "c-1", "env", None).await.unwrap(), 4);
    assert_eq!(read(&app, "c-1").await, (4, vec![]));
    assert_eq!(put(&app, "c-3", "web", None).await.unwrap(), (5, 5));
    assert_eq!(
        put(&app, "c-3", "web", None).await.unwrap(),
        (5, 5),
        "the same name again"
    );
    assert_eq!(put(&app, "c-3", "api", None).await.unwrap(), (6, 6));
    assert_eq!(put(&app, "c-2", "db", None).await.unwrap(), (7, 7));
    assert_eq!(delete(&app, "c-3", None).await.unwrap(), 8);
    assert_eq!(
        revisions(&app).await,
        HashMap::from([("c-1".into(), 4), ("c-2".into(), 7)])
    );

    // Another project counts its own.
    let other = app.token_for("other-project", false, false).await;
    let req = tag_request(&["c-1"], &[("env", "x")]);
    let answer = app
        .client
        .clone()
        .tag_resources(authed(&other, req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.revision, 1);

    // REST: X-Revision on writes, ETag on SMN's read of one resource.
    let rest = app.rest();
    let body = json!({"resource_type": "CLUSTER", "resource_ids": ["c-1"], "tags": [{"key": "k", "value": "v"}]});
    let res = rest
        .put("/tags")
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(res.headers(), "x-revision"), "9");
    let path = format!("/v2/{PROJECT}/CLUSTER/c-1/tags");
    let res = rest
        .get(&path)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(res.headers(), "etag"), "\"9\"");
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

async fn conditional_writes_apply_only_at_the_expected_revision(b: Backend) {
    let app = TestApp::spawn(b).await;
    // 0: "must not exist yet".
    assert_eq!(
        tag(&app, &["c-1"], &[("env", "a")], Some(0)).await.unwrap(),
        1
    );
    assert_mismatch(
        tag(&app, &["c-1"], &[("env", "b")], Some(0))
            .await
            .unwrap_err(),
        1,
    );
    assert_mismatch(
        tag(&app, &["c-1"], &[("env", "b")], Some(7))
            .await
            .unwrap_err(),
        1,
    );
    assert_eq!(
        read(&app, "c-1").await,
        (1, vec![("env".into(), "a".into())]),
        "nothing was applied"
    );
    assert_eq!(
        tag(&app, &["c-1"], &[("env", "b")], Some(1)).await.unwrap(),
        2
    );
    // A refused creation leaves no resource behind.
    assert_mismatch(
        tag(&app, &["c-new"], &[("env", "x")], Some(3))
            .await
            .unwrap_err(),
        0,
    );
    assert!(
        !revisions(&app).await.contains_key("c-new"),
        "the refused write registered nothing"
    );
    let two = tag(&app, &["c-1", "c-2"], &[("env", "x")], Some(2))
        .await
        .unwrap_err();
    crate::helpers::assert_invalid(&two, "expected_revision");

    assert_mismatch(untag(&app, "c-1", "env", Some(1)).await.unwrap_err(), 2);
    assert_eq!(untag(&app, "c-1", "env", Some(2)).await.unwrap(), 3);
    assert_mismatch(put(&app, "c-1", "web", Some(2)).await.unwrap_err(), 3);
    assert_eq!(put(&app, "c-1", "web", Some(3)).await.unwrap(), (4, 4));
    assert_mismatch(put(&app, "c-9", "", Some(1)).await.unwrap_err(), 0);
    assert_mismatch(delete(&app, "c-1", Some(3)).await.unwrap_err(), 4);
    assert_eq!(
        read(&app, "c-1").await.0,
        4,
        "the refused delete deleted nothing"
    );
    assert_eq!(delete(&app, "c-1", Some(4)).await.unwrap(), 5);

    // REST: If-Match with the ETag, If-None-Match: *, 412 with the current revision.
    let rest = app.rest();
    tag(&app, &["c-5"], &[("env", "a")], None).await.unwrap();
    let path = format!("/v2/{PROJECT}/CLUSTER/c-5/tags");
    let etag = header(
        rest.get(&path)
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap()
            .headers(),
        "etag",
    );
    assert_eq!(etag, "\"6\"");
    let create = |value: &str| json!({"tag": {"key": "env", "value": value}});
    let stale = rest
        .post(&path)
        .bearer_auth(&app.token)
        .header("if-match", "\"5\"")
        .json(&create("b"));
    let refused = crate::helpers::rest::answer(stale).await;
    assert_error(&refused, 412, "SMN.00010412", "revision 6");
    let fresh = rest
        .post(&path)
        .bearer_auth(&app.token)
        .header("if-match", &etag)
        .json(&create("b"));
    let res = fresh.send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(header(res.headers(), "x-revision"), "7");
    let exists = rest
        .post(&path)
        .bearer_auth(&app.token)
        .header("if-none-match", "*")
        .json(&create("c"));
    assert_error(
        &crate::helpers::rest::answer(exists).await,
        412,
        "SMN.00010412",
        "revision 7",
    );
    let bad = rest
        .post(&path)
        .bearer_auth(&app.token)
        .header("if-match", "W/\"7\"")
        .json(&create("c"));
    assert_error(
        &crate::helpers::rest::answer(bad).await,
        400,
        "SMN.00010400",
        "If-Match",
    );
    let ack = json!({"resource_type": "CLUSTER", "resource_ids": ["c-5"], "tags": [{"key": "env", "value": "d"}]});
    let stale = rest
        .put("/tags")
        .bearer_auth(&app.token)
        .header("if-match", "\"6\"")
        .json(&ack);
    assert_error(
        &crate::helpers::rest::answer(stale).await,
        412,
        "PreconditionFailed",
        "revision 7",
    );
    assert_eq!(
        read(&app, "c-5").await,
        (7, vec![("env".into(), "b".into())])
    );
}

/// A reader that has seen revision N never afterwards sees a change of revision N or less
/// appear: writers on distinct resources and keys of one project (so that they share no row but
/// the project's), a reader listing all of them. Half the writes are small and half large (ten
/// resources, ten tags), so that transactions of different lengths overlap: numbered in any order
/// but that of their commits, some would appear below what the reader has already seen.
async fn a_reader_never_sees_a_revision_appear_below_one_it_has_seen(b: Backend) {
    const WRITERS: usize = 8;
    const WRITES: usize = 12;
    // SQLite's one writer queues the writes: a loaded machine must not turn the wait into a
    // refusal, which is not what this test is about.
    let app = TestApp::spawn_with(b, &["--db-acquire-timeout-ms", "120000"]).await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (mut client, token) = (app.client.clone(), app.token.clone());
            tokio::spawn(async move {
                for n in 0..WRITES {
                    let size = if (w + n) % 2 == 0 { 1 } else { 10 };
                    let ids: Vec<String> = (0..size).map(|i| format!("w{w}-{n}-{i}")).collect();
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    let keys: Vec<String> = (0..size).map(|k| format!("w{w}-k{k}")).collect();
                    let tags: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
                    let req = tag_request(&ids, &tags);
                    client
                        .tag_resources(authed(&token, req))
                        .await
                        .expect("write");
                }
            })
        })
        .collect();
    let mut seen: HashMap<String, i64> = HashMap::new();
    let mut highest = 0;
    let mut reads = 0;
    loop {
        let done = writers.iter().all(|w| w.is_finished());
        let now = revisions(&app).await;
        reads += 1;
        for (id, revision) in &now {
            if seen.get(id) != Some(revision) {
                assert!(
                    *revision > highest,
                    "{id} appeared at revision {revision} after revision {highest} was seen (read {reads})"
                );
            }
        }
        highest = now.values().copied().max().unwrap_or(0).max(highest);
        seen = now;
        if done {
            break;
        }
    }
    for w in writers {
        w.await.expect("writer");
    }
    assert_eq!(seen.len(), WRITERS * WRITES / 2 * 11);
    assert_eq!(
        highest,
        (WRITERS * WRITES) as i64,
        "one revision per write, none skipped"
    );
}

both_backends!(
    every_change_takes_the_next_revision_and_no_change_takes_none,
    conditional_writes_apply_only_at_the_expected_revision,
    a_reader_never_sees_a_revision_appear_below_one_it_has_seen,
);
