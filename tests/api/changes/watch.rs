//! WatchTagChanges over gRPC: every change once, in revision order, from now or from a
//! revision; resumed after a disconnect and after a SIGKILL of the server without a gap or a
//! duplicate; across two processes on one PostgreSQL database; filters and bookmarks; and the
//! bounds: a slow consumer, `--max-watchers`, a revoked token, shutdown.

use std::time::Duration;

use tonic::{Code, Streaming, transport::Channel};

use crate::helpers::{
    Backend, InProcessServer, PROJECT, TaggingServiceClient, TestApp, TestDb, authed,
    binary::{start_server, token_and_json_serve},
    pb, tag_request,
};

type Stream = Streaming<pb::WatchTagChangesResponse>;

/// Far longer than any message takes to come; only a broken server makes a test wait this long.
const PATIENCE: Duration = Duration::from_secs(30);

fn from(after: Option<i64>) -> pb::WatchTagChangesRequest {
    pb::WatchTagChangesRequest {
        after_revision: after,
        ..Default::default()
    }
}

async fn watch(
    client: &TaggingServiceClient<Channel>,
    token: &str,
    req: pb::WatchTagChangesRequest,
) -> Stream {
    client
        .clone()
        .watch_tag_changes(authed(token, req))
        .await
        .expect("the watch opens")
        .into_inner()
}

/// The next message, which must come.
async fn next(stream: &mut Stream) -> pb::WatchTagChangesResponse {
    tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("a message in time")
        .expect("the stream goes on")
        .expect("a message, not the end")
}

/// The change messages (bookmarks skipped) up to and including `revision`.
async fn changes_through(stream: &mut Stream, revision: i64) -> Vec<pb::WatchTagChangesResponse> {
    let mut got = Vec::new();
    while got
        .last()
        .is_none_or(|m: &pb::WatchTagChangesResponse| m.revision < revision)
    {
        let m = next(stream).await;
        if !m.bookmark {
            got.push(m);
        }
    }
    got
}

/// The error the stream ends with, after any messages still coming.
async fn end_of(stream: &mut Stream) -> tonic::Status {
    loop {
        match tokio::time::timeout(PATIENCE, stream.message())
            .await
            .expect("the stream ends in time")
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended without an error"),
            Err(status) => return status,
        }
    }
}

async fn write(client: &TaggingServiceClient<Channel>, token: &str, id: &str, value: &str) -> i64 {
    client
        .clone()
        .tag_resources(authed(token, tag_request(&[id], &[("env", value)])))
        .await
        .expect("a write")
        .into_inner()
        .revision
}

fn revisions(messages: &[pb::WatchTagChangesResponse]) -> Vec<i64> {
    messages.iter().map(|m| m.revision).collect()
}

async fn a_watch_from_now_receives_every_change_of_concurrent_writers_once_in_order(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut stream = watch(&app.client, &app.token, from(None)).await;
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, token) = (app.client.clone(), app.token.clone());
        writers.push(tokio::spawn(async move {
            let mut taken = Vec::new();
            for n in 0..10 {
                let id = format!("w{w}-{}", n % 3);
                taken.push((write(&client, &token, &id, &format!("v{n}")).await, id));
            }
            taken
        }));
    }
    let mut written = Vec::new();
    for w in writers {
        written.extend(w.await.expect("a writer"));
    }
    written.sort();
    let last = written.last().expect("writes").0;
    let got = changes_through(&mut stream, last).await;
    assert_eq!(
        revisions(&got),
        written.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        "every write's revision once, in order"
    );
    for (m, (revision, id)) in got.iter().zip(&written) {
        let c = &m.changes.last().expect("the write's tag change");
        assert_eq!(
            (c.revision, &c.resource_id, c.key.as_str()),
            (*revision, id, "env")
        );
    }
}

async fn resuming_after_a_disconnect_loses_and_repeats_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    for n in 0..5 {
        write(&app.client, &app.token, "c1", &format!("a{n}")).await;
    }
    let mut first = watch(&app.client, &app.token, from(Some(0))).await;
    let seen = [next(&mut first).await, next(&mut first).await];
    drop(first);
    let mut last = 0;
    for n in 0..3 {
        last = write(&app.client, &app.token, "c1", &format!("b{n}")).await;
    }
    let mut resumed = watch(&app.client, &app.token, from(Some(seen[1].revision))).await;
    let rest = changes_through(&mut resumed, last).await;
    let all: Vec<i64> = revisions(&seen)
        .into_iter()
        .chain(revisions(&rest))
        .collect();
    assert_eq!(all, (1..=last).collect::<Vec<_>>());
}

async fn a_filtered_watch_sends_what_matches_and_bookmarks_the_rest(b: Backend) {
    let app = TestApp::spawn_with(b, &["--watch-bookmark-ms", "200"]).await;
    let system = app.token_for(PROJECT, false, true).await;
    let by_id = pb::WatchTagChangesRequest {
        resource_ids: vec!["c1".into()],
        after_revision: Some(0),
        ..Default::default()
    };
    let by_key = pb::WatchTagChangesRequest {
        keys: vec!["team".into(), "_sys_owner".into()],
        after_revision: Some(0),
        ..Default::default()
    };
    let mut user = watch(&app.client, &app.token, by_id).await;
    let mut sys = watch(&app.client, &system, by_key).await;
    let tag = |token: &str, id: &str, key: &str, value: &str| {
        let (client, token) = (app.client.clone(), token.to_owned());
        let req = tag_request(&[id], &[(key, value)]);
        async move {
            let answer = client.clone().tag_resources(authed(&token, req)).await;
            answer.expect("a write").into_inner().revision
        }
    };
    let env = tag(&app.token, "c1", "env", "prod").await;
    let other = tag(&app.token, "c2", "team", "b").await;
    let team = tag(&app.token, "c1", "team", "a").await;
    let hidden = tag(&system, "c1", "_sys_owner", "ops").await;
    let got = changes_through(&mut sys, hidden).await;
    assert_eq!(revisions(&got), [other, team, hidden], "by key");
    let got = changes_through(&mut user, team).await;
    assert_eq!(revisions(&got), [env, team], "by id");
    assert_eq!(
        got[0].changes.len(),
        2,
        "c1 registered, then tagged: {got:?}"
    );
    // The system tag's change is not the user's to see: idle, its watch bookmarks past it.
    loop {
        let m = next(&mut user).await;
        assert!(m.bookmark, "only bookmarks follow: {m:?}");
        if m.revision == hidden {
            break;
        }
    }
}

async fn a_watch_receives_the_writes_made_through_another_process() {
    // Polling only once a minute: what arrives sooner came by LISTEN/NOTIFY.
    let app = TestApp::spawn_with(Backend::Postgres, &["--watch-poll-ms", "60000"]).await;
    let mut other = InProcessServer::start(&app.database_url, &["--watch-poll-ms", "60000"]).await;
    let client = TaggingServiceClient::connect(format!("http://{}", other.addr))
        .await
        .expect("the second process answers");
    let mut here = watch(&app.client, &app.token, from(None)).await;
    let mut there = watch(&client, &app.token, from(None)).await;
    let mut written = Vec::new();
    for n in 0..6 {
        let through = if n % 2 == 0 { &client } else { &app.client };
        written.push(write(through, &app.token, "c1", &format!("v{n}")).await);
    }
    let last = *written.last().expect("writes");
    for stream in [&mut here, &mut there] {
        let got = tokio::time::timeout(Duration::from_secs(20), changes_through(stream, last))
            .await
            .expect("within the minute's poll: woken by the other process");
        assert_eq!(revisions(&got), written);
    }
    other.stop().await;
}

/// A `serve` of the real binary on `db`, with JSON logs.
fn serve(db: &str) -> crate::helpers::binary::Server {
    start_server(token_and_json_serve(db).1)
}

async fn a_watch_resumes_after_a_sigkill_of_the_server_without_a_gap_or_a_duplicate(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    let (token, cmd) = token_and_json_serve(&url);
    let mut server = start_server(cmd);
    let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client");
    let mut stream = watch(&client, &token, from(Some(0))).await;
    let mut written = Vec::new();
    for n in 0..3 {
        written.push(write(&client, &token, "c1", &format!("v{n}")).await);
    }
    let mut seen = changes_through(&mut stream, written[2]).await;
    // Acknowledged, then the server dies at once: the watch may or may not have sent it.
    written.push(write(&client, &token, "c2", "last").await);
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    while let Ok(Some(m)) = stream.message().await {
        seen.push(m);
    }
    let server = serve(&url);
    let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client of the restarted server");
    written.push(write(&client, &token, "c3", "after").await);
    let last_seen = seen.last().expect("seen").revision;
    let mut resumed = watch(&client, &token, from(Some(last_seen))).await;
    seen.extend(changes_through(&mut resumed, *written.last().unwrap()).await);
    let seen: Vec<i64> = seen
        .iter()
        .filter(|m| !m.bookmark)
        .map(|m| m.revision)
        .collect();
    assert_eq!(seen, written, "every acknowledged write once, in order");
}

async fn watchers(app: &TestApp) -> f64 {
    let text = app
        .rest()
        .get("/metrics")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("tagging_watchers "))
        .map(|v| v.parse().expect("a number"))
        .expect("the watchers gauge")
}

async fn until_watchers(app: &TestApp, n: f64) {
    for _ in 0..600 {
        if watchers(app).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the server never got to {n} watchers (now {})",
        watchers(app).await
    );
}

async fn a_slow_consumer_is_ended_and_its_watcher_released(b: Backend) {
    a_slow_consumer_is_ended(b, &["--watch-buffer", "2"], 1).await;
}

/// With room for 256 messages, a few large revisions fill a watcher's bytes first.
async fn a_slow_consumer_of_large_revisions_is_ended_by_its_buffers_bytes(b: Backend) {
    a_slow_consumer_is_ended(b, &[], 50).await;
}

/// A consumer that reads nothing while 60 revisions of `resources` resources each come.
async fn a_slow_consumer_is_ended(b: Backend, flags: &[&str], resources: usize) {
    let mut args = vec!["--watch-bookmark-ms", "300"];
    args.extend_from_slice(flags);
    let app = TestApp::spawn_with(b, &args).await;
    // A client that takes almost nothing: 1 KiB of window, and it does not read.
    let slow = Channel::from_shared(format!("http://{}", app.addr))
        .expect("URI")
        .initial_stream_window_size(Some(1024))
        .initial_connection_window_size(Some(1024))
        .connect()
        .await
        .expect("slow client");
    let mut stream = watch(&TaggingServiceClient::new(slow), &app.token, from(Some(0))).await;
    until_watchers(&app, 1.0).await;
    let big = "x".repeat(200);
    let tags: Vec<(String, String)> = (0..20).map(|k| (format!("k{k}"), big.clone())).collect();
    let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for n in 0..60 {
        let ids: Vec<String> = (0..resources).map(|r| format!("c{n}-{r}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        app.client
            .clone()
            .tag_resources(authed(&app.token, tag_request(&ids, &tags)))
            .await
            .expect("a write");
    }
    // Ended by the server while the client still reads nothing.
    until_watchers(&app, 0.0).await;
    let end = end_of(&mut stream).await;
    assert_eq!(end.code(), Code::ResourceExhausted, "{end:?}");
    assert!(end.message().contains("too slow"), "{}", end.message());
}

async fn max_watchers_refuses_more_and_frees_a_place_when_one_ends(b: Backend) {
    let app = TestApp::spawn_with(b, &["--max-watchers", "2"]).await;
    let first = watch(&app.client, &app.token, from(None)).await;
    let _second = watch(&app.client, &app.token, from(None)).await;
    let refused = app
        .client
        .clone()
        .watch_tag_changes(authed(&app.token, from(None)))
        .await
        .expect_err("a third watch");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("--max-watchers"),
        "{}",
        refused.message()
    );
    drop(first);
    until_watchers(&app, 1.0).await;
    watch(&app.client, &app.token, from(None)).await;
}

async fn a_revoked_tokens_stream_ends_at_its_next_bookmark(b: Backend) {
    let app = TestApp::spawn_with(b, &["--watch-bookmark-ms", "200"]).await;
    let token = app.token_for(PROJECT, false, false).await;
    let mut stream = watch(&app.client, &token, from(None)).await;
    assert!(next(&mut stream).await.bookmark, "bookmarks while idle");
    // Writes faster than the bookmark interval, so the stream never goes quiet.
    let (client, writer) = (app.client.clone(), app.token.clone());
    let busy = tokio::spawn(async move {
        for n in 0.. {
            write(&client, &writer, "c1", &format!("v{n}")).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    app.revoke(&token).await;
    let end = end_of(&mut stream).await;
    busy.abort();
    assert_eq!(end.code(), Code::Unauthenticated, "{end:?}");
}

async fn a_watch_from_a_revision_the_project_has_not_reached_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let now = write(&app.client, &app.token, "c1", "v").await;
    let refused = app
        .client
        .clone()
        .watch_tag_changes(authed(&app.token, from(Some(now + 1000))))
        .await
        .expect_err("a revision from the future");
    crate::helpers::assert_invalid(&refused, "after_revision");
    assert!(refused.message().contains(&now.to_string()), "{refused:?}");
}

async fn streams_end_cleanly_when_the_server_shuts_down(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    let token = crate::helpers::token_in(&url).await;
    let mut server = InProcessServer::start(&url, &["--shutdown-grace-secs", "600"]).await;
    let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client");
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(watch(&client, &token, from(None)).await);
    }
    // With 600 s of grace, only streams that end let the server stop within the patience.
    tokio::time::timeout(PATIENCE, server.stop())
        .await
        .expect("the server stops: its streams ended");
    for mut s in streams {
        let end = end_of(&mut s).await;
        assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    }
}

/// An event stream over HTTP/1.1 whose reader stopped reading: its watcher ends, and the answer
/// that can never finish does not keep the connection (nor the server's shutdown) waiting.
async fn a_reader_that_stops_reading_an_event_stream_does_not_hold_the_server(b: Backend) {
    use tokio::io::AsyncWriteExt;
    let (_db, url) = TestDb::create(b).await;
    let token = crate::helpers::token_in(&url).await;
    let flags = [
        "--idle-timeout-ms",
        "1000",
        "--watch-bookmark-ms",
        "300",
        "--shutdown-grace-secs",
        "600",
    ];
    let mut server = InProcessServer::start(&url, &flags).await;
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let mut stalled = socket.connect(server.addr).await.expect("connects");
    let request = format!(
        "GET /v2/{PROJECT}/tag_changes/watch?after_revision=0 HTTP/1.1\r\nHost: t\r\nX-Auth-Token: {token}\r\n\r\n"
    );
    stalled.write_all(request.as_bytes()).await.expect("sent");
    let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client");
    let big = "x".repeat(200);
    let tags: Vec<(String, String)> = (0..20).map(|k| (format!("k{k}"), big.clone())).collect();
    let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for n in 0..30 {
        let ids: Vec<String> = (0..50).map(|r| format!("c{n}-{r}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        client
            .clone()
            .tag_resources(authed(&token, tag_request(&ids, &tags)))
            .await
            .expect("a write");
    }
    drop(client);
    // With 600 s of grace, the server stops in time only if the stalled answer was given up.
    tokio::time::timeout(PATIENCE, server.stop())
        .await
        .expect("the server stops: the connection that took nothing was closed");
    drop(stalled);
}

both_backends!(
    a_reader_that_stops_reading_an_event_stream_does_not_hold_the_server,
    a_watch_from_now_receives_every_change_of_concurrent_writers_once_in_order,
    resuming_after_a_disconnect_loses_and_repeats_nothing,
    a_filtered_watch_sends_what_matches_and_bookmarks_the_rest,
    a_watch_resumes_after_a_sigkill_of_the_server_without_a_gap_or_a_duplicate,
    a_slow_consumer_is_ended_and_its_watcher_released,
    a_slow_consumer_of_large_revisions_is_ended_by_its_buffers_bytes,
    a_watch_from_a_revision_the_project_has_not_reached_is_refused,
    max_watchers_refuses_more_and_frees_a_place_when_one_ends,
    a_revoked_tokens_stream_ends_at_its_next_bookmark,
    streams_end_cleanly_when_the_server_shuts_down,
);

mod across_processes {
    #[tokio::test]
    async fn a_watch_receives_the_writes_made_through_another_process() {
        super::a_watch_receives_the_writes_made_through_another_process().await
    }
}
