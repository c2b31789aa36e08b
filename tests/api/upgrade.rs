//! A database made by the previous schema (before tags carried their scope and their counts) is
//! upgraded when the service starts on it: its tags keep their scope, its keys and values are
//! counted, and the filters, counts and project keys answer from the upgraded tables at once.

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

async fn migrator(b: Backend) -> Migrator {
    let mut m = match b {
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
    };
    let before: Vec<_> = m
        .migrations
        .iter()
        .filter(|m| m.version <= BEFORE)
        .cloned()
        .collect();
    m.migrations = before.into();
    m
}

async fn old_database(b: Backend, url: &str) {
    let data = OLD_DATA.replace("'PROJECT'", &format!("'{PROJECT}'"));
    match b {
        Backend::Postgres => {
            let mut c = PgConnection::connect(url).await.unwrap();
            migrator(b).await.run(&mut c).await.unwrap();
            c.execute(data.as_str()).await.unwrap();
        }
        Backend::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)
                .unwrap()
                .create_if_missing(true);
            let mut c = SqliteConnection::connect_with(&options).await.unwrap();
            migrator(b).await.run(&mut c).await.unwrap();
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

async fn an_old_database_is_upgraded_with_its_counts(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    old_database(b, &url).await;
    let pool = PoolSettings {
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(5),
        statement_timeout: None,
        postings_bytes: 0,
    };
    let store = store::connect(&url, &pool).await.expect("upgrades");
    let grant = Grant {
        project_id: PROJECT.into(),
        read_only: false,
        system: false,
    };
    let token = create_token(store.as_ref(), &grant).await.unwrap().1;
    let server = InProcessServer::start(&url, &[]).await;
    let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();

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

both_backends!(an_old_database_is_upgraded_with_its_counts);
