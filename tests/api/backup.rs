//! Backups taken while writers run, restored into a fresh database and served: `backup` (SQLite's
//! `VACUUM INTO`) and the documented PostgreSQL recipe (`pg_dump -Fc`, `pg_restore`).
//!
//! Each writer tags its resources `w<i>-1`, `w<i>-2`, … one after another, each write waiting
//! for the previous one's answer. A consistent copy therefore holds, for every writer, exactly
//! its first n resources for some n between what was acknowledged before the copy began and what
//! was acknowledged when it ended, each with both of its tags: no gap, no half-applied write.

use std::{
    os::unix::fs::PermissionsExt,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use tonic::transport::Channel;

use crate::helpers::{
    Backend, InProcessServer, TestApp, TestDb, authed, binary::binary, owned, pb,
    pb::tagging_service_client::TaggingServiceClient, tag_request, tools::blocking,
};

const WRITERS: usize = 4;

struct Load {
    stop: Arc<AtomicBool>,
    acknowledged: Vec<Arc<AtomicUsize>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(app: &TestApp) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut acknowledged = Vec::new();
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let done = Arc::new(AtomicUsize::new(0));
            let (mut client, token, stop, counter) = (
                app.client.clone(),
                app.token.clone(),
                stop.clone(),
                done.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let (id, seq, who) =
                        (format!("w{writer}-{n}"), n.to_string(), writer.to_string());
                    let tags = [("writer", who.as_str()), ("seq", seq.as_str())];
                    client
                        .tag_resources(authed(&token, tag_request(&[&id], &tags)))
                        .await
                        .expect("a write under load");
                    counter.store(n, Ordering::SeqCst);
                }
            }));
            acknowledged.push(done);
        }
        Self {
            stop,
            acknowledged,
            tasks,
        }
    }

    fn acknowledged(&self) -> Vec<usize> {
        self.acknowledged
            .iter()
            .map(|a| a.load(Ordering::SeqCst))
            .collect()
    }

    async fn wait_for(&self, each: usize) {
        while self.acknowledged().iter().any(|&n| n < each) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await.expect("writer");
        }
    }
}

/// What `client` serves of each writer's resources: (resource, tags) in registration order.
async fn writers_resources(
    client: &mut TaggingServiceClient<Channel>,
    token: &str,
    writer: usize,
) -> Vec<(String, Vec<(String, String)>)> {
    let mut all = Vec::new();
    let mut next_token = String::new();
    loop {
        let page = client
            .list_resources(authed(
                token,
                pb::ListResourcesRequest {
                    resource_type: "CLUSTER".into(),
                    tags: vec![pb::TagFilter {
                        key: "writer".into(),
                        values: vec![writer.to_string()],
                    }],
                    page_size: 1000,
                    next_token,
                    ..Default::default()
                },
            ))
            .await
            .expect("list_resources")
            .into_inner();
        all.extend(page.resources.into_iter().map(|r| {
            let tags = r.tags.into_iter().map(|t| (t.key, t.value)).collect();
            (r.resource_id, tags)
        }));
        if page.next_token.is_empty() {
            return all;
        }
        next_token = page.next_token;
    }
}

/// The restored database holds a prefix of every writer's writes, within the bounds, each whole,
/// and answers as the original does for what it holds.
async fn assert_consistent_copy(
    original: &mut TaggingServiceClient<Channel>,
    restored: &mut TaggingServiceClient<Channel>,
    token: &str,
    before: &[usize],
    after: &[usize],
) {
    for writer in 0..WRITERS {
        let copy = writers_resources(restored, token, writer).await;
        let n = copy.len();
        assert!(
            (before[writer]..=after[writer] + 1).contains(&n),
            "writer {writer}: the copy holds {n} writes, acknowledged {} before and {} after",
            before[writer],
            after[writer]
        );
        for (i, (id, tags)) in copy.iter().enumerate() {
            let seq = (i + 1).to_string();
            assert_eq!(
                id,
                &format!("w{writer}-{seq}"),
                "writer {writer}: a gap or a reordering"
            );
            assert_eq!(
                tags,
                &owned(&[("seq", &seq), ("writer", &writer.to_string())]),
                "{id}: a write half-applied"
            );
        }
        let now = writers_resources(original, token, writer).await;
        assert_eq!(
            &now[..n],
            &copy[..],
            "writer {writer}: the copy answers otherwise"
        );
    }
}

async fn client_of(server: &InProcessServer) -> TaggingServiceClient<Channel> {
    TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client")
}

#[tokio::test]
async fn a_sqlite_backup_taken_under_write_load_restores_to_a_consistent_copy() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let load = Load::start(&app);
    load.wait_for(20).await;
    let dir = tempfile::tempdir().expect("dir");
    let output = dir.path().join("backup.db");
    let before = load.acknowledged();
    let mut cmd = binary();
    cmd.args([
        "backup",
        "--output",
        output.to_str().unwrap(),
        "--database-url",
        &app.database_url,
    ]);
    let out = blocking(move || cmd.output().expect("run backup")).await;
    let after = load.acknowledged();
    assert!(
        out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    load.stop().await;
    let mode = std::fs::metadata(&output)
        .expect("backup file")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the backup is readable by its owner only");

    // Restored: the copy moved into a directory of its own and served.
    let restored_dir = tempfile::tempdir().expect("dir");
    let restored_path = restored_dir.path().join("tagging.db");
    std::fs::copy(&output, &restored_path).expect("restore");
    let restored =
        InProcessServer::start(&format!("sqlite:{}", restored_path.display()), &[]).await;
    let mut restored_client = client_of(&restored).await;
    assert_consistent_copy(
        &mut app.client,
        &mut restored_client,
        &app.token,
        &before,
        &after,
    )
    .await;

    // A backup never overwrites, and PostgreSQL is pointed at pg_dump.
    let mut again = binary();
    again.args([
        "backup",
        "--output",
        output.to_str().unwrap(),
        "--database-url",
        &app.database_url,
    ]);
    let refused = blocking(move || again.output().expect("run backup")).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("--output"),
        "{stderr}"
    );
    let mut postgres = binary();
    postgres.args([
        "backup",
        "--output",
        "/nonexistent/x",
        "--database-url",
        "postgres://u@127.0.0.1:1/d",
    ]);
    let refused = blocking(move || postgres.output().expect("run backup")).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("pg_dump"),
        "{stderr}"
    );
    app.stop().await;
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The recipe of docs/operations.md, run as written there.
#[tokio::test]
async fn the_postgresql_recipe_taken_under_write_load_restores_to_a_consistent_copy() {
    let mut app = TestApp::spawn(Backend::Postgres).await;
    let load = Load::start(&app);
    load.wait_for(20).await;
    let dir = tempfile::tempdir().expect("dir");
    let dump = dir.path().join("tagging.dump");
    let before = load.acknowledged();
    let (source, file) = (app.database_url.clone(), dump.to_str().unwrap().to_owned());
    blocking(move || {
        run(Command::new("pg_dump").args(["--format=custom", "--file", &file, &source]))
    })
    .await;
    let after = load.acknowledged();
    load.stop().await;

    let (_target_db, target) = TestDb::create(Backend::Postgres).await;
    let (into, file) = (target.clone(), dump.to_str().unwrap().to_owned());
    blocking(move || {
        run(Command::new("pg_restore").args([
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            &into,
            &file,
        ]))
    })
    .await;
    let restored = InProcessServer::start(&target, &["--no-migrate"]).await;
    let mut restored_client = client_of(&restored).await;
    assert_consistent_copy(
        &mut app.client,
        &mut restored_client,
        &app.token,
        &before,
        &after,
    )
    .await;
    app.stop().await;
}
