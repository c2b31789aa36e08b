//! Health follows the database (PostgreSQL only: only a server can refuse connections).

use std::time::Duration;

use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{
    Backend, TestApp, assert_never_written, authed,
    db::{AllowConnectionsAgain, set_allow_connections},
    health::{health_client, wait_for_health},
    tag_request,
};

#[tokio::test]
async fn postgres_health_goes_not_serving_while_the_database_refuses_connections_and_back() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let name = url::Url::parse(&app.database_url)
        .expect("a URL")
        .path()
        .trim_start_matches('/')
        .to_owned();
    assert!(name.starts_with("tagging_test_"), "{name}");
    let mut health = health_client(app.addr).await;
    wait_for_health(&mut health, ServingStatus::Serving, Duration::from_secs(15)).await;

    let _restore = AllowConnectionsAgain(name.clone());
    set_allow_connections(&name, false).await;
    wait_for_health(
        &mut health,
        ServingStatus::NotServing,
        Duration::from_secs(15),
    )
    .await;

    let mut write = authed(&app.token, tag_request(&["outage"], &[("env", "dev")]));
    write.set_timeout(Duration::from_secs(10));
    let refused = app
        .client
        .clone()
        .tag_resources(write)
        .await
        .expect_err("no write while the database refuses connections");

    set_allow_connections(&name, true).await;
    wait_for_health(&mut health, ServingStatus::Serving, Duration::from_secs(15)).await;
    app.tag("CLUSTER", &["back"], &[("env", "dev")]).await;
    assert_eq!(
        app.resource_tags("CLUSTER", "back").await.expect("read"),
        [("env".to_owned(), "dev".to_owned())]
    );
    assert_never_written(&app, "outage").await;

    // Checked last so that a failure here does not hide the recovery checked above.
    assert_eq!(
        refused.code(),
        Code::Unavailable,
        "a write while the database refuses connections: {refused:?}"
    );
}
