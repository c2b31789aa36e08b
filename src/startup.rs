//! Builds the server from settings and runs it until a shutdown signal; split so tests can start it
//! on a random port and stop it.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::http::{HeaderName, HeaderValue, Method};
use tokio::{net::TcpListener, sync::Notify};
use tokio_stream::StreamExt;
use tonic::{codec::CompressionEncoding, service::Routes, transport::Server};
use tonic_health::{
    ServingStatus,
    pb::health_server::{Health, HealthServer},
    server::HealthReporter,
};
use tonic_web::GrpcWebLayer;
use tower::{Layer, ServiceBuilder};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{
    auth::{self, Authenticator, MasterKey},
    config::{ServeArgs, redacted},
    connections::{CountCallsLayer, IdleTimeout},
    grpc::{AuthenticateFirstLayer, TaggingApi},
    listener,
    proto::{FILE_DESCRIPTOR_SET, pb::tagging_service_server::TaggingServiceServer},
    rest::{self, LenientRequestLine},
    service::{Admission, ChangeFeed, Pipeline, TaggingCore},
    store::{self, PoolSettings, Schema, Store},
    telemetry::{self, Metrics},
    tls::ReloadingConfig,
};

/// How often health follows the database.
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
const SERVICE_NAME: &str = "tagging.v1.TaggingService";
const STATEMENT_GRACE: Duration = Duration::from_secs(1);
const NONCE_SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// An HTTP/2 connection is pinged after this long without a frame from its peer, and closed when
/// the ping is not answered in `KEEPALIVE_TIMEOUT`: a peer that vanished without closing its
/// connection (a crashed host, a dropped NAT entry) does not hold it until the idle timeout.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Application {
    listener: TcpListener,
    tls: Option<Arc<ReloadingConfig>>,
    tls_reload_interval: Duration,
    core: Arc<TaggingCore>,
    auth: Arc<Authenticator>,
    metrics: Arc<Metrics>,
    cors: Option<CorsLayer>,
    admission: Admission,
    rest: rest::Options,
    max_message_bytes: usize,
    max_request_bytes: usize,
    max_concurrent_streams: u32,
    idle_timeout: Duration,
    shutdown_grace: Duration,
}

impl Application {
    /// Connects the database, applies migrations and binds the listener: once this returns, the
    /// port accepts connections.
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        let rules = args.rules()?;
        let cors = cors_layer(&args.cors_allowed_origins)?;
        let tls = args.tls_files().map(ReloadingConfig::load).transpose()?;
        let db = &args.database;
        let pool = PoolSettings {
            // A little longer than a call may run: the call's own deadline answers the caller, and
            // the database then stops whatever the abandoned call left running.
            statement_timeout: Some(
                Duration::from_millis(args.request_timeout_ms) + STATEMENT_GRACE,
            ),
            postings_bytes: usize::try_from(args.filter_postings_mb << 20).unwrap_or(usize::MAX),
            ..db.pool()
        };
        let schema = if args.no_migrate {
            Schema::Check
        } else {
            Schema::Migrate
        };
        telemetry::traces::database_system(&db.database_url);
        let (store, tag_reads) = store::open_replicated(
            &db.database_url,
            &args.database_replica_urls,
            &pool,
            schema,
            args.replica_settings(),
        )
        .await
        .with_context(|| format!("--database-url: cannot open {}", redacted(&db.database_url)))?;
        let master_key = args.master_key.load()?;
        check_master_key(store.as_ref(), master_key.as_ref()).await?;
        let auth = Arc::new(Authenticator::new(
            store.clone(),
            !args.insecure_no_auth,
            master_key,
        ));
        let feed = ChangeFeed::new(store.clone(), args.watch_settings(), auth.clone());
        feed.start_background(&db.database_url, Duration::from_secs(args.change_retention));
        let core = TaggingCore::new(store.as_ref(), tag_reads, Arc::new(rules), feed)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot read the page-token key from the database: {}",
                    e.for_operator()
                )
            })?;
        if args.insecure_no_auth {
            tracing::warn!(
                "authentication is OFF (--insecure-no-auth): any caller may read and change any project; use this for local experiments only"
            );
        }
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("--listen: cannot bind {}", args.listen))?;
        tracing::info!(
            address = %listener.local_addr()?,
            database = %redacted(&db.database_url),
            auth = !args.insecure_no_auth,
            tls = tls.is_some(),
            "tagging-service ready"
        );
        Ok(Self {
            listener,
            tls,
            tls_reload_interval: Duration::from_millis(args.tls_reload_interval_ms),
            core: Arc::new(core),
            auth,
            metrics: Arc::new(Metrics::default()),
            cors,
            admission: Admission::new(
                args.max_concurrent_calls as usize,
                Duration::from_millis(args.request_timeout_ms),
            ),
            rest: rest::Options {
                max_body_bytes: args.max_body_bytes as usize,
                body_timeout: Duration::from_millis(args.body_timeout_ms),
                max_query_bytes: args.max_query_bytes as usize,
                region_id: args.region_id.clone(),
            },
            max_message_bytes: args.max_message_bytes as usize,
            max_request_bytes: args.max_request_bytes.min(args.max_message_bytes) as usize,
            max_concurrent_streams: args.max_concurrent_streams,
            idle_timeout: Duration::from_millis(args.idle_timeout_ms),
            shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then drains in-flight calls for at most the grace period.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (reporter, health) = tonic_health::server::health_reporter();
        // Known before the first call, so a health check never finds the service unregistered.
        let initial = serving_status(self.core.ready().await);
        set_health(&reporter, initial).await;
        let watcher = tokio::spawn(follow_database(
            self.core.clone(),
            reporter.clone(),
            initial,
        ));
        let nonce_sweeper = tokio::spawn(forget_expired_nonces(self.auth.clone()));
        let tls_follower = self
            .tls
            .clone()
            .map(|tls| tokio::spawn(tls.follow(self.tls_reload_interval)));
        let routes = self.routes(health)?;

        let draining = Arc::new(Notify::new());
        let signal = {
            let draining = draining.clone();
            let stopping = self.core.feed().clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down: draining in-flight calls");
                watcher.abort();
                nonce_sweeper.abort();
                if let Some(follower) = tls_follower {
                    follower.abort();
                }
                set_health(&reporter, ServingStatus::NotServing).await;
                stopping.stop();
                draining.notify_one();
            }
        };
        // CORS, when configured, covers REST and gRPC-Web alike.
        let idle_timeout = self.idle_timeout;
        let serve = Server::builder()
            .accept_http1(true)
            .max_concurrent_streams(self.max_concurrent_streams)
            .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
            .layer(
                ServiceBuilder::new()
                    .layer(CountCallsLayer)
                    .option_layer(self.cors.clone()),
            )
            .add_routes(routes)
            .serve_with_incoming_shutdown(
                listener::incoming(self.listener, self.tls).map(move |conn| {
                    conn.map(|io| IdleTimeout::new(LenientRequestLine::new(io), idle_timeout))
                }),
                signal,
            );

        let grace = self.shutdown_grace;
        tokio::select! {
            served = serve => served?,
            () = async { draining.notified().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_secs = grace.as_secs(), "calls still in flight after the grace period; stopping anyway");
            }
        }
        tracing::info!("stopped");
        Ok(())
    }

    /// One port: gRPC services are routed by their `/package.Service/` paths, everything else
    /// goes to the REST router, whose fallback answers stray gRPC calls as UNIMPLEMENTED. Both
    /// faces call through one pipeline.
    fn routes(&self, health: HealthServer<impl Health>) -> anyhow::Result<Routes> {
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1()?;
        // grpcurl before 1.8.8 and other older tools speak only v1alpha.
        let reflection_v1alpha = reflection().build_v1alpha()?;
        let pipeline = Arc::new(Pipeline::new(
            self.core.clone(),
            self.auth.clone(),
            self.metrics.clone(),
            self.admission.clone(),
        ));
        let api = TaggingServiceServer::new(TaggingApi::new(pipeline.clone()))
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            // Checked as the message is decompressed, so a small compressed message cannot make
            // the server allocate more than this.
            .max_decoding_message_size(self.max_request_bytes)
            .max_encoding_message_size(self.max_message_bytes);
        // gRPC-Web lets browsers call every gRPC service: check health, discover the API, call it.
        // Its layer goes on each gRPC service, not on the whole port: it refuses every other
        // HTTP/1 request, which would take the REST forms down with it.
        let web = || GrpcWebLayer::new();
        let authenticated_first = AuthenticateFirstLayer(pipeline.clone());
        Ok(Routes::from(rest::router(pipeline, self.rest.clone()))
            .add_service(web().layer(health))
            .add_service(web().layer(reflection_v1))
            .add_service(web().layer(reflection_v1alpha))
            .add_service(web().layer(authenticated_first.layer(api))))
    }
}

/// The master key must open the access keys sealed under it; without one, signed requests will be
/// refused, which is worth a warning when access keys exist.
async fn check_master_key(store: &dyn Store, key: Option<&MasterKey>) -> anyhow::Result<()> {
    match key {
        Some(key) => auth::check_master_key(store, key)
            .await
            .map_err(|e| anyhow::anyhow!("{e}")),
        None if !store.list_access_keys().await?.is_empty() => {
            tracing::warn!(
                "access keys exist but no master key is set (TAGGING_MASTER_KEY or --master-key-file): signed requests will be refused"
            );
            Ok(())
        }
        None => Ok(()),
    }
}

/// CORS for the configured origins; `None` (CORS off) when there are none.
fn cors_layer(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins == ["*"] {
        AllowOrigin::any()
    } else {
        let parsed: Result<Vec<HeaderValue>, _> =
            origins.iter().map(|o| HeaderValue::from_str(o)).collect();
        AllowOrigin::list(parsed.map_err(|_| {
            anyhow::anyhow!("--cors-allowed-origins: an origin is not a valid header value")
        })?)
    };
    let exposed = [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "x-request-id",
    ]
    .map(HeaderName::from_static);
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::PUT, Method::POST, Method::DELETE])
            .allow_headers(tower_http::cors::Any)
            .expose_headers(exposed)
            .max_age(Duration::from_secs(3600)),
    ))
}

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    reporter.set_service_status(SERVICE_NAME, status).await;
}

fn serving_status(database_answers: bool) -> ServingStatus {
    if database_answers {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

/// Reports SERVING while the database answers and NOT_SERVING while it does not.
async fn follow_database(
    core: Arc<TaggingCore>,
    reporter: HealthReporter,
    mut last: ServingStatus,
) {
    let start = tokio::time::Instant::now() + HEALTH_INTERVAL;
    let mut tick = tokio::time::interval_at(start, HEALTH_INTERVAL);
    loop {
        tick.tick().await;
        let status = serving_status(core.ready().await);
        if status != last {
            if status == ServingStatus::NotServing {
                tracing::warn!("database not answering: health is NOT_SERVING");
            } else {
                tracing::info!("database answering again: health is SERVING");
            }
            set_health(&reporter, status).await;
            last = status;
        }
    }
}

/// Keeps the table of used signature nonces to those still inside the accepted clock skew.
async fn forget_expired_nonces(auth: Arc<Authenticator>) {
    let mut tick = tokio::time::interval(NONCE_SWEEP_INTERVAL);
    loop {
        tick.tick().await;
        if let Err(e) = auth.forget_expired_nonces().await {
            tracing::warn!(error = %e, "cannot forget expired signature nonces");
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = interrupt => {}, () = terminate => {} }
}
