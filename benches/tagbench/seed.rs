//! Bulk ingest through `TagResources`: maximal batches from concurrent clients, each on its own
//! HTTP/2 connection, as independent callers would.

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

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let batches = args.resources.div_ceil(BATCH);
    let next = Arc::new(AtomicU64::new(0));
    let args = Arc::new(args);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (next, args) = (next.clone(), args.clone());
        let mut client = client(&args.url).await?;
        workers.push(tokio::spawn(async move {
            loop {
                let batch = next.fetch_add(1, Ordering::Relaxed);
                if batch >= batches {
                    return anyhow::Ok(());
                }
                let first = batch * BATCH;
                let last = (first + BATCH).min(args.resources);
                let request = pb::TagResourcesRequest {
                    project_id: String::new(),
                    resource_type: dataset::RESOURCE_TYPE.into(),
                    resource_ids: (first..last).map(dataset::resource_id).collect(),
                    tags: dataset::batch_tags(batch, args.tags_per_resource),
                };
                client
                    .tag_resources(authed(request, &args.token)?)
                    .await
                    .with_context(|| format!("TagResources of batch {batch}"))?;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let tags = args.resources * args.tags_per_resource;
    println!(
        "ingest tags={tags} calls={batches} seconds={secs:.1} tags_per_s={:.0}",
        tags as f64 / secs
    );
    Ok(())
}
