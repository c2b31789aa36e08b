//! PostgreSQL restarted, then stopped and started, under a write load.

use std::time::Instant;

use tonic_health::pb::health_check_response::ServingStatus;

use super::load::{Answer, Applied, Face, Load, Record, applied, one_resource, stored};
use super::*;
use crate::helpers::{
    health::{health_client, wait_for_health},
    report,
};
use crate::pg_cluster::PgCluster;

#[tokio::test]
async fn postgres_restarted_and_stopped_under_load_refuses_calls_as_unavailable_and_loses_no_acknowledged_write()
 {
    let cluster = PgCluster::start().await;
    let url = cluster.url();
    let token = create_token(&url).await;
    let service = Service::start(&url).await;
    let mut health = health_client(service.addr).await;
    wait_for_health(&mut health, ServingStatus::Serving, STATE_LIMIT).await;

    let load = Load::start("", service.addr, &token, 4, 1, one_resource).await;
    load.wait_for_acks_after(Instant::now(), 20, "acknowledged writes before any fault")
        .await;

    // A fast restart: the sessions of the service end under its calls.
    cluster.restart().await;
    load.wait_for_acks_after(Instant::now(), 20, "writes after the restart")
        .await;

    // A real outage: the server stays down until health and both faces have seen it.
    let stopping = Instant::now();
    cluster.stop().await;
    let down = Instant::now();
    wait_for_health(&mut health, ServingStatus::NotServing, STATE_LIMIT).await;
    load.wait_until("refusals on both faces during the outage", |records| {
        [Face::Grpc, Face::Rest].iter().all(|face| {
            records
                .iter()
                .any(|r| r.face == *face && r.sent >= down && r.answer == Answer::Refused)
        })
    })
    .await;
    let up = Instant::now();
    cluster.start_again().await;
    wait_for_health(&mut health, ServingStatus::Serving, STATE_LIMIT).await;
    load.wait_for_acks_after(Instant::now(), 5, "writes after the outage")
        .await;
    let records = load.finish().await;

    let other: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r.answer, Answer::Other(_)))
        .collect();
    assert!(
        other.is_empty(),
        "calls answered otherwise than OK or UNAVAILABLE/503: {other:#?}\nservice errors:\n{}",
        service.errors().join("\n")
    );
    let in_outage: Vec<&Record> = records
        .iter()
        .filter(|r| r.sent >= down && r.answered <= up)
        .collect();
    assert!(
        in_outage.iter().all(|r| r.answer == Answer::Refused),
        "a call sent and answered while the database was down: {in_outage:#?}"
    );

    let mut client = service.client().await;
    let stored = stored(&mut client, &token).await;
    let acked: Vec<&Record> = records.iter().filter(|r| r.answer == Answer::Ok).collect();
    let refused: Vec<&Record> = records
        .iter()
        .filter(|r| r.answer == Answer::Refused)
        .collect();
    let at_restart = refused.iter().filter(|r| r.sent < stopping).count();
    let refused_applied = refused
        .iter()
        .filter(|r| applied(&stored, &r.call, one_resource) == Applied::All)
        .count();
    let lost: Vec<&str> = acked
        .iter()
        .filter(|r| applied(&stored, &r.call, one_resource) != Applied::All)
        .map(|r| r.call.as_str())
        .collect();
    // A figure for the log, not a bound: the machine is shared, so times are not asserted.
    let slowest_refusal = refused
        .iter()
        .map(|r| r.answered - r.sent)
        .max()
        .unwrap_or_default();
    report(&format!(
        "faults: postgres restart + outage: {} calls, {} acknowledged, {} refused ({at_restart} at \
         the fast restart, {} at the stop and start, {} of them sent and answered while down; \
         {refused_applied} refused yet applied; slowest refusal {} ms), lost {}",
        records.len(),
        acked.len(),
        refused.len(),
        refused.len() - at_restart,
        in_outage.len(),
        slowest_refusal.as_millis(),
        lost.len()
    ));
    assert!(lost.is_empty(), "acknowledged writes missing: {lost:?}");
}
