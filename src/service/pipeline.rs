//! The one call pipeline both faces use: admission, authentication, the operation's access
//! level, the deadline, then metrics and the call's log line. A face parses its request, calls
//! [`Pipeline::call`] once, and renders what it answers.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tracing::{Instrument, Span};

use super::{Admission, Operation, TaggingCore, operations};
use crate::{
    auth::{Authenticator, signature::SignedRequest},
    domain::{Access, Caller, Error, Limits, Principal, ProjectScope},
    store::{PoolStats, ReadStats},
    telemetry::{
        Metrics,
        traces::{CallEnd, CallShape, CallTrace, TraceParent},
    },
};

/// What a caller presented to prove who it is.
#[derive(Clone)]
pub enum Credentials {
    /// An API token, or nothing.
    Token(Option<String>),
    /// A request signed with an access key (as far as it could be checked without the key), and
    /// perhaps a token beside it.
    Signed {
        request: Arc<Result<SignedRequest, Error>>,
        token: Option<String>,
    },
    /// Already authenticated from the call's headers, for this operation, by
    /// [`Pipeline::authenticate_first`].
    Authenticated(Principal),
}

/// One call as a face received it.
pub struct CallContext {
    pub credentials: Credentials,
    /// The call's request id, as its answer carries it.
    pub request_id: String,
    /// The consistency token the call's headers carry, if any.
    pub consistency_token: Option<String>,
    /// The caller's trace context, which the call's span continues.
    pub trace: TraceParent,
    /// The caller's deadline; the server's request timeout bounds it.
    pub deadline: Option<Duration>,
    /// The span of the call's log line, which the face opens with its own fields.
    pub span: Span,
}

/// How a call ended, as a face answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    /// A gRPC status code: its name, such as `Ok` or `InvalidArgument`, and its number.
    Code { name: String, number: i32 },
    /// An HTTP status.
    Http(u16),
}

impl Answered {
    fn end(&self) -> CallEnd {
        match self {
            Self::Code { number, .. } => CallEnd::Rpc { code: *number },
            Self::Http(status) => CallEnd::Http { status: *status },
        }
    }
}

/// What the pipeline needs to know of the face a call came through, to count and log it.
pub trait Face {
    /// The metrics' `transport` label.
    const TRANSPORT: &'static str;
    /// The metrics' `method` label of this call.
    fn method(&self) -> &str;
    /// What the face answers for `error`, or for success when it is `None`.
    fn answered(&self, error: Option<&Error>) -> Answered;
    /// The call as its trace span describes it.
    fn shape(&self) -> CallShape<'_>;
}

/// The service behind both faces, with the steps every call takes.
pub struct Pipeline {
    core: Arc<TaggingCore>,
    auth: Arc<Authenticator>,
    metrics: Arc<Metrics>,
    admission: Admission,
}

impl Pipeline {
    pub fn new(
        core: Arc<TaggingCore>,
        auth: Arc<Authenticator>,
        metrics: Arc<Metrics>,
        admission: Admission,
    ) -> Self {
        Self {
            core,
            auth,
            metrics,
            admission,
        }
    }

    /// Authenticates a call from its headers alone, before its message is read, for the operation
    /// `name` (an unknown one is left to the face). Not admitted as a call: it holds no more than
    /// a lookup of its token, which the connection pool bounds. A refusal goes to [`Self::refused`].
    pub async fn authenticate_first(
        &self,
        name: &str,
        credentials: &Credentials,
    ) -> Option<Result<Principal, Error>> {
        let access = operations::access_of(name)?;
        Some(self.authenticate(credentials, access).await)
    }

    /// Counts and logs a call refused before it ran, as its outcome.
    pub fn refused<F: Face>(&self, face: &F, span: &Span, error: &Error, elapsed: Duration) {
        self.observe(face, span, Some(error), elapsed);
    }

    /// Runs `op` for the caller `context` names. `request` is the face's parse of the request: a
    /// parse error is answered only once the caller is known, as any other refusal would be.
    pub async fn call<Req, Ans, F: Face>(
        &self,
        op: &Operation<Req, Ans>,
        face: &F,
        context: CallContext,
        request: Result<Req, Error>,
    ) -> Result<Ans, Error> {
        let started = Instant::now();
        let span = context.span;
        let trace = CallTrace::start(&context.trace, &face.shape(), &context.request_id);
        if let Some(trace) = &trace {
            let (trace_id, span_id) = trace.ids();
            span.record("trace_id", trace_id);
            span.record("span_id", span_id);
        }
        let work = async {
            let principal = self.authenticate(&context.credentials, op.access).await?;
            if let (Some(trace), ProjectScope::One(project)) = (&trace, &principal.scope) {
                trace.project(project);
            }
            let caller = Caller::new(principal, op.access, context.request_id.clone())
                .with_consistency_token(context.consistency_token.clone());
            let result = match request {
                Ok(request) => (op.run)(&self.core, &caller, request).await,
                Err(e) => Err(e),
            };
            self.auth
                .forget_if_refused(caller.unconfirmed_token.as_deref(), &result);
            result
        };
        let work = work.instrument(span.clone());
        let result = match &trace {
            Some(trace) => {
                self.admission
                    .run(context.deadline, trace.around(work))
                    .await
            }
            None => self.admission.run(context.deadline, work).await,
        };
        let answered = self.observe(face, &span, result.as_ref().err(), started.elapsed());
        if let Some(trace) = trace {
            trace.finish(answered.end(), result.as_ref().err().map(Error::kind));
        }
        result
    }

    async fn authenticate(
        &self,
        credentials: &Credentials,
        access: Access,
    ) -> Result<Principal, Error> {
        match credentials {
            Credentials::Token(token) => self.auth.authenticate(token.as_deref(), access).await,
            Credentials::Authenticated(principal) => Ok(principal.clone()),
            Credentials::Signed { request, token } => {
                let signed = request.as_ref().as_ref().map_err(Clone::clone)?;
                self.auth
                    .authenticate_signed(signed, token.as_deref(), access)
                    .await
            }
        }
    }

    /// Counts the call, logs its one line, and logs what its caller must not see; answers how
    /// the face answered.
    fn observe<F: Face>(
        &self,
        face: &F,
        span: &Span,
        error: Option<&Error>,
        elapsed: Duration,
    ) -> Answered {
        let answered = face.answered(error);
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        let _entered = span.enter();
        if let Some(e) = error {
            self.metrics.error(e.kind());
            log_hidden_cause(e);
        }
        let label = match &answered {
            Answered::Code { name, .. } => {
                tracing::info!(code = %name, latency_ms, "rpc");
                name.clone()
            }
            Answered::Http(status) => {
                tracing::info!(status, latency_ms, "request");
                status.to_string()
            }
        };
        self.metrics
            .observe(F::TRANSPORT, face.method(), &label, elapsed);
        answered
    }

    /// The configured size limits, for the REST forms that page on the caller's behalf.
    pub fn limits(&self) -> &Limits {
        self.core.limits()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.core.pool_stats()
    }

    /// Which servers answered reads, when there are read replicas.
    pub fn read_stats(&self) -> ReadStats {
        self.core.read_stats()
    }

    /// Watch streams being served now.
    pub fn watchers(&self) -> usize {
        self.core.feed().watchers()
    }

    /// Whether signed requests are checked at all (authentication is on).
    pub fn checks_credentials(&self) -> bool {
        self.auth.enabled()
    }
}

/// Logs what the caller must not see: the cause of an unavailable database or of an internal
/// fault.
fn log_hidden_cause(e: &Error) {
    match e {
        Error::Unavailable(detail) => tracing::warn!(error = %detail, "database unavailable"),
        Error::Internal(detail) => tracing::error!(error = %detail, "internal error"),
        _ => {}
    }
}
