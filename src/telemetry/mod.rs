//! Logging: human-readable or JSON lines on standard error (standard output is kept for what
//! commands such as `token create` print), filtered by `RUST_LOG`; metrics; and distributed
//! tracing (`traces`).

mod metrics;
pub mod traces;

use tracing::{level_filters::LevelFilter, subscriber::Interest};
use tracing_subscriber::{
    EnvFilter, Layer, filter::dynamic_filter_fn, layer::SubscriberExt, util::SubscriberInitExt,
};

pub use metrics::Metrics;

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// Starts logging; with `statement_spans`, also reads sqlx's statement reports for tracing
/// (`traces::StatementSpans`), whatever `RUST_LOG` lets the log show.
pub fn init(format: LogFormat, statement_spans: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: a log file or collector would keep them as noise.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let log = match format {
        LogFormat::Text => log.with_filter(filter).boxed(),
        LogFormat::Json => log.json().with_filter(filter).boxed(),
    };
    // Decided call by call for sqlx's reports only; every other callsite is never asked again.
    let statements = statement_spans.then(|| {
        let wanted = dynamic_filter_fn(|metadata, _| traces::statement_wanted(metadata))
            .with_callsite_filter(|metadata| {
                if metadata.target() == traces::STATEMENT_TARGET {
                    Interest::sometimes()
                } else {
                    Interest::never()
                }
            })
            .with_max_level_hint(LevelFilter::DEBUG);
        traces::StatementSpans.with_filter(wanted)
    });
    tracing_subscriber::registry()
        .with(log)
        .with(statements)
        .init();
}

const MAX_REQUEST_ID_LEN: usize = 128;

/// A caller's request id, if it is one we can echo: 1-128 visible ASCII characters.
pub fn usable_request_id(sent: Option<&str>) -> Option<String> {
    sent.filter(|s| {
        !s.is_empty() && s.len() <= MAX_REQUEST_ID_LEN && s.bytes().all(|b| b.is_ascii_graphic())
    })
    .map(str::to_owned)
}

/// A random (version 4) UUID. From the thread's CSPRNG rather than the OS: one system call less
/// per call, and an id needs to be unique, not secret.
pub fn new_request_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}
