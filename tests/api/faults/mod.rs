//! Faults under load, with the real binary: PostgreSQL restarted and stopped under a write load (a
//! private cluster, see `pg_cluster.rs`), the service killed with SIGKILL mid-load and restarted on
//! the same database, and a database slower than the caller's deadline. What must hold: a refused
//! call is UNAVAILABLE / 503 and never INTERNAL / 500, no call hangs, health follows the database,
//! every acknowledged write is there afterwards, no write is half applied, and a call abandoned at
//! its deadline gives back its connection and its statement.
//!
//! The service runs here as a process of its own (`Service`); `load.rs` is the write load.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Child,
    sync::mpsc,
};
use tonic::transport::Channel;

use crate::helpers::{PROJECT, TaggingServiceClient, binary::async_binary};

mod killed;
mod load;
mod postgres_restart;
mod slow_database;

/// How long the tests wait for any answer: well above the service's own request timeout (30 s),
/// so a call that reaches it did hang.
const CLIENT_LIMIT: Duration = Duration::from_secs(60);
/// How long the tests wait for a state they expect (health, acknowledgements, a cancelled
/// statement); reaching it fails the test.
const STATE_LIMIT: Duration = Duration::from_secs(30);
const RESOURCE_TYPE: &str = "CLUSTER";

/// `tagging-service token create` for [`PROJECT`]; it also applies the migrations.
async fn create_token(database_url: &str) -> String {
    let mut cmd = async_binary();
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
        let mut cmd = async_binary();
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
