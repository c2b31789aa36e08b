//! The store's own conformance checks, on both backends: what the API tests cannot call directly.

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

use super::{PoolSettings, Store, StoreError, TagLimit, TokenRecord, connect};
use crate::domain::{KeyFilter, ResourceFilter, Scope, Tag, Visibility};

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| ADMIN_URL.to_owned())
}

fn pool() -> PoolSettings {
    PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
        statement_timeout: None,
        postings_bytes: 0,
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

/// Five resources tagged `env`, every other one `dev`, each with a hidden tag too.
async fn seed(store: &dyn Store, scope: &Scope) {
    for i in 1..=5 {
        let env = if i % 2 == 1 { "dev" } else { "prod" };
        let tags = [tag("env", env), tag("sys:owner", "ops")];
        let limit = TagLimit {
            max: 10,
            exempt_prefixes: &[],
        };
        store
            .tag_resources(scope, &[format!("r{i}")], &tags, limit, Default::default())
            .await
            .expect("tagged");
    }
}

/// A page by offset answers what the keyset read and the count answer, from one call.
async fn resource_page_agrees_with_resources_and_count(store: &dyn Store) {
    let scope = Scope {
        project_id: "p".into(),
        resource_type: "vm".into(),
    };
    seed(store, &scope).await;
    store
        .insert_token(&TokenRecord {
            id: "t".into(),
            secret_sha256: vec![0; 32],
            project_id: "p".into(),
            read_only: false,
            system: false,
            created_at: 0,
            revoked: false,
            name: String::new(),
            expires_at: None,
        })
        .await
        .expect("token stored");
    let visibility = Visibility {
        hidden_prefixes: vec!["sys:".into()],
        while_live: Some("t".into()),
        at_least: None,
    };
    let dev = ResourceFilter {
        all: vec![KeyFilter {
            key: "env".into(),
            values: vec!["dev".into()],
        }],
        ..ResourceFilter::default()
    };
    let all = store
        .resources(&scope, &dev, &visibility, None, 10)
        .await
        .expect("resources");
    let count = store
        .count_resources(&scope, &dev, &visibility)
        .await
        .expect("count");
    let (page, total) = store
        .resource_page(&scope, &dev, &visibility, 1, 1)
        .await
        .expect("page");
    assert_eq!(total, count);
    assert_eq!(total, 3);
    assert_eq!(page, all[1..2]);
    assert_eq!(page[0].resource_id, "r3");
    assert_eq!(page[0].tags, [tag("env", "dev")]);
    let (past_end, total) = store
        .resource_page(&scope, &dev, &visibility, 3, 10)
        .await
        .expect("page past the end");
    assert!(past_end.is_empty());
    assert_eq!(total, 3);

    assert!(store.revoke_token("t", 1).await.expect("revoked"));
    let revoked = store.resource_page(&scope, &dev, &visibility, 0, 10).await;
    assert!(
        matches!(revoked, Err(StoreError::TokenNotLive)),
        "{revoked:?}"
    );
}

#[tokio::test]
async fn resource_page_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("store.db").display());
    let store = connect(&url, &pool()).await.expect("SQLite store");
    resource_page_agrees_with_resources_and_count(store.as_ref()).await;
}

#[tokio::test]
async fn resource_page_on_postgres() {
    let admin = admin_url();
    let name = format!("tagging_store_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at TEST_DATABASE_URL ({admin}) is required: {e}"));
    conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
        .await
        .expect("test database created");
    let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    let store = connect(url.as_str(), &pool())
        .await
        .expect("PostgreSQL store");
    resource_page_agrees_with_resources_and_count(store.as_ref()).await;
    drop(store);
    conn.execute(format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#).as_str())
        .await
        .expect("test database dropped");
}
