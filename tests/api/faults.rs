//! Faults under load, with the real binary: PostgreSQL restarted and stopped under a write load (a
//! private cluster, see `pg_cluster.rs`), the service killed with SIGKILL mid-load and restarted on
//! the same database, and a database slower than the caller's deadline. What must hold: a refused
//! call is UNAVAILABLE / 503 and never INTERNAL / 500, no call hangs, health follows the database,
//! every acknowledged write is there afterwards, no write is half applied, and a call abandoned at
//! its deadline gives back its connection and its statement.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use prost::Message;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use tagging_service::proto::pb::{self, tagging_service_client::TaggingServiceClient};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::mpsc,
    task::JoinHandle,
};
use tonic::{Code, Request, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{
    helpers::{Backend, PROJECT, TestApp, TestDb, authed, ids, report, tag},
    pg_cluster::PgCluster,
    rest_ack::{answer, assert_error, http},
    service_limits::{WriteLock, grpc_web_call, grpc_web_status},
};

const BINARY: &str = env!("CARGO_BIN_EXE_tagging-service");
/// How long the tests wait for any answer: well above the service's own request timeout (30 s),
/// so a call that reaches it did hang.
const CLIENT_LIMIT: Duration = Duration::from_secs(60);
/// How long the tests wait for a state they expect (health, acknowledgements, a cancelled
/// statement); reaching it fails the test.
const STATE_LIMIT: Duration = Duration::from_secs(30);
const RESOURCE_TYPE: &str = "CLUSTER";

// ---------------------------------------------------------------------------------------------
// The service as a process of its own
// ---------------------------------------------------------------------------------------------

/// The binary with none of the test's `TAGGING_…` variables.
fn binary() -> Command {
    let mut cmd = Command::new(BINARY);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TAGGING_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// `tagging-service token create` for [`PROJECT`]; it also applies the migrations.
async fn create_token(database_url: &str) -> String {
    let mut cmd = binary();
    cmd.args([
        "token",
        "create",
        "--project",
        PROJECT,
        "--database-url",
        database_url,
    ]);
    let out = tokio::time::timeout(CLIENT_LIMIT, cmd.output())
        .await
        .expect("token create finishes")
        .expect("token create runs");
    assert!(
        out.status.success(),
        "token create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

/// A running `tagging-service serve` with JSON logs; killed when dropped.
struct Service {
    child: Child,
    addr: SocketAddr,
    /// Every log line, as it arrives.
    log: Arc<Mutex<Vec<String>>>,
}

impl Service {
    /// Starts the binary on a random port and waits for its `tagging-service ready` line.
    async fn start(database_url: &str) -> Self {
        let mut cmd = binary();
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
            "--log-format",
            "json",
        ]);
        let mut child = cmd.spawn().expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(_)) = lines.next_line().await {}
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready, mut address) = mpsc::unbounded_channel();
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let kept = log.clone();
        // Keeps reading to the end, so the server never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line)
                    && entry["fields"]["message"] == "tagging-service ready"
                {
                    let _ = ready.send(entry["fields"]["address"].as_str().map(str::to_owned));
                }
                kept.lock().expect("log lock").push(line);
            }
        });
        let addr = tokio::time::timeout(STATE_LIMIT, address.recv())
            .await
            .ok()
            .flatten()
            .flatten()
            .unwrap_or_else(|| {
                panic!(
                    "the service never became ready:\n{}",
                    log.lock().expect("log lock").join("\n")
                )
            });
        Self {
            child,
            addr: addr.parse().expect("a socket address"),
            log,
        }
    }

    /// The log lines at level ERROR, for a failure's message.
    fn errors(&self) -> Vec<String> {
        self.log
            .lock()
            .expect("log lock")
            .iter()
            .filter(|l| l.contains(r#""level":"ERROR""#))
            .cloned()
            .collect()
    }

    /// SIGKILL: no draining, no cleanup, in whatever state the process is.
    async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = self.child.wait().await.expect("wait");
        assert!(!status.success(), "killed: {status:?}");
    }

    async fn client(&self) -> TaggingServiceClient<Channel> {
        TaggingServiceClient::connect(format!("http://{}", self.addr))
            .await
            .expect("the client connects")
    }
}

// ---------------------------------------------------------------------------------------------
// A write load over both faces, every answer recorded
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Grpc,
    Rest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Ok,
    /// UNAVAILABLE (gRPC) or 503 (REST).
    Refused,
    /// Anything else, described.
    Other(String),
}

#[derive(Debug, Clone)]
struct Record {
    /// The call's marker: its resources and tags are derived from it.
    call: String,
    face: Face,
    sent: Instant,
    answered: Instant,
    answer: Answer,
}

/// What one call writes: resources, each with the same tags.
type Shape = fn(&str) -> (Vec<String>, Vec<(String, String)>);

/// One resource named after the call, with one tag naming the call.
fn one_resource(call: &str) -> (Vec<String>, Vec<(String, String)>) {
    (
        vec![call.to_owned()],
        vec![("call".into(), call.to_owned())],
    )
}

const BATCH_RESOURCES: usize = 10;
const BATCH_TAGS: usize = 10;
const KILLS: usize = 3;

/// A batch of 10 resources × 10 tags, every tag's value the batch's marker.
fn batch(call: &str) -> (Vec<String>, Vec<(String, String)>) {
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
struct Load {
    faces: Vec<Face>,
    stop: Arc<AtomicBool>,
    records: Arc<Mutex<Vec<Record>>>,
    writers: Vec<JoinHandle<()>>,
}

impl Load {
    /// Starts the writers; `name` prefixes the markers of their calls.
    async fn start(
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

    fn records(&self) -> Vec<Record> {
        self.records.lock().expect("records").clone()
    }

    /// Waits until `done` holds of the records so far, or fails naming `what`.
    async fn wait_until(&self, what: &str, done: impl Fn(&[Record]) -> bool) {
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
    async fn wait_for_acks_after(&self, since: Instant, count: usize, what: &str) {
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
    async fn finish(self) -> Vec<Record> {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.writers {
            w.await.expect("a writer panicked");
        }
        self.records.lock().expect("records").clone()
    }
}

/// One call of the load, bounded by [`CLIENT_LIMIT`], as an [`Answer`].
async fn write(
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
            let req = http()
                .put(format!("http://{addr}/tags"))
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
async fn stored(
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
fn expected(call: &str, shape: Shape) -> Vec<(String, Vec<(String, String)>)> {
    let (resources, mut tags) = shape(call);
    tags.sort();
    resources.into_iter().map(|r| (r, tags.clone())).collect()
}

/// Whether all, none or part of `call`'s write is stored.
#[derive(Debug, PartialEq, Eq)]
enum Applied {
    All,
    None,
    Part,
}

fn applied(stored: &HashMap<String, Vec<(String, String)>>, call: &str, shape: Shape) -> Applied {
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

// ---------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------

async fn health_client(addr: SocketAddr) -> HealthClient<Channel> {
    HealthClient::new(
        Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
            .expect("the health client connects"),
    )
}

/// Polls the overall and the service's health until both are `want`, or fails.
async fn wait_for_health(health: &mut HealthClient<Channel>, want: ServingStatus) {
    let give_up = Instant::now() + STATE_LIMIT;
    loop {
        let mut seen = Vec::new();
        for service in ["", "tagging.v1.TaggingService"] {
            let mut req = Request::new(HealthCheckRequest {
                service: service.into(),
            });
            req.set_timeout(Duration::from_secs(10));
            seen.push(health.check(req).await.map(|r| r.into_inner().status));
        }
        if seen.iter().all(|s| matches!(s, Ok(s) if *s == want as i32)) {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "health never became {want:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 1. PostgreSQL restarted, then stopped and started, under a write load
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn postgres_restarted_and_stopped_under_load_refuses_calls_as_unavailable_and_loses_no_acknowledged_write()
 {
    let cluster = PgCluster::start().await;
    let url = cluster.url();
    let token = create_token(&url).await;
    let service = Service::start(&url).await;
    let mut health = health_client(service.addr).await;
    wait_for_health(&mut health, ServingStatus::Serving).await;

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
    wait_for_health(&mut health, ServingStatus::NotServing).await;
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
    wait_for_health(&mut health, ServingStatus::Serving).await;
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

// ---------------------------------------------------------------------------------------------
// 2. The service killed with SIGKILL under a write load of batches
// ---------------------------------------------------------------------------------------------

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
    };
    client
        .tag_resources(authed(&token, req))
        .await
        .expect("a write after the restart");
}

// ---------------------------------------------------------------------------------------------
// 3. The database slower than the caller's deadline
// ---------------------------------------------------------------------------------------------

/// A lock the test holds on its own connection: on PostgreSQL the row of resource `hot` (writes
/// to it wait, other resources are free); on SQLite the database's write lock (every write waits,
/// reads do not).
async fn hot_lock(app: &TestApp) -> WriteLock {
    WriteLock::holding(
        app,
        "SELECT pk FROM resources WHERE resource_id = 'hot' FOR UPDATE",
    )
    .await
}

/// How many of the service's statements wait for a lock in the test's database.
async fn waiting_statements(database_url: &str) -> i64 {
    let mut conn = PgConnection::connect(database_url)
        .await
        .expect("the test's PostgreSQL connection");
    let n = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'tagging-service' AND wait_event_type = 'Lock'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("pg_stat_activity");
    conn.close().await.expect("close");
    n
}

fn tag_hot_request(key: &str) -> pb::TagResourcesRequest {
    pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: RESOURCE_TYPE.into(),
        resource_ids: ids(&["hot"]),
        tags: vec![tag(key, "late")],
    }
}

/// Tags `hot` with `key` over gRPC-Web with a `grpc-timeout` of `deadline`; answers the call's
/// `grpc-status`. A tonic caller would time the deadline too, and its own timer, firing in the same
/// instant as the server's, could answer first: this caller has no timer, so the answer is the
/// server's.
async fn tag_hot_within(app: &TestApp, key: &str, deadline: &str) -> Option<String> {
    let message = tag_hot_request(key).encode_to_vec();
    let (headers, frames) =
        grpc_web_call(app, "TagResources", &message, &[("grpc-timeout", deadline)]).await;
    grpc_web_status(&headers, &frames)
}

/// DEADLINE_EXCEEDED.
const DEADLINE_EXCEEDED: Option<&str> = Some("4");
const MAX_CONNECTIONS: u32 = 2;

async fn calls_past_their_deadline_give_back_their_connections_and_statements(b: Backend) {
    let app = TestApp::spawn_with(b, &["--db-max-connections", &MAX_CONNECTIONS.to_string()]).await;
    app.tag(RESOURCE_TYPE, &["hot"], &[("env", "dev")]).await;
    let lock = hot_lock(&app).await;
    let mut client = app.client.clone();

    // On PostgreSQL, first one call that waits long enough to be seen waiting by the database. (A
    // long deadline on SQLite would race its busy timeout of 5 s.)
    let mut timed_out = 0;
    if b == Backend::Postgres {
        let seen_waiting = async {
            let give_up = Instant::now() + Duration::from_secs(5);
            while Instant::now() < give_up {
                if waiting_statements(&app.database_url).await > 0 {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            false
        };
        let (watched, seen) = tokio::join!(tag_hot_within(&app, "watched", "5S"), seen_waiting);
        assert!(
            seen,
            "the service's write was never seen waiting for the lock"
        );
        assert_eq!(watched.as_deref(), DEADLINE_EXCEEDED);
        timed_out += 1;
    }

    // More calls past their deadline than the pool has connections, on both faces.
    for i in 0..=MAX_CONNECTIONS {
        let status = tag_hot_within(&app, &format!("late{i}"), "300m").await;
        assert_eq!(status.as_deref(), DEADLINE_EXCEEDED, "call {i}");
        timed_out += 1;
    }
    let rest = answer(
        http()
            .put(format!("http://{}/tags", app.addr))
            .bearer_auth(&app.token)
            .header("grpc-timeout", "300m")
            .json(&json!({
                "resource_type": RESOURCE_TYPE,
                "resource_ids": ["hot"],
                "tags": [{"key": "late-rest", "value": "late"}],
            })),
    )
    .await;
    assert_error(&rest, 504, "GatewayTimeout", "deadline");
    timed_out += 1;

    // The lock is still held. On PostgreSQL the abandoned statements must have been cancelled by
    // the database (the statement timeout, the request timeout plus 1 s, is 31 s: longer than the
    // wait allowed here), and the pool serves writes of other resources.
    if b == Backend::Postgres {
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            let waiting = waiting_statements(&app.database_url).await;
            if waiting == 0 {
                break;
            }
            assert!(
                Instant::now() < give_up,
                "{waiting} abandoned statements of the service still wait for the lock"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut cold = authed(
            &app.token,
            pb::TagResourcesRequest {
                project_id: String::new(),
                resource_type: RESOURCE_TYPE.into(),
                resource_ids: ids(&["cold"]),
                tags: vec![tag("env", "dev")],
            },
        );
        cold.set_timeout(Duration::from_secs(10));
        client
            .tag_resources(cold)
            .await
            .expect("a write of another resource while `hot` is locked");
    }
    // Reads need no lock on either backend.
    assert_eq!(
        app.resource_tags(RESOURCE_TYPE, "hot")
            .await
            .expect("a read while the lock is held"),
        [("env".to_owned(), "dev".to_owned())]
    );

    lock.release().await;
    let mut after = authed(&app.token, tag_hot_request("after"));
    after.set_timeout(Duration::from_secs(10));
    client
        .tag_resources(after)
        .await
        .expect("a write of `hot` once the lock is gone");
    let mut tags = app.resource_tags(RESOURCE_TYPE, "hot").await.expect("read");
    tags.sort();
    assert_eq!(
        tags,
        [
            ("after".to_owned(), "late".to_owned()),
            ("env".to_owned(), "dev".to_owned())
        ],
        "none of the abandoned writes happened"
    );
    let cancelled = if b == Backend::Postgres {
        ", their statements cancelled while the lock was held,"
    } else {
        ","
    };
    report(&format!(
        "faults: deadline on {b:?}: {timed_out} calls past their deadline with {MAX_CONNECTIONS} \
         connections, all DEADLINE_EXCEEDED/504{cancelled} then served"
    ));
}

both_backends!(
    a_service_killed_mid_load_keeps_every_acknowledged_batch_and_applies_none_by_half,
    calls_past_their_deadline_give_back_their_connections_and_statements,
);
