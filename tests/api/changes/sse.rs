//! WatchTagChanges as Server-Sent Events (`GET /v2/{project_id}/tag_changes/watch`), read as a
//! browser's `EventSource` would: events `change` with `id` = revision, resuming after
//! `Last-Event-ID`, the token in the query, and bookmarks while idle.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;

use tagging_service::{auth::revoke_token, store};

use crate::helpers::{Backend, PROJECT, TestApp, answer, assert_error, keys, small_pool};

const WATCH: &str = "/v2/p1/tag_changes/watch";

/// One event as the stream sent it.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    event: String,
    id: String,
    data: Value,
}

/// An open event stream, read a chunk at a time and split into events.
struct Events {
    res: Response,
    buffered: String,
}

impl Events {
    /// Opens `req`, which must be answered 200 with `text/event-stream`.
    async fn open(req: RequestBuilder) -> Self {
        let res = req.send().await.expect("the watch is answered");
        assert_eq!(res.status(), StatusCode::OK);
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok());
        let content_type = header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        assert!(
            header("x-request-id").is_some(),
            "every answer has a request id"
        );
        Self {
            res,
            buffered: String::new(),
        }
    }

    /// The next event, waiting at most 10 s for it.
    async fn next(&mut self) -> Event {
        loop {
            if let Some(end) = self.buffered.find("\n\n") {
                let block: String = self.buffered.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return event;
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.res.chunk())
                .await
                .expect("an event within 10 s")
                .expect("the stream is read")
                .expect("the stream goes on");
            self.buffered
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8 events"));
        }
    }

    /// The next `change` event, past any bookmarks (which may come whenever the watch idles).
    async fn next_change(&mut self) -> Event {
        loop {
            let e = self.next().await;
            if e.event != "bookmark" {
                assert_eq!(e.event, "change", "{e:?}");
                return e;
            }
        }
    }
}

/// An event's `event:`, `id:` and `data:` lines; `None` for a comment alone.
fn parse(block: &str) -> Option<Event> {
    let (mut event, mut id, mut data) = (None, String::new(), None);
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = Some(v.trim_start().to_owned());
        } else if let Some(v) = line.strip_prefix("id:") {
            id = v.trim_start().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data = Some(serde_json::from_str(v.trim_start()).expect("an event's data is JSON"));
        }
    }
    let data = data?;
    Some(Event {
        event: event.unwrap_or_else(|| "message".into()),
        id,
        data,
    })
}

/// The changes of the history the REST list answers, as the stream must send them: one event
/// per revision, `(revision, changes)`.
async fn history_by_revision(app: &TestApp) -> Vec<(i64, Vec<Value>)> {
    filtered_history(app, &[]).await
}

/// As [`history_by_revision`], of the changes `filter` (query parameters) selects.
async fn filtered_history(app: &TestApp, filter: &[(&str, &str)]) -> Vec<(i64, Vec<Value>)> {
    let req = app.rest().get(format!("/v2/{PROJECT}/tag_changes"));
    let a = answer(req.query(filter).header("x-auth-token", &app.token)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let mut out: Vec<(i64, Vec<Value>)> = Vec::new();
    for c in a.body["changes"].as_array().expect("changes") {
        let revision = c["revision"].as_i64().expect("a revision");
        match out.last_mut() {
            Some((r, changes)) if *r == revision => changes.push(c.clone()),
            _ => out.push((revision, vec![c.clone()])),
        }
    }
    out
}

/// Asserts `e` is the `change` event of `revision` with exactly `changes`.
#[track_caller]
fn assert_change(e: &Event, (revision, changes): &(i64, Vec<Value>)) {
    assert_eq!(e.event, "change", "{e:?}");
    assert_eq!(e.id, revision.to_string(), "{e:?}");
    let data = serde_json::json!({ "revision": revision, "changes": changes });
    assert_eq!(e.data, data);
}

fn watch(app: &TestApp) -> RequestBuilder {
    app.rest().get(WATCH).header("x-auth-token", &app.token)
}

async fn a_watch_from_revision_0_sends_the_history_then_each_new_revision(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1", "c2"], &[("env", "dev")]).await;
    app.tag("CLUSTER", &["c1"], &[("env", "prod")]).await;
    let mut events = Events::open(watch(&app).query(&[("after_revision", "0")])).await;
    let before = history_by_revision(&app).await;
    assert_eq!(before.len(), 2, "{before:?}");
    for revision in &before {
        assert_change(&events.next_change().await, revision);
    }

    app.tag("smn_topic", &["t1"], &[("team", "a")]).await;
    let after = history_by_revision(&app).await;
    assert_eq!(after[..2], before[..], "history does not change");
    assert_eq!(after.len(), 3, "{after:?}");
    assert_change(&events.next_change().await, &after[2]);
}

async fn reconnecting_with_last_event_id_resumes_exactly_after_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    for value in ["a", "b", "c", "d"] {
        app.tag("CLUSTER", &["c1"], &[("env", value)]).await;
    }
    let mut first = Events::open(watch(&app).query(&[("after_revision", "0")])).await;
    first.next_change().await;
    let last = first.next_change().await;
    drop(first);
    app.tag("CLUSTER", &["c1"], &[("env", "e")]).await;

    // As an EventSource reconnects: the last id it saw. It wins over `after_revision`.
    let resumed = watch(&app)
        .query(&[("after_revision", "0")])
        .header("last-event-id", &last.id);
    let mut events = Events::open(resumed).await;
    let history = history_by_revision(&app).await;
    let at = history
        .iter()
        .position(|(r, _)| r.to_string() == last.id)
        .expect("the last event's revision is in the history");
    let rest = &history[at + 1..];
    assert_eq!(
        rest.len(),
        3,
        "two older writes and the new one: {history:?}"
    );
    for revision in rest {
        assert_change(&events.next_change().await, revision);
    }
}

async fn the_token_may_be_given_in_the_query_and_none_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let query = [
        ("after_revision", "0"),
        ("access_token", app.token.as_str()),
    ];
    let mut events = Events::open(app.rest().get(WATCH).query(&query)).await;
    let history = history_by_revision(&app).await;
    assert_change(&events.next_change().await, &history[0]);

    // SMN has no 401: a missing or unknown token is a 403 with SMN's code for it.
    let none = app.rest().get(WATCH).query(&[("after_revision", "0")]);
    assert_error(&answer(none).await, 403, "SMN.00010401", "token");
    let unknown = [("access_token", "tgs_0123456789abcdef_nope")];
    let req = app.rest().get(WATCH).query(&unknown);
    assert_error(&answer(req).await, 403, "SMN.00010401", "token");
    let stranger = app.token_for("p2", false, false).await;
    let req = app.rest().get(WATCH).query(&[("access_token", &stranger)]);
    assert_error(&answer(req).await, 403, "SMN.00010403", "p1");
    // Only the event stream, which an EventSource opens, takes a token from the URL.
    let list = app.rest().get(format!("/v2/{PROJECT}/tag_changes"));
    let req = list.query(&[("access_token", app.token.as_str())]);
    assert_error(&answer(req).await, 403, "SMN.00010401", "token");
}

async fn an_idle_watch_sends_bookmarks_of_the_revision_it_reached(b: Backend) {
    let app = TestApp::spawn_with(b, &["--watch-bookmark-ms", "200"]).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let history = history_by_revision(&app).await;
    let r1 = history[0].0;

    // From now: nothing to send but where it starts.
    let mut from_now = Events::open(watch(&app)).await;
    let mark = from_now.next().await;
    assert_eq!(mark.event, "bookmark", "{mark:?}");
    assert_eq!(mark.id, r1.to_string());
    assert_eq!(mark.data, serde_json::json!({ "revision": r1 }));

    let mut events = Events::open(watch(&app).query(&[("after_revision", "0")])).await;
    assert_change(&events.next().await, &history[0]);
    let mark = events.next().await;
    assert_eq!(
        (mark.event.as_str(), mark.id.as_str()),
        ("bookmark", &*r1.to_string())
    );

    app.tag("CLUSTER", &["c1"], &[("env", "prod")]).await;
    let history = history_by_revision(&app).await;
    let r2 = history[1].0;
    assert_change(&events.next_change().await, &history[1]);
    let mark = events.next().await;
    assert_eq!(mark.event, "bookmark", "{mark:?}");
    assert_eq!(mark.data, serde_json::json!({ "revision": r2 }));
    assert_eq!(
        from_now.next_change().await.id,
        r2.to_string(),
        "the watch from now gets the new write"
    );
}

async fn a_filtered_watch_sends_what_the_filtered_history_holds(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("smn_topic", &["t1", "t2"], &[("team", "a"), ("env", "dev")])
        .await;
    app.tag("CLUSTER", &["c1"], &[("team", "a")]).await;
    app.tag("smn_topic", &["t2"], &[("env", "prod")]).await;
    app.tag("smn_topic", &["t2"], &[("team", "b")]).await;
    let filter = [
        ("resource_type", "smn_topic"),
        ("resource_ids", r#"["t2"]"#),
        ("keys", r#"["team"]"#),
    ];
    let history = filtered_history(&app, &filter).await;
    assert_eq!(history.len(), 2, "t2's team, set and changed: {history:?}");
    let from_0 = [&filter[..], &[("after_revision", "0")]].concat();
    let mut events = Events::open(watch(&app).query(&from_0)).await;
    for revision in &history {
        assert_change(&events.next_change().await, revision);
    }

    // Writes the filter does not select send nothing; the next one it selects is the next event.
    app.tag("smn_topic", &["t2"], &[("env", "test")]).await;
    app.tag("smn_topic", &["t1"], &[("team", "c")]).await;
    app.tag("smn_topic", &["t2"], &[("team", "c")]).await;
    let history = filtered_history(&app, &filter).await;
    assert_eq!(history.len(), 3, "{history:?}");
    assert_change(&events.next_change().await, &history[2]);
}

async fn watches_over_max_watchers_are_429_until_one_ends(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-watchers", "1"]).await;
    let first = Events::open(watch(&app)).await;
    let refused = answer(watch(&app)).await;
    assert_error(&refused, 429, "SMN.00010429", "--max-watchers");
    drop(first);
    // The server notices the closed connection when it next writes or polls it: wait, bounded.
    for _ in 0..100 {
        let res = watch(&app).send().await.expect("answered");
        if res.status() == StatusCode::OK {
            return;
        }
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the watcher's place was not freed within 10 s of its client leaving");
}

impl Events {
    /// The next event that is not a bookmark, and then that the stream has ended.
    async fn last(mut self) -> Event {
        let e = loop {
            let e = self.next().await;
            if e.event != "bookmark" {
                break e;
            }
        };
        let rest = tokio::time::timeout(Duration::from_secs(10), self.res.chunk())
            .await
            .expect("the stream ends within 10 s")
            .expect("the stream is read");
        assert_eq!(rest, None, "nothing after {e:?}");
        e
    }
}

/// Asserts `e` is the `error` event that ends a stream, of `code`.
#[track_caller]
fn assert_error_event(e: &Event, code: &str) {
    assert_eq!(e.event, "error", "{e:?}");
    assert_eq!(keys(&e.data), ["error_code", "error_msg"], "{e:?}");
    assert_eq!(e.data["error_code"], code, "{e:?}");
}

async fn a_revoked_tokens_stream_ends_with_an_error_event_at_the_next_bookmark(b: Backend) {
    let app = TestApp::spawn_with(b, &["--watch-bookmark-ms", "200"]).await;
    let token = app.token_for(PROJECT, true, false).await;
    let query = [("access_token", token.as_str())];
    let mut events = Events::open(app.rest().get(WATCH).query(&query)).await;
    assert_eq!(events.next().await.event, "bookmark", "the stream is live");
    let store = store::connect(&app.database_url, &small_pool())
        .await
        .expect("a store");
    let revoked = revoke_token(store.as_ref(), &token).await.expect("revoke");
    assert!(revoked, "a live token was revoked");
    assert_error_event(&events.last().await, "unauthenticated");
}

async fn a_stream_ends_with_an_error_event_when_the_server_shuts_down(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    let events = Events::open(watch(&app)).await;
    let (_, e) = tokio::join!(app.stop(), events.last());
    assert_error_event(&e, "shutting_down");
}

both_backends!(
    a_watch_from_revision_0_sends_the_history_then_each_new_revision,
    reconnecting_with_last_event_id_resumes_exactly_after_it,
    the_token_may_be_given_in_the_query_and_none_is_refused,
    an_idle_watch_sends_bookmarks_of_the_revision_it_reached,
    a_revoked_tokens_stream_ends_with_an_error_event_at_the_next_bookmark,
    a_stream_ends_with_an_error_event_when_the_server_shuts_down,
    a_filtered_watch_sends_what_the_filtered_history_holds,
    watches_over_max_watchers_are_429_until_one_ends,
);
