//! Alibaba Cloud ACK's tag API (seed 000): `GET /tags` (ListTagResources) and its write siblings
//! `PUT /tags` (TagResources) and `DELETE /tags` (UntagResources). The project comes from the token
//! (or `X-Project-Id`, which must then be the token's).

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{RawQuery, rejection::BytesRejection},
    response::IntoResponse,
};
use serde::{Deserialize, Serialize};

use super::{
    Call, RestError,
    call::{json_body, write_headers},
    params::Params,
};
use crate::{proto::pb, service::operations as op};

#[derive(Serialize)]
pub struct ListAnswer {
    request_id: Arc<str>,
    tag_resources: TagResourceList,
    next_token: String,
}

#[derive(Serialize)]
struct TagResourceList {
    tag_resource: Vec<TagResourceRow>,
}

#[derive(Serialize)]
struct TagResourceRow {
    resource_id: String,
    resource_type: String,
    tag_key: String,
    tag_value: String,
}

/// The write forms answer in PascalCase, as ACK's do.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WriteAnswer {
    request_id: Arc<str>,
}

#[derive(Deserialize)]
struct TagIn {
    key: String,
    #[serde(default)]
    value: String,
}

impl From<TagIn> for pb::Tag {
    fn from(TagIn { key, value }: TagIn) -> Self {
        Self { key, value }
    }
}

/// `PUT /tags` body.
#[derive(Deserialize)]
struct TagBody {
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    resource_ids: Vec<String>,
    #[serde(default)]
    tags: Vec<TagIn>,
}

const IDS_EXAMPLE: &str = r#"["c1","c2"]"#;

pub async fn list(call: Call, RawQuery(query): RawQuery) -> Result<Json<ListAnswer>, RestError> {
    let request_id = call.request_id.0.clone();
    let request = (|| {
        let p = Params::parse(query.as_deref())?;
        call.check_region(&p.text("region_id")?)?;
        let tags: Vec<TagIn> = p.json("tags", r#"[{"key":"env","value":"dev"}]"#)?;
        Ok(pb::ListTagResourcesRequest {
            // REST sends it as the X-Consistency-Token header.
            consistency_token: String::new(),
            project_id: call.project_header()?.to_owned(),
            resource_type: p.text("resource_type")?,
            resource_ids: p.json("resource_ids", IDS_EXAMPLE)?,
            tags: tags.into_iter().map(pb::Tag::from).collect(),
            page_size: p.page_size("page_size")?,
            next_token: p.text("next_token")?,
        })
    })();
    let answer = call.run(&op::LIST_TAG_RESOURCES, request).await?;
    Ok(Json(ListAnswer {
        request_id,
        tag_resources: TagResourceList {
            tag_resource: answer
                .tag_resources
                .into_iter()
                .map(|r| TagResourceRow {
                    resource_id: r.resource_id,
                    resource_type: r.resource_type,
                    tag_key: r.tag_key,
                    tag_value: r.tag_value,
                })
                .collect(),
        },
        next_token: answer.next_token,
    }))
}

pub async fn tag(
    call: Call,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, RestError> {
    let request_id = call.request_id.0.clone();
    let request = json_body(body).and_then(|b: TagBody| {
        call.check_region(&b.region_id)?;
        Ok(pb::TagResourcesRequest {
            project_id: call.project_header()?.to_owned(),
            resource_type: b.resource_type,
            resource_ids: b.resource_ids,
            tags: b.tags.into_iter().map(pb::Tag::from).collect(),
            expected_revision: call.expected_revision()?,
        })
    });
    let answer = call.run(&op::TAG_RESOURCES, request).await?;
    Ok((
        write_headers(answer.revision, &answer.consistency_token),
        Json(WriteAnswer { request_id }),
    ))
}

pub async fn untag(call: Call, RawQuery(query): RawQuery) -> Result<impl IntoResponse, RestError> {
    let request_id = call.request_id.0.clone();
    let request = Params::parse(query.as_deref()).and_then(|p| {
        call.check_region(&p.text("region_id")?)?;
        Ok(pb::UntagResourcesRequest {
            project_id: call.project_header()?.to_owned(),
            resource_type: p.text("resource_type")?,
            resource_ids: p.json("resource_ids", IDS_EXAMPLE)?,
            tag_keys: p.json("tag_keys", r#"["env"]"#)?,
            all: p.flag("all")?,
            expected_revision: call.expected_revision()?,
        })
    });
    let answer = call.run(&op::UNTAG_RESOURCES, request).await?;
    Ok((
        write_headers(answer.revision, &answer.consistency_token),
        Json(WriteAnswer { request_id }),
    ))
}
