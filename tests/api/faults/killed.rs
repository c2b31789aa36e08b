//! The service killed with SIGKILL mid-load and restarted on the same database.

use std::collections::HashSet;

use super::load::{
    Answer, Applied, BATCH_RESOURCES, BATCH_TAGS, KILLS, Load, applied, batch, stored,
};
use super::*;
use crate::helpers::{Backend, TestDb, authed, pb, report, tag};

async fn a_service_killed_mid_load_keeps_every_acknowledged_batch_and_applies_none_by_half(
    b: Backend,
) {
    let (_db, url) = TestDb::create(b).await;
    let token = create_token(&url).await;
    let mut service = Service::start(&url).await;
    let mut records = Vec::new();
    // Several kills, each at whatever point the calls in flight have reached.
    for round in 0..KILLS {
        let load = Load::start(&format!("k{round}"), service.addr, &token, 4, 1, batch).await;
        load.wait_until("acknowledged batches before the kill", |records| {
            records.iter().filter(|r| r.answer == Answer::Ok).count() >= 25
        })
        .await;
        service.kill().await;
        records.extend(load.finish().await);
        service = Service::start(&url).await;
    }

    let mut client = service.client().await;
    let stored = stored(&mut client, &token).await;
    let mut lost = Vec::new();
    let mut half = Vec::new();
    let mut unacked_applied = 0;
    for r in &records {
        match (applied(&stored, &r.call, batch), &r.answer) {
            (Applied::Part, _) => half.push(r.call.as_str()),
            (Applied::None, Answer::Ok) => lost.push(r.call.as_str()),
            (Applied::All, Answer::Refused | Answer::Other(_)) => unacked_applied += 1,
            _ => {}
        }
    }
    // Every stored resource belongs to a batch on record.
    let sent: HashSet<&str> = records.iter().map(|r| r.call.as_str()).collect();
    let strays: Vec<&String> = stored
        .keys()
        .filter(|id| {
            !id.split_once('.')
                .is_some_and(|(call, _)| sent.contains(call))
        })
        .collect();
    let acked = records.iter().filter(|r| r.answer == Answer::Ok).count();
    report(&format!(
        "faults: SIGKILL ×{KILLS} on {b:?}: {} batches of {} tags sent, {acked} acknowledged, {} \
         not acknowledged (in flight at a kill or sent after it; {unacked_applied} of those \
         applied in full, the rest not at all), lost {}, half applied {}",
        records.len(),
        BATCH_RESOURCES * BATCH_TAGS,
        records.len() - acked,
        lost.len(),
        half.len()
    ));
    assert!(lost.is_empty(), "acknowledged batches missing: {lost:?}");
    assert!(half.is_empty(), "batches applied in part: {half:?}");
    assert!(strays.is_empty(), "resources of no batch: {strays:?}");

    // The restarted service takes writes again.
    let (resources, tags) = batch("after");
    let req = pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: RESOURCE_TYPE.into(),
        resource_ids: resources,
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        expected_revision: None,
    };
    client
        .tag_resources(authed(&token, req))
        .await
        .expect("a write after the restart");
}

both_backends!(a_service_killed_mid_load_keeps_every_acknowledged_batch_and_applies_none_by_half,);
