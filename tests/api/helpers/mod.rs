use std::{sync::OnceLock, thread};

use clap::Parser;
use sqlx::{Connection, Executor, PgConnection};
use tagging_service::{
    auth::{Grant, create_token},
    config::{Cli, Command, ServeArgs},
    proto::pb::{self, tagging_service_client::TaggingServiceClient},
    startup::Application,
    store::{self, PoolSettings, TagStore},
};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;

/// Generates one `#[tokio::test]` per backend for each listed `async fn name(backend: Backend)`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Postgres).await })*
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PROJECT: &str = "p1";
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

fn init_tracing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_test_writer()
                .init();
        }
    });
}

/// A database of this test's own.
pub enum TestDb {
    /// Held so the directory outlives the test.
    Sqlite {
        _dir: TempDir,
    },
    Postgres {
        name: String,
    },
}

impl TestDb {
    pub async fn create(backend: Backend) -> (Self, String) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite:{}", dir.path().join("tagging.db").display());
                (TestDb::Sqlite { _dir: dir }, url)
            }
            Backend::Postgres => {
                let admin = admin_url();
                let name = format!("tagging_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at TEST_DATABASE_URL ({admin}) is required for the postgres tests: {e}")
                });
                conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                (TestDb::Postgres { name }, url.to_string())
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name } = self {
            let name = name.clone();
            // Drop is synchronous and may run inside the test's runtime: use a thread of its own.
            let _ = thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
                        let _ = conn
                            .execute(
                                format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)
                                    .as_str(),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub client: TaggingServiceClient<Channel>,
    /// A read-write token of [`PROJECT`].
    pub token: String,
    pub database_url: String,
    store: std::sync::Arc<dyn TagStore>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _db: TestDb,
}

pub fn serve_args(database_url: &str, extra: &[&str]) -> ServeArgs {
    let mut argv = vec![
        "tagging-service",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        database_url,
    ];
    argv.extend_from_slice(extra);
    match Cli::parse_from(argv).command {
        Command::Serve(args) => args,
        other => panic!("expected serve, got {other:?}"),
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts a server with extra `serve` flags.
    pub async fn spawn_with(backend: Backend, extra: &[&str]) -> Self {
        init_tracing();
        let (db, database_url) = TestDb::create(backend).await;
        let app = Application::build(&serve_args(&database_url, extra))
            .await
            .expect("server builds");
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let client = TaggingServiceClient::connect(format!("http://{addr}"))
            .await
            .expect("client connects");
        let pool = PoolSettings {
            max_connections: 2,
            acquire_timeout: std::time::Duration::from_secs(5),
            statement_timeout: None,
        };
        let store = store::connect(&database_url, &pool)
            .await
            .expect("test store connects");
        let mut app = Self {
            addr,
            client,
            token: String::new(),
            database_url,
            store,
            stop: Some(stop),
            server: Some(server),
            _db: db,
        };
        app.token = app.token_for(PROJECT, false, false).await;
        app
    }

    /// Creates a token the way `tagging-service token create` does.
    pub async fn token_for(&self, project: &str, read_only: bool, system: bool) -> String {
        let grant = Grant {
            project_id: project.to_owned(),
            read_only,
            system,
        };
        create_token(self.store.as_ref(), &grant)
            .await
            .expect("token created")
            .1
    }

    /// Stops the server gracefully and waits until it has stopped.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// `msg` with `authorization: Bearer <token>`.
pub fn authed<T>(token: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    r
}

pub fn tag(key: &str, value: &str) -> pb::Tag {
    pb::Tag {
        key: key.into(),
        value: value.into(),
    }
}

pub fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Asserts INVALID_ARGUMENT whose message and BadRequest details name `field`.
pub fn assert_invalid(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains(field),
        "message should name `{field}`: {}",
        status.message()
    );
    let details = status
        .get_details_bad_request()
        .expect("BadRequest details");
    assert!(
        details.field_violations.iter().any(|v| v.field == field),
        "no violation for `{field}` in {:?}",
        details.field_violations
    );
}

impl TestApp {
    pub async fn tag(&self, resource_type: &str, resources: &[&str], tags: &[(&str, &str)]) {
        let req = pb::TagResourcesRequest {
            project_id: String::new(),
            resource_type: resource_type.into(),
            resource_ids: ids(resources),
            tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        };
        self.client
            .clone()
            .tag_resources(authed(&self.token, req))
            .await
            .expect("tag_resources");
    }

    pub async fn resource_tags(
        &self,
        resource_type: &str,
        id: &str,
    ) -> Result<Vec<(String, String)>, Status> {
        let req = pb::ListResourceTagsRequest {
            resource_type: resource_type.into(),
            resource_id: id.into(),
            ..Default::default()
        };
        let tags = self
            .client
            .clone()
            .list_resource_tags(authed(&self.token, req))
            .await?
            .into_inner()
            .tags;
        Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
    }
}

/// Writes a test's figures to the process's standard error, which the test harness does not
/// capture (`eprintln!` is captured and shown only for failing tests), so CI's log shows them.
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
