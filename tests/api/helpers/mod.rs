//! What every test starts from: [`TestApp`], a server of its own on a random port with its own
//! database, and a gRPC client and a REST client of it; [`both_backends!`] runs a test on each
//! backend. The submodules hold the rest: the test database, the REST client, the real binary,
//! health, gRPC-Web and external tools.

pub mod binary;
pub mod bulk;
pub mod db;
pub mod grpc_web;
pub mod health;
pub mod rest;
pub mod tools;

use std::sync::OnceLock;

use clap::Parser;
use tagging_service::{
    auth::{Grant, create_token},
    config::{Cli, Command, ServeArgs},
    startup::Application,
    store::{self, PoolSettings, Store},
};
use tokio::sync::oneshot;
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;

pub use self::{
    db::{TestDb, WriteLock},
    rest::{Answer, ROUTES, Rest, answer, assert_error, http, keys, served_routes},
};
/// The service's generated gRPC types, named here so the tests do not name the crate's paths.
pub use tagging_service::proto::pb::{self, tagging_service_client::TaggingServiceClient};

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

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub client: TaggingServiceClient<Channel>,
    /// A read-write token of [`PROJECT`].
    pub token: String,
    pub database_url: String,
    store: std::sync::Arc<dyn Store>,
    server: InProcessServer,
    _db: TestDb,
}

/// A server of the crate run on a task of the test's runtime: stopped gracefully by [`stop`], or
/// aborted when dropped.
///
/// [`stop`]: InProcessServer::stop
pub struct InProcessServer {
    pub addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl InProcessServer {
    /// Builds (which binds the listener and applies the migrations) and runs `serve` on
    /// `database_url` with extra flags.
    pub async fn start(database_url: &str, extra: &[&str]) -> Self {
        let app = Application::build(&serve_args(database_url, extra))
            .await
            .expect("server builds");
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server gracefully and waits until it has stopped.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A read-write token of [`PROJECT`], made in the database at `url` as `token create` makes it.
pub async fn token_in(url: &str) -> String {
    let store = store::connect(url, &small_pool()).await.expect("store");
    let grant = Grant {
        project_id: PROJECT.to_owned(),
        read_only: false,
        system: false,
    };
    create_token(store.as_ref(), &grant).await.expect("token").1
}

/// One write through the server at `addr` with a token made in its database at `url`.
pub async fn write_through(url: &str, addr: std::net::SocketAddr) {
    let token = token_in(url).await;
    TaggingServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("client")
        .tag_resources(authed(&token, tag_request(&["c-1"], &[("env", "prod")])))
        .await
        .expect("a write");
}

/// The pool of a test's own store (tokens, direct checks).
pub fn small_pool() -> PoolSettings {
    PoolSettings {
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(5),
        statement_timeout: None,
        postings_bytes: 0,
    }
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
        Command::Serve(args) => *args,
        other => panic!("expected serve, got {other:?}"),
    }
}

impl TestApp {
    /// The REST client of this server (a fresh HTTP client each time, as a new caller would be).
    pub fn rest(&self) -> Rest {
        Rest::at(self.addr)
    }

    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts a server with extra `serve` flags.
    pub async fn spawn_with(backend: Backend, extra: &[&str]) -> Self {
        Self::spawn_connected(backend, extra, |addr| async move {
            Channel::from_shared(format!("http://{addr}"))
                .expect("URI")
                .connect()
                .await
                .expect("client connects")
        })
        .await
    }

    /// Starts a server with extra `serve` flags, its gRPC client on the channel `connect` opens.
    pub async fn spawn_connected<F, C>(backend: Backend, extra: &[&str], connect: F) -> Self
    where
        F: FnOnce(std::net::SocketAddr) -> C,
        C: std::future::Future<Output = Channel>,
    {
        init_tracing();
        let (db, database_url) = TestDb::create(backend).await;
        let server = InProcessServer::start(&database_url, extra).await;
        let addr = server.addr;
        let client = TaggingServiceClient::new(connect(addr).await);
        let store = store::connect(&database_url, &small_pool())
            .await
            .expect("test store connects");
        let mut app = Self {
            addr,
            client,
            token: String::new(),
            database_url,
            store,
            server,
            _db: db,
        };
        app.token = app.token_for(PROJECT, false, false).await;
        app
    }

    /// Revokes a token the way `tagging-service token revoke` does.
    pub async fn revoke(&self, token: &str) {
        let revoked = tagging_service::auth::revoke_token(self.store.as_ref(), token)
            .await
            .expect("revoke");
        assert!(revoked, "a live token was revoked");
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
        self.server.stop().await;
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

/// `(key, value)` pairs as owned strings, as the clients answer them.
pub fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A tag row: (resource id, key, value).
pub fn row(id: &str, key: &str, value: &str) -> (String, String, String) {
    (id.into(), key.into(), value.into())
}

/// TagResources of CLUSTER `resources` with `tags`.
pub fn tag_request(resources: &[&str], tags: &[(&str, &str)]) -> pb::TagResourcesRequest {
    pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: "CLUSTER".into(),
        resource_ids: ids(resources),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        expected_revision: None,
    }
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
            expected_revision: None,
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
        self.list_resource_tags_as(&self.token, req).await
    }

    /// ListResourceTags of `req` as `token`: the (key, value) pairs.
    pub async fn list_resource_tags_as(
        &self,
        token: &str,
        req: pb::ListResourceTagsRequest,
    ) -> Result<Vec<(String, String)>, Status> {
        let tags = self
            .client
            .clone()
            .list_resource_tags(authed(token, req))
            .await?
            .into_inner()
            .tags;
        Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
    }
}

/// Asserts that CLUSTER `id` was never registered: its tags are NOT_FOUND.
pub async fn assert_never_written(app: &TestApp, id: &str) {
    match app.resource_tags("CLUSTER", id).await {
        Err(status) => assert_eq!(status.code(), Code::NotFound, "{id}: {status:?}"),
        Ok(tags) => panic!("`{id}` should not exist, but carries {tags:?}"),
    }
}

/// The methods of `tagging.v1.TaggingService`, as the served descriptor set declares them.
pub fn service_methods() -> std::collections::BTreeSet<String> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(tagging_service::proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let service = set
        .file
        .iter()
        .filter(|f| f.package() == "tagging.v1")
        .flat_map(|f| f.service.iter())
        .find(|s| s.name() == "TaggingService")
        .expect("TaggingService is described");
    service.method.iter().map(|m| m.name().to_owned()).collect()
}

/// Writes a test's figures to the process's standard error, which the test harness does not
/// capture (`eprintln!` is captured and shown only for failing tests), so CI's log shows them.
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
