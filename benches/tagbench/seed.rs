//! Bulk ingest through `TagResources`: maximal batches from concurrent clients, each on its own
//! HTTP/2 connection, as independent callers would; the three passes of `dataset`, chosen by
//! `--passes` so that `bench/run.sh` can analyze the database between them.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use anyhow::Context;
use tagging_service::proto::pb::{self, tagging_service_client::TaggingServiceClient};
use tonic::{Request, metadata::MetadataValue, transport::Channel};

use crate::dataset::{self, BATCH};

#[derive(clap::Args)]
pub struct SeedArgs {
    /// The server, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    url: String,
    #[arg(long, env = "BENCH_TOKEN")]
    token: String,
    #[arg(long)]
    resources: u64,
    #[arg(long)]
    tags_per_resource: u64,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: u64,
    /// `rare=yes` on one resource in this many (at least one).
    #[arg(long, default_value_t = 100_000)]
    rare_every: u64,
    /// The passes to make; they run in the order bulk, filter, rare whatever the order given.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "bulk,filter,rare"
    )]
    passes: Vec<Pass>,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Pass {
    Bulk,
    Filter,
    Rare,
}

pub fn authed<T>(message: T, token: &str) -> anyhow::Result<Request<T>> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}"))?,
    );
    Ok(request)
}

pub async fn client(url: &str) -> anyhow::Result<TaggingServiceClient<Channel>> {
    let channel = Channel::from_shared(url.to_owned())?
        .connect()
        .await
        .with_context(|| format!("connecting to {url}"))?;
    Ok(TaggingServiceClient::new(channel))
}

/// Makes calls `0..calls` (each `call(n)` answers its resource ids and tags) from
/// `args.concurrency` clients; answers the seconds it took.
async fn drive(
    args: &Arc<SeedArgs>,
    calls: u64,
    call: impl Fn(u64) -> (Vec<String>, Vec<pb::Tag>) + Send + Sync + 'static,
) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicU64::new(0));
    let call = Arc::new(call);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (next, args, call) = (next.clone(), args.clone(), call.clone());
        let mut client = client(&args.url).await?;
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= calls {
                    return anyhow::Ok(());
                }
                let (resource_ids, tags) = call(n);
                let request = pb::TagResourcesRequest {
                    project_id: String::new(),
                    resource_type: dataset::RESOURCE_TYPE.into(),
                    resource_ids,
                    tags,
                    expected_revision: None,
                };
                client
                    .tag_resources(authed(request, &args.token)?)
                    .await
                    .with_context(|| format!("TagResources call {n}"))?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Seeds the passes asked for. The bulk pass's ingest rate (maximal calls, the bulk path) goes to
/// standard output, the others' rates to standard error.
pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.tags_per_resource > dataset::FILTER_TAGS,
        "--tags-per-resource must be more than {}",
        dataset::FILTER_TAGS
    );
    anyhow::ensure!(args.rare_every > 0, "--rare-every must be positive");
    let args = Arc::new(args);
    let (resources, per) = (args.resources, args.tags_per_resource);
    let calls = resources.div_ceil(BATCH);
    if args.passes.contains(&Pass::Bulk) {
        let secs = drive(&args, calls, move |n| dataset::bulk_call(n, resources, per)).await?;
        let tags = resources * (per - dataset::FILTER_TAGS);
        println!(
            "ingest tags={tags} calls={calls} seconds={secs:.1} tags_per_s={:.0}",
            tags as f64 / secs
        );
    }
    if args.passes.contains(&Pass::Filter) {
        let secs = drive(&args, calls, move |n| {
            dataset::filter_call(n, calls, resources)
        })
        .await?;
        let tags = resources * dataset::FILTER_TAGS;
        eprintln!(
            "filter pass: tags={tags} calls={calls} seconds={secs:.1} tags_per_s={:.0}",
            tags as f64 / secs
        );
    }
    if args.passes.contains(&Pass::Rare) {
        let ids = Arc::new(dataset::rare_ids(resources, args.rare_every));
        let (tags, calls) = (ids.len() as u64, (ids.len() as u64).div_ceil(BATCH));
        let secs = drive(&args, calls, move |n| dataset::rare_call(n, &ids)).await?;
        eprintln!("rare pass: tags={tags} calls={calls} seconds={secs:.1}");
    }
    Ok(())
}
