//! Builds the server from settings and runs it until a shutdown signal; split so tests can start it
//! on a random port and stop it.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::{net::TcpListener, sync::Notify};
use tokio_stream::StreamExt;
use tonic::{
    codec::CompressionEncoding,
    service::Routes,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    auth::Authenticator,
    config::{ServeArgs, redacted},
    grpc::TaggingApi,
    proto::{FILE_DESCRIPTOR_SET, pb::tagging_service_server::TaggingServiceServer},
    rest::{self, LenientRequestLine},
    service::TaggingCore,
    store,
};

/// How often health follows the database.
const HEALTH_INTERVAL: Duration = Duration::from_secs(2);
const SERVICE_NAME: &str = "tagging.v1.TaggingService";

pub struct Application {
    listener: TcpListener,
    core: Arc<TaggingCore>,
    auth: Arc<Authenticator>,
    shutdown_grace: Duration,
}

impl Application {
    /// Connects the database, applies migrations and binds the listener: once this returns, the
    /// port accepts connections.
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        let rules = args.rules()?;
        let db = &args.database;
        let store = store::connect(&db.database_url, &db.pool())
            .await
            .with_context(|| {
                format!("--database-url: cannot open {}", redacted(&db.database_url))
            })?;
        let core = TaggingCore::new(store.clone(), Arc::new(rules))
            .await
            .context("cannot read the page-token key from the database")?;
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
            "tagging-service ready"
        );
        Ok(Self {
            listener,
            core: Arc::new(core),
            auth: Arc::new(Authenticator::new(store, !args.insecure_no_auth)),
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
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        // grpcurl before 1.8.8 and other older tools speak only v1alpha.
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        let api = TaggingServiceServer::new(TaggingApi::new(self.core.clone(), self.auth.clone()))
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip);

        let draining = Arc::new(Notify::new());
        let signal = {
            let draining = draining.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down: draining in-flight calls");
                watcher.abort();
                set_health(&reporter, ServingStatus::NotServing).await;
                draining.notify_one();
            }
        };
        // One port: gRPC services are routed by their `/package.Service/` paths, everything else
        // goes to the REST router, whose fallback answers stray gRPC calls as UNIMPLEMENTED.
        let routes = Routes::from(rest::router(self.core.clone(), self.auth.clone()))
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(api);
        let serve = Server::builder()
            .accept_http1(true)
            .add_routes(routes)
            .serve_with_incoming_shutdown(
                TcpIncoming::from(self.listener).map(|conn| conn.map(LenientRequestLine::new)),
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
