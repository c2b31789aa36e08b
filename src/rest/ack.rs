//! Alibaba Cloud ACK's tag API (seed 000): `GET /tags` (ListTagResources) and its write siblings
//! `PUT /tags` (TagResources) and `DELETE /tags` (UntagResources). The project comes from the token
//! (or `X-Project-Id`, which must then be the token's).

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{RawQuery, rejection::BytesRejection},
    routing::get,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{Call, RestError, RestState, json_body};
use crate::{domain::Error, proto::pb};

pub fn routes() -> Router<RestState> {
    Router::new().route("/tags", get(list).put(tag).delete(untag))
}

#[derive(Serialize)]
struct ListAnswer {
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
struct WriteAnswer {
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

/// Decoded query parameters. Unknown ones are ignored, as grpc-gateway does; one given twice is
/// refused rather than silently picking one.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes());
        Self(
            pairs
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn one(&self, name: &str) -> Result<Option<&str>, Error> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Error::invalid(name, "is given more than once"));
        }
        Ok(first)
    }

    fn text(&self, name: &str) -> Result<String, Error> {
        Ok(self.one(name)?.unwrap_or_default().to_owned())
    }

    /// A parameter that carries JSON, as ACK's `resource_ids`, `tags` and `tag_keys` do.
    fn json<T: DeserializeOwned + Default>(&self, name: &str, example: &str) -> Result<T, Error> {
        match self.one(name)? {
            None | Some("") => Ok(T::default()),
            Some(raw) => serde_json::from_str(raw)
                .map_err(|e| Error::invalid(name, format!("must be JSON such as {example}: {e}"))),
        }
    }

    fn page_size(&self) -> Result<i32, Error> {
        match self.one("page_size")? {
            None | Some("") => Ok(0),
            Some(raw) => raw
                .parse()
                .map_err(|_| Error::invalid("page_size", "must be an integer")),
        }
    }

    /// ACK's SDK sends `True`/`False`.
    fn flag(&self, name: &str) -> Result<bool, Error> {
        match self.one(name)? {
            None | Some("") => Ok(false),
            Some("true" | "True") => Ok(true),
            Some("false" | "False") => Ok(false),
            Some(_) => Err(Error::invalid(name, "must be true or false")),
        }
    }
}

const IDS_EXAMPLE: &str = r#"["c1","c2"]"#;

async fn list(call: Call, RawQuery(query): RawQuery) -> Result<Json<ListAnswer>, RestError> {
    let request_id = call.request_id.0.clone();
    let project_id = call.header("x-project-id").unwrap_or_default().to_owned();
    let region = call.region();
    call.run(|caller, core| async move {
        let p = Params::parse(query.as_deref());
        region.check(&p.text("region_id")?)?;
        let tags: Vec<TagIn> = p.json("tags", r#"[{"key":"env","value":"dev"}]"#)?;
        let req = pb::ListTagResourcesRequest {
            project_id,
            resource_type: p.text("resource_type")?,
            resource_ids: p.json("resource_ids", IDS_EXAMPLE)?,
            tags: tags.into_iter().map(pb::Tag::from).collect(),
            page_size: p.page_size()?,
            next_token: p.text("next_token")?,
        };
        let answer = core.list_tag_resources(&caller, req).await?;
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
    })
    .await
}

async fn tag(
    call: Call,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<WriteAnswer>, RestError> {
    let request_id = call.request_id.0.clone();
    let project_id = call.header("x-project-id").unwrap_or_default().to_owned();
    let region = call.region();
    call.run(|caller, core| async move {
        let b: TagBody = json_body(body)?;
        region.check(&b.region_id)?;
        let req = pb::TagResourcesRequest {
            project_id,
            resource_type: b.resource_type,
            resource_ids: b.resource_ids,
            tags: b.tags.into_iter().map(pb::Tag::from).collect(),
        };
        core.tag_resources(&caller, req).await?;
        Ok(Json(WriteAnswer { request_id }))
    })
    .await
}

async fn untag(call: Call, RawQuery(query): RawQuery) -> Result<Json<WriteAnswer>, RestError> {
    let request_id = call.request_id.0.clone();
    let project_id = call.header("x-project-id").unwrap_or_default().to_owned();
    let region = call.region();
    call.run(|caller, core| async move {
        let p = Params::parse(query.as_deref());
        region.check(&p.text("region_id")?)?;
        let req = pb::UntagResourcesRequest {
            project_id,
            resource_type: p.text("resource_type")?,
            resource_ids: p.json("resource_ids", IDS_EXAMPLE)?,
            tag_keys: p.json("tag_keys", r#"["env"]"#)?,
            all: p.flag("all")?,
        };
        core.untag_resources(&caller, req).await?;
        Ok(Json(WriteAnswer { request_id }))
    })
    .await
}
