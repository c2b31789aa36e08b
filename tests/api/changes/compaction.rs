//! Compaction (`--change-retention`): history from before the oldest kept revision is refused
//! with the revision to ask from (gRPC OUT_OF_RANGE with an ErrorInfo, REST 410), for a list and a
//! watch alike, while from 0 means from the oldest kept; what is kept, and what is written
//! afterwards, is still there.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::history::{list, seen};
use crate::helpers::{Backend, PROJECT, TestApp, answer, assert_error, authed, pb};

/// Long enough that a write made after compaction is read back well before it is compacted in
/// turn (the pass runs every second), short enough that compaction comes within seconds.
const RETENTION: &str = "2s";

/// The oldest revision kept, from an OUT_OF_RANGE's `google.rpc.ErrorInfo`.
fn oldest_revision(status: &Status) -> i64 {
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    let info = status.get_details_error_info().expect("an ErrorInfo");
    assert_eq!(info.reason, "REVISION_COMPACTED");
    assert_eq!(info.domain, "tagging.v1");
    let oldest = info
        .metadata
        .get("oldest_revision")
        .expect("oldest_revision");
    oldest.parse().expect("a revision")
}

fn from(after_revision: i64) -> pb::ListTagChangesRequest {
    pb::ListTagChangesRequest {
        after_revision,
        ..Default::default()
    }
}

/// Waits (bounded) until every revision up to `last` was compacted away; answers the oldest
/// kept revision that the refusal names.
async fn compacted_through(app: &TestApp, last: i64) -> i64 {
    for _ in 0..120 {
        match list(app, &app.token, from(1)).await {
            Err(status) if oldest_revision(&status) == last + 1 => return last + 1,
            Err(status) => assert!(oldest_revision(&status) <= last, "{status:?}"),
            Ok(page) => assert_eq!(page.revision, last, "{page:?}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("revisions up to {last} were not compacted within 30 s");
}

/// Three writes: the project's revision after them.
async fn three_writes(app: &TestApp) -> i64 {
    for value in ["a", "b", "c"] {
        app.tag("CLUSTER", &["c1"], &[("env", value)]).await;
    }
    let page = list(app, &app.token, from(0)).await.expect("the history");
    assert_eq!(
        page.changes.len(),
        4,
        "created, then three values: {page:?}"
    );
    page.revision
}

async fn history_before_the_oldest_kept_revision_is_out_of_range_naming_it(b: Backend) {
    let app = TestApp::spawn_with(b, &["--change-retention", RETENTION]).await;
    let last = three_writes(&app).await;
    let oldest = compacted_through(&app, last).await;

    let kept = list(&app, &app.token, from(oldest - 1))
        .await
        .expect("history from the oldest kept revision on");
    assert!(
        kept.changes.is_empty(),
        "nothing older than the oldest kept: {kept:?}"
    );
    assert_eq!(kept.revision, last);
    let status = list(&app, &app.token, from(oldest - 2))
        .await
        .expect_err("one revision too old");
    assert_eq!(oldest_revision(&status), oldest);

    let from_the_oldest = list(&app, &app.token, from(0))
        .await
        .expect("0: from the oldest kept revision");
    assert!(from_the_oldest.changes.is_empty(), "{from_the_oldest:?}");
    assert_eq!(from_the_oldest.revision, last);

    let req = app.rest().get(format!("/v2/{PROJECT}/tag_changes"));
    let query = [("after_revision", "1")];
    let a = answer(req.query(&query).header("x-auth-token", &app.token)).await;
    let names = format!("the oldest revision available is {oldest}");
    assert_error(&a, 410, "SMN.00010410", &names);
}

async fn a_watch_from_before_the_oldest_kept_revision_is_out_of_range(b: Backend) {
    let app = TestApp::spawn_with(b, &["--change-retention", RETENTION]).await;
    let last = three_writes(&app).await;
    let oldest = compacted_through(&app, last).await;

    let req = pb::WatchTagChangesRequest {
        after_revision: Some(1),
        ..Default::default()
    };
    let refused = match app
        .client
        .clone()
        .watch_tag_changes(authed(&app.token, req))
        .await
    {
        Err(status) => status,
        // Refused as the stream's first message rather than as the call's answer: the same.
        Ok(stream) => match stream.into_inner().message().await {
            Err(status) => status,
            Ok(m) => panic!("a message from compacted history: {m:?}"),
        },
    };
    assert_eq!(oldest_revision(&refused), oldest);

    let req = app.rest().get(format!("/v2/{PROJECT}/tag_changes/watch"));
    let query = [("after_revision", "1")];
    let a = answer(req.query(&query).header("x-auth-token", &app.token)).await;
    assert_error(&a, 410, "SMN.00010410", &oldest.to_string());
}

async fn a_write_after_compaction_is_in_the_history_from_the_oldest_kept_revision(b: Backend) {
    let app = TestApp::spawn_with(b, &["--change-retention", RETENTION]).await;
    let last = three_writes(&app).await;
    let oldest = compacted_through(&app, last).await;

    app.tag("CLUSTER", &["c1"], &[("env", "d")]).await;
    let page = list(&app, &app.token, from(oldest - 1))
        .await
        .expect("history from the oldest kept revision on");
    let changes = seen(&page.changes);
    assert_eq!(changes.len(), 1, "{changes:?}");
    let c = &changes[0];
    assert_eq!((c.revision, c.kind), (last + 1, pb::ChangeKind::TagSet));
    let values = (c.old_value.as_deref(), c.new_value.as_deref());
    assert_eq!(
        values,
        (Some("c"), Some("d")),
        "the value before compaction is still known"
    );
}

/// A filter postings' set (`src/store/postings`) older than the oldest kept revision is read
/// again from the tags: the log no longer holds the changes since.
async fn filter_postings_older_than_the_kept_history_are_read_again(b: Backend) {
    let app = TestApp::spawn_with(b, &["--change-retention", RETENTION]).await;
    // A negation alone is always answered from the postings.
    let not_a = pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        not_tags: vec![pb::TagFilter {
            key: "env".into(),
            values: vec!["a".into()],
        }],
        ..Default::default()
    };
    let count = async || {
        let req = authed(&app.token, not_a.clone());
        let answer = app.client.clone().count_resources(req).await;
        answer.expect("count").into_inner().total_count
    };
    three_writes(&app).await;
    assert_eq!(count().await, 1, "c1 carries env=c");
    let built = sets_built(&app).await;
    // Two resources registered after the sets were read: kept sets would miss them.
    app.tag("CLUSTER", &["c2", "c3"], &[("env", "x")]).await;
    let last = list(&app, &app.token, from(0))
        .await
        .expect("history")
        .revision;
    compacted_through(&app, last).await;
    assert_eq!(count().await, 3);
    assert!(sets_built(&app).await > built, "the sets were read again");
}

async fn sets_built(app: &TestApp) -> f64 {
    let text = app.rest().get("/metrics").send().await.expect("metrics");
    let text = text.text().await.expect("metrics text");
    let prefix = "tagging_filter_postings_sets_total{found=\"built\"} ";
    text.lines()
        .find_map(|l| {
            l.strip_prefix(prefix)
                .map(|v| v.trim().parse().expect("a number"))
        })
        .expect("the series")
}

both_backends!(
    history_before_the_oldest_kept_revision_is_out_of_range_naming_it,
    a_watch_from_before_the_oldest_kept_revision_is_out_of_range,
    a_write_after_compaction_is_in_the_history_from_the_oldest_kept_revision,
    filter_postings_older_than_the_kept_history_are_read_again,
);
