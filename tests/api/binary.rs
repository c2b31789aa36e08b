//! The real binary: bad configuration fails at start, the config file and the environment, and a
//! call in flight at SIGTERM is answered before the process exits.

use std::{path::Path, process::Command, time::Duration};

use sqlx::{Connection, Executor, SqliteConnection};
use tonic::Status;

use crate::helpers::{
    TaggingServiceClient, assert_invalid, authed,
    binary::{Server, binary, run_bounded, start_server, token_and_json_serve},
    tag_request,
};

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("tagging.db").display())
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("written");
    path.display().to_string()
}

#[test]
fn the_binary_on_sqlite_exits_non_zero_at_start_naming_each_bad_option() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sqlite_url(dir.path());
    let unknown = write_file(dir.path(), "unknown.toml", "unknown_key = 1\n");
    let not_toml = write_file(dir.path(), "broken.toml", "this is = = not toml [\n");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--max-tags-per-resource".into(),
                "0".into(),
            ],
            "--max-tags-per-resource",
        ),
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--resource-types".into(),
                "a,a".into(),
            ],
            "--resource-types",
        ),
        (
            vec!["--database-url".into(), "ftp://x".into()],
            "--database-url",
        ),
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--cors-allowed-origins".into(),
                "bad\nvalue".into(),
            ],
            "--cors-allowed-origins",
        ),
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--config".into(),
                unknown,
            ],
            "unknown_key",
        ),
        (
            vec![
                "--database-url".into(),
                db.clone(),
                "--config".into(),
                not_toml,
            ],
            "--config",
        ),
    ];
    for (extra, names) in cases {
        let mut cmd = binary();
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(&extra);
        let (status, _, stderr) = run_bounded(cmd);
        assert!(
            !status.success(),
            "{extra:?} should fail: {status:?}\n{stderr}"
        );
        assert!(
            stderr.contains(names),
            "{extra:?}: stderr should name `{names}`:\n{stderr}"
        );
        assert!(
            !stderr.contains("tagging-service ready"),
            "{extra:?} should fail before serving:\n{stderr}"
        );
    }
}

/// Tags `r1` with two tags, then a third: answers the third call's outcome.
async fn third_tag(server: &Server, token: &str) -> Result<(), Status> {
    let mut client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client connects");
    client
        .tag_resources(authed(
            token,
            tag_request(&["r1"], &[("a", "1"), ("b", "2")]),
        ))
        .await
        .expect("two tags are within either limit");
    client
        .tag_resources(authed(token, tag_request(&["r1"], &[("c", "3")])))
        .await
        .map(drop)
}

#[tokio::test]
async fn the_binary_on_sqlite_takes_the_config_file_unless_the_environment_overrides_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write_file(dir.path(), "tagging.toml", "max_tags_per_resource = 2\n");

    // (database, TAGGING_MAX_TAGS_PER_RESOURCE, the global `--log-format` before `serve`, whether
    // a third tag is accepted). Both spellings of the global option must leave the file in force.
    let cases = [
        ("env.db", Some("3"), false, true),
        ("file-after.db", None, false, false),
        ("file-before.db", None, true, false),
    ];
    for (db_name, env, global_first, third_accepted) in cases {
        let db = format!("sqlite:{}", dir.path().join(db_name).display());
        let mut create = binary();
        create.args(["token", "create", "--project", "p1", "--database-url", &db]);
        let (status, stdout, stderr) = run_bounded(create);
        assert!(status.success(), "token create: {stderr}");
        let token = stdout.trim().to_owned();
        assert!(!token.is_empty(), "a token on stdout");

        let mut serve = binary();
        let serve_args = [
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &db,
            "--config",
            &config,
        ];
        if global_first {
            serve
                .args(["--log-format", "json", "serve"])
                .args(serve_args);
        } else {
            serve
                .arg("serve")
                .args(serve_args)
                .args(["--log-format", "json"]);
        }
        if let Some(max) = env {
            serve.env("TAGGING_MAX_TAGS_PER_RESOURCE", max);
        }
        let server = start_server(serve);
        let third = third_tag(&server, &token).await;
        if third_accepted {
            third.unwrap_or_else(|s| {
                panic!("{db_name}: the environment's limit of 3 applies: {s:?}")
            });
        } else {
            let Err(refused) = third else {
                panic!(
                    "{db_name}: the config file's limit of 2 applies, yet a third tag was accepted"
                );
            };
            assert_invalid(&refused, "tags");
        }
        drop(server);
    }
}

#[tokio::test]
async fn the_binary_on_sqlite_answers_a_call_in_flight_at_sigterm_before_it_exits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:{}", dir.path().join("drain.db").display());
    let (token, serve) = token_and_json_serve(&db);
    let mut server = start_server(serve);

    // The test holds SQLite's write lock, so the write below waits (the busy timeout is 5 s).
    let mut lock = SqliteConnection::connect(&db).await.expect("connect");
    lock.execute("BEGIN IMMEDIATE")
        .await
        .expect("take the write lock");
    let mut client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client connects");
    let in_flight = tokio::spawn({
        let token = token.clone();
        async move {
            let req = tag_request(&["drained"], &[("k", "v")]);
            client.tag_resources(authed(&token, req)).await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!in_flight.is_finished(), "the write waits for the lock");

    let pid = server.child.id().to_string();
    let signalled = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(signalled.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.execute("ROLLBACK")
        .await
        .expect("release the write lock");

    in_flight
        .await
        .expect("task")
        .expect("the call in flight at SIGTERM was answered");
    let mut exited = None;
    for _ in 0..100 {
        exited = server.child.try_wait().expect("wait");
        if exited.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        exited.is_some_and(|s| s.success()),
        "the server exits cleanly: {exited:?}"
    );
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT t.value FROM tags t JOIN resources r ON r.pk = t.resource_pk WHERE r.resource_id = 'drained'",
    )
    .fetch_optional(&mut lock)
    .await
    .expect("read");
    assert_eq!(
        stored.as_deref(),
        Some("v"),
        "the acknowledged write is stored"
    );
}
