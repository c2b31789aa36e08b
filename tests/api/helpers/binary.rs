//! The real binary as a process of its own: a clean environment, bounded runs, a served process
//! read through its JSON log, and the CLI commands tests make tokens and credentials with.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use super::{PROJECT, Rest, TestApp};

pub const BINARY: &str = env!("CARGO_BIN_EXE_tagging-service");

/// The binary with a clean environment of its own: no `TAGGING_…` variable of the test's.
pub fn binary() -> Command {
    let mut cmd = Command::new(BINARY);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TAGGING_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// [`binary`] as a tokio process, killed when dropped.
pub fn async_binary() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::from(binary());
    cmd.kill_on_drop(true);
    cmd
}

/// Reads a pipe to its end on a thread of its own, so the child never blocks on a full pipe.
fn drain(pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(pipe).read_to_string(&mut text);
        text
    })
}

/// Runs `cmd` to its exit, killing it after 10 s (which fails the test); answers the exit status,
/// standard output and standard error.
pub fn run_bounded(mut cmd: Command) -> (ExitStatus, String, String) {
    let mut child = cmd.spawn().expect("the binary starts");
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let give_up = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > give_up {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after 10 s; stderr so far:\n{}",
                err.join().unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(50));
    };
    (
        status,
        out.join().expect("stdout read"),
        err.join().expect("stderr read"),
    )
}

/// A running server process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: std::net::SocketAddr,
    /// Every log line, from the first (start-up's, before the ready line) on, as it arrives.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// The REST client of this server.
    pub fn rest(&self) -> Rest {
        Rest::at(self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` with JSON logs and waits (at most 15 s) for its `tagging-service ready` line.
pub fn start_server(mut cmd: Command) -> Server {
    let mut child = cmd.spawn().expect("the binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let _ = drain(child.stdout.take().expect("stdout"));
    let (lines, got) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let give_up = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    loop {
        let left = give_up.saturating_duration_since(Instant::now());
        match got.recv_timeout(left) {
            Ok(line) => {
                if let Ok(log) = serde_json::from_str::<serde_json::Value>(&line)
                    && log["fields"]["message"] == "tagging-service ready"
                {
                    let addr = log["fields"]["address"]
                        .as_str()
                        .unwrap_or_else(|| panic!("no address in {line}"))
                        .parse()
                        .expect("a socket address");
                    // Keep reading the log, so the server never blocks on a full pipe.
                    seen.push(line);
                    let log = Arc::new(Mutex::new(std::mem::take(&mut seen)));
                    let kept = log.clone();
                    thread::spawn(move || {
                        while let Ok(line) = got.recv() {
                            kept.lock().expect("log lock").push(line);
                        }
                    });
                    return Server { child, addr, log };
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server never became ready:\n{}", seen.join("\n"));
            }
        }
    }
}

/// The JSON log lines whose span carries `request_id`, polled until `want` of them arrived (the
/// server writes a call's line just after answering it).
pub async fn log_lines_of(
    server: &Server,
    request_id: &str,
    want: usize,
) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let lines: Vec<serde_json::Value> = server
            .log
            .lock()
            .expect("log lock")
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|l| l["span"]["request_id"] == request_id)
            .collect();
        if lines.len() >= want {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no log line for request {request_id}");
}

/// A token of `p1` made by the binary on `db`, and the binary's `serve` on `db` with JSON logs.
pub fn token_and_json_serve(db: &str) -> (String, Command) {
    let mut create = binary();
    create.args(["token", "create", "--project", "p1", "--database-url", db]);
    let (status, stdout, stderr) = run_bounded(create);
    assert!(status.success(), "token create: {stderr}");
    let mut serve = binary();
    serve.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        db,
        "--log-format",
        "json",
    ]);
    (stdout.trim().to_owned(), serve)
}

/// Runs the real binary; answers its standard output.
pub async fn tagging_service(env: &[(&str, &str)], args: &[&str]) -> String {
    let out = tokio::process::Command::new(BINARY)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run tagging-service");
    assert!(
        out.status.success(),
        "tagging-service {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

/// `credential create`: one line, `ACCESS_KEY_ID SECRET`.
pub async fn credential(app: &TestApp, master_key: &str, read_only: bool) -> (String, String) {
    let mut args = vec![
        "credential",
        "create",
        "--project",
        PROJECT,
        "--database-url",
        &app.database_url,
    ];
    if read_only {
        args.push("--read-only");
    }
    let stdout = tagging_service(&[("TAGGING_MASTER_KEY", master_key)], &args).await;
    let line = stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("one line: {stdout:?}"));
    let (id, secret) = line
        .split_once(' ')
        .unwrap_or_else(|| panic!("`ID SECRET`: {stdout:?}"));
    assert!(
        !id.is_empty() && !secret.is_empty() && !secret.contains(char::is_whitespace),
        "{stdout:?}"
    );
    (id.to_owned(), secret.to_owned())
}
