//! The change feed's figures (issue 14): how long a committed write takes to reach a watcher,
//! through the same process or another, and what 1 000 watchers cost a server: memory, CPU
//! while idle, and CPU and delivery time while one write fans out to all of them.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::Context;
use tagging_service::proto::pb::{self, tagging_service_client::TaggingServiceClient};
use tokio::sync::mpsc;
use tonic::transport::Channel;

use crate::seed::authed;

#[derive(clap::Args)]
pub struct LatencyArgs {
    /// The server writes go through, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    write_url: String,
    /// The server the watch is opened on (the same one, or another process on the database).
    #[arg(long)]
    watch_url: String,
    #[arg(long, env = "BENCH_TOKEN")]
    token: String,
    /// Writes, one at a time.
    #[arg(long, default_value_t = 500)]
    writes: u32,
    /// Pause between writes, in milliseconds: a watcher is measured idle, not queued behind.
    #[arg(long, default_value_t = 10)]
    pause_ms: u64,
}

#[derive(clap::Args)]
pub struct WatchersArgs {
    #[arg(long)]
    url: String,
    #[arg(long, env = "BENCH_TOKEN")]
    token: String,
    /// The server's process id, whose CPU time and memory are read from /proc.
    #[arg(long)]
    pid: u32,
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    /// Watchers per HTTP/2 connection (the server allows 100 streams per connection).
    #[arg(long, default_value_t = 50)]
    per_connection: usize,
    /// Seconds of idle measured.
    #[arg(long, default_value_t = 10)]
    idle_secs: u64,
    /// Writes fanned out to every watcher, one at a time.
    #[arg(long, default_value_t = 20)]
    writes: u32,
}

async fn client(url: &str) -> anyhow::Result<TaggingServiceClient<Channel>> {
    let channel = Channel::from_shared(url.to_owned())?.connect().await?;
    Ok(TaggingServiceClient::new(channel))
}

/// One write of a value never written before, so each one changes something.
async fn write(c: &mut TaggingServiceClient<Channel>, token: &str, n: u32) -> anyhow::Result<i64> {
    let req = pb::TagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: vec!["watched".into()],
        tags: vec![pb::Tag {
            key: "n".into(),
            value: n.to_string(),
        }],
        ..Default::default()
    };
    Ok(c.tag_resources(authed(req, token)?)
        .await?
        .into_inner()
        .revision)
}

/// Opens a watch from now; each revision it receives goes to `seen` with the time it came.
async fn watch(
    c: &mut TaggingServiceClient<Channel>,
    token: &str,
    seen: mpsc::UnboundedSender<(i64, Instant)>,
) -> anyhow::Result<()> {
    let mut stream = c
        .watch_tag_changes(authed(pb::WatchTagChangesRequest::default(), token)?)
        .await?
        .into_inner();
    tokio::spawn(async move {
        while let Ok(Some(m)) = stream.message().await {
            if !m.bookmark && seen.send((m.revision, Instant::now())).is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// p50 and p99 in milliseconds.
fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    (at(0.50), at(0.99))
}

pub async fn latency(args: LatencyArgs) -> anyhow::Result<()> {
    let mut writer = client(&args.write_url).await?;
    let (seen, mut got) = mpsc::unbounded_channel();
    watch(&mut client(&args.watch_url).await?, &args.token, seen).await?;
    let (mut to_watcher, mut call) = (Vec::new(), Vec::new());
    for n in 0..args.writes {
        let sent = Instant::now();
        let revision = write(&mut writer, &args.token, n).await?;
        let acked = Instant::now();
        let (r, at) = tokio::time::timeout(Duration::from_secs(30), got.recv())
            .await
            .context("a change never reached the watcher")?
            .context("the watch ended")?;
        anyhow::ensure!(
            r == revision,
            "the watcher got revision {r}, not {revision}"
        );
        to_watcher.push(at.duration_since(sent).as_secs_f64() * 1000.0);
        call.push(acked.duration_since(sent).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
    }
    let (w50, w99) = percentiles(to_watcher);
    let (c50, c99) = percentiles(call);
    println!(
        "writes={} write_sent_to_watcher_ms_p50={w50:.2} p99={w99:.2} write_call_ms_p50={c50:.2} p99={c99:.2}",
        args.writes
    );
    Ok(())
}

/// The process's CPU time (user and system) and resident memory, from /proc.
fn usage(pid: u32) -> anyhow::Result<(Duration, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("a stat line")?
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("VmRSS")?
        .parse()?;
    // USER_HZ is 100 on Linux.
    Ok((Duration::from_millis(ticks * 10), rss_kib))
}

pub async fn watchers(args: WatchersArgs) -> anyhow::Result<()> {
    let (_, rss_before) = usage(args.pid)?;
    let (seen, mut got) = mpsc::unbounded_channel();
    let mut clients = Vec::new();
    for i in 0..args.watchers {
        if i % args.per_connection == 0 {
            clients.push(client(&args.url).await?);
        }
        let c = clients.last_mut().expect("a client");
        watch(c, &args.token, seen.clone()).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cpu0, rss_open) = usage(args.pid)?;
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let (cpu1, rss_idle) = usage(args.pid)?;
    let idle_cpu = (cpu1 - cpu0).as_secs_f64() / args.idle_secs as f64 * 100.0;
    let mut writer = client(&args.url).await?;
    let mut all_got = Vec::new();
    let (cpu2, _) = usage(args.pid)?;
    for n in 0..args.writes {
        let sent = Instant::now();
        let revision = write(&mut writer, &args.token, n).await?;
        let mut received: HashMap<i64, usize> = HashMap::new();
        let mut last = sent;
        while received.get(&revision).copied().unwrap_or(0) < args.watchers {
            let (r, at) = tokio::time::timeout(Duration::from_secs(30), got.recv())
                .await
                .context("a watcher never got the write")?
                .context("watches ended")?;
            *received.entry(r).or_default() += 1;
            last = last.max(at);
        }
        all_got.push(last.duration_since(sent).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (cpu3, rss_fanout) = usage(args.pid)?;
    let busy = (cpu3 - cpu2).as_secs_f64() * 1000.0;
    // The pauses between writes are idle time: what idle costs is taken out.
    let pauses = f64::from(args.writes) * 0.2 * idle_cpu * 10.0;
    let (p50, p99) = percentiles(all_got);
    println!(
        "watchers={} rss_kib_before={rss_before} rss_kib_open={rss_open} rss_kib_idle={rss_idle} rss_kib_after_fanout={rss_fanout} idle_cpu_percent={idle_cpu:.2} fanout_cpu_ms_per_write={:.1} all_watchers_received_ms_p50={p50:.1} p99={p99:.1}",
        args.watchers,
        (busy - pauses).max(0.0) / f64::from(args.writes),
    );
    Ok(())
}
