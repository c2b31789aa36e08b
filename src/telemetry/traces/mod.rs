//! Distributed tracing: a server span per call that continues the caller's W3C trace context, a
//! client span per database statement beneath it, exported over OTLP (gRPC or HTTP/protobuf) as
//! the standard `OTEL_*` variables say. With no endpoint configured nothing is set up: a call
//! then costs what it cost before, one check of a flag.
//!
//! Spans are made with the OpenTelemetry API directly rather than from the log's spans: a call
//! makes exactly its server span and its statements' spans, whatever the log filter says.

mod call;
mod export;
mod settings;
mod sqlite_statements;
mod statements;

use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

pub use call::{CallEnd, CallShape, CallTrace, TraceParent};
pub use export::dropped_spans;
pub use settings::TraceSettings;
pub use sqlite_statements::{CallSlot, profile as profile_sqlite};
pub use statements::{STATEMENT_TARGET, StatementSpans, database_system, statement_wanted};

/// The tracer of the process, once tracing is on.
static TRACING: OnceLock<Tracing> = OnceLock::new();

struct Tracing {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

/// The tracer, when tracing is on.
fn tracer() -> Option<&'static SdkTracer> {
    TRACING.get().map(|t| &t.tracer)
}

/// Whether spans are being made and exported.
pub fn enabled() -> bool {
    TRACING.get().is_some()
}

/// Turns tracing on as `settings` say: the exporter, its queue and its task, the sampler and
/// the resource. Needs the Tokio runtime the export runs on.
pub fn start(settings: TraceSettings) -> anyhow::Result<()> {
    let processor = export::BoundedExport::start(&settings)?;
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(settings.sampler)
        .with_resource(settings.resource)
        .build();
    let tracer = provider.tracer("tagging-service");
    TRACING
        .set(Tracing { provider, tracer })
        .map_err(|_| anyhow::anyhow!("tracing was started twice"))
}

/// Exports what is queued, waiting at most a few seconds: a collector that is down never holds
/// the process up.
pub async fn shutdown() {
    if let Some(tracing) = TRACING.get() {
        let provider = tracing.provider.clone();
        let _ = tokio::task::spawn_blocking(move || provider.force_flush()).await;
    }
}
