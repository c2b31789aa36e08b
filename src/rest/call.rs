//! What every REST handler starts from, and its one call: the caller's credentials and deadline
//! read from the headers, the operation run through the pipeline, the error in the form's shape.

use axum::{
    body::Bytes,
    extract::{FromRequestParts, MatchedPath, rejection::BytesRejection},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, request::Parts},
    response::AppendHeaders,
};

use super::{
    Form, RequestId, RestError, RestState,
    error::status_of,
    middleware::{Observed, Signed},
};
use crate::{
    domain::{CONSISTENCY_HEADER, Error},
    service::{Answered, CallContext, Credentials, Face, Operation},
    telemetry::traces::{CallShape, TraceParent},
    wire::CallHeaders,
};

/// One REST request on its way to its call.
pub struct Call {
    state: RestState,
    form: Form,
    pub(super) request_id: RequestId,
    headers: HeaderMap,
    signed: Option<Signed>,
    observed: Observed,
    /// The metrics' label of the route: `GET /tags`.
    route: String,
    /// The status of a successful answer.
    success: StatusCode,
    /// A token given in the query, used when the headers carry none.
    query_token: Option<String>,
}

impl FromRequestParts<RestState> for Call {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &RestState) -> Result<Self, StatusCode> {
        let form = parts.extensions.get::<Form>().copied();
        let request_id = parts.extensions.get::<RequestId>().cloned();
        let observed = parts.extensions.get::<Observed>().cloned();
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let (Some(form), Some(request_id), Some(observed), Some(route)) =
            (form, request_id, observed, route)
        else {
            return Err(StatusCode::INTERNAL_SERVER_ERROR);
        };
        Ok(Self {
            state: state.clone(),
            form,
            request_id,
            route: format!("{} {route}", parts.method),
            headers: parts.headers.clone(),
            signed: parts.extensions.get::<Signed>().cloned(),
            observed,
            success: StatusCode::OK,
            query_token: None,
        })
    }
}

/// A REST call as the pipeline counts and logs it: by route and HTTP status.
struct RestFace<'a> {
    form: Form,
    route: &'a str,
    success: StatusCode,
}

impl Face for RestFace<'_> {
    const TRANSPORT: &'static str = "rest";

    fn method(&self) -> &str {
        self.route
    }

    fn answered(&self, error: Option<&Error>) -> Answered {
        let status = error.map_or(self.success, |e| status_of(self.form, e));
        Answered::Http(status.as_u16())
    }

    fn shape(&self) -> CallShape<'_> {
        CallShape::Http { route: self.route }
    }
}

impl Call {
    /// A header as UTF-8 text. One that is not UTF-8 reads as U+FFFD rather than as absent, so
    /// it is refused or matches nothing instead of being silently ignored.
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| std::str::from_utf8(v.as_bytes()).unwrap_or("\u{FFFD}"))
    }

    /// `X-Project-Id`, empty when absent. Sent twice it is refused: which of the two would apply is
    /// for no proxy between the caller and us to decide.
    pub(super) fn project_header(&self) -> Result<&str, Error> {
        match self.headers.get_all("x-project-id").iter().count() {
            0 | 1 => Ok(self.header("x-project-id").unwrap_or_default()),
            _ => Err(Error::invalid("X-Project-Id", "is given more than once")),
        }
    }

    /// This call, taking `token` for the caller's when its headers carry none.
    pub(super) fn with_query_token(self, token: Option<String>) -> Self {
        Self {
            query_token: token,
            ..self
        }
    }

    /// The revision a conditional write expects: `If-Match: "N"` (the ETag of a read), or
    /// `If-None-Match: *` for "the resource must not exist yet". Neither: no condition.
    pub(super) fn expected_revision(&self) -> Result<Option<i64>, Error> {
        match (self.header("if-match"), self.header("if-none-match")) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(Error::invalid(
                "If-Match",
                "give If-Match or If-None-Match, not both",
            )),
            (None, Some(any)) if any.trim() == "*" => Ok(Some(0)),
            (None, Some(_)) => Err(Error::invalid(
                "If-None-Match",
                "only `*` (the resource must not exist yet) is supported",
            )),
            // The quotes of an entity tag, as ETag sends it, or the bare revision.
            (Some(tag), None) => {
                let tag = tag.trim();
                let bare = tag
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(tag);
                Some(bare)
                    .filter(|n| {
                        !n.is_empty() && n.len() <= 18 && n.bytes().all(|b| b.is_ascii_digit())
                    })
                    .and_then(|n| n.parse::<i64>().ok())
                    .map(Some)
                    .ok_or_else(|| {
                        Error::invalid(
                            "If-Match",
                            r#"must be one revision, as ETag gives it: "42""#,
                        )
                    })
            }
        }
    }

    pub(super) fn max_page_size(&self) -> u32 {
        self.state.pipeline.limits().max_page_size
    }

    /// The ACK form's `region_id`, when sent, must be the configured one; an empty one says nothing.
    pub(super) fn check_region(&self, sent: &str) -> Result<(), Error> {
        match &self.state.options.region_id {
            Some(ours) if !sent.is_empty() && sent != ours => Err(Error::invalid(
                "region_id",
                format!("must be `{ours}`, the region of this service"),
            )),
            _ => Ok(()),
        }
    }

    /// This route answers success with `status` rather than 200.
    pub(super) fn answering(mut self, status: StatusCode) -> Self {
        self.success = status;
        self
    }

    /// Runs `op` on the parsed `request` through the pipeline, and renders its error in the form's
    /// shape.
    pub(super) async fn run<Req, Ans>(
        self,
        op: &Operation<Req, Ans>,
        request: Result<Req, Error>,
    ) -> Result<Ans, RestError> {
        let headers = CallHeaders::read(|name| self.header(name));
        let credentials = match &self.signed {
            // `Authorization` holds the signature; a token may come beside it in X-Auth-Token.
            Some(Signed(request)) => Credentials::Signed {
                request: request.clone(),
                token: self.header("x-auth-token").map(str::to_owned),
            },
            None => Credentials::Token(headers.token.or(self.query_token.clone())),
        };
        let context = CallContext {
            credentials,
            consistency_token: self.header(CONSISTENCY_HEADER).map(str::to_owned),
            trace: TraceParent::read(|name| self.header(name)),
            request_id: self.request_id.0.to_string(),
            deadline: headers.deadline,
            span: tracing::Span::current(),
        };
        let face = RestFace {
            form: self.form,
            route: &self.route,
            success: self.success,
        };
        let result = self.state.pipeline.call(op, &face, context, request).await;
        self.observed.mark();
        result.map_err(|error| RestError {
            form: self.form,
            request_id: self.request_id,
            error,
        })
    }
}

/// The headers of a write's answer: `X-Revision`, the revision it took (or the current one), and
/// `X-Consistency-Token`, which a read presents to see this write or a later state.
pub(super) fn write_headers(
    revision: i64,
    consistency_token: &str,
) -> AppendHeaders<Vec<(HeaderName, HeaderValue)>> {
    let mut headers = vec![(
        HeaderName::from_static("x-revision"),
        HeaderValue::from(revision),
    )];
    if let Ok(token) = HeaderValue::from_str(consistency_token) {
        headers.push((HeaderName::from_static(CONSISTENCY_HEADER), token));
    }
    AppendHeaders(headers)
}

/// The `ETag` of a resource read: its revision, which `If-Match` gives back.
pub(super) fn etag(revision: i64) -> [(HeaderName, HeaderValue); 1] {
    [(
        axum::http::header::ETAG,
        HeaderValue::from_str(&format!("\"{revision}\"")).expect("digits are a header value"),
    )]
}

/// Parses a JSON request body; an unreadable one is a 400 that names the body, one over a limit
/// (size or time) is answered as `body_limits` says.
pub(super) fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, Error> {
    let body = body.map_err(|e| {
        super::body_limits::refused(&e).unwrap_or_else(|| Error::invalid("body", e.body_text()))
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        Error::invalid(
            "body",
            format!("must be a JSON object of the documented shape: {e}"),
        )
    })
}
