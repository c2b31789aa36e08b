//! Export that is never in a call's way: a finished span is queued without waiting (a full queue
//! drops it, counted), and one task on the runtime sends the queue in batches, each export
//! bounded in time (a batch that fails or times out is dropped, counted). A collector that is down
//! or slow costs the calls nothing but their spans.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc as sync_mpsc,
    },
    time::Duration,
};

use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::{
    error::{OTelSdkError, OTelSdkResult},
    trace::{SpanData, SpanExporter as _, SpanProcessor},
};
use tokio::sync::mpsc;

use super::settings::{Protocol, TraceSettings};

/// Spans dropped since the process started: the queue was full, or their export failed.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// How long a flush (at shutdown) waits for the queue to be sent.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

pub fn dropped_spans() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

fn dropped(n: usize) {
    DROPPED.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
}

#[derive(Debug)]
enum Queued {
    Span(Box<SpanData>),
    /// Send what is queued, then answer.
    Flush(sync_mpsc::Sender<()>),
}

/// The span processor: hands finished spans to the export task.
#[derive(Debug)]
pub struct BoundedExport {
    queue: mpsc::Sender<Queued>,
}

impl BoundedExport {
    /// The exporter `settings` name (its endpoint, headers and timeout from the `OTEL_EXPORTER_*`
    /// variables, read by the exporter itself), and the task that feeds it.
    pub fn start(settings: &TraceSettings) -> anyhow::Result<Self> {
        let mut exporter = match settings.protocol {
            Protocol::Grpc => SpanExporter::builder()
                .with_tonic()
                .with_timeout(settings.export_timeout)
                .build()?,
            Protocol::HttpProtobuf => SpanExporter::builder()
                .with_http()
                .with_timeout(settings.export_timeout)
                .build()?,
        };
        exporter.set_resource(&settings.resource);
        let (queue, spans) = mpsc::channel(settings.max_queue);
        tokio::spawn(send_batches(
            exporter,
            spans,
            settings.max_batch,
            settings.delay,
            settings.export_timeout,
        ));
        Ok(Self { queue })
    }
}

impl SpanProcessor for BoundedExport {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        if self.queue.try_send(Queued::Span(Box::new(span))).is_err() {
            dropped(1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        let (done, flushed) = sync_mpsc::channel();
        self.queue
            .try_send(Queued::Flush(done))
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        flushed
            .recv_timeout(FLUSH_WAIT)
            .map_err(|_| OTelSdkError::Timeout(FLUSH_WAIT))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Sends the queue in batches of at most `max_batch`, at least every `delay`.
async fn send_batches(
    exporter: SpanExporter,
    mut spans: mpsc::Receiver<Queued>,
    max_batch: usize,
    delay: Duration,
    timeout: Duration,
) {
    let mut batch: Vec<SpanData> = Vec::with_capacity(max_batch);
    let mut failing = false;
    let mut tick = tokio::time::interval(delay);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            queued = spans.recv() => match queued {
                Some(Queued::Span(span)) => {
                    batch.push(*span);
                    if batch.len() >= max_batch {
                        failing = export(&exporter, &mut batch, timeout, failing).await;
                    }
                }
                Some(Queued::Flush(done)) => {
                    failing = export(&exporter, &mut batch, timeout, failing).await;
                    let _ = done.send(());
                }
                None => {
                    export(&exporter, &mut batch, timeout, failing).await;
                    return;
                }
            },
            _ = tick.tick() => {
                failing = export(&exporter, &mut batch, timeout, failing).await;
            }
        }
    }
}

/// Exports `batch` (emptying it); answers whether the export failed, logging only the first
/// failure of a run of them and the recovery after.
async fn export(
    exporter: &SpanExporter,
    batch: &mut Vec<SpanData>,
    timeout: Duration,
    was_failing: bool,
) -> bool {
    if batch.is_empty() {
        return was_failing;
    }
    let spans = std::mem::take(batch);
    let n = spans.len();
    let outcome = tokio::time::timeout(timeout, exporter.export(spans)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {} ms", timeout.as_millis())),
    };
    match (failure, was_failing) {
        (None, true) => {
            tracing::info!("trace export works again");
            false
        }
        (None, false) => false,
        (Some(cause), was_failing) => {
            dropped(n);
            if !was_failing {
                tracing::warn!(error = %cause, spans = n, "trace export failed; spans are dropped until it works again");
            }
            true
        }
    }
}
