//! A PostgreSQL cluster of one test's own, which it may stop and restart at will (the shared server
//! on 5432 must never be): initdb into a temporary directory owned by `postgres`, served on a free
//! port with its socket in that directory and trust authentication, run as `postgres` through
//! `runuser` since the tests run as root; or a streaming standby of such a cluster, made with
//! `pg_basebackup -R`. Stopped immediately when dropped.

use std::{
    net::TcpListener,
    os::unix::fs::chown,
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};

use tempfile::TempDir;
use tokio::process::Command;

/// The server binaries: the newest `/usr/lib/postgresql/*/bin` with an `initdb`.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server binaries under /usr/lib/postgresql (apt: postgresql)")
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = std::process::Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id");
        assert!(out.status.success(), "no user `postgres`");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a numeric id")
    };
    (id("-u"), id("-g"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub struct PgCluster {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
}

impl PgCluster {
    /// Creates the cluster and starts it; answers once it accepts connections.
    pub async fn start() -> Self {
        let cluster = Self::empty();
        // `--no-sync`: only an operating-system crash could need it, and none is tested here.
        cluster
            .run(
                "initdb",
                &[
                    "-D",
                    &cluster.data(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
            )
            .await;
        cluster.boot().await
    }

    /// A streaming standby of `primary` (which initdb lets replicate from loopback): a base
    /// backup with `-R`, so that it starts as a hot standby following the primary, then started.
    pub async fn standby_of(primary: &PgCluster) -> Self {
        let standby = Self::empty();
        let port = primary.port.to_string();
        standby
            .run(
                "pg_basebackup",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "-D",
                    &standby.data(),
                    "-R",
                    "-X",
                    "stream",
                    "--checkpoint=fast",
                    "--no-sync",
                ],
            )
            .await;
        standby.boot().await
    }

    /// A cluster with a directory of its own, not yet created.
    fn empty() -> Self {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("tagging-pg-")
            .tempdir()
            .expect("temp dir");
        let (uid, gid) = postgres_ids();
        chown(dir.path(), Some(uid), Some(gid)).expect("the cluster's directory to postgres");
        Self { bin, dir, port: 0 }
    }

    /// Starts the created cluster on a free port.
    async fn boot(mut self) -> Self {
        // Another process may take the free port before the server binds it: try a few.
        for _ in 0..3 {
            self.port = free_port();
            if self.pg_ctl_status(&["-w", "start"]).await.status.success() {
                return self;
            }
        }
        panic!("the private cluster did not start:\n{}", self.log());
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// How the service names it as a replica: `host:port/database`.
    pub fn name(&self) -> String {
        format!("127.0.0.1:{}/postgres", self.port)
    }

    /// A fast shutdown (open sessions are ended) followed by a start.
    pub async fn restart(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "restart"]).await;
    }

    /// A fast shutdown: sessions are ended, and the server is down once this returns.
    pub async fn stop(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]).await;
    }

    /// Starts it again; it accepts connections once this returns.
    pub async fn start_again(&self) {
        self.pg_ctl(&["-w", "start"]).await;
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    async fn pg_ctl(&self, action: &[&str]) {
        let out = self.pg_ctl_status(action).await;
        assert!(
            out.status.success(),
            "pg_ctl {action:?} failed: {}\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    async fn pg_ctl_status(&self, action: &[&str]) -> Output {
        let socket_dir = self.dir.path().display().to_string();
        let options = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={socket_dir}",
            self.port
        );
        let (data, log) = (self.data(), self.log_path().display().to_string());
        let mut args = vec!["-D", &data, "-l", &log, "-o", &options, "-t", "60"];
        args.extend_from_slice(action);
        self.output("pg_ctl", &args).await
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let out = self.output(tool, args).await;
        assert!(
            out.status.success(),
            "{tool} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs one of the server's tools as `postgres`, bounded so a stuck tool fails the test.
    async fn output(&self, tool: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .current_dir(self.dir.path())
            .kill_on_drop(true);
        tokio::time::timeout(Duration::from_secs(90), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("{tool} {args:?} still running after 90 s"))
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .current_dir(Path::new("/"))
            .output();
    }
}
