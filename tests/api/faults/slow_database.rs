//! The database slower than the caller's deadline: an abandoned call gives back its connection
//! and its statement.

use std::time::{Duration, Instant};

use prost::Message;
use serde_json::json;
use sqlx::{Connection, PgConnection};

use super::*;
use crate::helpers::{
    Backend, TestApp, WriteLock, answer, assert_error, authed,
    grpc_web::{grpc_web_call, grpc_web_status},
    ids, pb, report, tag,
};

/// A lock the test holds on its own connection: on PostgreSQL the row of resource `hot` (writes
/// to it wait, other resources are free); on SQLite the database's write lock (every write waits,
/// reads do not).
async fn hot_lock(app: &TestApp) -> WriteLock {
    WriteLock::holding(
        app,
        "SELECT pk FROM resources WHERE resource_id = 'hot' FOR UPDATE",
    )
    .await
}

/// How many of the service's statements wait for a lock in the test's database.
async fn waiting_statements(database_url: &str) -> i64 {
    let mut conn = PgConnection::connect(database_url)
        .await
        .expect("the test's PostgreSQL connection");
    let n = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'tagging-service' AND wait_event_type = 'Lock'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_activity");
    conn.close().await.expect("close");
    n
}

fn tag_hot_request(key: &str) -> pb::TagResourcesRequest {
    pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: RESOURCE_TYPE.into(),
        resource_ids: ids(&["hot"]),
        tags: vec![tag(key, "late")],
        expected_revision: None,
    }
}

/// Tags `hot` with `key` over gRPC-Web with a `grpc-timeout` of `deadline`; answers the call's
/// `grpc-status`. A tonic caller would time the deadline too, and its own timer, firing in the same
/// instant as the server's, could answer first: this caller has no timer, so the answer is the
/// server's.
async fn tag_hot_within(app: &TestApp, key: &str, deadline: &str) -> Option<String> {
    let message = tag_hot_request(key).encode_to_vec();
    let (headers, frames) =
        grpc_web_call(app, "TagResources", &message, &[("grpc-timeout", deadline)]).await;
    grpc_web_status(&headers, &frames)
}

/// DEADLINE_EXCEEDED.
const DEADLINE_EXCEEDED: Option<&str> = Some("4");
const MAX_CONNECTIONS: u32 = 2;

async fn calls_past_their_deadline_give_back_their_connections_and_statements(b: Backend) {
    let app = TestApp::spawn_with(b, &["--db-max-connections", &MAX_CONNECTIONS.to_string()]).await;
    app.tag(RESOURCE_TYPE, &["hot"], &[("env", "dev")]).await;
    let lock = hot_lock(&app).await;
    let mut client = app.client.clone();

    // On PostgreSQL, first one call that waits long enough to be seen waiting by the database. (A
    // long deadline on SQLite would race its busy timeout of 5 s.)
    let mut timed_out = 0;
    if b == Backend::Postgres {
        let seen_waiting = async {
            let give_up = Instant::now() + Duration::from_secs(5);
            while Instant::now() < give_up {
                if waiting_statements(&app.database_url).await > 0 {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        };
        let (watched, seen) = tokio::join!(tag_hot_within(&app, "watched", "5S"), seen_waiting);
        assert!(
            seen,
            "the service's write was never seen waiting for the lock"
        );
        assert_eq!(watched.as_deref(), DEADLINE_EXCEEDED);
        timed_out += 1;
    }

    // More calls past their deadline than the pool has connections, on both faces.
    for i in 0..=MAX_CONNECTIONS {
        let status = tag_hot_within(&app, &format!("late{i}"), "300m").await;
        assert_eq!(status.as_deref(), DEADLINE_EXCEEDED, "call {i}");
        timed_out += 1;
    }
    let rest = answer(
        app.rest()
            .put("/tags")
            .bearer_auth(&app.token)
            .header("grpc-timeout", "300m")
            .json(&json!({
                "resource_type": RESOURCE_TYPE,
                "resource_ids": ["hot"],
                "tags": [{"key": "late-rest", "value": "late"}],
            })),
    )
    .await;
    assert_error(&rest, 504, "GatewayTimeout", "deadline");
    timed_out += 1;

    // The lock is still held. On PostgreSQL the abandoned statements must have been cancelled by
    // the database (the statement timeout, the request timeout plus 1 s, is 31 s: longer than the
    // wait allowed here), and the pool serves writes of other resources.
    if b == Backend::Postgres {
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            let waiting = waiting_statements(&app.database_url).await;
            if waiting == 0 {
                break;
            }
            assert!(
                Instant::now() < give_up,
                "{waiting} abandoned statements of the service still wait for the lock"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut cold = authed(
            &app.token,
            pb::TagResourcesRequest {
                project_id: String::new(),
                resource_type: RESOURCE_TYPE.into(),
                resource_ids: ids(&["cold"]),
                tags: vec![tag("env", "dev")],
                expected_revision: None,
            },
        );
        cold.set_timeout(Duration::from_secs(10));
        client
            .tag_resources(cold)
            .await
            .expect("a write of another resource while `hot` is locked");
    }
    // Reads need no lock on either backend.
    assert_eq!(
        app.resource_tags(RESOURCE_TYPE, "hot")
            .await
            .expect("a read while the lock is held"),
        [("env".to_owned(), "dev".to_owned())]
    );

    lock.release().await;
    let mut after = authed(&app.token, tag_hot_request("after"));
    after.set_timeout(Duration::from_secs(10));
    client
        .tag_resources(after)
        .await
        .expect("a write of `hot` once the lock is gone");
    let mut tags = app.resource_tags(RESOURCE_TYPE, "hot").await.expect("read");
    tags.sort();
    assert_eq!(
        tags,
        [
            ("after".to_owned(), "late".to_owned()),
            ("env".to_owned(), "dev".to_owned())
        ],
        "none of the abandoned writes happened"
    );
    let cancelled = if b == Backend::Postgres {
        ", their statements cancelled while the lock was held,"
    } else {
        ","
    };
    report(&format!(
        "faults: deadline on {b:?}: {timed_out} calls past their deadline with {MAX_CONNECTIONS} \
         connections, all DEADLINE_EXCEEDED/504{cancelled} then served"
    ));
}

both_backends!(calls_past_their_deadline_give_back_their_connections_and_statements,);
