//! Work for a caller who is gone stops: on SQLite, whose statements run on threads of their own,
//! a burst of expensive calls answered DEADLINE_EXCEEDED leaves the server idle right after.
//! (PostgreSQL cancels such statements itself: `faults::slow_database`.)

use std::time::Duration;

use tonic::Code;

use crate::helpers::{
    TaggingServiceClient, authed,
    binary::{start_server, token_and_json_serve},
    pb,
};

const RESOURCES: usize = 40_000;
const BURST: usize = 20;

/// The server's CPU time so far, in seconds, from `/proc`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').expect("a stat line").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    let per_second = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(100);
    ticks as f64 / per_second as f64
}

/// 80 filter entries that every resource must be probed for: 20 keys of which only the last
/// exists, and 20 that do not.
fn expensive_count() -> pb::CountResourcesRequest {
    let filter = |key: String| pb::TagFilter {
        key,
        values: Vec::new(),
    };
    let mut tags_any: Vec<pb::TagFilter> = (0..19).map(|i| filter(format!("absent-{i}"))).collect();
    tags_any.push(filter("env".into()));
    pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags_any,
        not_tags_any: (0..20).map(|i| filter(format!("missing-{i}"))).collect(),
        not_tags: (0..20).map(|i| filter(format!("gone-{i}"))).collect(),
        tags: vec![filter("env".into())],
        ..Default::default()
    }
}

#[tokio::test]
async fn sqlite_statements_of_calls_past_their_deadline_are_interrupted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("burst.db").display());
    let (token, serve) = token_and_json_serve(&db);
    let server = start_server(serve);
    let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect");

    let mut seeding = Vec::new();
    for chunk in 0..RESOURCES / 50 {
        let (mut client, token) = (client.clone(), token.clone());
        seeding.push(tokio::spawn(async move {
            let req = pb::TagResourcesRequest {
                resource_type: "CLUSTER".into(),
                resource_ids: (0..50).map(|i| format!("r-{chunk}-{i}")).collect(),
                tags: vec![pb::Tag {
                    key: "env".into(),
                    value: "dev".into(),
                }],
                ..Default::default()
            };
            client
                .tag_resources(authed(&token, req))
                .await
                .expect("seed");
        }));
        if seeding.len() == 8 {
            for s in seeding.drain(..) {
                s.await.expect("seeding task");
            }
        }
    }
    for s in seeding {
        s.await.expect("seeding task");
    }

    let mut burst = Vec::new();
    for _ in 0..BURST {
        let (mut client, token) = (client.clone(), token.clone());
        burst.push(tokio::spawn(async move {
            let mut req = authed(&token, expensive_count());
            req.set_timeout(Duration::from_millis(100));
            client.count_resources(req).await
        }));
    }
    for call in burst {
        let answered = call.await.expect("the call task");
        let code = answered.map(|_| Code::Ok).unwrap_or_else(|s| s.code());
        assert!(
            matches!(code, Code::DeadlineExceeded | Code::Cancelled),
            "{code:?}"
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = server.child.id();
    let before = cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_seconds(pid) - before;
    assert!(
        used < 1.0,
        "the server used {used:.2} s of CPU in the 3 s after the burst was answered"
    );
}
