//! A database made by a previous schema is upgraded when the service starts on it: before tags
//! carried their scope and their counts, its tags keep their scope, its keys and values are
//! counted, and the filters, counts and project keys answer from the upgraded tables at once;
//! before the change log was packed, its history reads the same.

use std::str::FromStr;

use sqlx::{
    Connection, Executor, PgConnection, SqliteConnection, migrate::Migrator,
    sqlite::SqliteConnectOptions,
};
use tagging_service::{
    auth::{Grant, create_token},
    proto::pb::{self, tagging_service_client::TaggingServiceClient},
    store::{self, PoolSettings},
};

use crate::helpers::{Backend, InProcessServer, PROJECT, authed, db::TestDb};

/// The last version before scoped tags.
const BEFORE: i64 = 3;

/// Two projects, two types each; `env` on every resource, `rare` on one.
const OLD_DATA: &str = "
INSERT INTO resources (project_id, resource_type, resource_id) VALUES
  ('PROJECT', 'CLUSTER', 'c1'), ('PROJECT', 'CLUSTER', 'c2'), ('PROJECT', 'CLUSTER', 'c3'),
  ('PROJECT', 'TOPIC', 't1'), ('other', 'CLUSTER', 'c1');
INSERT INTO tags (resource_pk, key, value)
  SELECT pk, 'env', CASE WHEN resource_id = 'c2' THEN 'dev' ELSE 'prod' END FROM resources;
INSERT INTO tags (resource_pk, key, value)
  SELECT pk, 'rare', 'yes' FROM resources WHERE project_id = 'PROJECT' AND resource_id = 'c3';
";

async fn migrator(b: Backend, upto: i64) -> Migrator {
    let mut m = match b {
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
    };
    let before: Vec<_> = m
        .migrations
        .iter()
        .filter(|m| m.version <= upto)
        .cloned()
        .collect();
    m.migrations = before.into();
    m
}

/// A database at version `upto` holding `data` (`'PROJECT'` standing for the tests' project).
async fn old_database(b: Backend, url: &str, upto: i64, data: &str) {
    let data = data.replace("'PROJECT'", &format!("'{PROJECT}'"));
    match b {
        Backend::Postgres => {
            let mut c = PgConnection::connect(url).await.unwrap();
            migrator(b, upto).await.run(&mut c).await.unwrap();
            c.execute(data.as_str()).await.unwrap();
        }
        Backend::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)
                .unwrap()
                .create_if_missing(true);
            let mut c = SqliteConnection::connect_with(&options).await.unwrap();
            migrator(b, upto).await.run(&mut c).await.unwrap();
            c.execute(data.as_str()).await.unwrap();
        }
    }
}

fn filter(key: &str, values: &[&str]) -> pb::CountResourcesRequest {
    pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        tags: vec![pb::TagFilter {
            key: key.into(),
            values: values.iter().map(|v| (*v).into()).collect(),
        }],
        ..Default::default()
    }
}

/// The service started on the database at `url` (upgrading it), a client of it and a token of
/// the tests' project.
async fn upgraded(
    url: &str,
) -> (
    InProcessServer,
    TaggingServiceClient<tonic::transport::Channel>,
    String,
) {
    let pool = PoolSettings {
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(5),
        statement_timeout: None,
        postings_bytes: 0,
    };
    let store = store::connect(url, &pool).await.expect("upgrades");
    let grant = Grant {
        project_id: PROJECT.into(),
        read_only: false,
        system: false,
    };
    let token = create_token(store.as_ref(), &grant).await.unwrap().1;
    let server = InProcessServer::start(url, &[]).await;
    let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    (server, client, token)
}

async fn an_old_database_is_upgraded_with_its_counts(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    old_database(b, &url, BEFORE, OLD_DATA).await;
    let (_server, client, token) = upgraded(&url).await;

    let count = async |f: pb::CountResourcesRequest| {
        client
            .clone()
            .count_resources(authed(&token, f))
            .await
            .expect("count")
            .into_inner()
            .total_count
    };
    assert_eq!(
        count(filter("env", &[])).await,
        3,
        "this project's clusters"
    );
    assert_eq!(count(filter("env", &["prod"])).await, 2);
    assert_eq!(count(filter("rare", &["yes"])).await, 1);
    let listed = client
        .clone()
        .list_resources(authed(
            &token,
            pb::ListResourcesRequest {
                resource_type: "CLUSTER".into(),
                tags: filter("env", &["prod", "dev"]).tags,
                tags_any: filter("rare", &[]).tags,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<String> = listed
        .resources
        .into_iter()
        .map(|r| r.resource_id)
        .collect();
    assert_eq!(ids, ["c3"]);

    let keys = client
        .clone()
        .list_project_tags(authed(&token, pb::ListProjectTagsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .tags;
    let keys: Vec<(String, Vec<String>)> = keys.into_iter().map(|t| (t.key, t.values)).collect();
    assert_eq!(
        keys,
        [
            ("env".to_owned(), vec!["dev".to_owned(), "prod".to_owned()]),
            ("rare".to_owned(), vec!["yes".to_owned()]),
        ],
        "both types of this project, none of the other project"
    );
}

/// The last version whose change log kept a row per change.
const UNPACKED: i64 = 8;

/// Two writes as that log kept them: the first registers two resources and tags them (one
/// resource logged before the log kept internal ids), the second changes and removes a tag.
const UNPACKED_LOG: &str = "
INSERT INTO project_revisions (project_id, revision, compacted) VALUES ('PROJECT', 2, 0);
INSERT INTO change_sets (id, project_id, revision, resource_type, credential_id, request_id, changed_at) VALUES
  (1, 'PROJECT', 1, 'CLUSTER', 'tok-a', 'req-1', 1000),
  (2, 'PROJECT', 2, 'CLUSTER', 'tok-b', 'req-2', 2000);
INSERT INTO tag_changes (change_set, seq, resource_pk, resource_id, kind, key, old_value, new_value) VALUES
  (1, 0, NULL, 'c1', 3, NULL, NULL, 'first'),
  (1, 1, NULL, 'c1', 1, 'env', NULL, 'prod'),
  (1, 2, NULL, 'c1', 1, 'team', NULL, 'a \"b\", c'),
  (1, 3, 7, 'c2', 3, NULL, NULL, NULL),
  (1, 4, 7, 'c2', 1, 'env', NULL, 'dev'),
  (2, 0, 9, 'c1', 1, 'env', 'prod', 'dev'),
  (2, 1, 9, 'c1', 2, 'team', 'a \"b\", c', NULL);
";

type Listed = (
    i64,
    String,
    i32,
    String,
    Option<String>,
    Option<String>,
    String,
);

/// Every change `req` selects, walked `page_size` at a time.
async fn history(
    client: &TaggingServiceClient<tonic::transport::Channel>,
    token: &str,
    mut req: pb::ListTagChangesRequest,
) -> Vec<Listed> {
    let mut listed = Vec::new();
    loop {
        let page = client
            .clone()
            .list_tag_changes(authed(token, req.clone()))
            .await
            .expect("the history")
            .into_inner();
        listed.extend(page.changes.into_iter().map(|c| {
            let (kind, key, old, new) = (c.kind, c.key, c.old_value, c.new_value);
            (c.revision, c.resource_id, kind, key, old, new, c.request_id)
        }));
        if page.next_token.is_empty() {
            return listed;
        }
        req.next_token = page.next_token;
    }
}

async fn a_change_log_of_a_row_per_change_reads_the_same_packed(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    old_database(b, &url, UNPACKED, UNPACKED_LOG).await;
    let (_server, client, token) = upgraded(&url).await;

    let (set, removed, created) = (
        pb::ChangeKind::TagSet as i32,
        pb::ChangeKind::TagRemoved as i32,
        pb::ChangeKind::ResourceCreated as i32,
    );
    let text = |s: &str| Some(s.to_owned());
    let change = |revision, id: &str, kind, key: &str, old, new, request: &str| {
        let (id, key, request) = (id.to_owned(), key.to_owned(), request.to_owned());
        (revision, id, kind, key, old, new, request)
    };
    let quoted = "a \"b\", c";
    let everything: Vec<Listed> = vec![
        change(1, "c1", created, "", None, text("first"), "req-1"),
        change(1, "c1", set, "env", None, text("prod"), "req-1"),
        change(1, "c1", set, "team", None, text(quoted), "req-1"),
        change(1, "c2", created, "", None, None, "req-1"),
        change(1, "c2", set, "env", None, text("dev"), "req-1"),
        change(2, "c1", set, "env", text("prod"), text("dev"), "req-2"),
        change(2, "c1", removed, "team", text(quoted), None, "req-2"),
    ];
    for page_size in [1, 2, 50] {
        let req = pb::ListTagChangesRequest {
            page_size,
            ..Default::default()
        };
        assert_eq!(
            history(&client, &token, req).await,
            everything,
            "pages of {page_size}, some ending inside a resource's changes"
        );
    }
    let teams = pb::ListTagChangesRequest {
        keys: vec!["team".into()],
        page_size: 1,
        ..Default::default()
    };
    let team_changes: Vec<Listed> = everything
        .iter()
        .filter(|c| c.3 == "team")
        .cloned()
        .collect();
    assert_eq!(history(&client, &token, teams).await, team_changes);
    let after_first = pb::ListTagChangesRequest {
        after_revision: 1,
        resource_ids: vec!["c1".into()],
        ..Default::default()
    };
    assert_eq!(history(&client, &token, after_first).await, everything[5..]);
}

both_backends!(
    an_old_database_is_upgraded_with_its_counts,
    a_change_log_of_a_row_per_change_reads_the_same_packed,
);
