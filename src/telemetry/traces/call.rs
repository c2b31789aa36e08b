//! The server span of one call: a child of the caller's span when its headers carry a W3C trace
//! context (`traceparent`, `tracestate`), else the root of a new trace; named and described as the
//! OpenTelemetry conventions say for RPC and HTTP servers.

use opentelemetry::{
    Context, KeyValue,
    propagation::{Extractor, TextMapPropagator},
    trace::{FutureExt, SpanKind, Status, TraceContextExt, Tracer, WithContext},
};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The trace context a call's headers carry, read only when tracing is on.
#[derive(Clone, Default)]
pub struct TraceParent(Option<Context>);

impl TraceParent {
    /// Reads `traceparent` and `tracestate` through `header`.
    pub fn read<'h>(header: impl Fn(&str) -> Option<&'h str>) -> Self {
        if !super::enabled() {
            return Self(None);
        }
        let headers = Headers(
            ["traceparent", "tracestate"].map(|name| header(name).map(|v| (name, v.to_owned()))),
        );
        Self(Some(TraceContextPropagator::new().extract(&headers)))
    }
}

/// The two headers of a trace context, as the propagator reads them.
struct Headers([Option<(&'static str, String)>; 2]);

impl Extractor for Headers {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .flatten()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().flatten().map(|(name, _)| *name).collect()
    }
}

/// What kind of call a span describes.
pub enum CallShape<'a> {
    /// A gRPC (or gRPC-Web) method of `service`.
    Rpc { service: &'a str, method: &'a str },
    /// A REST route: `METHOD /template`.
    Http { route: &'a str },
}

/// How a call was answered, for its span.
#[derive(Debug, Clone, Copy)]
pub enum CallEnd {
    Rpc { code: i32 },
    Http { status: u16 },
}

impl CallEnd {
    /// Whether the server failed (rather than the caller's request), which the conventions mark
    /// as the span's error: gRPC UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL,
    /// UNAVAILABLE, DATA_LOSS; HTTP 5xx.
    fn server_fault(self) -> bool {
        match self {
            Self::Rpc { code } => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
            Self::Http { status } => status >= 500,
        }
    }
}

/// The server span of a call in progress.
pub struct CallTrace {
    cx: Context,
}

impl CallTrace {
    /// Starts the span of a call shaped `shape`, under `parent`; `None` when tracing is off or
    /// the sampler left the call out, whose statements are then left out too. An unsampled call
    /// costs a name and a sampling decision: the attributes are made only for a span that records.
    pub fn start(parent: &TraceParent, shape: &CallShape<'_>, request_id: &str) -> Option<Self> {
        let tracer = super::tracer()?;
        let parent = parent.0.clone().unwrap_or_default();
        let name = match shape {
            CallShape::Rpc { service, method } => format!("{service}/{method}"),
            CallShape::Http { route } => (*route).to_owned(),
        };
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .start_with_context(tracer, &parent);
        let cx = parent.with_span(span);
        if !cx.span().is_recording() {
            return None;
        }
        cx.span().set_attributes(attributes(shape, request_id));
        Some(Self { cx })
    }

    /// The trace and span ids, as the call's log lines carry them.
    pub fn ids(&self) -> (String, String) {
        let span = self.cx.span();
        let ids = span.span_context();
        (ids.trace_id().to_string(), ids.span_id().to_string())
    }

    /// Records the project the call acts on.
    pub fn project(&self, project: &str) {
        self.cx
            .span()
            .set_attribute(KeyValue::new("tagging.project", project.to_owned()));
    }

    /// `work`, with this span current while it runs: its statements' spans go beneath it.
    pub fn around<F: Future>(&self, work: F) -> WithContext<F> {
        work.with_context(self.cx.clone())
    }

    /// Ends the span with how the call was answered and, when it failed, the kind of error
    /// (never its message, which may hold a caller's data).
    pub fn finish(self, end: CallEnd, error_kind: Option<&str>) {
        let span = self.cx.span();
        match end {
            CallEnd::Rpc { code } => {
                span.set_attribute(KeyValue::new("rpc.grpc.status_code", i64::from(code)));
            }
            CallEnd::Http { status } => {
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status),
                ));
            }
        }
        if let Some(kind) = error_kind {
            span.set_attribute(KeyValue::new("error.type", kind.to_owned()));
            if end.server_fault() {
                span.set_status(Status::error(kind.to_owned()));
            }
        }
        span.end();
    }
}

/// The conventions' attributes of a call shaped `shape`.
fn attributes(shape: &CallShape<'_>, request_id: &str) -> Vec<KeyValue> {
    let mut attributes = match shape {
        CallShape::Rpc { service, method } => vec![
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service.to_string()),
            KeyValue::new("rpc.method", method.to_string()),
        ],
        CallShape::Http { route } => {
            let (method, template) = route.split_once(' ').unwrap_or(("", route));
            vec![
                KeyValue::new("http.request.method", method.to_owned()),
                KeyValue::new("http.route", template.to_owned()),
            ]
        }
    };
    attributes.push(KeyValue::new("tagging.request_id", request_id.to_owned()));
    attributes
}
