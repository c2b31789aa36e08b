//! Huawei Cloud SMN's tag API (seed 004): `GET /v2/{project_id}/{resource_type}/{resource_id}/tags`
//! (ListResourceTags) and its siblings: batch create/delete, the project's tags, and the
//! resource-instance filter and count.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{
        Path,
        rejection::{BytesRejection, PathRejection},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Call, RestError, RestState, json_body};
use crate::{
    domain::{Access, Error},
    proto::pb,
};

pub fn routes() -> Router<RestState> {
    Router::new()
        .route(
            "/v2/{project_id}/{resource_type}/{resource_id}/tags",
            get(resource_tags).post(create_tag),
        )
        .route(
            "/v2/{project_id}/{resource_type}/{resource_id}/tags/{key}",
            delete(delete_tag),
        )
        // `action` is also a key one may delete: the static route must not hide it.
        .route(
            "/v2/{project_id}/{resource_type}/{resource_id}/tags/action",
            post(batch).delete(delete_action_tag),
        )
        .route("/v2/{project_id}/{resource_type}/tags", get(project_tags))
        .route(
            "/v2/{project_id}/{resource_type}/resource_instances/action",
            post(instances),
        )
}

/// SMN's default `limit`; a smaller `--max-page-size` lowers it.
const DEFAULT_LIMIT: u64 = 1000;

#[derive(Serialize, Deserialize)]
struct TagJson {
    key: String,
    #[serde(default)]
    value: String,
}

impl From<pb::Tag> for TagJson {
    fn from(pb::Tag { key, value }: pb::Tag) -> Self {
        Self { key, value }
    }
}

impl From<TagJson> for pb::Tag {
    fn from(TagJson { key, value }: TagJson) -> Self {
        Self { key, value }
    }
}

#[derive(Serialize)]
struct TagsAnswer {
    tags: Vec<TagJson>,
}

#[derive(Serialize)]
struct ProjectTagsAnswer {
    tags: Vec<ProjectTagJson>,
}

#[derive(Serialize)]
struct ProjectTagJson {
    key: String,
    values: Vec<String>,
}

#[derive(Deserialize)]
struct BatchBody {
    #[serde(default)]
    action: String,
    #[serde(default)]
    tags: Vec<TagJson>,
}

/// `POST …/tags` body (CreateResourceTag).
#[derive(Deserialize)]
struct CreateTagBody {
    tag: TagJson,
}

#[derive(Deserialize, Clone)]
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

#[derive(Deserialize, Clone)]
struct MatchJson {
    key: String,
    #[serde(default)]
    value: String,
}

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
    limit: Option<Value>,
    offset: Option<Value>,
}

#[derive(Serialize)]
struct InstancesAnswer {
    resources: Vec<InstanceJson>,
    total_count: i64,
}

#[derive(Serialize)]
struct InstanceJson {
    resource_id: String,
    resource_name: String,
    resource_detail: serde_json::Map<String, Value>,
    tags: Vec<TagJson>,
}

#[derive(Serialize)]
struct CountAnswer {
    total_count: i64,
}

fn path<T>(extracted: Result<Path<T>, PathRejection>) -> Result<T, Error> {
    extracted
        .map(|Path(p)| p)
        .map_err(|e| Error::invalid("path", e.body_text()))
}

/// `{project_id}`, `{resource_type}`, `{resource_id}`.
type ResourcePath = (String, String, String);

/// The resource a route's path names, its project checked against `X-Project-Id`.
fn resource(
    x_project: Option<&str>,
    (in_path, resource_type, resource_id): ResourcePath,
) -> Result<ResourcePath, Error> {
    Ok((project(x_project, in_path)?, resource_type, resource_id))
}

/// The project in the path; an `X-Project-Id` sent beside it must agree.
fn project(header: Option<&str>, in_path: String) -> Result<String, Error> {
    match header.filter(|h| !h.is_empty()) {
        Some(header) if header != in_path => Err(Error::invalid(
            "X-Project-Id",
            "must be the project named in the path",
        )),
        _ => Ok(in_path),
    }
}

async fn resource_tags(
    call: Call,
    p: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Json<TagsAnswer>, RestError> {
    let id_type = call
        .header("x-smn-resourceid-type")
        .map(str::to_ascii_lowercase);
    let x_project = call.header("x-project-id").map(str::to_owned);
    call.run(Access::Read, |caller, core| async move {
        let (project_id, resource_type, resource_id) = resource(x_project.as_deref(), path(p)?)?;
        let resource_id_type = match id_type.as_deref() {
            None | Some("id") => pb::ResourceIdType::Id,
            Some("name") => pb::ResourceIdType::Name,
            Some(_) => {
                return Err(Error::invalid(
                    "X-SMN-RESOURCEID-TYPE",
                    "must be `name` or `id`",
                ));
            }
        };
        let req = pb::ListResourceTagsRequest {
            project_id,
            resource_type,
            resource_id,
            resource_id_type: resource_id_type.into(),
        };
        let answer = core.list_resource_tags(&caller, req).await?;
        Ok(Json(TagsAnswer {
            tags: answer.tags.into_iter().map(TagJson::from).collect(),
        }))
    })
    .await
}

async fn batch(
    call: Call,
    p: Result<Path<(String, String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, RestError> {
    let x_project = call.header("x-project-id").map(str::to_owned);
    call.run(Access::Write, |caller, core| async move {
        let (project_id, resource_type, resource_id) = resource(x_project.as_deref(), path(p)?)?;
        let b: BatchBody = json_body(body)?;
        match b.action.as_str() {
            "create" => {
                let req = pb::TagResourcesRequest {
                    project_id,
                    resource_type,
                    resource_ids: vec![resource_id],
                    tags: b.tags.into_iter().map(pb::Tag::from).collect(),
                };
                core.tag_resources(&caller, req).await?;
            }
            "delete" => {
                if b.tags.is_empty() {
                    return Err(Error::invalid("tags", "at least one tag is required"));
                }
                let req = pb::UntagResourcesRequest {
                    project_id,
                    resource_type,
                    resource_ids: vec![resource_id],
                    tag_keys: b.tags.into_iter().map(|t| t.key).collect(),
                    all: false,
                };
                core.untag_resources(&caller, req).await?;
            }
            _ => return Err(Error::invalid("action", "must be `create` or `delete`")),
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// CreateResourceTag: one tag on one resource.
async fn create_tag(
    call: Call,
    p: Result<Path<(String, String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, RestError> {
    let x_project = call.header("x-project-id").map(str::to_owned);
    call.run(Access::Write, |caller, core| async move {
        let (project_id, resource_type, resource_id) = resource(x_project.as_deref(), path(p)?)?;
        let b: CreateTagBody = json_body(body)?;
        let req = pb::TagResourcesRequest {
            project_id,
            resource_type,
            resource_ids: vec![resource_id],
            tags: vec![b.tag.into()],
        };
        core.tag_resources(&caller, req).await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// DeleteResourceTag: one key off one resource; an absent key is not an error.
async fn delete_tag(
    call: Call,
    p: Result<Path<(String, String, String, String)>, PathRejection>,
) -> Result<StatusCode, RestError> {
    let p =
        p.map(|Path((project, resource_type, id, key))| Path(((project, resource_type, id), key)));
    untag_one(call, p).await
}

async fn delete_action_tag(
    call: Call,
    p: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<StatusCode, RestError> {
    untag_one(call, p.map(|Path(p)| Path((p, "action".to_owned())))).await
}

async fn untag_one(
    call: Call,
    p: Result<Path<(ResourcePath, String)>, PathRejection>,
) -> Result<StatusCode, RestError> {
    let x_project = call.header("x-project-id").map(str::to_owned);
    call.run(Access::Write, |caller, core| async move {
        let (named, key) = path(p)?;
        let (project_id, resource_type, resource_id) = resource(x_project.as_deref(), named)?;
        let req = pb::UntagResourcesRequest {
            project_id,
            resource_type,
            resource_ids: vec![resource_id],
            tag_keys: vec![key],
            all: false,
        };
        core.untag_resources(&caller, req).await?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn project_tags(
    call: Call,
    p: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ProjectTagsAnswer>, RestError> {
    let x_project = call.header("x-project-id").map(str::to_owned);
    call.run(Access::Read, |caller, core| async move {
        let (in_path, resource_type) = path(p)?;
        let project_id = project(x_project.as_deref(), in_path)?;
        // SMN's form has no pagination: gather every page.
        let page_size = core.limits().max_page_size as i32;
        let mut tags = Vec::new();
        let mut next_token = String::new();
        loop {
            let req = pb::ListProjectTagsRequest {
                project_id: project_id.clone(),
                resource_type: resource_type.clone(),
                page_size,
                next_token,
            };
            let page = core.list_project_tags(&caller, req).await?;
            tags.extend(page.tags.into_iter().map(|t| ProjectTagJson {
                key: t.key,
                values: t.values,
            }));
            if page.next_token.is_empty() {
                break;
            }
            next_token = page.next_token;
        }
        Ok(Json(ProjectTagsAnswer { tags }))
    })
    .await
}

/// SMN sends `limit` and `offset` as strings; numbers are accepted too.
fn number(
    field: &str,
    value: Option<&Value>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, Error> {
    let n = match value {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(s)) => s.parse::<u64>().ok(),
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

async fn instances(
    call: Call,
    p: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RestError> {
    let x_project = call.header("x-project-id").map(str::to_owned);
    call.run(Access::Read, |caller, core| async move {
        let (in_path, resource_type) = path(p)?;
        let project_id = project(x_project.as_deref(), in_path)?;
        let b: InstancesBody = json_body(body)?;
        let filters = |list: &[FilterJson]| {
            list.iter()
                .cloned()
                .map(pb::TagFilter::from)
                .collect::<Vec<_>>()
        };
        let matches: Vec<pb::Match> = b
            .matches
            .iter()
            .map(|m| pb::Match {
                key: m.key.clone(),
                value: m.value.clone(),
            })
            .collect();
        let count = pb::CountResourcesRequest {
            project_id: project_id.clone(),
            resource_type: resource_type.clone(),
            tags: filters(&b.tags),
            tags_any: filters(&b.tags_any),
            not_tags: filters(&b.not_tags),
            not_tags_any: filters(&b.not_tags_any),
            matches: matches.clone(),
            without_any_tag: b.without_any_tag,
        };
        match b.action.as_str() {
            "count" => {
                let total_count = core.count_resources(&caller, count).await?.total_count;
                Ok(Json(CountAnswer { total_count }).into_response())
            }
            "filter" => {
                let max = u64::from(core.limits().max_page_size);
                let limit = number("limit", b.limit.as_ref(), DEFAULT_LIMIT.min(max), 1..=max)?;
                let offset = number("offset", b.offset.as_ref(), 0, 0..=u64::from(u32::MAX))?;
                let page = |page_size: u64, next_token: String| pb::ListResourcesRequest {
                    project_id: count.project_id.clone(),
                    resource_type: count.resource_type.clone(),
                    tags: count.tags.clone(),
                    tags_any: count.tags_any.clone(),
                    not_tags: count.not_tags.clone(),
                    not_tags_any: count.not_tags_any.clone(),
                    matches: count.matches.clone(),
                    without_any_tag: count.without_any_tag,
                    page_size: page_size as i32,
                    next_token,
                };
                // Offsets walk the keyset pages: each page costs the same however deep it is.
                let mut skip = offset;
                let mut next_token = String::new();
                let mut resources = Vec::new();
                let mut exhausted = false;
                while skip > 0 {
                    let skipped = core
                        .list_resources(&caller, page(skip.min(max), next_token))
                        .await?;
                    skip -= skipped.resources.len() as u64;
                    next_token = skipped.next_token;
                    if next_token.is_empty() {
                        exhausted = true;
                        break;
                    }
                }
                if !exhausted {
                    resources = core
                        .list_resources(&caller, page(limit, next_token))
                        .await?
                        .resources;
                }
                let total_count = core.count_resources(&caller, count).await?.total_count;
                let answer = InstancesAnswer {
                    resources: resources
                        .into_iter()
                        .map(|r| InstanceJson {
                            resource_id: r.resource_id,
                            resource_name: r.name,
                            resource_detail: serde_json::Map::new(),
                            tags: r.tags.into_iter().map(TagJson::from).collect(),
                        })
                        .collect(),
                    total_count,
                };
                Ok(Json(answer).into_response())
            }
            _ => Err(Error::invalid("action", "must be `filter` or `count`")),
        }
    })
    .await
}
