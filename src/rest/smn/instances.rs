//! SMN's resources: register or rename one (`PUT …/{resource_id}`), delete one, and the
//! resource-instance filter (`…/resource_instances/action`, a page by offset with the total count,
//! or the count alone) and count (`…/resource_instances/count`).

use axum::{
    Json,
    body::Bytes,
    extract::{
        Path,
        rejection::{BytesRejection, PathRejection},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ResourcePath, TagJson, project, resource};
use crate::{
    domain::Error,
    proto::pb,
    rest::{
        Call, RestError,
        call::{json_body, write_headers},
    },
    service::{ResourcePageRequest, operations as op},
};

/// SMN's default `limit`; a smaller `--max-page-size` lowers it.
const DEFAULT_LIMIT: u64 = 1000;
/// The largest `offset`: nine digits, a bound the OpenAPI document's pattern can state.
const MAX_OFFSET: u64 = 999_999_999;

#[derive(Deserialize)]
struct FilterJson {
    key: String,
    #[serde(default)]
    values: Vec<String>,
}

impl From<FilterJson> for pb::TagFilter {
    fn from(FilterJson { key, values }: FilterJson) -> Self {
        Self { key, values }
    }
}

#[derive(Deserialize)]
struct MatchJson {
    key: String,
    #[serde(default)]
    value: String,
}

/// The filter routes' body; the count route reads only the filter.
#[derive(Deserialize)]
struct InstancesBody {
    #[serde(default)]
    action: String,
    #[serde(default)]
    tags: Vec<FilterJson>,
    #[serde(default)]
    tags_any: Vec<FilterJson>,
    #[serde(default)]
    not_tags: Vec<FilterJson>,
    #[serde(default)]
    not_tags_any: Vec<FilterJson>,
    #[serde(default)]
    matches: Vec<MatchJson>,
    #[serde(default)]
    without_any_tag: bool,
    #[serde(default, deserialize_with = "present")]
    limit: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    offset: Option<Value>,
}

/// A field that is there, `null` included: `None` stands for its absence alone.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// `PUT …/{resource_id}` body.
#[derive(Deserialize, Default)]
struct PutBody {
    #[serde(default)]
    name: String,
}

#[derive(Serialize)]
pub struct InstancesAnswer {
    resources: Vec<InstanceJson>,
    total_count: i64,
}

#[derive(Serialize)]
pub struct ResourceAnswer {
    resource: InstanceJson,
}

#[derive(Serialize)]
struct InstanceJson {
    resource_id: String,
    resource_name: String,
    resource_detail: serde_json::Map<String, Value>,
    tags: Vec<TagJson>,
}

impl From<pb::Resource> for InstanceJson {
    fn from(r: pb::Resource) -> Self {
        Self {
            resource_id: r.resource_id,
            resource_name: r.name,
            resource_detail: serde_json::Map::new(),
            tags: r.tags.into_iter().map(TagJson::from).collect(),
        }
    }
}

#[derive(Serialize)]
pub struct CountAnswer {
    total_count: i64,
}

/// RegisterResource: creates the resource or sets its display name.
pub async fn put_resource(
    call: Call,
    p: Result<Path<ResourcePath>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, RestError> {
    let request = resource(&call, p).and_then(|(project_id, resource_type, resource_id)| {
        let b: PutBody = json_body(body)?;
        Ok(pb::PutResourceRequest {
            project_id,
            resource_type,
            resource_id,
            name: b.name,
            expected_revision: call.expected_revision()?,
        })
    });
    let answer = call.run(&op::PUT_RESOURCE, request).await?;
    Ok((
        write_headers(answer.revision, &answer.consistency_token),
        Json(ResourceAnswer {
            resource: answer.resource.unwrap_or_default().into(),
        }),
    ))
}

/// DeleteResource: the resource and all its tags.
pub async fn delete_resource(
    call: Call,
    p: Result<Path<ResourcePath>, PathRejection>,
) -> Result<impl IntoResponse, RestError> {
    let call = call.answering(StatusCode::NO_CONTENT);
    let request = resource(&call, p).and_then(|(project_id, resource_type, resource_id)| {
        Ok(pb::DeleteResourceRequest {
            project_id,
            resource_type,
            resource_id,
            expected_revision: call.expected_revision()?,
        })
    });
    let answer = call.run(&op::DELETE_RESOURCE, request).await?;
    Ok((
        StatusCode::NO_CONTENT,
        write_headers(answer.revision, &answer.consistency_token),
    ))
}

/// `{project_id}` (checked against `X-Project-Id`) and `{resource_type}`.
fn type_path(
    call: &Call,
    p: Result<Path<(String, String)>, PathRejection>,
) -> Result<(String, String), Error> {
    let (in_path, resource_type) = super::path(p)?;
    Ok((project(call, in_path)?, resource_type))
}

/// The filter's fields as CountResources takes them.
fn count_request(
    (project_id, resource_type): (String, String),
    b: InstancesBody,
) -> pb::CountResourcesRequest {
    let filters = |list: Vec<FilterJson>| list.into_iter().map(pb::TagFilter::from).collect();
    pb::CountResourcesRequest {
        project_id,
        resource_type,
        tags: filters(b.tags),
        tags_any: filters(b.tags_any),
        not_tags: filters(b.not_tags),
        not_tags_any: filters(b.not_tags_any),
        matches: b
            .matches
            .into_iter()
            .map(|MatchJson { key, value }| pb::Match { key, value })
            .collect(),
        without_any_tag: b.without_any_tag,
        // REST sends it as the X-Consistency-Token header.
        consistency_token: String::new(),
    }
}

/// CountResources at its own path.
pub async fn count(
    call: Call,
    p: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CountAnswer>, RestError> {
    let request = type_path(&call, p).and_then(|path| Ok(count_request(path, json_body(body)?)));
    let total_count = call.run(&op::COUNT_RESOURCES, request).await?.total_count;
    Ok(Json(CountAnswer { total_count }))
}

/// ListResourcesByTags (`action: filter`, a page and the total) or CountResourcesByTags.
pub async fn instances(
    call: Call,
    p: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RestError> {
    let max = u64::from(call.max_page_size());
    // `limit` and `offset` are checked for `count` too, which does not use them: a request is
    // either well formed or refused, whatever its action.
    let parsed = type_path(&call, p).and_then(|path| {
        let b = json_body::<InstancesBody>(body)?;
        let limit = number("limit", b.limit.as_ref(), DEFAULT_LIMIT.min(max), 1..=max)?;
        let offset = number("offset", b.offset.as_ref(), 0, 0..=MAX_OFFSET)?;
        Ok((path, b, limit, offset))
    });
    let parsed = match parsed {
        Ok((path, b, ..)) if b.action == "count" => {
            let request = Ok(count_request(path, b));
            let total_count = call.run(&op::COUNT_RESOURCES, request).await?.total_count;
            return Ok(Json(CountAnswer { total_count }).into_response());
        }
        parsed => parsed,
    };
    let request = parsed.and_then(|(path, b, limit, offset)| {
        if b.action != "filter" {
            return Err(Error::invalid("action", "must be `filter` or `count`"));
        }
        Ok(ResourcePageRequest {
            filter: count_request(path, b),
            offset,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
        })
    });
    let page = call.run(&op::LIST_RESOURCE_PAGE, request).await?;
    let answer = InstancesAnswer {
        resources: page.resources.into_iter().map(InstanceJson::from).collect(),
        total_count: page.total_count,
    };
    Ok(Json(answer).into_response())
}

/// SMN sends `limit` and `offset` as strings of digits; numbers are accepted too. Absent means the
/// default; `null`, a sign, or anything but digits is refused, as the OpenAPI document says.
fn number(
    field: &str,
    value: Option<&Value>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, Error> {
    let n = match value {
        None => return Ok(default),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().ok()
        }
        Some(Value::Number(n)) => n.as_u64(),
        Some(_) => None,
    };
    n.filter(|n| range.contains(n)).ok_or_else(|| {
        Error::invalid(
            field,
            format!(
                "must be an integer from {} to {}, such as \"10\"",
                range.start(),
                range.end()
            ),
        )
    })
}
