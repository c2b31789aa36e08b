//! The standard gRPC health service, as the tests poll it.

use std::time::{Duration, Instant};

use tonic::{Request, Status, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// The service the tagging server reports besides the overall health (`""`).
pub const TAGGING_SERVICE: &str = "tagging.v1.TaggingService";

pub async fn health_client(addr: std::net::SocketAddr) -> HealthClient<Channel> {
    HealthClient::new(
        Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
            .expect("the health client connects"),
    )
}

/// The status `service` reports, each check bounded by 10 s.
pub async fn health_of(health: &mut HealthClient<Channel>, service: &str) -> Result<i32, Status> {
    let mut req = Request::new(HealthCheckRequest {
        service: service.into(),
    });
    req.set_timeout(Duration::from_secs(10));
    Ok(health.check(req).await?.into_inner().status)
}

/// Polls the overall and the service's health until both report `want`; fails after `within`.
pub async fn wait_for_health(
    health: &mut HealthClient<Channel>,
    want: ServingStatus,
    within: Duration,
) {
    let give_up = Instant::now() + within;
    loop {
        let overall = health_of(health, "").await;
        let service = health_of(health, TAGGING_SERVICE).await;
        if matches!((&overall, &service), (Ok(a), Ok(b)) if *a == want as i32 && *b == want as i32)
        {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "health never became {want:?}: overall {overall:?}, service {service:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
