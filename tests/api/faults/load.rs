//! A write load over both faces, every answer recorded, and what the database holds afterwards.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;
use tokio::task::JoinHandle;
use tonic::{Code, transport::Channel};

use super::*;
use crate::helpers::{Rest, TaggingServiceClient, authed, pb, tag};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Face {
    Grpc,
    Rest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    Ok,
    /// UNAVAILABLE (gRPC) or 503 (REST).
    Refused,
    /// Anything else, described.
    Other(String),
}

#[derive(Debug, Clone)]
pub(super) struct Record {
    /// The call's marker: its resources and tags are derived from it.
    pub(super) call: String,
    pub(super) face: Face,
    pub(super) sent: Instant,
    pub(super) answered: Instant,
    pub(super) answer: Answer,
}

/// What one call writes: resources, each with the same tags.
pub(super) type Shape = fn(&str) -> (Vec<String>, Vec<(String, String)>);

/// One resource named after the call, with one tag naming the call.
pub(super) fn one_resource(call: &str) -> (Vec<String>, Vec<(String, String)>) {
    (
        vec![call.to_owned()],
        vec![("call".into(), call.to_owned())],
    )
}

pub(super) const BATCH_RESOURCES: usize = 10;
pub(super) const BATCH_TAGS: usize = 10;
pub(super) const KILLS: usize = 3;

/// A batch of 10 resources × 10 tags, every tag's value the batch's marker.
pub(super) fn batch(call: &str) -> (Vec<String>, Vec<(String, String)>) {
    (
        (0..BATCH_RESOURCES)
            .map(|i| format!("{call}.r{i}"))
            .collect(),
        (0..BATCH_TAGS)
            .map(|i| (format!("k{i}"), call.to_owned()))
            .collect(),
    )
}

/// Concurrent writers, calling back to back (with a short pause) until stopped.
pub(super) struct Load {
    pub(super) faces: Vec<Face>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) records: Arc<Mutex<Vec<Record>>>,
    pub(super) writers: Vec<JoinHandle<()>>,
}

impl Load {
    /// Starts the writers; `name` prefixes the markers of their calls.
    pub(super) async fn start(
        name: &str,
        addr: SocketAddr,
        token: &str,
        grpc_writers: usize,
        rest_writers: usize,
        shape: Shape,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let records = Arc::new(Mutex::new(Vec::new()));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
            .expect("the load's channel connects");
        let faces = std::iter::repeat_n(Face::Grpc, grpc_writers)
            .chain(std::iter::repeat_n(Face::Rest, rest_writers));
        let writers = faces
            .enumerate()
            .map(|(w, face)| {
                let (stop, records, token) = (stop.clone(), records.clone(), token.to_owned());
                let name = name.to_owned();
                let client = TaggingServiceClient::new(channel.clone());
                tokio::spawn(async move {
                    let mut seq = 0u32;
                    while !stop.load(Ordering::Relaxed) {
                        let call = format!("{name}w{w}-{seq}");
                        seq += 1;
                        let sent = Instant::now();
                        let answer = write(face, addr, client.clone(), &token, &call, shape).await;
                        records.lock().expect("records").push(Record {
                            call,
                            face,
                            sent,
                            answered: Instant::now(),
                            answer,
                        });
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
            })
            .collect();
        Self {
            faces: [(Face::Grpc, grpc_writers), (Face::Rest, rest_writers)]
                .into_iter()
                .filter_map(|(face, n)| (n > 0).then_some(face))
                .collect(),
            stop,
            records,
            writers,
        }
    }

    pub(super) fn records(&self) -> Vec<Record> {
        self.records.lock().expect("records").clone()
    }

    /// Waits until `done` holds of the records so far, or fails naming `what`.
    pub(super) async fn wait_until(&self, what: &str, done: impl Fn(&[Record]) -> bool) {
        let give_up = Instant::now() + STATE_LIMIT;
        while !done(&self.records()) {
            assert!(
                Instant::now() < give_up,
                "{what}: not within {STATE_LIMIT:?}; last answers: {:?}",
                self.records().iter().rev().take(8).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `count` calls sent after `since` are acknowledged, on each face of the load.
    pub(super) async fn wait_for_acks_after(&self, since: Instant, count: usize, what: &str) {
        self.wait_until(what, |records| {
            self.faces.iter().all(|face| {
                records
                    .iter()
                    .filter(|r| r.face == *face && r.sent >= since && r.answer == Answer::Ok)
                    .count()
                    >= count
            })
        })
        .await;
    }

    /// Stops the writers, lets the calls in flight end, and answers every record.
    pub(super) async fn finish(self) -> Vec<Record> {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.writers {
            w.await.expect("a writer panicked");
        }
        self.records.lock().expect("records").clone()
    }
}

/// One call of the load, bounded by [`CLIENT_LIMIT`], as an [`Answer`].
pub(super) async fn write(
    face: Face,
    addr: SocketAddr,
    mut client: TaggingServiceClient<Channel>,
    token: &str,
    call: &str,
    shape: Shape,
) -> Answer {
    let (resources, tags) = shape(call);
    let answered = match face {
        Face::Grpc => {
            // No deadline is sent: the service's own request timeout applies.
            let req = pb::TagResourcesRequest {
                project_id: String::new(),
                resource_type: RESOURCE_TYPE.into(),
                resource_ids: resources,
                tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
                expected_revision: None,
            };
            tokio::time::timeout(CLIENT_LIMIT, client.tag_resources(authed(token, req)))
                .await
                .map(|answer| match answer {
                    Ok(_) => Answer::Ok,
                    Err(s) if s.code() == Code::Unavailable => Answer::Refused,
                    Err(s) => Answer::Other(format!("{:?}: {}", s.code(), s.message())),
                })
        }
        Face::Rest => {
            let body = json!({
                "resource_type": RESOURCE_TYPE,
                "resource_ids": resources,
                "tags": tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            });
            let req = Rest::at(addr)
                .put("/tags")
                .bearer_auth(token)
                .json(&body)
                .send();
            tokio::time::timeout(CLIENT_LIMIT, async {
                match req.await {
                    Ok(res) if res.status() == 200 => Answer::Ok,
                    Ok(res) if res.status() == 503 => Answer::Refused,
                    Ok(res) => Answer::Other(format!(
                        "{}: {}",
                        res.status(),
                        res.text().await.unwrap_or_default()
                    )),
                    Err(e) => Answer::Other(format!("no HTTP answer: {e}")),
                }
            })
            .await
        }
    };
    answered.unwrap_or_else(|_| Answer::Other(format!("no answer within {CLIENT_LIMIT:?}")))
}

/// Every stored resource of [`RESOURCE_TYPE`] with its tags, sorted, read page by page.
pub(super) async fn stored(
    client: &mut TaggingServiceClient<Channel>,
    token: &str,
) -> HashMap<String, Vec<(String, String)>> {
    let mut out = HashMap::new();
    let mut next_token = String::new();
    loop {
        let mut req = authed(
            token,
            pb::ListResourcesRequest {
                resource_type: RESOURCE_TYPE.into(),
                page_size: 1000,
                next_token,
                ..Default::default()
            },
        );
        req.set_timeout(CLIENT_LIMIT);
        let page = client
            .list_resources(req)
            .await
            .expect("the stored resources are listed")
            .into_inner();
        for r in page.resources {
            let mut tags: Vec<(String, String)> =
                r.tags.into_iter().map(|t| (t.key, t.value)).collect();
            tags.sort();
            out.insert(r.resource_id, tags);
        }
        if page.next_token.is_empty() {
            return out;
        }
        next_token = page.next_token;
    }
}

/// What `call` wrote, as `stored` shows it, if it was applied.
pub(super) fn expected(call: &str, shape: Shape) -> Vec<(String, Vec<(String, String)>)> {
    let (resources, mut tags) = shape(call);
    tags.sort();
    resources.into_iter().map(|r| (r, tags.clone())).collect()
}

/// Whether all, none or part of `call`'s write is stored.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Applied {
    All,
    None,
    Part,
}

pub(super) fn applied(
    stored: &HashMap<String, Vec<(String, String)>>,
    call: &str,
    shape: Shape,
) -> Applied {
    let want = expected(call, shape);
    let present = want
        .iter()
        .filter(|(r, tags)| stored.get(r) == Some(tags))
        .count();
    let touched = want.iter().filter(|(r, _)| stored.contains_key(r)).count();
    match (present, touched) {
        (p, _) if p == want.len() => Applied::All,
        (_, 0) => Applied::None,
        _ => Applied::Part,
    }
}
