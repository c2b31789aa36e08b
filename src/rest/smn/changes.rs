//! The change log in the SMN style: `GET /v2/{project_id}/tag_changes` (ListTagChanges) and
//! `GET /v2/{project_id}/tag_changes/watch` (WatchTagChanges as Server-Sent Events: `id:` is
//! the revision, so an `EventSource` that reconnects with `Last-Event-ID` resumes after it).

use std::{convert::Infallible, sync::Arc};

use axum::{
    Json,
    extract::{Path, RawQuery, rejection::PathRejection},
    response::sse::{Event, Sse},
};
use serde::Serialize;
use tokio_stream::{Stream, StreamExt};

use super::{RestError, path, project};
use crate::{
    domain::Error,
    proto::pb,
    rest::{Call, params::Params},
    service::operations as op,
};

const LIST_EXAMPLE: &str = r#"["c1","c2"]"#;

#[derive(Serialize)]
pub struct ChangesAnswer {
    request_id: Arc<str>,
    changes: Vec<ChangeJson>,
    next_marker: String,
    revision: i64,
}

#[derive(Serialize)]
struct ChangeJson {
    revision: i64,
    resource_type: String,
    resource_id: String,
    /// `TAG_SET`, `TAG_REMOVED`, `RESOURCE_CREATED`, `RESOURCE_RENAMED` or `RESOURCE_DELETED`.
    kind: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_value: Option<String>,
    credential_id: String,
    request_id: String,
    changed_at: String,
}

impl From<pb::TagChange> for ChangeJson {
    fn from(c: pb::TagChange) -> Self {
        let kind = pb::ChangeKind::try_from(c.kind).unwrap_or_default();
        Self {
            revision: c.revision,
            resource_type: c.resource_type,
            resource_id: c.resource_id,
            kind: kind
                .as_str_name()
                .strip_prefix("CHANGE_KIND_")
                .unwrap_or_default(),
            key: c.key,
            old_value: c.old_value,
            new_value: c.new_value,
            credential_id: c.credential_id,
            request_id: c.request_id,
            changed_at: c.changed_at,
        }
    }
}

/// One event's data: a revision's changes, or a bookmark's revision alone.
#[derive(Serialize)]
struct EventJson {
    revision: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changes: Vec<ChangeJson>,
}

/// The filter both routes read from the query: `resource_type`, `resource_ids` and `keys` (JSON
/// arrays).
struct Filter {
    resource_type: String,
    resource_ids: Vec<String>,
    keys: Vec<String>,
}

impl Filter {
    fn read(p: &Params) -> Result<Self, Error> {
        Ok(Self {
            resource_type: p.text("resource_type")?,
            resource_ids: p.json("resource_ids", LIST_EXAMPLE)?,
            keys: p.json("keys", r#"["env","team"]"#)?,
        })
    }
}

/// `raw` as a number when it is digits only: no sign, no spaces.
fn digits<T: std::str::FromStr>(raw: &str) -> Option<T> {
    Some(raw)
        .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|r| r.parse().ok())
}

/// A revision in the query or a header.
fn revision(name: &str, raw: &str) -> Result<i64, Error> {
    digits(raw).ok_or_else(|| Error::invalid(name, "must be a revision (digits only)"))
}

/// `limit`: 1 to the largest page; absent, the default page.
fn limit(call: &Call, q: &Params) -> Result<i32, Error> {
    let max = call.max_page_size();
    match q.one("limit")? {
        None => Ok(0),
        Some(raw) => digits::<u32>(raw)
            .filter(|n| (1..=max).contains(n))
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| Error::invalid("limit", format!("must be an integer from 1 to {max}"))),
    }
}

/// The service names the page token `next_token`; this form's client sent `marker`.
fn as_marker(mut e: RestError) -> RestError {
    if let Error::InvalidArgument(violations) = &mut e.error {
        for v in violations.iter_mut().filter(|v| v.field == "next_token") {
            v.field = "marker".into();
        }
    }
    e
}

pub async fn list(
    call: Call,
    p: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<ChangesAnswer>, RestError> {
    let request_id = call.request_id.0.clone();
    let request = (|| {
        let project_id = project(&call, path(p)?)?;
        let q = Params::parse(query.as_deref())?;
        let filter = Filter::read(&q)?;
        let after = q.one("after_revision")?;
        Ok(pb::ListTagChangesRequest {
            // REST sends it as the X-Consistency-Token header.
            consistency_token: String::new(),
            project_id,
            resource_type: filter.resource_type,
            resource_ids: filter.resource_ids,
            keys: filter.keys,
            after_revision: after.map_or(Ok(0), |a| revision("after_revision", a))?,
            page_size: limit(&call, &q)?,
            next_token: q.text("marker")?,
        })
    })();
    let answer = call
        .run(&op::LIST_TAG_CHANGES, request)
        .await
        .map_err(as_marker)?;
    Ok(Json(ChangesAnswer {
        request_id,
        changes: answer.changes.into_iter().map(ChangeJson::from).collect(),
        next_marker: answer.next_token,
        revision: answer.revision,
    }))
}

/// Server-Sent Events from `after_revision`, or from `Last-Event-ID` when an `EventSource`
/// reconnects, or from now. An error once the stream has begun is an `error` event, and ends it.
pub async fn watch(
    call: Call,
    p: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, RestError> {
    let q = Params::parse(query.as_deref());
    // An `EventSource` sends no headers of its own: its token may come in the query instead.
    let token = q
        .as_ref()
        .ok()
        .and_then(|q| q.one("access_token").ok().flatten());
    let call = call.with_query_token(token.map(str::to_owned));
    let request = (|| {
        let project_id = project(&call, path(p)?)?;
        let q = q?;
        let filter = Filter::read(&q)?;
        let after = match (call.header("last-event-id"), q.one("after_revision")?) {
            (Some(last), _) => Some(revision("Last-Event-ID", last)?),
            (None, Some(after)) => Some(revision("after_revision", after)?),
            (None, None) => None,
        };
        Ok(pb::WatchTagChangesRequest {
            project_id,
            resource_type: filter.resource_type,
            resource_ids: filter.resource_ids,
            keys: filter.keys,
            after_revision: after,
        })
    })();
    let stream = call.run(&op::WATCH_TAG_CHANGES, request).await?;
    Ok(Sse::new(stream.map(|item| Ok(event(item)))))
}

fn event(item: Result<pb::WatchTagChangesResponse, Error>) -> Event {
    match item {
        Ok(m) => {
            let name = if m.bookmark { "bookmark" } else { "change" };
            let data = EventJson {
                revision: m.revision,
                changes: m.changes.into_iter().map(ChangeJson::from).collect(),
            };
            Event::default()
                .event(name)
                .id(m.revision.to_string())
                .json_data(data)
                .expect("changes serialize")
        }
        Err(e) => Event::default()
            .event("error")
            .json_data(serde_json::json!({ "error_code": e.kind(), "error_msg": e.to_string() }))
            .expect("an error serializes"),
    }
}
