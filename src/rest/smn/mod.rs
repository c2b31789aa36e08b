//! Huawei Cloud SMN's tag API (seed 004): `GET /v2/{project_id}/{resource_type}/{resource_id}/tags`
//! (ListResourceTags) and its siblings: batch create/delete, one tag, and the project's tags here;
//! the resources themselves and the resource-instance filter and count in [`instances`].

mod changes;
mod instances;

use axum::{
    Json,
    body::Bytes,
    extract::{
        Path,
        rejection::{BytesRejection, PathRejection},
    },
    http::StatusCode,
    response::IntoResponse,
};
use serde::{Deserialize, Serialize};

use super::{
    Call, RestError,
    call::{etag, json_body, write_headers},
};
use crate::{
    domain::{Error, Violations, check_tag_value},
    proto::pb,
    service::{AllProjectTags, operations as op},
};

pub use changes::{list as list_changes, watch as watch_changes};
pub use instances::{count, delete_resource, instances, put_resource};

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
pub struct TagsAnswer {
    tags: Vec<TagJson>,
}

#[derive(Serialize)]
pub struct ProjectTagsAnswer {
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

fn path<T>(extracted: Result<Path<T>, PathRejection>) -> Result<T, Error> {
    extracted
        .map(|Path(p)| p)
        .map_err(|e| Error::invalid("path", e.body_text()))
}

/// `{project_id}`, `{resource_type}`, `{resource_id}`.
type ResourcePath = (String, String, String);

/// The resource a route's path names, its project checked against `X-Project-Id`.
fn resource(
    call: &Call,
    p: Result<Path<ResourcePath>, PathRejection>,
) -> Result<ResourcePath, Error> {
    let (in_path, resource_type, resource_id) = path(p)?;
    Ok((project(call, in_path)?, resource_type, resource_id))
}

/// The project in the path; an `X-Project-Id` sent beside it must agree.
fn project(call: &Call, in_path: String) -> Result<String, Error> {
    match Some(call.project_header()?).filter(|h| !h.is_empty()) {
        Some(header) if header != in_path => Err(Error::invalid(
            "X-Project-Id",
            "must be the project named in the path",
        )),
        _ => Ok(in_path),
    }
}

pub async fn resource_tags(
    call: Call,
    p: Result<Path<ResourcePath>, PathRejection>,
) -> Result<impl IntoResponse, RestError> {
    let request = resource(&call, p).and_then(|(project_id, resource_type, resource_id)| {
        let id_type = call
            .header("x-smn-resourceid-type")
            .map(str::to_ascii_lowercase);
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
        Ok(pb::ListResourceTagsRequest {
            // REST sends it as the X-Consistency-Token header.
            consistency_token: String::new(),
            project_id,
            resource_type,
            resource_id,
            resource_id_type: resource_id_type.into(),
        })
    });
    let answer = call.run(&op::LIST_RESOURCE_TAGS, request).await?;
    Ok((
        etag(answer.revision),
        Json(TagsAnswer {
            tags: answer.tags.into_iter().map(TagJson::from).collect(),
        }),
    ))
}

/// What a batch body asks for.
enum Batch {
    Create(pb::TagResourcesRequest),
    Delete(pb::UntagResourcesRequest),
}

fn batch_request(
    (project_id, resource_type, resource_id): ResourcePath,
    BatchBody { action, tags }: BatchBody,
    expected_revision: Option<i64>,
) -> Result<Batch, Error> {
    let resource_ids = vec![resource_id];
    match action.as_str() {
        "create" => Ok(Batch::Create(pb::TagResourcesRequest {
            project_id,
            resource_type,
            resource_ids,
            tags: tags.into_iter().map(pb::Tag::from).collect(),
            expected_revision,
        })),
        "delete" if tags.is_empty() => Err(Error::invalid("tags", "at least one tag is required")),
        "delete" => {
            // Only the keys count, but a value given must still be a value.
            let mut v = Violations::default();
            for (i, t) in tags.iter().enumerate() {
                check_tag_value(&mut v, &format!("tags[{i}].value"), &t.value);
            }
            v.finish()?;
            Ok(Batch::Delete(pb::UntagResourcesRequest {
                project_id,
                resource_type,
                resource_ids,
                tag_keys: tags.into_iter().map(|t| t.key).collect(),
                all: false,
                expected_revision,
            }))
        }
        _ => Err(Error::invalid("action", "must be `create` or `delete`")),
    }
}

/// BatchCreateResourceTags or BatchDeleteResourceTags, as the body's `action` says.
pub async fn batch(
    call: Call,
    p: Result<Path<ResourcePath>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, RestError> {
    let call = call.answering(StatusCode::NO_CONTENT);
    let request = resource(&call, p)
        .and_then(|r| batch_request(r, json_body(body)?, call.expected_revision()?));
    let (revision, token) = match request {
        Ok(Batch::Create(tag)) => {
            let answer = call.run(&op::TAG_RESOURCES, Ok(tag)).await?;
            (answer.revision, answer.consistency_token)
        }
        Ok(Batch::Delete(untag)) => {
            let answer = call.run(&op::UNTAG_RESOURCES, Ok(untag)).await?;
            (answer.revision, answer.consistency_token)
        }
        // Refused as the write it would have been, once the caller is known.
        Err(e) => {
            let answer = call.run(&op::TAG_RESOURCES, Err(e)).await?;
            (answer.revision, answer.consistency_token)
        }
    };
    Ok((StatusCode::NO_CONTENT, write_headers(revision, &token)))
}

/// CreateResourceTag: one tag on one resource.
pub async fn create_tag(
    call: Call,
    p: Result<Path<ResourcePath>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, RestError> {
    let call = call.answering(StatusCode::NO_CONTENT);
    let request = resource(&call, p).and_then(|(project_id, resource_type, resource_id)| {
        let b: CreateTagBody = json_body(body)?;
        Ok(pb::TagResourcesRequest {
            project_id,
            resource_type,
            resource_ids: vec![resource_id],
            tags: vec![b.tag.into()],
            expected_revision: call.expected_revision()?,
        })
    });
    let answer = call.run(&op::TAG_RESOURCES, request).await?;
    Ok((
        StatusCode::NO_CONTENT,
        write_headers(answer.revision, &answer.consistency_token),
    ))
}

/// DeleteResourceTag: one key off one resource; an absent key is not an error.
pub async fn delete_tag(
    call: Call,
    p: Result<Path<(String, String, String, String)>, PathRejection>,
) -> Result<impl IntoResponse, RestError> {
    let p =
        p.map(|Path((project, resource_type, id, key))| Path(((project, resource_type, id), key)));
    untag_one(call, p).await
}

/// DeleteResourceTag of the key `action`, whose path the batch route also has.
pub async fn delete_action_tag(
    call: Call,
    p: Result<Path<ResourcePath>, PathRejection>,
) -> Result<impl IntoResponse, RestError> {
    untag_one(call, p.map(|Path(p)| Path((p, "action".to_owned())))).await
}

async fn untag_one(
    call: Call,
    p: Result<Path<(ResourcePath, String)>, PathRejection>,
) -> Result<impl IntoResponse, RestError> {
    let call = call.answering(StatusCode::NO_CONTENT);
    let request = path(p).and_then(|((in_path, resource_type, resource_id), key)| {
        Ok(pb::UntagResourcesRequest {
            project_id: project(&call, in_path)?,
            resource_type,
            resource_ids: vec![resource_id],
            tag_keys: vec![key],
            all: false,
            expected_revision: call.expected_revision()?,
        })
    });
    let answer = call.run(&op::UNTAG_RESOURCES, request).await?;
    Ok((
        StatusCode::NO_CONTENT,
        write_headers(answer.revision, &answer.consistency_token),
    ))
}

/// The project's keys with their values; SMN's form has no pagination, so every key at once.
pub async fn project_tags(
    call: Call,
    p: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ProjectTagsAnswer>, RestError> {
    let request = path(p).and_then(|(in_path, resource_type)| {
        Ok(AllProjectTags {
            project_id: project(&call, in_path)?,
            resource_type,
        })
    });
    let tags = call.run(&op::LIST_ALL_PROJECT_TAGS, request).await?;
    Ok(Json(ProjectTagsAnswer {
        tags: tags
            .into_iter()
            .map(|t| ProjectTagJson {
                key: t.key,
                values: t.values,
            })
            .collect(),
    }))
}
